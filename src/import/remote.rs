//! Keys from a live Datadog-compatible API, read with an admin's key pair: users and
//! service accounts (`/api/v2/users`), API keys with their values (`GET
//! /api/v2/api_keys/{id}` answers `key`), client tokens, and the application keys the source
//! reveals (`/api/v2/current_user/application_keys/{id}` answers `key` for the caller's own
//! keys outside One-Time Read mode; the organization's list never does).

use super::item::{Body, Item, Owner, SourceKey};
use crate::domain::imported_key::KeyKind;
use crate::domain::secret::Secret;
use crate::domain::user::Role;
use crate::service::imports::ImportedUser;
use anyhow::Context;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

const PAGE_SIZE: u32 = 100;
/// Client tokens: keyplane lists them; Datadog has no public API for them.
const OPTIONAL_LIST: &str = "/api/v2/client_tokens";
/// How many rate-limited answers in a row one request waits out.
const MAX_RATE_LIMITED: u32 = 10;

/// What the source holds: its organization's name and every item read.
pub struct Source {
    pub org_name: Option<String>,
    pub items: Vec<Item>,
}

struct Client {
    http: reqwest::Client,
    base: String,
    api_key: String,
    app_key: String,
}

impl Client {
    /// The status and JSON body of a GET; a transport failure is an error. A 429 is
    /// waited out as the source says (`X-RateLimit-Reset`, seconds) and tried again:
    /// Datadog limits the key endpoints per organization.
    async fn get(&self, path: &str) -> anyhow::Result<(StatusCode, Value)> {
        for _ in 0..MAX_RATE_LIMITED {
            let response = self
                .http
                .get(format!("{}{path}", self.base))
                .header("DD-API-KEY", &self.api_key)
                .header("DD-APPLICATION-KEY", &self.app_key)
                .header("Accept", "application/json")
                .send()
                .await
                .with_context(|| format!("GET {path}"))?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = response
                    .headers()
                    .get("x-ratelimit-reset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, 60);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            let text = response.text().await.unwrap_or_default();
            return Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)));
        }
        anyhow::bail!("the source kept answering GET {path} with 429 Too Many Requests")
    }

    /// A GET that must succeed.
    async fn fetch(&self, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.get(path).await?;
        anyhow::ensure!(
            status.is_success(),
            "the source answered GET {path} with {status}: {}",
            body.get("errors").unwrap_or(&body)
        );
        Ok(body)
    }

    /// Every item of a paged list (`page[size]`, `page[number]`); `None` when the source
    /// has no such list (404, or 403 for a list keyplane has and Datadog does not expose).
    async fn all(&self, path: &str) -> anyhow::Result<Option<Vec<Value>>> {
        let mut all = Vec::new();
        for number in 0.. {
            let sep = if path.contains('?') { '&' } else { '?' };
            let page = format!("{path}{sep}page[size]={PAGE_SIZE}&page[number]={number}");
            let (status, body) = self.get(&page).await?;
            let missing = status == StatusCode::NOT_FOUND
                || (status == StatusCode::FORBIDDEN && path.starts_with(OPTIONAL_LIST));
            if missing && number == 0 {
                return Ok(None);
            }
            anyhow::ensure!(
                status.is_success(),
                "the source answered GET {page} with {status}: {}",
                body.get("errors").unwrap_or(&body)
            );
            let data = match body.get("data") {
                Some(Value::Array(data)) => data.clone(),
                _ => Vec::new(),
            };
            let fetched = data.len();
            all.extend(data);
            if fetched < PAGE_SIZE as usize {
                break;
            }
        }
        Ok(Some(all))
    }
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub async fn read(
    url: &str,
    api_key: String,
    app_key: String,
    on_item: impl Fn(),
) -> anyhow::Result<Source> {
    // reqwest's rustls takes the process's provider; keyplane builds ring alone.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("keyplane-import/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let client = Client {
        http,
        base: url.trim_end_matches('/').to_owned(),
        api_key,
        app_key,
    };
    let me = client.fetch("/api/v2/current_user").await?;
    let org_name = me
        .get("included")
        .and_then(Value::as_array)
        .and_then(|all| {
            all.iter()
                .find(|i| i.get("type").and_then(Value::as_str) == Some("orgs"))
        })
        .and_then(|org| text(org, "/attributes/name"));
    let mut items = Vec::new();
    let role_names = role_names(&client).await?;
    for user in client.all("/api/v2/users").await?.unwrap_or_default() {
        if let Some(item) = user_item(&user, &role_names) {
            items.push(item);
        }
        on_item();
    }
    for listed in client.all("/api/v2/api_keys").await?.unwrap_or_default() {
        let Some(id) = text(&listed, "/id") else {
            continue;
        };
        let key = client.fetch(&format!("/api/v2/api_keys/{id}")).await?;
        items.push(key_item(
            KeyKind::ApiKey,
            format!("API key {id}"),
            &key["data"],
            "created_by",
        ));
        on_item();
    }
    let app_keys = client
        .all("/api/v2/application_keys")
        .await?
        .unwrap_or_default();
    for listed in app_keys {
        let Some(id) = text(&listed, "/id") else {
            continue;
        };
        let origin = format!("application key {id}");
        let (status, own) = client
            .get(&format!("/api/v2/current_user/application_keys/{id}"))
            .await?;
        let revealed = status.is_success() && own.pointer("/data/attributes/key").is_some();
        items.push(if revealed {
            let mut data = own["data"].clone();
            // The current user's surface may leave the owner out; the org list names it.
            if data.pointer("/relationships/owned_by/data/id").is_none() {
                data["relationships"] = listed["relationships"].clone();
            }
            key_item(KeyKind::ApplicationKey, origin, &data, "owned_by")
        } else {
            Item {
                origin,
                org: None,
                body: Body::Unrevealed {
                    kind: KeyKind::ApplicationKey,
                    name: text(&listed, "/attributes/name").unwrap_or_default(),
                },
            }
        });
        on_item();
    }
    // Datadog has no public client token API; keyplane has.
    for token in client.all(OPTIONAL_LIST).await?.unwrap_or_default() {
        let id = text(&token, "/id").unwrap_or_default();
        items.push(key_item(
            KeyKind::ClientToken,
            format!("client token {id}"),
            &token,
            "created_by",
        ));
        on_item();
    }
    Ok(Source { org_name, items })
}

/// Role id → the managed role of that name (Datadog's managed roles have other ids in
/// every organization; custom roles are not brought along).
async fn role_names(client: &Client) -> anyhow::Result<HashMap<String, Role>> {
    let roles = client.all("/api/v2/roles").await?.unwrap_or_default();
    Ok(roles
        .iter()
        .filter_map(|r| {
            let name = text(r, "/attributes/name")?;
            let role = Role::ALL
                .into_iter()
                .find(|m| m.display_name().eq_ignore_ascii_case(&name))?;
            Some((text(r, "/id")?, role))
        })
        .collect())
}

/// A user or service account; disabled ones stay behind (their keys work nowhere).
fn user_item(user: &Value, roles: &HashMap<String, Role>) -> Option<Item> {
    let id = text(user, "/id")?;
    let attributes = &user["attributes"];
    let disabled = attributes["disabled"].as_bool() == Some(true)
        || text(user, "/attributes/status").is_some_and(|s| s.eq_ignore_ascii_case("disabled"));
    if disabled {
        return None;
    }
    let email = text(user, "/attributes/email")?;
    let held: Vec<Role> = user
        .pointer("/relationships/roles/data")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|r| text(r, "/id"))
                .filter_map(|id| roles.get(&id).copied())
                .collect()
        })
        .unwrap_or_default();
    Some(Item {
        origin: format!("user {id}"),
        org: None,
        body: Body::User {
            source_id: id,
            user: ImportedUser {
                email,
                name: text(user, "/attributes/name").filter(|n| !n.is_empty()),
                title: text(user, "/attributes/title").filter(|t| !t.is_empty()),
                service_account: attributes["service_account"].as_bool() == Some(true),
                // Read Only when no managed role is held: a custom role's permissions are
                // unknown here, and an import must not widen anyone's.
                roles: if held.is_empty() {
                    vec![Role::ReadOnly]
                } else {
                    held
                },
            },
        },
    })
}

fn key_item(kind: KeyKind, origin: String, data: &Value, owner: &str) -> Item {
    let Some(value) = text(data, "/attributes/key") else {
        return Item {
            origin,
            org: None,
            body: Body::Invalid("the source did not return the key's value".into()),
        };
    };
    let scopes = data
        .pointer("/attributes/scopes")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        });
    Item {
        origin,
        org: None,
        body: Body::Key(SourceKey {
            kind,
            name: text(data, "/attributes/name").unwrap_or_default(),
            value: Secret::new(value),
            category: text(data, "/attributes/category"),
            remote_config_read_enabled: data
                .pointer("/attributes/remote_config_read_enabled")
                .and_then(Value::as_bool),
            scopes,
            // keyplane's extension; Datadog's keys do not expire.
            expires_at: text(data, "/attributes/expires_at"),
            owner: text(data, &format!("/relationships/{owner}/data/id"))
                .map_or(Owner::None, Owner::SourceId),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Datadog's own shapes: a user whose managed role has Datadog's id, an API key's GET.
    #[test]
    fn datadog_users_and_keys_are_read() {
        let roles = HashMap::from([("dd-admin-role".to_owned(), Role::Admin)]);
        let user = json!({"type": "users", "id": "u1", "attributes": {
            "email": "ops@example.com", "name": "", "handle": "ops@example.com",
            "status": "Active", "disabled": false, "service_account": false, "title": null},
            "relationships": {"roles": {"data": [
                {"type": "roles", "id": "dd-admin-role"},
                {"type": "roles", "id": "custom-role"}]}}});
        let item = user_item(&user, &roles).expect("imported");
        match item.body {
            Body::User { source_id, user } => {
                assert_eq!(source_id, "u1");
                assert_eq!(user.roles, vec![Role::Admin]);
                assert_eq!(user.name, None);
                assert!(!user.service_account);
            }
            other => panic!("{other:?}"),
        }
        let custom_only = json!({"id": "u2", "attributes": {"email": "x@example.com",
            "service_account": true}, "relationships": {"roles": {"data": [{"id": "custom"}]}}});
        match user_item(&custom_only, &roles).expect("imported").body {
            Body::User { user, .. } => {
                assert_eq!(user.roles, vec![Role::ReadOnly]);
                assert!(user.service_account);
            }
            other => panic!("{other:?}"),
        }
        let disabled = json!({"id": "u3", "attributes": {"email": "gone@example.com",
            "disabled": true, "status": "Disabled"}});
        assert!(user_item(&disabled, &roles).is_none());

        let key = json!({"type": "api_keys", "id": "k1", "attributes": {
            "category": "default", "key": "0123456789abcdef0123456789abcdef", "last4": "cdef",
            "name": "agents", "remote_config_read_enabled": false},
            "relationships": {"created_by": {"data": {"type": "users", "id": "u1"}}}});
        match key_item(KeyKind::ApiKey, "API key k1".into(), &key, "created_by").body {
            Body::Key(key) => {
                assert_eq!(key.name, "agents");
                assert_eq!(key.value.expose(), "0123456789abcdef0123456789abcdef");
                assert_eq!(key.remote_config_read_enabled, Some(false));
                assert_eq!(key.owner, Owner::SourceId("u1".into()));
            }
            other => panic!("{other:?}"),
        }
        // The organization's application key list carries no value.
        let listed = json!({"id": "a1", "attributes": {"name": "ci", "last4": "abcd"}});
        assert!(matches!(
            key_item(KeyKind::ApplicationKey, "a1".into(), &listed, "owned_by").body,
            Body::Invalid(_)
        ));
    }
}
