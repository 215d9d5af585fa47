//! Rotation with overlap: a key keeps its id and gets a new secret; the previous secret
//! validates and passes the intake gate until its grace period ends, then is refused (403),
//! across a restart too, and dies at once with its key.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn validate(s: &Server, key: &str) -> StatusCode {
    let req = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", key);
    send(req).await.0
}

/// The intake gate, as nginx asks it for an agent's series.
async fn gate(s: &Server, key: &str) -> StatusCode {
    let req = s
        .http
        .get(s.url("/intake/authorize"))
        .header("X-Original-URI", "/api/v2/series")
        .header("DD-API-KEY", key);
    send(req).await.0
}

fn grace_body(kind: &str, seconds: i64) -> Value {
    json!({"data": {"type": kind, "attributes": {"grace_period_seconds": seconds}}})
}

fn secret(body: &Value) -> String {
    body["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned()
}

/// When `body`'s previous secret stops working, as an instant of this process's clock.
fn valid_until(body: &Value) -> Instant {
    let text = body["meta"]["previous_key_valid_until"]
        .as_str()
        .expect("previous_key_valid_until");
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let left = at - time::OffsetDateTime::now_utc();
    Instant::now() + left.try_into().unwrap_or(Duration::ZERO)
}

async fn until_refused(what: &str, mut check: impl AsyncFnMut() -> StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = check().await;
        if status == StatusCode::FORBIDDEN {
            return;
        }
        assert!(Instant::now() < deadline, "{what} still answers {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_api_key_rotates_with_overlap_and_keeps_its_identity() {
    let mut s = Server::start().await;
    let (id, old) = s.create_api_key("fleet").await;
    // Long enough for the calls below on a loaded machine; the edge is checked at the end.
    let (_, before) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    let path = format!("/api/v2/api_keys/{id}/rotate");
    let (status, rotated) = s
        .call(Method::POST, &path, Some(grace_body("api_keys", 5)))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = secret(&rotated);
    assert_ne!(new, old);
    assert_eq!(new.len(), 32, "{new}");
    assert_eq!(rotated["data"]["id"], id);
    for field in [
        "name",
        "category",
        "remote_config_read_enabled",
        "created_at",
    ] {
        assert_eq!(
            rotated["data"]["attributes"][field], before["data"]["attributes"][field],
            "{field}"
        );
    }
    assert_eq!(rotated["data"]["attributes"]["last4"], &new[28..]);
    assert_eq!(
        rotated["data"]["relationships"]["created_by"],
        before["data"]["relationships"]["created_by"]
    );
    let deadline = valid_until(&rotated);

    // Both secrets work meanwhile, at validate and at the gate; a GET shows the new one.
    for key in [&old, &new] {
        assert_eq!(validate(&s, key).await, StatusCode::OK);
        assert_eq!(gate(&s, key).await, StatusCode::OK);
    }
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(secret(&got), new);
    let (status, state) = s
        .call(
            Method::GET,
            &format!("/api/v2/api_keys/{id}/rotation"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["data"]["attributes"]["in_grace_period"], true);
    assert_eq!(
        state["data"]["attributes"]["previous_secrets"][0]["valid_until"],
        rotated["meta"]["previous_key_valid_until"]
    );
    assert!(
        !state.to_string().contains(&old),
        "a previous secret is never shown"
    );

    // Who still presents the old secret: the Agent's validate (query form) and its
    // forwarder through the gate, told apart by what they send; the new secret's callers
    // are not listed.
    for _ in 0..2 {
        let req = s
            .http
            .get(s.url(&format!("/api/v1/validate?api_key={old}")))
            .header("User-Agent", "datadog-agent/7.70.0")
            .header("X-Dd-Hostname", "web-1");
        assert_eq!(send(req).await.0, StatusCode::OK);
    }
    let req = s
        .http
        .get(s.url("/intake/authorize"))
        .header("X-Original-URI", "/api/v2/series")
        .header("DD-API-KEY", &old)
        .header("User-Agent", "Datadog Trace Agent/7.70.0");
    assert_eq!(send(req).await.0, StatusCode::OK);
    let req = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", &new)
        .header("User-Agent", "switched/1.0");
    assert_eq!(send(req).await.0, StatusCode::OK);
    let (_, state) = s
        .call(
            Method::GET,
            &format!("/api/v2/api_keys/{id}/rotation"),
            None,
        )
        .await;
    let callers = state["data"]["attributes"]["callers"]
        .as_array()
        .expect("callers")
        .clone();
    let agent = callers
        .iter()
        .find(|c| c["user_agent"] == "datadog-agent/7.70.0")
        .unwrap_or_else(|| panic!("the agent is listed: {state}"));
    assert_eq!(agent["hostname"], "web-1");
    assert_eq!(agent["source"], "127.0.0.1");
    assert!(agent["requests"].as_u64().expect("count") >= 2, "{agent}");
    assert!(
        agent["first_seen"].as_str().expect("first") <= agent["last_seen"].as_str().expect("last")
    );
    assert!(
        callers
            .iter()
            .any(|c| c["user_agent"] == "Datadog Trace Agent/7.70.0"),
        "{state}"
    );
    assert!(
        !callers.iter().any(|c| c["user_agent"] == "switched/1.0"),
        "{state}"
    );

    // A node that restarts within the overlap loads the previous secret.
    s.restart().await;
    if Instant::now() + Duration::from_millis(300) < deadline {
        assert_eq!(validate(&s, &old).await, StatusCode::OK, "after a restart");
    }

    // At the edge: refused from the deadline on, the new secret unaffected.
    let early = deadline.checked_sub(Duration::from_millis(400));
    if let Some(early) = early.filter(|e| *e > Instant::now()) {
        tokio::time::sleep_until(early.into()).await;
        assert_eq!(validate(&s, &old).await, StatusCode::OK, "just before");
    }
    tokio::time::sleep_until(deadline.into()).await;
    assert_eq!(
        validate(&s, &old).await,
        StatusCode::FORBIDDEN,
        "at the deadline"
    );
    until_refused("the old secret at the gate", async || gate(&s, &old).await).await;
    assert_eq!(validate(&s, &new).await, StatusCode::OK);
    let (_, state) = s
        .call(
            Method::GET,
            &format!("/api/v2/api_keys/{id}/rotation"),
            None,
        )
        .await;
    assert_eq!(
        state["data"]["attributes"]["in_grace_period"], false,
        "{state}"
    );
}

#[tokio::test]
async fn a_rotation_without_grace_or_of_a_deleted_key_leaves_nothing_valid() {
    let s = Server::start().await;
    let (id, old) = s.create_api_key("no overlap").await;
    let (status, rotated) = s
        .call(
            Method::POST,
            &format!("/api/v2/api_keys/{id}/rotate"),
            Some(grace_body("api_keys", 0)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(validate(&s, &old).await, StatusCode::FORBIDDEN);
    assert_eq!(validate(&s, &secret(&rotated)).await, StatusCode::OK);

    // Deleting a key in its overlap kills both secrets on the next request.
    let (id, old) = s.create_api_key("deleted in overlap").await;
    let (_, rotated) = s
        .call(Method::POST, &format!("/api/v2/api_keys/{id}/rotate"), None)
        .await;
    let new = secret(&rotated);
    // No body: the default overlap, a day.
    let left = valid_until(&rotated) - Instant::now();
    assert!(
        left > Duration::from_secs(86_000) && left <= Duration::from_secs(86_400),
        "{left:?}"
    );
    assert_eq!(validate(&s, &old).await, StatusCode::OK);
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(validate(&s, &old).await, StatusCode::FORBIDDEN);
    assert_eq!(validate(&s, &new).await, StatusCode::FORBIDDEN);
    assert_eq!(gate(&s, &old).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rotation_bodies_are_checked() {
    let s = Server::start_with(&["--max-rotation-grace-period", "600"]).await;
    let (id, _) = s.create_api_key("checked").await;
    let path = format!("/api/v2/api_keys/{id}/rotate");
    for (body, needle) in [
        (grace_body("api_keys", 601), "at most 600"),
        (grace_body("api_keys", -1), "zero or more"),
        (grace_body("client_tokens", 10), "type"),
        (
            json!({"data": {"type": "api_keys", "attributes": {"grace_period_seconds": "soon"}}}),
            "",
        ),
        (json!([1, 2]), ""),
    ] {
        let (status, got) = s.call(Method::POST, &path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {got}");
        assert!(
            got["errors"][0].as_str().expect("error").contains(needle),
            "{got}"
        );
    }
    let unknown = format!("/api/v2/api_keys/{}/rotate", uuid::Uuid::new_v4());
    let (status, _) = s.call(Method::POST, &unknown, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(Method::POST, "/api/v2/api_keys/nope/rotate", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The default grace period is capped by the maximum.
    let (status, rotated) = s.call(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(valid_until(&rotated) - Instant::now() <= Duration::from_secs(600));
}

#[tokio::test]
async fn application_keys_and_client_tokens_rotate_with_overlap() {
    let s = Server::start().await;
    let api = s.creds.api_key.clone();
    let pair = |app: String| {
        let s = &s;
        let api = api.clone();
        async move {
            let req = s
                .http
                .get(s.url("/api/v2/validate_keys"))
                .header("DD-API-KEY", api)
                .header("DD-APPLICATION-KEY", app);
            send(req).await.0
        }
    };
    let (status, made) = s
        .call(
            Method::POST,
            "/api/v2/current_user/application_keys",
            Some(json!({"data": {"type": "application_keys", "attributes": {"name": "ci"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (id, old) = (
        made["data"]["id"].as_str().expect("id").to_owned(),
        secret(&made),
    );
    for surface in [
        "/api/v2/current_user/application_keys",
        "/api/v2/application_keys",
    ] {
        let before = if surface.starts_with("/api/v2/current_user") {
            old.clone()
        } else {
            // The previous rotation's secret.
            String::new()
        };
        let (status, rotated) = s
            .call(
                Method::POST,
                &format!("{surface}/{id}/rotate"),
                Some(grace_body("application_keys", 2)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{surface}: {rotated}");
        let new = secret(&rotated);
        assert_eq!(new.len(), 40);
        assert_eq!(rotated["data"]["attributes"]["name"], "ci");
        assert_eq!(pair(new.clone()).await, StatusCode::OK);
        if !before.is_empty() {
            assert_eq!(pair(before).await, StatusCode::OK, "the previous secret");
        }
    }
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(pair(old).await, StatusCode::FORBIDDEN);

    let (status, made) = s
        .call(
            Method::POST,
            "/api/v2/client_tokens",
            Some(json!({"data": {"type": "client_tokens", "attributes": {"name": "rum"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (id, old) = (
        made["data"]["id"].as_str().expect("id").to_owned(),
        secret(&made),
    );
    let (status, rotated) = s
        .call(
            Method::POST,
            &format!("/api/v2/client_tokens/{id}/rotate"),
            Some(grace_body("client_tokens", 2)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = secret(&rotated);
    assert!(new.starts_with("pub"), "{new}");
    let browser = |token: String| {
        let s = &s;
        async move {
            let req = s
                .http
                .get(s.url("/api/v1/validate_client_token"))
                .header("DD-CLIENT-TOKEN", token);
            send(req).await.0
        }
    };
    assert_eq!(browser(old.clone()).await, StatusCode::OK);
    assert_eq!(browser(new.clone()).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(browser(old).await, StatusCode::FORBIDDEN);
    assert_eq!(browser(new).await, StatusCode::OK);
}

#[tokio::test]
async fn a_leaked_previous_secret_names_its_key() {
    let s = Server::start().await;
    let (id, old) = s.create_api_key("leaked before rotation").await;
    let (status, _) = s
        .call(Method::POST, &format!("/api/v2/api_keys/{id}/rotate"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let report = json!({"data": {"type": "leaked_credentials", "attributes": {
        "candidates": [old], "source": "https://example.com/paste"}}});
    let req = s
        .http
        .post(s.url("/api/v2/credentials/leaked"))
        .json(&report);
    assert_eq!(send(req).await.0, StatusCode::ACCEPTED);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, got) = s
            .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
            .await;
        if got["data"]["relationships"]["leak_information"]["data"]["type"] == "leaked_keys" {
            break;
        }
        assert!(Instant::now() < deadline, "the leak is not recorded: {got}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
