//! The console's Audit Trail in real headless Chromium: an admin sees who created and
//! revoked a key, filters the trail, and a Standard user is not offered the section.

use crate::browser::*;
use crate::helpers::*;
use fantoccini::{Client, Locator};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

const ENTER: &str = "\u{E007}";

/// What one audit row shows: data-action and the text (or title) of its cells.
#[derive(Debug, Clone)]
struct Shown {
    action: String,
    label: String,
    actor: String,
    target: String,
    source: String,
    time: String,
}

async fn read_rows(c: &Client) -> Option<Vec<Shown>> {
    let mut shown = Vec::new();
    for row in c.find_all(tid("audit-row")).await.ok()? {
        let text = |id: &'static str| {
            let row = row.clone();
            async move { row.find(tid(id)).await.ok()?.text().await.ok() }
        };
        let target = match row.find(tid("row-target")).await {
            Ok(button) => button.attr("title").await.ok()??,
            Err(_) => String::new(),
        };
        let time = row
            .find(Locator::Css("[data-testid=\"cell-time\"] time"))
            .await
            .ok()?
            .attr("datetime")
            .await
            .ok()??;
        shown.push(Shown {
            action: row.attr("data-action").await.ok()??,
            label: text("cell-action").await?,
            actor: text("cell-actor").await?,
            source: text("cell-source").await?,
            target,
            time,
        });
    }
    Some(shown)
}

/// Waits until the rows on screen satisfy `check` (the list re-renders as it loads).
async fn until_rows(c: &Client, what: &str, check: impl Fn(&[Shown]) -> bool) -> Vec<Shown> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = read_rows(c).await.unwrap_or_default();
        if check(&rows) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "waited for {what}; rows: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn admins_read_and_filter_the_audit_trail_and_standard_users_do_not_see_it() {
    if !available() {
        return;
    }
    let s = Server::start().await;
    let (key_id, _) = s.create_api_key("audited").await;
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{key_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A Standard user, whose password the operator sets with the CLI (actor: none).
    let std_email = format!("std-{}@example.com", uuid::Uuid::new_v4().simple());
    let (_, roles) = s
        .call(Method::GET, "/api/v2/roles?filter=Standard", None)
        .await;
    let role = roles["data"][0]["id"].as_str().expect("role").to_owned();
    let body = json!({"data": {"type": "users", "attributes": {"email": std_email},
        "relationships": {"roles": {"data": [{"id": role, "type": "roles"}]}}}});
    let (status, user) = s.call(Method::POST, "/api/v2/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let out = s.admin(&["set-password", "--email", &std_email, "--generate"]);
    let std_password = env_value(&out, "KEYPLANE_PASSWORD");

    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    browser
        .run("audit_trail", |c| async move {
            console_sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-audit")).await;
            visible(&c, tid("audit-page")).await;

            let rows = until_rows(&c, "the key's creation and revocation", |rows| {
                ["api_key.create", "api_key.revoke", "user.password_set"]
                    .iter()
                    .all(|a| rows.iter().any(|r| r.action == *a))
            })
            .await;
            // Newest first.
            let at = |a: &str| rows.iter().position(|r| r.action == a).expect("row");
            assert!(at("api_key.revoke") < at("api_key.create"), "{rows:#?}");
            for (action, label) in [
                ("api_key.create", "API key created"),
                ("api_key.revoke", "API key revoked"),
            ] {
                let row = &rows[at(action)];
                assert_eq!(row.label, label, "{row:?}");
                assert!(row.actor.contains(&email), "actor is the admin: {row:?}");
                assert_eq!(row.target, key_id, "full id in the title: {row:?}");
                assert_eq!(row.source, "127.0.0.1", "{row:?}");
                assert!(row.time.ends_with('Z'), "{row:?}");
            }
            let cli = &rows[at("user.password_set")];
            assert_eq!(cli.actor, "keyplane admin (CLI)", "{cli:?}");
            assert_eq!(cli.source, "CLI", "{cli:?}");

            // A shortened id is refused in plain words, next to the filters (Enter submits).
            type_into(
                &c,
                tid("audit-filter-key"),
                &format!("{}…{ENTER}", &key_id[..8]),
            )
            .await;
            let error = visible(&c, tid("audit-error")).await;
            let text = error.text().await.expect("error");
            assert!(text.contains("full ID"), "{text}");
            type_into(&c, tid("audit-filter-key"), "").await;

            visible(&c, tid("audit-filter-action"))
                .await
                .select_by_value("api_key.revoke")
                .await
                .expect("choose action");
            click(&c, tid("audit-filter-apply")).await;
            let rows = until_rows(&c, "only the revocation", |rows| {
                rows.len() == 1 && rows[0].action == "api_key.revoke"
            })
            .await;
            assert_eq!(rows[0].target, key_id);
            until_text(&c, "one page", |t| t.contains("Page 1 of 1")).await;
            let error = c.find(tid("audit-error")).await.expect("error box");
            assert!(
                !error.is_displayed().await.expect("displayed"),
                "the error stays"
            );

            // On a phone the same rows are cards and nothing scrolls sideways.
            c.set_window_size(390, 844).await.expect("resize");
            visible(&c, tid("audit-row")).await;
            visible(&c, tid("audit-filter-apply")).await;
            let width = c
                .execute("return document.documentElement.scrollWidth;", vec![])
                .await
                .expect("width")
                .as_i64()
                .unwrap_or(0);
            assert!(
                width <= 390,
                "the page scrolls sideways on a phone: {width}px"
            );
            c.set_window_size(1280, 800).await.expect("resize");

            click(&c, tid("signout-button")).await;
            visible(&c, tid("signin-form")).await;
            console_sign_in(&c, &base, &std_email, &std_password).await;
            visible(&c, tid("nav-api-keys")).await;
            assert!(
                c.find(tid("nav-audit")).await.is_err(),
                "a Standard user is offered the audit trail"
            );
            c.goto(&format!("{base}#/audit"))
                .await
                .expect("open #/audit");
            visible(&c, tid("page-forbidden")).await;
            assert!(c.find(tid("audit-page")).await.is_err());
        })
        .await;
}

#[tokio::test]
async fn an_api_key_seen_from_a_browser_is_marked_on_the_api_keys_page() {
    if !available() {
        return;
    }
    let s = Server::start().await;
    let (exposed_id, exposed) = s.create_api_key("pasted into a page").await;
    let (kept_id, _) = s.create_api_key("agents only").await;
    // The intake gate refuses the key when a browser page sends it.
    let status = s
        .http
        .get(s.url("/intake/authorize"))
        .header(
            "X-Original-URI",
            format!("/api/v2/logs?dd-api-key={exposed}&dd-evp-origin=browser"),
        )
        .send()
        .await
        .expect("gate")
        .status();
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (base, email, password) = (s.url("/"), s.creds.email.clone(), s.creds.password.clone());
    let browser = Browser::launch(LAPTOP).await;
    browser
        .run("api_key_exposed", |c| async move {
            console_sign_in(&c, &base, &email, &password).await;
            click(&c, tid("nav-api-keys")).await;
            let badge = visible(&c, tid("api-key-exposed")).await;
            let text = badge.text().await.expect("badge text");
            assert!(text.contains("Used from a browser"), "{text}");
            // Only that key's row carries the mark.
            let marked = c.find_all(tid("api-key-exposed")).await.expect("badges");
            assert_eq!(marked.len(), 1);
            let rows = c.find_all(Locator::Css("tr[data-id]")).await.expect("rows");
            let mut seen = Vec::new();
            for row in rows {
                let id = row.attr("data-id").await.ok().flatten().unwrap_or_default();
                let has = row.find(tid("api-key-exposed")).await.is_ok();
                seen.push((id, has));
            }
            assert!(seen.contains(&(exposed_id.clone(), true)), "{seen:?}");
            assert!(!seen.contains(&(kept_id.clone(), true)), "{seen:?}");
            assert!(seen.iter().any(|(id, _)| *id == kept_id), "{seen:?}");
        })
        .await;
}
