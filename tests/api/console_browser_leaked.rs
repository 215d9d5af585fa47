//! The console marks a key reported through `POST /api/v2/credentials/leaked` on its row, in
//! real headless Chromium, and only that key.

use crate::browser::*;
use crate::helpers::*;
use fantoccini::{Client, Locator};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

async fn sign_in(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(base).await.expect("open console");
    type_into(c, tid("signin-email"), email).await;
    type_into(c, tid("signin-password"), &format!("{password}\u{E007}")).await;
    let header = visible(c, tid("header-user")).await;
    assert_eq!(header.text().await.expect("header"), email);
}

#[tokio::test]
async fn a_leaked_api_key_is_marked_on_its_row() {
    if !available() {
        return;
    }
    let s = Server::start().await;
    let (leaked_id, leaked) = s.create_api_key("pushed to a public repo").await;
    let (kept_id, _) = s.create_api_key("kept safe").await;
    let report = json!({"data": {"type": "leaked_credentials",
        "attributes": {"candidates": [leaked]}}});
    let resp = s
        .http
        .post(s.url("/api/v2/credentials/leaked"))
        .json(&report)
        .send()
        .await
        .expect("report");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, key) = s
            .call(Method::GET, &format!("/api/v2/api_keys/{leaked_id}"), None)
            .await;
        if !key["data"]["relationships"]["leak_information"]["data"].is_null() {
            break;
        }
        assert!(Instant::now() < deadline, "never flagged: {key}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    browser
        .run("key_leaked", |c| async move {
            sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-api-keys")).await;
            let badge = visible(&c, tid("key-leaked")).await;
            let text = badge.text().await.expect("badge text");
            assert!(text.contains("Leaked"), "{text}");
            let rows = c.find_all(Locator::Css("tr[data-id]")).await.expect("rows");
            let mut seen = Vec::new();
            for row in rows {
                let id = row.attr("data-id").await.ok().flatten().unwrap_or_default();
                let has = row.find(tid("key-leaked")).await.is_ok();
                seen.push((id, has));
            }
            assert!(seen.contains(&(leaked_id.clone(), true)), "{seen:?}");
            assert!(seen.contains(&(kept_id.clone(), false)), "{seen:?}");
        })
        .await;
}
