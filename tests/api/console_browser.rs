//! The console in real headless Chromium: every flow a user needs, through the page only,
//! checked against the API afterwards. A failing flow leaves a screenshot under
//! `$CARGO_TARGET_DIR/browser-screenshots/`.

use crate::browser::*;
use crate::helpers::*;
use fantoccini::{Client, Locator};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

const ENTER: &str = "\u{E007}";

fn row(list: &str, name: &str) -> Locator<'static> {
    Locator::Css(Box::leak(
        format!("[data-testid=\"{list}-row\"][data-name=\"{name}\"]").into_boxed_str(),
    ))
}

async fn value_of(c: &Client, locator: Locator<'_>) -> String {
    let el = visible(c, locator).await;
    match el.prop("value").await {
        Ok(Some(v)) if !v.is_empty() => v,
        _ => el.text().await.expect("text"),
    }
}

async fn sign_in(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(base).await.expect("open console");
    type_into(c, tid("signin-email"), email).await;
    // Keyboard only: Enter in the password field submits.
    type_into(c, tid("signin-password"), &format!("{password}{ENTER}")).await;
    let header = visible(c, tid("header-user")).await;
    assert_eq!(header.text().await.expect("header"), email);
}

async fn gone(c: &Client, locator: Locator<'_>) {
    for _ in 0..100 {
        if c.find(locator).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{locator:?} is still shown");
}

async fn validates(s: &Server, key: &str) -> StatusCode {
    let req = s
        .http
        .get(s.url("/api/v1/validate"))
        .header("DD-API-KEY", key);
    send(req).await.0
}

#[tokio::test]
async fn api_keys_create_copy_rename_and_revoke() {
    if !available() {
        return;
    }
    let s = Server::start().await;
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let api = s.http.clone();
    let validate_url = s.url("/api/v1/validate");
    let browser = Browser::launch(LAPTOP).await;
    browser
        .run("api_keys", |c| async move {
            sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-api-keys")).await;
            until_text(&c, "the key counter", |t| t.contains("1 of 5 API keys")).await;

            type_into(&c, tid("api-keys-create-name"), "browser-made").await;
            click(&c, tid("api-keys-create-submit")).await;
            let panel = visible(&c, tid("api-keys-new-secret")).await;
            let text = panel.text().await.expect("panel text");
            assert!(
                text.to_lowercase().contains("only"),
                "no one-time warning: {text}"
            );
            let key = value_of(&c, tid("secret-value")).await;
            assert_eq!(key.len(), 32, "{key}");
            click(&c, tid("copy-button")).await;
            until_text(&c, "copy feedback", |t| t.contains("Copied")).await;
            let ok = api
                .get(&validate_url)
                .header("DD-API-KEY", &key)
                .send()
                .await;
            assert_eq!(ok.expect("validate").status(), StatusCode::OK);
            until_text(&c, "the key counter", |t| t.contains("2 of 5 API keys")).await;

            // Rename in place: Enter saves.
            let made = visible(&c, row("api-keys", "browser-made")).await;
            made.find(tid("row-rename"))
                .await
                .expect("rename")
                .click()
                .await
                .expect("click");
            type_into(&c, tid("rename-input"), &format!("browser-renamed{ENTER}")).await;
            visible(&c, row("api-keys", "browser-renamed")).await;

            // Revoke asks first and says what happens.
            let renamed = visible(&c, row("api-keys", "browser-renamed")).await;
            renamed
                .find(tid("row-revoke"))
                .await
                .expect("revoke")
                .click()
                .await
                .expect("click");
            let dialog = visible(&c, tid("confirm-dialog")).await;
            let warning = dialog.text().await.expect("dialog text");
            assert!(
                warning.contains("stop"),
                "no consequence explained: {warning}"
            );
            click(&c, tid("confirm-ok")).await;
            gone(&c, row("api-keys", "browser-renamed")).await;
            until_text(&c, "the key counter", |t| t.contains("1 of 5 API keys")).await;
            let refused = api
                .get(&validate_url)
                .header("DD-API-KEY", &key)
                .send()
                .await;
            assert_eq!(refused.expect("validate").status(), StatusCode::FORBIDDEN);
        })
        .await;
    // The page's changes are the API's: the rename and the revocation hold there too.
    let (_, list) = s.call(Method::GET, "/api/v2/api_keys", None).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn the_last_api_key_cannot_be_revoked_and_the_reason_is_shown() {
    if !available() {
        return;
    }
    let s = Server::start().await;
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    browser
        .run("last_key", |c| async move {
            sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-api-keys")).await;
            let only = visible(&c, tid("api-keys-row")).await;
            only.find(tid("row-revoke"))
                .await
                .expect("revoke")
                .click()
                .await
                .expect("click");
            click(&c, tid("confirm-ok")).await;
            let error = visible(&c, tid("confirm-error")).await;
            let text = error.text().await.expect("error text");
            assert!(text.contains("last API key"), "{text}");
        })
        .await;
    assert_eq!(validates(&s, &s.creds.api_key).await, StatusCode::OK);
}

#[tokio::test]
async fn application_keys_and_client_tokens_are_created_from_the_console() {
    if !available() {
        return;
    }
    let s = Server::start().await;
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let browser = Browser::launch(LAPTOP).await;
    browser
        .run("app_keys_and_tokens", |c| async move {
            sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-application-keys")).await;
            type_into(&c, tid("my-app-keys-create-name"), "terraform").await;
            click(&c, tid("my-app-keys-create-submit")).await;
            visible(&c, tid("my-app-keys-new-secret")).await;
            let app_key = value_of(&c, tid("secret-value")).await;
            visible(&c, row("my-app-keys", "terraform")).await;

            click(&c, tid("nav-client-tokens")).await;
            type_into(&c, tid("client-tokens-create-name"), "RUM shop").await;
            click(&c, tid("client-tokens-create-submit")).await;
            let token_row = visible(&c, row("client-tokens", "RUM shop")).await;
            let token = token_row
                .find(tid("token-value"))
                .await
                .expect("token")
                .text()
                .await
                .expect("token text");
            let _ = tx.send((app_key, token));
        })
        .await;
    let (app_key, token) = rx.await.expect("keys from the page");
    assert_eq!(app_key.len(), 40);
    let req = s
        .http
        .get(s.url("/api/v2/validate_keys"))
        .header("DD-API-KEY", &s.creds.api_key)
        .header("DD-APPLICATION-KEY", &app_key);
    assert_eq!(
        send(req).await.0,
        StatusCode::OK,
        "the page's application key works"
    );
    assert!(token.starts_with("pub") && token.len() == 35, "{token}");
    let req = s
        .http
        .get(s.url("/api/v1/validate_client_token"))
        .header("DD-CLIENT-TOKEN", &token);
    assert_eq!(
        send(req).await.0,
        StatusCode::OK,
        "the page's client token works"
    );
}

#[tokio::test]
async fn disabling_a_user_deletes_its_application_keys() {
    if !available() {
        return;
    }
    let s = Server::start().await;
    let email = "leaver@example.com";
    let body = json!({"data": {"type": "users", "attributes": {"email": email, "name": "Leaver"}}});
    let (status, _) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let out = s.admin(&[
        "create-application-key",
        "--email",
        email,
        "--name",
        "leaver-key",
    ]);
    let leaver_key = env_value(&out, "DD_APP_KEY");
    s.await_key_pair(&s.creds.api_key, &leaver_key).await;

    let (base, admin, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    browser
        .run("disable_user", |c| async move {
            sign_in(&c, &base, &admin, &password).await;
            click(&c, tid("nav-application-keys")).await;
            click(&c, tid("app-keys-tab-all")).await;
            visible(&c, row("all-app-keys", "leaver-key")).await;

            click(&c, tid("nav-users")).await;
            let leaver = visible(&c, row("users", "Leaver")).await;
            leaver
                .find(tid("row-disable"))
                .await
                .expect("disable")
                .click()
                .await
                .expect("click");
            visible(&c, tid("confirm-dialog")).await;
            // The FAQ's consequences, in the dialog: app keys go, API keys stay.
            until_text(&c, "the disable warning", |t| {
                t.contains("application key") && t.contains("API keys they created stay valid")
            })
            .await;
            click(&c, tid("confirm-ok")).await;
            // The list reloads after the change, so the row is looked up afresh each time.
            let selector =
                "[data-testid=\"users-row\"][data-name=\"Leaver\"] [data-testid=\"row-status\"]";
            let mut status = String::new();
            for _ in 0..100 {
                if let Ok(el) = c.find(Locator::Css(selector)).await {
                    status = el.text().await.unwrap_or_default();
                    if status == "Disabled" {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(status, "Disabled");

            click(&c, tid("nav-application-keys")).await;
            click(&c, tid("app-keys-tab-all")).await;
            visible(&c, tid("all-app-keys-table")).await;
            gone(&c, row("all-app-keys", "leaver-key")).await;
        })
        .await;
    let req = s
        .http
        .get(s.url("/api/v2/validate_keys"))
        .header("DD-API-KEY", &s.creds.api_key)
        .header("DD-APPLICATION-KEY", &leaver_key);
    assert_eq!(send(req).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_failed_sign_in_and_sign_out_on_a_phone() {
    if !available() {
        return;
    }
    let s = Server::start().await;
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(PHONE).await;
    browser
        .run("sign_in_out_phone", |c| async move {
            c.goto(&base).await.expect("open console");
            type_into(&c, tid("signin-email"), &email).await;
            type_into(&c, tid("signin-password"), "not the password").await;
            click(&c, tid("signin-submit")).await;
            let error = visible(&c, tid("signin-error")).await;
            assert_eq!(
                error.text().await.expect("error"),
                "Wrong email or password"
            );

            type_into(&c, tid("signin-password"), &format!("{password}{ENTER}")).await;
            visible(&c, tid("header-user")).await;
            // Every section is reachable from the phone's navigation.
            for (nav, page) in [
                ("nav-api-keys", "api-keys-page"),
                ("nav-application-keys", "app-keys-page"),
                ("nav-client-tokens", "client-tokens-page"),
                ("nav-users", "users-page"),
            ] {
                click(&c, tid(nav)).await;
                visible(&c, tid(page)).await;
            }
            let width: i64 = c
                .execute("return document.documentElement.scrollWidth;", vec![])
                .await
                .expect("width")
                .as_i64()
                .unwrap_or(0);
            assert!(
                width <= 390,
                "the page scrolls sideways on a phone: {width}px"
            );

            click(&c, tid("signout-button")).await;
            visible(&c, tid("signin-form")).await;
            c.goto(&format!("{base}#/api-keys")).await.expect("reopen");
            visible(&c, tid("signin-form")).await;
        })
        .await;
}

#[tokio::test]
async fn an_expired_session_sends_the_user_back_to_sign_in() {
    if !available() {
        return;
    }
    let s = Server::start_with(&["--session-idle-timeout", "2"]).await;
    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    browser
        .run("expired_session", |c| async move {
            sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-client-tokens")).await;
            visible(&c, tid("client-tokens-page")).await;
            tokio::time::sleep(Duration::from_secs(3)).await;
            // The page notices by itself when the session's expiry passes; if it has not
            // yet, the next API call is refused and the page notices then.
            if let Ok(nav) = c.find(tid("nav-api-keys")).await {
                let _ = nav.click().await;
            }
            let notice = visible(&c, tid("signin-notice")).await;
            let text = notice.text().await.expect("notice");
            assert!(text.contains("expired"), "{text}");
            type_into(&c, tid("signin-email"), &email).await;
            type_into(&c, tid("signin-password"), &format!("{password}{ENTER}")).await;
            visible(&c, tid("header-user")).await;
            visible(&c, tid("page-title")).await;
        })
        .await;
}
