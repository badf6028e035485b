//! The production build (`--no-default-features`) leaves the sandbox out and says so, instead
//! of calling the command unknown or running something else.

use crate::support::Sandbox;

#[test]
fn a_production_build_refuses_the_sandbox_naming_the_build() {
    let sandbox = Sandbox::new();
    for args in [
        &["sandbox"][..],
        &["sandbox", "--load", "--users", "5"],
        &["sandbox", "--help"],
        &["sandbox-floor"],
    ] {
        let output = sandbox.run_cli(args);
        output.assert_failure();
        assert_eq!(output.code, Some(1), "{args:?}: {output:#?}");
        assert!(
            output
                .stderr
                .contains("error: this build of repair-bot leaves the sandbox out"),
            "{args:?}: {}",
            output.stderr
        );
        assert!(output.stderr.contains("cargo run --release -- sandbox"));
        // Refused before anything is touched.
        assert!(!sandbox.db.exists(), "{args:?} created the database");
    }
    let help = sandbox.run_cli(&["--help"]);
    help.assert_success();
    assert!(!help.stdout.contains("sandbox"), "{}", help.stdout);
}
