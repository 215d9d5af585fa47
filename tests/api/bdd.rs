//! Datadog's own Gherkin scenarios (`tests/bdd/features`, from Datadog's Python client) run
//! live through the official Python client against a fresh keyplane, by `tests/bdd/runner.py`.
//! `tests/bdd/pending.txt` is a ratchet: a failing scenario must be listed there with its
//! reason, and a listed one that passes fails the test until its line is removed.

use crate::helpers::*;
use crate::intake_tools::clients;
use std::path::Path;
use std::process::Command;

const BDD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bdd");

#[tokio::test]
async fn datadogs_own_scenarios_pass_against_keyplane_except_those_pending() {
    let Some(venv) = clients("bdd") else {
        return;
    };
    run_scenarios(&venv, &Server::start().await).await;
}

/// The same scenarios on the PostgreSQL backend (skipped outside CI when it is unreachable).
#[tokio::test]
async fn datadogs_own_scenarios_pass_against_keyplane_on_postgres_except_those_pending() {
    let Some(venv) = clients("bdd") else {
        return;
    };
    let Some(s) = Server::start_postgres().await else {
        return;
    };
    run_scenarios(&venv, &s).await;
}

/// Runs every scenario against `s` with its first admin's keys; reports each one, and fails
/// on what the ratchet refuses.
async fn run_scenarios(venv: &Path, s: &Server) {
    let mut runner = Command::new(venv.join("bin/python"));
    runner
        .arg(format!("{BDD}/runner.py"))
        .args(["--host", &s.base])
        .args(["--pending", &format!("{BDD}/pending.txt")])
        // The organization's first admin, as Datadog's CI uses its test org's keys.
        .env("DD_TEST_CLIENT_API_KEY", &s.creds.api_key)
        .env("DD_TEST_CLIENT_APP_KEY", &s.creds.app_key);
    let out = tokio::task::spawn_blocking(move || runner.output())
        .await
        .expect("runner thread")
        .expect("run tests/bdd/runner.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Each scenario that ran, with the failing step and why; the @skip ones only count. The
    // backend prefixes the lines because both tests report at once.
    let backend = if s.db.is_some() { "postgres" } else { "sqlite" };
    for line in stdout.lines().filter(|l| !l.starts_with("bdd not run")) {
        report(&format!("{backend} {line}"));
    }
    assert!(
        out.status.success(),
        "Datadog's scenarios: an unlisted failure, a pending one that passes, or a stale \
         pending.txt line (see the FAIL, FIXED and STALE lines above):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("bdd summary: "))
        .unwrap_or_else(|| panic!("no summary from the runner:\n{stdout}"));
    let passed: u32 = summary
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    // The scenarios of the surface keyplane serves today (keys, service-account keys, users,
    // validate): fewer means the runner stopped reading them.
    assert!(passed >= 33, "only {passed} scenarios passed: {summary}");
}
