//! Two nodes on one PostgreSQL database with one master key: a key made on one validates on
//! the other, and a revocation on one is refused by the other within a second, both through
//! change notifications and through the polling fallback when B's listener is killed.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};

const REVOCATIONS: usize = 100;

async fn validate(node: &Server, key: &str) -> StatusCode {
    let req = node
        .http
        .get(node.url("/api/v1/validate"))
        .header("DD-API-KEY", key);
    req.send().await.expect("validate").status()
}

/// The intake gate, asked as nginx asks it.
async fn gate(node: &Server, key: &str) -> StatusCode {
    let req = node
        .http
        .get(node.url("/intake/authorize"))
        .header("X-Original-URI", "/api/v2/series")
        .header("DD-API-KEY", key);
    req.send().await.expect("gate").status()
}

async fn health(node: &Server) -> serde_json::Value {
    send(node.http.get(node.url("/healthz"))).await.1
}

/// Waits until `node`'s `/healthz` reports `notifications: want`.
async fn await_notifications(node: &Server, want: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let body = health(node).await;
        if body["notifications"] == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "notifications never became {want}: {body}\n{}",
            node.logs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Terminates `node`'s LISTEN connection, found by its application name.
async fn kill_listener(db: &TestDb, node: &Server) -> u64 {
    let name = format!("keyplane-listener:{}", node.pid().expect("running"));
    let mut conn = db.connect().await;
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&name)
    .fetch_all(&mut conn)
    .await
    .expect("terminate listener");
    killed.into_iter().filter(|k| *k).count() as u64
}

/// Kills `node`'s listener until `node` reports it disconnected. (A kill can miss: the node
/// may be reconnecting at that moment, and its new connection comes up right after.)
async fn cut_listener(db: &TestDb, node: &Server) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        kill_listener(db, node).await;
        let settle = Instant::now() + Duration::from_millis(300);
        while Instant::now() < settle {
            if health(node).await["notifications"] == "disconnected" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            Instant::now() < deadline,
            "the listener could not be cut\n{}",
            node.logs()
        );
    }
}

/// Revokes `key` on `a` and measures, from `a`'s acknowledgement, until `b` refuses it.
async fn revoke_and_time(a: &Server, b: &Server, id: &str, key: &str) -> Duration {
    let (status, body) = a
        .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let revoked = Instant::now();
    loop {
        match validate(b, key).await {
            StatusCode::FORBIDDEN => return revoked.elapsed(),
            StatusCode::OK => {}
            other => panic!("B answered {other}"),
        }
        assert!(
            revoked.elapsed() < Duration::from_secs(10),
            "B still accepts a key revoked 10 s ago"
        );
    }
}

/// p50, p99 and max, printed and returned.
fn report(label: &str, mut lags: Vec<Duration>) -> (Duration, Duration, Duration) {
    lags.sort();
    let at = |q: f64| lags[((lags.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    let (p50, p99, max) = (at(0.50), at(0.99), lags[lags.len() - 1]);
    println!(
        "multi-node revocation lag, {label} ({} revocations): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lags.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    (p50, p99, max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_reach_the_other_node_within_a_second() {
    // Without failure-burst records: B refusing each revoked key once per revocation adds
    // up to a burst, whose audit write is not propagation.
    let limit = [
        "--max-api-keys-per-org",
        "1000",
        "--auth-failure-burst",
        "0",
    ];
    let Some(a) = Server::start_postgres_with(&limit).await else {
        return;
    };
    let b = Server::start_node_of(&a, &limit).await;
    let db = a.db.as_ref().expect("database");
    assert_eq!(health(&b).await["backend"], "postgres");
    await_notifications(&a, "connected", Duration::from_secs(10)).await;
    await_notifications(&b, "connected", Duration::from_secs(10)).await;

    // Keys made on A validate on B, and the admin's pair authenticates there too.
    let mut keys = Vec::new();
    for i in 0..2 * REVOCATIONS {
        keys.push(a.create_api_key(&format!("node key {i}")).await);
    }
    for (_, key) in &keys {
        let deadline = Instant::now() + Duration::from_secs(5);
        while validate(&b, key).await != StatusCode::OK {
            assert!(
                Instant::now() < deadline,
                "a key made on A never validated on B"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let (status, _) = b.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(status, StatusCode::OK);

    // Through notifications.
    let mut lags = Vec::new();
    for (id, key) in &keys[..REVOCATIONS] {
        lags.push(revoke_and_time(&a, &b, id, key).await);
    }
    let (_, p99, _) = report("notifications", lags);
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");
    assert_eq!(health(&b).await["notifications"], "connected");

    // Through the polling fallback: B's listener is killed before each revocation, and the
    // revocation waits until B knows it is disconnected.
    let mut lags = Vec::new();
    for (id, key) in &keys[REVOCATIONS..] {
        cut_listener(db, &b).await;
        lags.push(revoke_and_time(&a, &b, id, key).await);
    }
    let (_, p99, _) = report("polling fallback", lags);
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");
    assert!(
        b.logs().contains("change notifications lost"),
        "the loss is logged"
    );

    // Lists on B show what A acknowledged, at once: B catches up before it lists, so no
    // notification or poll needs to arrive first.
    for i in 0..20 {
        let name = format!("listed at once {i}");
        let (id, _) = a.create_api_key(&name).await;
        let path = format!("/api/v2/api_keys?filter={}", name.replace(' ', "%20"));
        let (status, body) = b.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["meta"]["page"]["total_filtered_count"], 1, "{body}");
        assert_eq!(body["data"][0]["id"], id.as_str(), "{body}");
    }

    // B reconnects by itself, and A never lost its own listener.
    await_notifications(&b, "connected", Duration::from_secs(10)).await;
    assert_eq!(health(&a).await["notifications"], "connected");
    let lag = health(&b).await["invalidation_lag_seconds"]
        .as_f64()
        .expect("lag");
    assert!((0.0..5.0).contains(&lag), "{lag}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_confirm_its_view_refuses_keys() {
    let Some(a) = Server::start_postgres().await else {
        return;
    };
    let b = Server::start_node_of(&a, &[]).await;
    assert_eq!(validate(&b, &a.creds.api_key).await, StatusCode::OK);
    // Cut B off the database for good: its listener and every connection of its pool,
    // refused again as they come back.
    let db = a.db.as_ref().expect("database");
    let mut conn = db.connect_admin().await;
    sqlx::query(&format!(
        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
        db.name
    ))
    .execute(&mut conn)
    .await
    .expect("block connections");
    let deadline = Instant::now() + Duration::from_secs(15);
    let b_pid = b.pid().expect("running");
    // Refused on the request path first; the background loop logs it within its 2 s
    // catch-up bound. Both while the database is still closed.
    let refused_and_logged = loop {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name IN ('keyplane', $1) AND datname = $2",
        )
        .bind(format!("keyplane-listener:{b_pid}"))
        .bind(&db.name)
        .execute(&mut conn)
        .await
        .expect("terminate");
        let status = validate(&b, &a.creds.api_key).await;
        if status == StatusCode::SERVICE_UNAVAILABLE && b.logs().contains("refusing every key") {
            // The gate says so too: a 5xx, which agents retry, not a 403, which drops data.
            assert_eq!(
                gate(&b, &a.creds.api_key).await,
                StatusCode::SERVICE_UNAVAILABLE
            );
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    sqlx::query(&format!(
        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
        db.name
    ))
    .execute(&mut conn)
    .await
    .expect("allow connections");
    assert!(
        refused_and_logged,
        "B kept accepting keys it could not confirm, or did not log it\n{}",
        b.logs()
    );
    // Once the database is back, B confirms its view and accepts the key again.
    let deadline = Instant::now() + Duration::from_secs(15);
    while validate(&b, &a.creds.api_key).await != StatusCode::OK {
        assert!(Instant::now() < deadline, "B never recovered\n{}", b.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !b.logs().contains("accepting keys") {
        assert!(
            Instant::now() < deadline,
            "recovery not logged\n{}",
            b.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_on_another_node_refuses_a_revoked_key_within_the_bound() {
    let Some(a) = Server::start_postgres().await else {
        return;
    };
    let b = Server::start_node_of(&a, &[]).await;
    let mut lags = Vec::new();
    for i in 0..20 {
        let (id, key) = a.create_api_key(&format!("gated {i}")).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while gate(&b, &key).await != StatusCode::OK {
            assert!(
                Instant::now() < deadline,
                "a key made on A never passed B's gate"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (status, body) = a
            .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let revoked = Instant::now();
        loop {
            match gate(&b, &key).await {
                StatusCode::FORBIDDEN => break,
                StatusCode::OK => {}
                other => panic!("B's gate answered {other}"),
            }
            assert!(
                revoked.elapsed() < Duration::from_secs(10),
                "B's gate still passes a key revoked 10 s ago"
            );
        }
        lags.push(revoked.elapsed());
        // The node that revoked it refuses it on the very next request.
        assert_eq!(gate(&a, &key).await, StatusCode::FORBIDDEN);
    }
    let (_, p99, _) = report("through the intake gate", lags);
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");
}

/// Polls `node` until `path` answers `want` for the key of the role's holder; how long it took.
async fn await_status(node: &Server, app_key: &str, path: &str, want: StatusCode) -> Duration {
    let started = Instant::now();
    loop {
        let req = node
            .http
            .get(node.url(path))
            .header("DD-API-KEY", &node.creds.api_key)
            .header("DD-APPLICATION-KEY", app_key);
        if send(req).await.0 == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} never answered {want} on the other node\n{}",
            node.logs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_grants_and_revocations_reach_the_other_node() {
    let Some(a) = Server::start_postgres().await else {
        return;
    };
    let b = Server::start_node_of(&a, &[]).await;
    let role = crate::roles::create_role(&a, "node readers", &[]).await;
    let key = crate::roles::key_of_role_holder(&a, "holder@example.com", &role).await;
    await_status(&b, &key, "/api/v2/users", StatusCode::OK).await;
    // Not granted yet.
    await_status(&b, &key, "/api/v2/api_keys", StatusCode::FORBIDDEN).await;
    let (_, all) = a.call(Method::GET, "/api/v2/permissions", None).await;
    let read = all["data"]
        .as_array()
        .expect("permissions")
        .iter()
        .find(|p| p["attributes"]["name"] == "api_keys_read")
        .expect("api_keys_read")["id"]
        .clone();
    let link = serde_json::json!({"data": {"id": read, "type": "permissions"}});
    let path = format!("/api/v2/roles/{role}/permissions");
    let (status, _) = a.call(Method::POST, &path, Some(link.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let granted = await_status(&b, &key, "/api/v2/api_keys", StatusCode::OK).await;
    let (status, _) = a.call(Method::DELETE, &path, Some(link)).await;
    assert_eq!(status, StatusCode::OK);
    let revoked = await_status(&b, &key, "/api/v2/api_keys", StatusCode::FORBIDDEN).await;
    // The holder leaves the role: its implicit permissions go with it.
    let (_, me) = send(
        b.http
            .get(b.url("/api/v2/current_user"))
            .header("DD-API-KEY", &b.creds.api_key)
            .header("DD-APPLICATION-KEY", &key),
    )
    .await;
    let holder = me["data"]["id"].clone();
    let (status, _) = a
        .call(
            Method::DELETE,
            &format!("/api/v2/roles/{role}/users"),
            Some(serde_json::json!({"data": {"id": holder, "type": "users"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let left = await_status(&b, &key, "/api/v2/users", StatusCode::FORBIDDEN).await;
    for (what, took) in [
        ("grant", granted),
        ("revoke", revoked),
        ("role removal", left),
    ] {
        assert!(
            took < Duration::from_secs(1),
            "{what} took {took:?} to reach node B"
        );
    }
}

/// A rotation made on one node reaches the other: the new secret passes its gate, the
/// previous one keeps passing until its deadline and not after, and the callers the other
/// node saw are listed from the first (merged through the database with the usage).
#[tokio::test]
async fn a_rotation_on_one_node_holds_on_the_other() {
    let Some(a) = Server::start_postgres().await else {
        return;
    };
    let b = Server::start_node_of(&a, &[]).await;
    let (id, old) = a.create_api_key("rotated across nodes").await;
    let (status, rotated) = a
        .call(
            Method::POST,
            &format!("/api/v2/api_keys/{id}/rotate"),
            Some(serde_json::json!({"data": {"type": "api_keys",
                "attributes": {"grace_period_seconds": 15}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["data"]["attributes"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let rotated_at = Instant::now();
    let deadline = rotated_at + Duration::from_secs(10);
    while gate(&b, &new).await != StatusCode::OK {
        assert!(Instant::now() < deadline, "B never learnt the new secret");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let learnt = rotated_at.elapsed();
    report("rotation to the other node", vec![learnt]);
    assert!(learnt < Duration::from_secs(1), "{learnt:?}");
    assert_eq!(gate(&b, &old).await, StatusCode::OK, "the overlap on B");
    let req = b
        .http
        .get(b.url("/api/v1/validate"))
        .header("DD-API-KEY", &old)
        .header("User-Agent", "datadog-agent/7.70.0 on b");
    assert_eq!(send(req).await.0, StatusCode::OK);
    // B writes what it saw with its usage (every 10 s); A lists it from then on.
    let listed = Instant::now() + Duration::from_secs(14);
    loop {
        let (_, state) = a
            .call(
                Method::GET,
                &format!("/api/v2/api_keys/{id}/rotation"),
                None,
            )
            .await;
        let seen = state["data"]["attributes"]["callers"]
            .as_array()
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["user_agent"] == "datadog-agent/7.70.0 on b")
            });
        if seen {
            break;
        }
        assert!(
            Instant::now() < listed,
            "A never listed B's caller: {state}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let until = rotated_at + Duration::from_secs(15);
    tokio::time::sleep_until((until + Duration::from_millis(50)).into()).await;
    assert_eq!(
        gate(&b, &old).await,
        StatusCode::FORBIDDEN,
        "past the deadline on B"
    );
    assert_eq!(validate(&b, &new).await, StatusCode::OK);
}
