//! Every route of the router's own table, walked with every kind of credential. A route
//! added to `keyplane::http::routes::table()` without an entry in `permission_of` fails here.

use crate::helpers::*;
use keyplane::auth::Access;
use keyplane::http::routes::table;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    NoKeys,
    UnknownApiKey,
    UnknownAppKey,
    AppKeyAsApiKey,
    OtherOrgApiKey,
    ReadOnly,
    Standard,
    Disabled,
    NarrowScope,
    /// A user holding only a custom role that grants exactly `CUSTOM_GRANTS`.
    Custom,
    Admin,
    /// The admin's personal token scoped to audit_logs_read, beside a valid API key (which
    /// a token in DD-APPLICATION-KEY ignores).
    NarrowToken,
    /// A token of a service account that holds no role: its scopes reach nothing.
    ServiceAccountToken,
    /// A personal token, revoked.
    RevokedToken,
    /// A token of a service account holding Admin, past its expiry.
    ExpiredToken,
}

const CASES: [Case; 15] = [
    Case::NoKeys,
    Case::UnknownApiKey,
    Case::UnknownAppKey,
    Case::AppKeyAsApiKey,
    Case::OtherOrgApiKey,
    Case::ReadOnly,
    Case::Standard,
    Case::Disabled,
    Case::NarrowScope,
    Case::Custom,
    Case::Admin,
    Case::NarrowToken,
    Case::ServiceAccountToken,
    Case::RevokedToken,
    Case::ExpiredToken,
];

/// What the custom role of `Case::Custom` is granted, by name.
const CUSTOM_GRANTS: [&str; 2] = ["api_keys_read", "client_tokens_write"];

/// The permissions the matrix checks, as `keyplane::domain::permission::Permission` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Perm {
    None,
    ApiKeysRead,
    ApiKeysWrite,
    ApiKeysDelete,
    OrgAppKeysRead,
    OrgAppKeysWrite,
    UserAppKeys,
    UserAccessRead,
    UserAccessInvite,
    UserAccessManage,
    ServiceAccountWrite,
    ClientTokensRead,
    ClientTokensWrite,
    AuditLogsRead,
    OrgManagement,
    UserSelfProfileWrite,
}

fn permission_of(method: &Method, path: &str) -> Perm {
    use Perm::*;
    let m = method.as_str();
    match (m, path) {
        (
            "GET",
            "/healthz"
            | "/ping"
            | "/metrics"
            | "/api/openapi.yaml"
            | "/api/v1/validate"
            | "/api/v1/validate_client_token"
            | "/intake/authorize"
            | "/intake/authorize/{*original}"
            | "/api/v2/validate_keys"
            | "/api/v2/validate"
            | "/api/v2/api_keys/self"
            | "/"
            | "/ui/{file}",
        ) => None,
        (_, "/api/console/session") => None,
        ("POST", "/api/v2/credentials/leaked") => None,
        (_, p) if p.starts_with("/api/console/invitation") => None,
        ("GET", p) if p.starts_with("/api/v2/org_configs") => None,
        ("PATCH", "/api/v2/org_configs/{org_config_name}") => OrgManagement,
        (_, p) if p.contains("invitation") => UserAccessInvite,
        ("GET", "/api/v2/audit/events") => AuditLogsRead,
        ("GET", p) if p.starts_with("/api/v2/client_tokens") => ClientTokensRead,
        (_, p) if p.starts_with("/api/v2/client_tokens") => ClientTokensWrite,
        ("GET", p) if p.starts_with("/api/v2/api_keys") || p.starts_with("/api/v1/api_key") => {
            ApiKeysRead
        }
        ("POST" | "PATCH" | "PUT", p) if p.contains("/api_key") => ApiKeysWrite,
        ("DELETE", "/api/v2/api_keys/{api_key_id}" | "/api/v1/api_key/{key}") => ApiKeysDelete,
        // v1: org_app_keys_read|write OR user_app_keys, as Datadog's spec says.
        (_, p) if p.starts_with("/api/v1/application_key") => UserAppKeys,
        ("GET", p) if p.starts_with("/api/v2/application_keys") => OrgAppKeysRead,
        ("POST" | "PATCH" | "DELETE", p) if p.starts_with("/api/v2/application_keys") => {
            OrgAppKeysWrite
        }
        (_, p) if p.starts_with("/api/v2/current_user/application_keys") => UserAppKeys,
        (_, p) if p.starts_with("/api/v2/service_accounts") => ServiceAccountWrite,
        // Own tokens with user_app_keys; everyone's with org_app_keys_read|write.
        (_, p) if p.starts_with("/api/v2/personal_access_tokens") => UserAppKeys,
        // Any valid key pair reads its own user (Datadog: no additional permissions).
        ("GET", "/api/v2/current_user") => None,
        ("PATCH", "/api/v2/current_user") => UserSelfProfileWrite,
        (
            "GET",
            "/api/v2/users"
            | "/api/v2/users/{user_id}"
            | "/api/v2/users/{user_id}/permissions"
            | "/api/v2/users/{user_id}/orgs"
            | "/api/v2/roles"
            | "/api/v2/roles/{role_id}"
            | "/api/v2/roles/{role_id}/permissions"
            | "/api/v2/roles/{role_id}/users"
            | "/api/v2/permissions",
        ) => UserAccessRead,
        (_, p) if p.starts_with("/api/v2/roles") => UserAccessManage,
        ("POST", "/api/v2/users") => UserAccessInvite,
        ("PATCH" | "DELETE", "/api/v2/users/{user_id}") => UserAccessManage,
        _ => panic!("no expectation for {m} {path}: add it to the authorization matrix"),
    }
}

fn role_grants(case: Case, perm: Perm) -> bool {
    use Perm::*;
    // Every role holds these without listing them, as in Datadog.
    let implicit = matches!(perm, None | UserAccessRead | UserSelfProfileWrite);
    match case {
        Case::Admin => true,
        Case::Standard => {
            implicit
                || matches!(
                    perm,
                    ApiKeysRead | UserAppKeys | ClientTokensRead | ClientTokensWrite
                )
        }
        Case::ReadOnly => implicit || perm == ClientTokensRead,
        Case::Custom => implicit || matches!(perm, ApiKeysRead | ClientTokensWrite),
        // An Admin's key scoped to audit_logs_read: that permission only.
        Case::NarrowScope | Case::NarrowToken => matches!(perm, None | AuditLogsRead),
        Case::ServiceAccountToken => perm == None,
        _ => false,
    }
}

fn expected(
    access: Access,
    perm: Perm,
    case: Case,
    (method, path): (&Method, &str),
    v1: bool,
) -> StatusCode {
    // An invitation link is the credential of these: without a valid one, none exists.
    if access == Access::Public && path.starts_with("/api/console/invitation") {
        return StatusCode::NOT_FOUND;
    }
    // A leak report is accepted, not created: nothing it names is revealed.
    if path == "/api/v2/credentials/leaked" {
        return StatusCode::ACCEPTED;
    }
    // Datadog's roles answer 200 to creates and to changes of a role's members.
    let roles = path.starts_with("/api/v2/roles") && path != "/api/v2/roles/{role_id}";
    let success = match *method {
        // A rotation answers the key it changed, as an update does.
        Method::POST if path.ends_with("/rotate") => StatusCode::OK,
        // Datadog's "cancel all pending invitations" answers 200.
        Method::DELETE if path.ends_with("/invitations") => StatusCode::OK,
        // v1 creates answer 200, as Datadog's v1 does.
        Method::POST if !v1 && !roles => StatusCode::CREATED,
        Method::DELETE if !v1 && !roles => StatusCode::NO_CONTENT,
        _ => StatusCode::OK,
    };
    let api_key_valid = !matches!(
        case,
        Case::NoKeys | Case::UnknownApiKey | Case::AppKeyAsApiKey
    );
    match access {
        Access::Public => success,
        Access::ApiKey if api_key_valid => success,
        Access::ApiKey => StatusCode::FORBIDDEN,
        // Every case sends its API key in DD-API-KEY to agent intake.
        Access::Intake if api_key_valid => StatusCode::OK,
        Access::Intake => StatusCode::FORBIDDEN,
        Access::KeyPair | Access::KeyPairOrQuery if role_grants(case, perm) => success,
        Access::KeyPair | Access::KeyPairOrQuery => StatusCode::FORBIDDEN,
        // Keys are not client tokens, and keys are no console session.
        Access::ClientToken => StatusCode::FORBIDDEN,
        Access::Session => StatusCode::UNAUTHORIZED,
    }
}

struct Keys {
    api: String,
    app: String,
}

struct World {
    s: Server,
    /// The other organization's API key with this organization's application key.
    other_org: Keys,
    /// The other organization's own key pair.
    other_org_own: Keys,
    read_only: Keys,
    standard: Keys,
    disabled: Keys,
    narrow: Keys,
    custom: Keys,
    service_account: String,
    /// A grantable permission's id (Datadog's BDD fixture: `data[4]`).
    permission: String,
    narrow_token: String,
    service_account_token: String,
    revoked_token: String,
    expired_token: String,
}

/// A token body every caller could hold: one scope, thirty days.
fn token_body(kind: &str) -> Value {
    let expires = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let expires = expires
        .format(&time::format_description::well_known::Rfc3339)
        .expect("date");
    json!({"data": {"type": kind, "attributes": {
        "name": unique("t"), "scopes": ["user_app_keys"], "expires_at": expires}}})
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

async fn created_id(s: &Server, path: &str, body: Value) -> String {
    let (status, got) = s.call(Method::POST, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {got}");
    got["data"]["id"].as_str().expect("id").to_owned()
}

/// A user of the admin's organization with `role`, and an application key for it.
async fn user_with_key(s: &Server, role: &str) -> (String, String) {
    let role_id = role_id(s, role).await;
    user_with_role_key(s, &role_id).await
}

async fn user_with_role_key(s: &Server, role_id: &str) -> (String, String) {
    let email = format!("{}@example.com", unique("holder"));
    let body = json!({"data": {"type": "users", "attributes": {"email": email},
        "relationships": {"roles": {"data": [{"id": role_id, "type": "roles"}]}}}});
    let id = created_id(s, "/api/v2/users", body).await;
    let out = s.admin(&[
        "create-application-key",
        "--email",
        &email,
        "--name",
        &unique("k"),
    ]);
    (id, env_value(&out, "DD_APP_KEY"))
}

fn new_user_body() -> Value {
    json!({"data": {"type": "users", "attributes": {"email": format!("{}@example.com", unique("i"))}}})
}

fn invitation_body(user_id: &str) -> Value {
    json!({"data": [{"type": "user_invitations",
        "relationships": {"user": {"data": {"id": user_id, "type": "users"}}}}]})
}

async fn role_id(s: &Server, name: &str) -> String {
    let (_, roles) = s
        .call(Method::GET, &format!("/api/v2/roles?filter={name}"), None)
        .await;
    roles["data"][0]["id"].as_str().expect("role id").to_owned()
}

/// A custom role granting exactly `names`, and its id.
async fn custom_role(s: &Server, names: &[&str]) -> String {
    let (_, all) = s.call(Method::GET, "/api/v2/permissions", None).await;
    let links: Vec<Value> = all["data"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter(|p| names.iter().any(|n| p["attributes"]["name"] == *n))
        .map(|p| json!({"id": p["id"], "type": "permissions"}))
        .collect();
    assert_eq!(links.len(), names.len());
    let body = json!({"data": {"type": "roles",
        "attributes": {"name": unique("custom"), "default_permissions_opt_out": true},
        "relationships": {"permissions": {"data": links}}}});
    let (status, got) = s.call(Method::POST, "/api/v2/roles", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    got["data"]["id"].as_str().expect("id").to_owned()
}

impl World {
    async fn new() -> Self {
        let s = Server::start_with(&["--max-api-keys-per-org", "1000"]).await;
        let other = s.admin(&[
            "create-organization",
            "--name",
            "Other",
            "--admin-email",
            "o@other.example",
        ]);
        let api = s.creds.api_key.clone();
        let (_, read_only) = user_with_key(&s, "Read Only").await;
        let (_, standard) = user_with_key(&s, "Standard").await;
        let (disabled_id, disabled) = user_with_key(&s, "Admin").await;
        let (status, _) = s
            .call(
                Method::DELETE,
                &format!("/api/v2/users/{disabled_id}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let narrow = json!({"data": {"type": "application_keys",
            "attributes": {"name": unique("narrow"), "scopes": ["audit_logs_read"]}}});
        let (status, narrow) = s
            .call(
                Method::POST,
                "/api/v2/current_user/application_keys",
                Some(narrow),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let sa = json!({"data": {"type": "users", "attributes": {
            "email": format!("{}@example.com", unique("sa")), "service_account": true}}});
        let service_account = created_id(&s, "/api/v2/service_accounts", sa).await;
        let custom_role = custom_role(&s, &CUSTOM_GRANTS).await;
        let (_, custom) = user_with_role_key(&s, &custom_role).await;
        let (_, permissions) = s.call(Method::GET, "/api/v2/permissions", None).await;
        let permission = permissions["data"][4]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let token = |path: String, kind: &str, scopes: &str| {
            let mut body = token_body(kind);
            body["data"]["attributes"]["scopes"] = json!([scopes]);
            let s = &s;
            async move {
                let (status, got) = s.call(Method::POST, &path, Some(body)).await;
                assert_eq!(status, StatusCode::CREATED, "{got}");
                let id = got["data"]["id"].as_str().expect("id").to_owned();
                (
                    id,
                    got["data"]["attributes"]["key"]
                        .as_str()
                        .expect("key")
                        .to_owned(),
                )
            }
        };
        let pats = "/api/v2/personal_access_tokens".to_owned();
        let (_, narrow_token) =
            token(pats.clone(), "personal_access_tokens", "audit_logs_read").await;
        let sats = format!("/api/v2/service_accounts/{service_account}/access_tokens");
        let (_, service_account_token) =
            token(sats, "service_access_tokens", "audit_logs_read").await;
        let (revoked_id, revoked_token) =
            token(pats, "personal_access_tokens", "audit_logs_read").await;
        let (status, _) = s
            .call(
                Method::DELETE,
                &format!("/api/v2/personal_access_tokens/{revoked_id}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        // An Admin's token that would reach every route but expires in two seconds, checked
        // once while live, so that its refusals below can only come from the expiry.
        let (_, roles) = s
            .call(
                Method::GET,
                "/api/v2/roles?filter=Datadog%20Admin%20Role",
                None,
            )
            .await;
        let admin_role = roles["data"][0]["id"].as_str().expect("admin role");
        let admin_sa = json!({"data": {"type": "users", "attributes": {
            "email": format!("{}@example.com", unique("admin-sa")), "service_account": true},
            "relationships": {"roles": {"data": [{"type": "roles", "id": admin_role}]}}}});
        let admin_sa = created_id(&s, "/api/v2/service_accounts", admin_sa).await;
        let expires_at = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
        let mut body = token_body("service_access_tokens");
        body["data"]["attributes"]["scopes"] = json!(["api_keys_read"]);
        body["data"]["attributes"]["expires_at"] = json!(expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .expect("date"));
        let path = format!("/api/v2/service_accounts/{admin_sa}/access_tokens");
        let (status, got) = s.call(Method::POST, &path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{got}");
        let expired_token = got["data"]["attributes"]["key"]
            .as_str()
            .expect("key")
            .to_owned();
        let live = s
            .http
            .get(s.url("/api/v2/api_keys"))
            .bearer_auth(&expired_token);
        assert_eq!(
            send(live).await.0,
            StatusCode::OK,
            "the token works while live"
        );
        let left = expires_at - time::OffsetDateTime::now_utc() + time::Duration::milliseconds(50);
        if left.is_positive() {
            tokio::time::sleep(left.unsigned_abs()).await;
        }
        World {
            expired_token,
            custom: Keys {
                api: api.clone(),
                app: custom,
            },
            permission,
            narrow_token,
            service_account_token,
            revoked_token,
            other_org: Keys {
                api: env_value(&other, "DD_API_KEY"),
                app: s.creds.app_key.clone(),
            },
            other_org_own: Keys {
                api: env_value(&other, "DD_API_KEY"),
                app: env_value(&other, "DD_APP_KEY"),
            },
            read_only: Keys {
                api: api.clone(),
                app: read_only,
            },
            standard: Keys {
                api: api.clone(),
                app: standard,
            },
            disabled: Keys {
                api: api.clone(),
                app: disabled,
            },
            narrow: Keys {
                api,
                app: narrow["data"]["attributes"]["key"]
                    .as_str()
                    .expect("key")
                    .to_owned(),
            },
            service_account,
            s,
        }
    }

    fn keys(&self, case: Case) -> Option<Keys> {
        let c = &self.s.creds;
        let pair = |api: &str, app: &str| {
            Some(Keys {
                api: api.to_owned(),
                app: app.to_owned(),
            })
        };
        match case {
            Case::NoKeys => None,
            Case::UnknownApiKey => pair("0123456789abcdef0123456789abcdef", &c.app_key),
            Case::UnknownAppKey => pair(&c.api_key, "0123456789abcdef0123456789abcdef01234567"),
            Case::AppKeyAsApiKey => pair(&c.app_key, &c.app_key),
            Case::OtherOrgApiKey => pair(&self.other_org.api, &self.other_org.app),
            Case::ReadOnly => pair(&self.read_only.api, &self.read_only.app),
            Case::Standard => pair(&self.standard.api, &self.standard.app),
            Case::Disabled => pair(&self.disabled.api, &self.disabled.app),
            Case::NarrowScope => pair(&self.narrow.api, &self.narrow.app),
            Case::Custom => pair(&self.custom.api, &self.custom.app),
            Case::Admin => pair(&c.api_key, &c.app_key),
            Case::NarrowToken => pair(&c.api_key, &self.narrow_token),
            Case::ServiceAccountToken => pair(&c.api_key, &self.service_account_token),
            Case::RevokedToken => pair(&c.api_key, &self.revoked_token),
            Case::ExpiredToken => pair(&c.api_key, &self.expired_token),
        }
    }

    /// A fresh target for the route, so destructive calls never disturb the next case.
    /// Current-user keys belong to the caller when the caller may create them.
    async fn path_and_body(
        &self,
        method: &Method,
        template: &str,
        case: Case,
    ) -> (String, Option<Value>) {
        let s = &self.s;
        let mut path = template.to_owned();
        let mut body = None;
        let sa = &self.service_account;
        path = path.replace("{file}", "app.js");
        path = path.replace("{*original}", "api/v2/series");
        if path.contains("{service_account_id}") {
            path = path.replace("{service_account_id}", sa);
        }
        let app_key_body =
            || json!({"data": {"type": "application_keys", "attributes": {"name": unique("app")}}});
        if template == "/api/v1/api_key/{key}" {
            let (_, value) = s.create_api_key(&unique("v1")).await;
            path = path.replace("{key}", &value);
        } else if template == "/api/v1/application_key/{key}" {
            let created = if case == Case::Standard {
                let req = s
                    .http
                    .post(s.url("/api/v2/current_user/application_keys"))
                    .header("DD-API-KEY", &self.standard.api)
                    .header("DD-APPLICATION-KEY", &self.standard.app)
                    .json(&app_key_body());
                send(req).await.1
            } else {
                s.call(
                    Method::POST,
                    "/api/v2/current_user/application_keys",
                    Some(app_key_body()),
                )
                .await
                .1
            };
            path = path.replace(
                "{key}",
                created["data"]["attributes"]["key"].as_str().expect("key"),
            );
        } else if path.contains("{api_key_id}") {
            let id = created_id(s, "/api/v2/api_keys", api_key_body(&unique("api"))).await;
            body = Some(
                json!({"data": {"id": id, "type": "api_keys", "attributes": {"name": unique("api")}}}),
            );
            path = path.replace("{api_key_id}", &id);
        } else if path.contains("{app_key_id}") {
            let id = if template.starts_with("/api/v2/service_accounts") {
                created_id(
                    s,
                    &format!("/api/v2/service_accounts/{sa}/application_keys"),
                    app_key_body(),
                )
                .await
            } else if template.starts_with("/api/v2/current_user") && case == Case::Standard {
                let req = s
                    .http
                    .post(s.url("/api/v2/current_user/application_keys"))
                    .header("DD-API-KEY", &self.standard.api)
                    .header("DD-APPLICATION-KEY", &self.standard.app)
                    .json(&app_key_body());
                send(req).await.1["data"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            } else {
                created_id(s, "/api/v2/current_user/application_keys", app_key_body()).await
            };
            body = Some(
                json!({"data": {"id": id, "type": "application_keys", "attributes": {"name": unique("app")}}}),
            );
            path = path.replace("{app_key_id}", &id);
        } else if path.contains("{token_id}") {
            let (kind, base) = if template.starts_with("/api/v2/service_accounts") {
                (
                    "service_access_tokens",
                    format!("/api/v2/service_accounts/{sa}/access_tokens"),
                )
            } else {
                (
                    "personal_access_tokens",
                    "/api/v2/personal_access_tokens".to_owned(),
                )
            };
            let new = token_body(kind);
            // A Standard user's own token, as for current-user keys.
            let id = if case == Case::Standard && kind == "personal_access_tokens" {
                let req = s
                    .http
                    .post(s.url(&base))
                    .header("DD-API-KEY", &self.standard.api)
                    .header("DD-APPLICATION-KEY", &self.standard.app)
                    .json(&new);
                send(req).await.1["data"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            } else {
                created_id(s, &base, new).await
            };
            body = Some(
                json!({"data": {"id": id, "type": kind, "attributes": {"name": unique("t")}}}),
            );
            path = path.replace("{token_id}", &id);
        } else if path.contains("{client_token_id}") {
            let token =
                json!({"data": {"type": "client_tokens", "attributes": {"name": unique("ct")}}});
            let id = created_id(s, "/api/v2/client_tokens", token).await;
            body = Some(
                json!({"data": {"id": id, "type": "client_tokens", "attributes": {"name": unique("ct")}}}),
            );
            path = path.replace("{client_token_id}", &id);
        } else if path.contains("{org_config_name}") {
            path = path.replace("{org_config_name}", "monitor_timezone");
            body = Some(json!({"data": {"type": "org_configs", "attributes": {"value": "UTC"}}}));
        } else if path.contains("{user_invitation_uuid}") {
            let user = created_id(s, "/api/v2/users", new_user_body()).await;
            let (status, sent) = s
                .call(
                    Method::POST,
                    "/api/v2/user_invitations",
                    Some(invitation_body(&user)),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{sent}");
            let id = sent["data"][0]["id"].as_str().expect("invitation id");
            path = path.replace("{user_invitation_uuid}", id);
        } else if path.contains("{role_id}") {
            let id = custom_role(s, &[]).await;
            path = path.replace("{role_id}", &id);
            body = Some(if template.ends_with("/permissions") {
                json!({"data": {"id": self.permission, "type": "permissions"}})
            } else if template.ends_with("/users") {
                let email = format!("{}@example.com", unique("m"));
                let user = created_id(
                    s,
                    "/api/v2/users",
                    json!({"data": {"type": "users", "attributes": {"email": email}}}),
                )
                .await;
                json!({"data": {"id": user, "type": "users"}})
            } else if template.ends_with("/clone") {
                json!({"data": {"type": "roles", "attributes": {"name": unique("clone")}}})
            } else {
                json!({"data": {"id": id, "type": "roles", "attributes": {"name": unique("r")}}})
            });
        } else if template == "/api/v2/current_user" {
            // The caller's own id: each case edits itself.
            let id = match self.keys(case) {
                Some(keys) => {
                    let req = s
                        .http
                        .get(s.url("/api/v2/current_user"))
                        .header("DD-API-KEY", keys.api)
                        .header("DD-APPLICATION-KEY", keys.app);
                    send(req).await.1["data"]["id"].clone()
                }
                None => json!(uuid::Uuid::new_v4()),
            };
            let id = id
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            body = Some(json!({"data": {"id": id, "type": "users", "attributes": {"name": "me"}}}));
        } else if path.contains("{user_id}") {
            let email = format!("{}@example.com", unique("u"));
            let id = created_id(
                s,
                "/api/v2/users",
                json!({"data": {"type": "users", "attributes": {"email": email}}}),
            )
            .await;
            body = Some(
                json!({"data": {"id": id, "type": "users", "attributes": {"name": "renamed"}}}),
            );
            path = path.replace("{user_id}", &id);
        }
        if template.starts_with("/api/v1/") {
            body = Some(json!({"name": unique("v1")}));
        } else if template.ends_with("/rotate") {
            // The body is optional: the default grace period.
            body = None;
        } else if *method == Method::POST {
            body = Some(match template {
                "/api/v2/api_keys" => api_key_body(&unique("api")),
                "/api/v2/users" => {
                    json!({"data": {"type": "users", "attributes": {"email": format!("{}@example.com", unique("n"))}}})
                }
                "/api/v2/service_accounts" => json!({"data": {"type": "users", "attributes": {
                    "email": format!("{}@example.com", unique("sa")), "service_account": true}}}),
                "/api/v2/client_tokens" => {
                    json!({"data": {"type": "client_tokens", "attributes": {"name": unique("ct")}}})
                }
                "/api/v2/roles" => json!({"data": {"type": "roles",
                    "attributes": {"name": unique("role")}}}),
                _ if template.starts_with("/api/v2/roles/") => body.clone().expect("role body"),
                "/api/v2/personal_access_tokens" => token_body("personal_access_tokens"),
                "/api/v2/service_accounts/{service_account_id}/access_tokens" => {
                    token_body("service_access_tokens")
                }
                "/api/console/session" => {
                    json!({"email": s.creds.email, "password": s.creds.password})
                }
                "/api/v2/user_invitations" => {
                    invitation_body(&created_id(s, "/api/v2/users", new_user_body()).await)
                }
                "/api/console/invitations" => json!({"user_id": uuid::Uuid::new_v4()}),
                "/api/v2/credentials/leaked" => json!({"data": {"type": "leaked_credentials",
                    "attributes": {"candidates": [unique("found")]}}}),
                "/api/console/invitation/lookup" => json!({"secret": unique("s")}),
                "/api/console/invitation" => {
                    json!({"secret": unique("s"), "password": "a long enough password"})
                }
                _ => app_key_body(),
            });
        }
        (
            path,
            // Datadog's role members and permissions are removed with a body.
            if matches!(*method, Method::POST | Method::PATCH | Method::PUT)
                || (*method == Method::DELETE && template.starts_with("/api/v2/roles/{role_id}/"))
            {
                body
            } else {
                None
            },
        )
    }
}

#[tokio::test]
async fn every_route_with_every_credential() {
    let world = World::new().await;
    let s = &world.s;
    let routes = table();
    let mut checked = 0;
    let mut failures = Vec::new();
    for route in &routes {
        let perm = permission_of(&route.method, route.path);
        for case in CASES {
            let (path, body) = world.path_and_body(&route.method, route.path, case).await;
            let mut req = s.http.request(route.method.clone(), s.url(&path));
            if let Some(keys) = world.keys(case) {
                req = req
                    .header("DD-API-KEY", keys.api)
                    .header("DD-APPLICATION-KEY", keys.app);
            }
            if let Some(body) = body {
                req = req.json(&body);
            }
            let resp = req.send().await.expect("request");
            let status = resp.status();
            let v1 =
                route.path.starts_with("/api/v1/") && !route.path.starts_with("/api/v1/validate");
            let want = expected(route.access, perm, case, (&route.method, route.path), v1);
            if status != want {
                let text = resp.text().await.unwrap_or_default();
                failures.push(format!(
                    "{} {} as {case:?}: got {status}, want {want}: {text}",
                    route.method, route.path
                ));
            } else if status == StatusCode::FORBIDDEN {
                let body: Value = resp.json().await.expect("json error body");
                assert!(body["errors"].is_array(), "{body}");
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, routes.len() * CASES.len());
    assert!(
        routes.len() >= 29,
        "the table lost routes: {}",
        routes.len()
    );
}

#[tokio::test]
async fn organizations_are_sealed_on_every_route() {
    let world = World::new().await;
    let s = &world.s;
    let other = &world.other_org_own;
    let mut checked = 0;
    for route in table() {
        if matches!(
            route.access,
            Access::Public
                | Access::ApiKey
                | Access::ClientToken
                | Access::Session
                | Access::Intake
        ) || !route.path.contains('{')
            // Config names are no ids: every organization has each of them.
            || route.path.starts_with("/api/v2/org_configs")
        {
            continue;
        }
        // Ids of the admin's organization, asked for with the other organization's keys.
        let (path, body) = world
            .path_and_body(&route.method, route.path, Case::Admin)
            .await;
        let mut req = s
            .http
            .request(route.method.clone(), s.url(&path))
            .header("DD-API-KEY", &other.api)
            .header("DD-APPLICATION-KEY", &other.app);
        if let Some(mut body) = body {
            // The other org's caller may not even learn the id through a 422 (bodies of
            // sub-resources name another resource: they keep their id).
            let last = path.rsplit('/').next().unwrap_or_default();
            if body.get("data").is_some() && uuid::Uuid::parse_str(last).is_ok() {
                body["data"]["id"] = json!(path.rsplit('/').next());
            }
            req = req.json(&body);
        }
        let (status, body) = send(req).await;
        // Revoking a token that is not there (or not the caller's organization's) is done
        // already: 204, as Datadog answers, which tells the caller nothing either. (Under
        // another organization's service account it is the account that is not found.)
        let want = if route.method == Method::DELETE
            && route.path == "/api/v2/personal_access_tokens/{token_id}"
        {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(status, want, "{} {path}: {body}", route.method);
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} routes with ids");
}
