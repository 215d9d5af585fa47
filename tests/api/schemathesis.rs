//! The schemathesis fuzz run (`tests/schemathesis/run.sh`) as part of `cargo test`, against the
//! keyplane binary this test build made: every operation of the served OpenAPI document with
//! generated valid and invalid input; any 5xx or response outside the document fails.

use crate::helpers::report;
use std::process::Command;

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn schemathesis_finds_no_failure() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !ci && std::env::var("KEYPLANE_SKIP_SCHEMATHESIS").is_ok_and(|v| v == "1") {
        report(
            "\n!!! KEYPLANE_SKIP_SCHEMATHESIS=1: the schemathesis fuzz run was SKIPPED; \
             CI runs it (tests/schemathesis/run.sh) !!!\n",
        );
        return;
    }
    let python =
        succeeds("python3", &["--version"]) && succeeds("python3", &["-m", "pip", "--version"]);
    assert!(
        python,
        "the schemathesis fuzz run needs python3 with pip (and venv); \
         outside CI, KEYPLANE_SKIP_SCHEMATHESIS=1 skips it"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis/run.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_keyplane"))
        .output()
        .expect("run tests/schemathesis/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: String = stdout
        .lines()
        .filter(|l| l.starts_with("schemathesis"))
        .map(|l| format!("{l}\n"))
        .collect();
    report(summary.trim_end());
    assert!(
        out.status.success(),
        "tests/schemathesis/run.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
