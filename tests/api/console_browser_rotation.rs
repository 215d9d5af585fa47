//! Rotating from the console, in real headless Chromium: the new secret is shown once, the
//! old one keeps working for the overlap chosen, and the Rollout panel lists who still
//! presents it.

use crate::browser::*;
use crate::helpers::*;
use fantoccini::Locator;
use reqwest::StatusCode;
use std::sync::Arc;

fn in_row(name: &str, testid: &str) -> Locator<'static> {
    Locator::Css(Box::leak(
        format!("[data-testid=\"api-keys-row\"][data-name=\"{name}\"] [data-testid=\"{testid}\"]")
            .into_boxed_str(),
    ))
}

#[tokio::test]
async fn an_api_key_is_rotated_and_its_rollout_watched_from_the_console() {
    if !available() {
        return;
    }
    let s = Arc::new(Server::start().await);
    let (_, old) = s.create_api_key("fleet").await;
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    let server = s.clone();
    browser
        .run("key_rotation", |c| async move {
            let s = &*server;
            console_sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-api-keys")).await;
            click(&c, in_row("fleet", "row-rotate")).await;
            visible(&c, tid("rotate-grace"))
                .await
                .select_by_value("3600")
                .await
                .expect("an hour");
            click(&c, tid("confirm-ok")).await;
            let panel = visible(&c, tid("rotated-secret")).await;
            let text = panel.text().await.expect("panel");
            assert!(text.contains("keeps working until"), "{text}");
            let new = panel
                .find(tid("secret-value"))
                .await
                .expect("secret")
                .prop("value")
                .await
                .expect("value")
                .unwrap_or_default();
            assert_eq!(new.len(), 32, "{new}");
            assert_ne!(new, old);
            let validate = |key: String, agent: &'static str| async move {
                let req = s
                    .http
                    .get(s.url("/api/v1/validate"))
                    .header("DD-API-KEY", key)
                    .header("User-Agent", agent);
                send(req).await.0
            };
            assert_eq!(validate(new.clone(), "switched").await, StatusCode::OK);
            assert_eq!(
                validate(old.clone(), "datadog-agent/7.70.0").await,
                StatusCode::OK
            );
            click(&c, tid("secret-dismiss")).await;

            click(&c, in_row("fleet", "row-rollout")).await;
            let caller = visible(&c, tid("rollout-caller")).await;
            let text = caller.text().await.expect("caller");
            assert!(
                text.contains("datadog-agent/7.70.0") && text.contains("127.0.0.1"),
                "{text}"
            );
            let all = visible(&c, tid("rollout"))
                .await
                .text()
                .await
                .expect("rollout");
            assert!(
                !all.contains("switched"),
                "the new secret's caller is listed: {all}"
            );
        })
        .await;
}
