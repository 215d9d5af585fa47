//! Secrets at rest and in logs: the database holds digests and ciphertext only, and no key
//! ever reaches a log line.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Every file in the data dir that is not meant to hold a secret.
fn database_bytes(s: &Server) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(s.data_dir())
        .expect("data dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("keyplane.db"))
        })
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read")))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_key_is_stored_in_plain_text_or_logged() {
    let mut s = Server::start().await;
    let mut secrets = vec![
        s.creds.api_key.clone(),
        s.creds.app_key.clone(),
        s.creds.password.clone(),
    ];
    for i in 0..3 {
        let (id, key) = s.create_api_key(&format!("scan-{i}")).await;
        // Exercise every path a key travels: header, query string, GET, PATCH, list.
        let v = s
            .http
            .get(s.url(&format!("/api/v1/validate?api_key={key}")));
        assert_eq!(send(v).await.0, StatusCode::OK);
        let v = s
            .http
            .get(s.url("/api/v1/validate"))
            .header("DD-API-KEY", &key);
        assert_eq!(send(v).await.0, StatusCode::OK);
        s.call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
            .await;
        let rename = serde_json::json!({"data": {"id": id, "type": "api_keys", "attributes": {"name": format!("scanned-{i}")}}});
        s.call(
            Method::PATCH,
            &format!("/api/v2/api_keys/{id}"),
            Some(rename),
        )
        .await;
        secrets.push(key);
    }
    // Client tokens and console sessions are kept the same way.
    let token =
        serde_json::json!({"data": {"type": "client_tokens", "attributes": {"name": "scan"}}});
    let (_, token) = s
        .call(Method::POST, "/api/v2/client_tokens", Some(token))
        .await;
    let token = token["data"]["attributes"]["key"]
        .as_str()
        .expect("token")
        .to_owned();
    let check = s
        .http
        .get(s.url(&format!("/api/v1/validate_client_token?dd-api-key={token}")));
    assert_eq!(send(check).await.0, StatusCode::OK);
    secrets.push(token);
    let console = s.sign_in().await;
    let (status, _) = send(s.console_req(&console, Method::GET, "/api/v2/client_tokens")).await;
    assert_eq!(status, StatusCode::OK);
    let session = console.cookie.split_once('=').expect("cookie").1.to_owned();
    secrets.push(session);
    secrets.push(console.csrf.clone());
    // Wrong keys are not logged either.
    let wrong = "feedfacefeedfacefeedfacefeedface".to_owned();
    let req = s
        .http
        .get(s.url("/api/v2/api_keys"))
        .header("DD-API-KEY", &wrong)
        .header("DD-APPLICATION-KEY", &wrong);
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
    secrets.push(wrong);
    s.call(Method::GET, "/api/v2/api_keys?include=created_by", None)
        .await;

    // Scan while running (WAL holds the newest pages) and again after a clean stop.
    let mut scans = database_bytes(&s);
    s.stop().await;
    scans.extend(database_bytes(&s));
    assert!(
        scans.iter().any(|(_, b)| !b.is_empty()),
        "no database file found"
    );
    for (file, bytes) in &scans {
        for secret in &secrets {
            assert!(
                !contains(bytes, secret),
                "{file} holds a secret in plain text"
            );
        }
    }
    let logs = s.logs();
    assert!(logs.contains("request"), "request logging is on: {logs}");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret reached the log");
    }
}

#[tokio::test]
async fn the_database_holds_a_sha256_digest_and_a_ciphertext() {
    let mut s = Server::start().await;
    let (id, key) = s.create_api_key("digested").await;
    s.stop().await;
    let url = format!(
        "sqlite://{}?mode=ro",
        s.data_dir().join("keyplane.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open db");
    let row = sqlx::query("SELECT digest, sealed_key, last4 FROM api_keys WHERE id = ?")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .expect("row");
    let digest: Vec<u8> = row.get("digest");
    let sealed: Vec<u8> = row.get("sealed_key");
    assert_eq!(digest, Sha256::digest(key.as_bytes()).to_vec());
    // 12-byte nonce, 32 bytes of ciphertext, 16-byte tag.
    assert_eq!(sealed.len(), 12 + 32 + 16);
    assert!(!contains(&sealed, &key));
    assert_eq!(row.get::<String, _>("last4"), key[28..]);
}
