//! AWS Secrets Manager's managed rotation of Datadog keys (`tests/rotation/aws_secrets_manager.py`),
//! driven through the official Python client as AWS drives it: keyplane's own rotation must
//! not break the two-key sequence external rotators already run.

use crate::helpers::*;
use crate::intake_tools::clients;
use std::process::Command;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/rotation/aws_secrets_manager.py"
);

#[tokio::test]
async fn aws_secrets_managers_rotation_sequence_passes() {
    let Some(venv) = clients("bdd") else {
        return;
    };
    let s = Server::start_with(&["--max-api-keys-per-org", "10"]).await;
    let mut run = Command::new(venv.join("bin/python"));
    run.arg(SCRIPT)
        .env("KEYPLANE_URL", &s.base)
        .env("DD_API_KEY", &s.creds.api_key)
        .env("DD_APP_KEY", &s.creds.app_key);
    let out = tokio::task::spawn_blocking(move || run.output())
        .await
        .expect("thread")
        .expect("run the rotation script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("aws rotation: ok"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.matches("ok: ").count() >= 15, "{stdout}");
}
