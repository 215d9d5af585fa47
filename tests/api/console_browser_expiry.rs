//! Key expiry in the console, in real headless Chromium: rows say "expires in N days" or
//! "expired", and the create form's optional date becomes the key's `expires_at`.

use crate::browser::*;
use crate::helpers::*;
use fantoccini::{Client, Locator};
use keyplane::domain::time;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const ENTER: &str = "\u{E007}";
const DAY: i64 = 86_400 * 1_000_000;

fn row(prefix: &str, name: &str) -> Locator<'static> {
    Locator::Css(Box::leak(
        format!("[data-testid=\"{prefix}-row\"][data-name=\"{name}\"]").into_boxed_str(),
    ))
}

async fn expires_text(c: &Client, prefix: &str, name: &str) -> String {
    let found = visible(c, row(prefix, name)).await;
    let cell = found.find(tid("row-expires")).await.expect("expires cell");
    cell.text().await.expect("text")
}

async fn create(s: &Server, path: &str, kind: &str, name: &str, expires_at: i64) {
    let body = json!({"data": {"type": kind, "attributes": {
        "name": name, "expires_at": time::format(expires_at)}}});
    let (status, doc) = s.call(Method::POST, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
}

#[tokio::test]
async fn rows_show_the_expiry_and_the_form_sets_one() {
    if !available() {
        return;
    }
    let s = Arc::new(Server::start().await);
    let now = time::now();
    create(
        &s,
        "/api/v2/api_keys",
        "api_keys",
        "soon gone",
        now + 1_000_000,
    )
    .await;
    create(
        &s,
        "/api/v2/api_keys",
        "api_keys",
        "ten days",
        now + 10 * DAY - 60_000_000,
    )
    .await;
    let tokens = "/api/v2/client_tokens";
    create(
        &s,
        tokens,
        "client_tokens",
        "three days",
        now + 3 * DAY - 60_000_000,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    let server = s.clone();
    browser
        .run("key_expiry", |c| async move {
            c.goto(&base).await.expect("open console");
            type_into(&c, tid("signin-email"), &email).await;
            type_into(&c, tid("signin-password"), &format!("{password}{ENTER}")).await;
            visible(&c, tid("header-user")).await;
            click(&c, tid("nav-api-keys")).await;
            assert_eq!(expires_text(&c, "api-keys", "soon gone").await, "expired");
            assert_eq!(
                expires_text(&c, "api-keys", "ten days").await,
                "expires in 10 days"
            );
            assert_eq!(
                expires_text(&c, "api-keys", "Initial API key").await,
                "Never"
            );

            // The form's date: midnight UTC of that day, four to five days from now.
            let day = time::format(time::now() + 5 * DAY)[..10].to_owned();
            type_into(&c, tid("api-keys-create-name"), "from the form").await;
            c.execute(
                "document.querySelector('[data-testid=\"api-keys-create-expires\"]').value = arguments[0];",
                vec![json!(day)],
            )
            .await
            .expect("set the date");
            click(&c, tid("api-keys-create-submit")).await;
            visible(&c, tid("api-keys-new-secret")).await;
            let text = expires_text(&c, "api-keys", "from the form").await;
            assert!(
                text == "expires in 5 days" || text == "expires in 4 days",
                "{text}"
            );
            let (_, listed) = server
                .call(Method::GET, "/api/v2/api_keys?filter=from%20the%20form", None)
                .await;
            let at = listed["data"][0]["attributes"]["expires_at"].as_str().unwrap_or_default().to_owned();
            assert!(at.starts_with(&format!("{day}T00:00:00")), "{listed}");

            click(&c, tid("nav-client-tokens")).await;
            assert_eq!(
                expires_text(&c, "client-tokens", "three days").await,
                "expires in 3 days"
            );
        })
        .await;
}
