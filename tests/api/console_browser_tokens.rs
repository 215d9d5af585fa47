//! The Access Tokens page in real headless Chromium: a personal token made in the console
//! authenticates alone with its scopes as a ceiling, a service account's token may never
//! expire, expiry is shown, and a token revoked in the console is refused on its next use.

use crate::browser::*;
use crate::helpers::*;
use fantoccini::{Client, Locator};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn row(name: &str) -> Locator<'static> {
    Locator::Css(Box::leak(
        format!("[data-testid=\"access-tokens-row\"][data-name=\"{name}\"]").into_boxed_str(),
    ))
}

async fn with_bearer(s: &Server, path: &str, token: &str) -> StatusCode {
    let req = s
        .http
        .get(s.url(path))
        .header("Authorization", format!("Bearer {token}"));
    send(req).await.0
}

async fn created_secret(c: &Client) -> String {
    let panel = visible(c, tid("access-tokens-new-token")).await;
    let text = panel.text().await.expect("panel text");
    assert!(text.contains("only once"), "no one-time warning: {text}");
    let value = panel
        .find(tid("secret-value"))
        .await
        .expect("secret")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    panel
        .find(tid("secret-dismiss"))
        .await
        .expect("dismiss")
        .click()
        .await
        .expect("click");
    value
}

#[tokio::test]
async fn access_tokens_are_made_used_and_revoked_from_the_console() {
    if !available() {
        return;
    }
    let s = Arc::new(Server::start().await);
    let (status, sa) = s
        .call(
            Method::POST,
            "/api/v2/service_accounts",
            Some(json!({"data": {"type": "users", "attributes": {
                "email": "robot@example.com", "name": "Robot", "service_account": true}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sa}");
    let sa_id = sa["data"]["id"].as_str().expect("id").to_owned();
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    let server = s.clone();
    browser
        .run("access_tokens", |c| async move {
            let s = &*server;
            console_sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-access-tokens")).await;

            type_into(&c, tid("access-tokens-create-name"), "ci-token").await;
            type_into(&c, tid("access-tokens-create-scopes"), "api_keys_read").await;
            click(&c, tid("access-tokens-create-submit")).await;
            let token = created_secret(&c).await;
            assert!(token.starts_with("ddpat_") && token.len() == 65, "{token}");
            assert_eq!(
                with_bearer(s, "/api/v2/api_keys", &token).await,
                StatusCode::OK
            );
            // The scopes are a ceiling: client tokens are outside them.
            assert_eq!(
                with_bearer(s, "/api/v2/client_tokens", &token).await,
                StatusCode::FORBIDDEN
            );
            let made = visible(&c, row("ci-token")).await;
            let expiry = made.find(tid("row-expiry")).await.expect("expiry");
            let text = expiry.text().await.expect("expiry text");
            assert!(
                text.starts_with("Expires in 29 days") || text.starts_with("Expires in 30 days"),
                "{text}"
            );

            // A service account's token may never expire.
            type_into(&c, tid("access-tokens-create-name"), "robot-token").await;
            type_into(&c, tid("access-tokens-create-scopes"), "api_keys_read").await;
            let owner = visible(
                &c,
                Locator::Css(Box::leak(
                    format!(
                        "[data-testid=\"access-tokens-create-owner\"] option[value=\"{sa_id}\"]"
                    )
                    .into_boxed_str(),
                )),
            )
            .await;
            owner.click().await.expect("pick the service account");
            visible(&c, tid("access-tokens-create-expiry"))
                .await
                .select_by_value("never")
                .await
                .expect("never");
            click(&c, tid("access-tokens-create-submit")).await;
            let robot = created_secret(&c).await;
            assert!(robot.starts_with("ddsat_"), "{robot}");
            let listed = visible(&c, row("robot-token")).await;
            let text = listed.text().await.expect("row text");
            assert!(
                text.contains("Never expires") && text.contains("Service account"),
                "{text}"
            );

            // The service account's own page, from its row on the Users page: its tokens
            // only, and new ones are its own.
            click(&c, tid("nav-users")).await;
            visible(
                &c,
                Locator::Css(Box::leak(
                    format!(
                        "[data-testid=\"users-row\"][data-id=\"{sa_id}\"] [data-testid=\"row-access-tokens\"]"
                    )
                    .into_boxed_str(),
                )),
            )
            .await
            .click()
            .await
            .expect("open the account's tokens");
            visible(&c, tid("service-account-tokens-page")).await;
            until_text(&c, "the account's page", |t| t.contains("Tokens of Robot")).await;
            until_text(&c, "only the account's tokens", |t| {
                t.contains("robot-token") && !t.contains("ci-token")
            })
            .await;
            type_into(&c, tid("access-tokens-create-name"), "robot-page-token").await;
            type_into(&c, tid("access-tokens-create-scopes"), "api_keys_read").await;
            click(&c, tid("access-tokens-create-submit")).await;
            let second = created_secret(&c).await;
            assert!(second.starts_with("ddsat_"), "{second}");
            let listed = visible(&c, row("robot-page-token")).await;
            let text = listed.text().await.expect("row text");
            assert!(text.contains("Expires in"), "{text}");
            let (_, tokens) = s
                .call(
                    Method::GET,
                    &format!("/api/v2/service_accounts/{sa_id}/access_tokens"),
                    None,
                )
                .await;
            assert_eq!(tokens["meta"]["page"]["total_filtered_count"], 2, "{tokens}");
            click(&c, tid("nav-access-tokens")).await;

            // Revoked in the console: refused on its next use.
            visible(&c, row("ci-token"))
                .await
                .find(tid("row-revoke"))
                .await
                .expect("revoke")
                .click()
                .await
                .expect("click");
            click(&c, tid("confirm-ok")).await;
            until_text(&c, "the revocation", |t| t.contains("ci-token was revoked")).await;
            let mut refused = false;
            for _ in 0..20 {
                if with_bearer(s, "/api/v2/api_keys", &token).await != StatusCode::OK {
                    refused = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(refused, "a revoked token still authenticates");
        })
        .await;
}
