//! Embeds the text of every migration so the binary can checksum what it ships
//! (an applied migration whose up.sql changed is refused at startup).
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .expect("migrations/ exists")
        .map(|entry| entry.expect("readable migrations/ entry").path())
        .filter(|path| path.join("up.sql").is_file())
        .collect();
    dirs.sort();
    let mut out = String::from("pub static MIGRATION_SOURCES: &[MigrationSource] = &[\n");
    for dir in dirs {
        println!("cargo:rerun-if-changed={}", dir.display());
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        out.push_str(&format!(
            "    MigrationSource {{ name: {name:?}, up_sql: include_str!({up:?}), down_sql: include_str!({down:?}) }},\n",
            up = dir.join("up.sql").display().to_string(),
            down = dir.join("down.sql").display().to_string(),
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("migration_sources.rs");
    fs::write(dest, out).expect("write migration_sources.rs");
}
