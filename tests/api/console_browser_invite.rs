//! Accepting an invitation in real headless Chromium: the admin takes the link from the Users
//! page, the invited user opens it, sets a password and lands signed in; the used link then
//! says it cannot be used.

use crate::browser::*;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

const ENTER: &str = "\u{E007}";

#[tokio::test]
async fn an_invited_user_sets_a_password_through_the_link() {
    if !available() {
        return;
    }
    let s = Server::start().await;
    let email = format!("invitee-{}@example.com", uuid::Uuid::new_v4().simple());
    let body = json!({"data": {"type": "users", "attributes": {"email": email}}});
    let (status, user) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let user_id = user["data"]["id"].as_str().expect("id").to_owned();

    let (base, admin, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    let invitee = email.clone();
    browser
        .run("invitation", |c| async move {
            c.goto(&base).await.expect("open console");
            type_into(&c, tid("signin-email"), &admin).await;
            type_into(&c, tid("signin-password"), &format!("{password}{ENTER}")).await;
            visible(&c, tid("header-user")).await;
            click(&c, tid("nav-users")).await;
            let row = format!(
                "[data-testid=\"users-row\"][data-id=\"{user_id}\"] [data-testid=\"row-invite\"]"
            );
            click(&c, fantoccini::Locator::Css(&row)).await;
            let panel = visible(&c, tid("invite-link")).await;
            let link = panel.find(tid("secret-value")).await.expect("link field");
            let link = match link.prop("value").await.expect("value") {
                Some(value) if !value.is_empty() => value,
                _ => link.text().await.expect("text"),
            };
            assert!(
                link.starts_with(&base) && link.contains("#/invite/"),
                "{link}"
            );
            click(&c, tid("signout-button")).await;
            visible(&c, tid("signin-page")).await;

            c.goto(&link).await.expect("open link");
            let shown = visible(&c, tid("invite-email")).await;
            assert_eq!(shown.text().await.expect("email"), invitee);
            let url = c.current_url().await.expect("url");
            assert!(
                !url.as_str().contains(&link[link.len() - 16..]),
                "secret left in {url}"
            );
            type_into(&c, tid("invite-password"), "too short").await;
            type_into(&c, tid("invite-confirm"), &format!("too short{ENTER}")).await;
            let error = visible(&c, tid("invite-error")).await;
            assert!(
                error.text().await.expect("error").contains("12"),
                "length rule shown"
            );
            let chosen = "correct horse battery staple";
            c.find(tid("invite-password"))
                .await
                .expect("field")
                .clear()
                .await
                .expect("clear");
            c.find(tid("invite-confirm"))
                .await
                .expect("field")
                .clear()
                .await
                .expect("clear");
            type_into(&c, tid("invite-password"), chosen).await;
            type_into(&c, tid("invite-confirm"), &format!("{chosen}{ENTER}")).await;
            let header = visible(&c, tid("header-user")).await;
            assert_eq!(header.text().await.expect("header"), invitee);

            // Used once: opening it again says so.
            click(&c, tid("signout-button")).await;
            visible(&c, tid("signin-page")).await;
            c.goto(&link).await.expect("open link again");
            visible(&c, tid("invite-unusable")).await;
        })
        .await;
    let (_, got) = s
        .call(
            Method::GET,
            &format!(
                "/api/v2/users/{}",
                user["data"]["id"].as_str().unwrap_or_default()
            ),
            None,
        )
        .await;
    assert_eq!(got["data"]["attributes"]["status"], "Active");
    s.sign_in_as(&email, "correct horse battery staple").await;
}
