//! src/schema.rs must be exactly what `diesel print-schema` makes of the migrations.
//! Without diesel CLI this compares the table! declarations with the migrated schema under
//! diesel's type rules; with diesel CLI on PATH it also diffs print-schema's output verbatim
//! (CI always has it).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use repair_bot::db::migrations::Catalog;
use repair_bot::db::snapshot::{SchemaSnapshot, TableSnapshot};

fn schema_rs() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/schema.rs"))
        .expect("src/schema.rs")
}

/// table -> [(column, diesel type)] from the `diesel::table!` blocks.
fn declared_tables(source: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut tables = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in source.lines().map(str::trim) {
        if let Some(name) = current.as_ref() {
            if line == "}" {
                current = None;
            } else if let Some((column, sql_type)) = line.split_once(" -> ") {
                tables.entry(name.clone()).or_insert_with(Vec::new).push((
                    column.to_string(),
                    sql_type.trim_end_matches(',').to_string(),
                ));
            }
        } else if line.ends_with(") {") && !line.starts_with("diesel::") {
            current = Some(line.split_whitespace().next().unwrap().to_string());
        }
    }
    tables
}

fn is_rowid(table: &TableSnapshot, column: &str) -> bool {
    let pk: Vec<_> = table
        .columns
        .iter()
        .filter(|c| c.primary_key_position > 0)
        .collect();
    matches!(pk.as_slice(), [only] if only.name == column && only.declared_type == "INTEGER")
}

/// diesel_cli's SQLite type inference, with `sqlite_integer_primary_key_is_bigint = true`.
fn diesel_type(schema: &SchemaSnapshot, table: &TableSnapshot, column: &str) -> String {
    let col = table.columns.iter().find(|c| c.name == column).unwrap();
    let t = col.declared_type.to_ascii_lowercase();
    let references_rowid = table.foreign_keys.iter().any(|fk| {
        fk.from == column
            && schema
                .tables
                .get(&fk.table)
                .is_some_and(|parent| fk.to.as_deref().is_some_and(|to| is_rowid(parent, to)))
    });
    let base = if t == "bool" || t == "boolean" {
        "Bool"
    } else if t == "smallint" {
        "SmallInt"
    } else if t == "bigint" {
        "BigInt"
    } else if t.contains("int") {
        if is_rowid(table, column) || references_rowid {
            "BigInt"
        } else {
            "Integer"
        }
    } else if t.contains("text") || t.contains("char") || t.contains("clob") {
        "Text"
    } else if t.contains("blob") || t.is_empty() {
        "Binary"
    } else if t.contains("float") || t.contains("real") {
        "Float"
    } else if t.contains("double") {
        "Double"
    } else if t == "datetime" || t == "timestamp" {
        "Timestamp"
    } else if t == "date" {
        "Date"
    } else {
        "<unmapped>"
    };
    if col.not_null || col.primary_key_position > 0 {
        base.to_string()
    } else {
        format!("Nullable<{base}>")
    }
}

#[test]
fn schema_rs_declares_what_the_migrations_create() {
    let catalog = Catalog::embedded();
    let versions: Vec<String> = catalog.all().iter().map(|m| m.version()).collect();
    let schema = catalog.expected_schema(versions.iter()).unwrap();
    let mut declared = declared_tables(&schema_rs());

    let mut expected: BTreeMap<String, Vec<(String, String)>> = schema
        .tables
        .iter()
        .map(|(name, table)| {
            let columns = table
                .columns
                .iter()
                .map(|c| (c.name.clone(), diesel_type(&schema, table, &c.name)))
                .collect();
            (name.clone(), columns)
        })
        .collect();
    // FTS5 tables: print-schema declares the virtual table with its rowid and hidden columns
    // (the verbatim test below checks them), diesel.toml filters out its shadow tables.
    let virtual_tables: Vec<String> = schema
        .tables
        .iter()
        .filter(|(_, t)| t.sql.starts_with("CREATE VIRTUAL TABLE"))
        .map(|(name, _)| name.clone())
        .collect();
    expected.retain(|name, _| {
        !virtual_tables.iter().any(|vt| {
            name.strip_prefix(vt.as_str()).is_some_and(|rest| {
                ["_config", "_content", "_data", "_docsize", "_idx"].contains(&rest)
            })
        })
    });
    for vt in &virtual_tables {
        if let Some(columns) = declared.get_mut(vt) {
            let hidden = format!("{vt}_");
            columns.retain(|(c, _)| c != "rowid" && c != "rank" && *c != hidden);
        }
    }
    assert_eq!(
        declared, expected,
        "src/schema.rs is out of date: run `diesel migration run` (see README) to regenerate it"
    );
}

#[test]
fn schema_rs_is_verbatim_print_schema_output_when_diesel_cli_is_present() {
    let Ok(version) = Command::new("diesel").arg("--version").output() else {
        eprintln!("diesel CLI not on PATH: verbatim comparison left to .ci/run");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drift.db");
    let root = env!("CARGO_MANIFEST_DIR");
    let run = Command::new("diesel")
        .current_dir(root)
        .args(["migration", "run", "--locked-schema", "--database-url"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed = Command::new("diesel")
        .current_dir(root)
        .args(["print-schema", "--database-url"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    assert_eq!(String::from_utf8(printed.stdout).unwrap(), schema_rs());
}
