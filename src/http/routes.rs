//! Every route of the API, with the access it requires. The router is built from this table
//! and the authorization test walks it, so a route cannot be added without declaring access.

use super::hot_path::{INTAKE_BELOW, VALIDATE};
use super::{console, health, intake, openapi, v1, v2};
use crate::auth::middleware::INTAKE_PATH;
use crate::auth::Access;
use crate::service::Services;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodFilter, MethodRouter};

pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub(super) handler: MethodRouter<Services>,
}

macro_rules! verbs {
    // One constructor per HTTP verb, so each table row names its method once and the
    // method filter and the `Method` value cannot disagree.
    ($($name:ident => $method:ident),*) => {$(
        fn $name<H, T>(path: &'static str, access: Access, handler: H) -> RouteDef
        where
            H: Handler<T, Services>,
            T: 'static,
        {
            RouteDef {
                method: Method::$method,
                path,
                access,
                handler: routing::$name(handler),
            }
        }
    )*};
}

verbs!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE);

/// A route for every standard method: proxies call the intake gate with GET (nginx, Caddy,
/// Traefik) or with the original request's method (Envoy). The table lists it as GET.
/// (`routing::any` would be a fallback, to which the per-route auth layer cannot apply.)
fn any<H, T>(path: &'static str, access: Access, handler: H) -> RouteDef
where
    H: Handler<T, Services>,
    T: 'static,
{
    RouteDef {
        method: Method::GET,
        path,
        access,
        handler: routing::on(
            [
                MethodFilter::GET,
                MethodFilter::HEAD,
                MethodFilter::POST,
                MethodFilter::PUT,
                MethodFilter::PATCH,
                MethodFilter::DELETE,
                MethodFilter::OPTIONS,
            ]
            .into_iter()
            .fold(MethodFilter::TRACE, MethodFilter::or),
            handler,
        ),
    }
}

pub fn table() -> Vec<RouteDef> {
    use v2::{
        api_keys, application_keys as app, client_tokens, current_user, org_configs, permissions,
        personal_access_tokens as pat, role_users, roles, service_account_tokens as sat,
        service_accounts as sa, user_invitations as invitations, users,
    };
    use Access::*;
    vec![
        get("/healthz", Public, health::healthz),
        get("/ping", Public, health::ping),
        get("/metrics", Public, health::metrics),
        get("/api/openapi.yaml", Public, openapi::document),
        get(VALIDATE, ApiKey, v1::validate::validate),
        get(
            "/api/v1/validate_client_token",
            ClientToken,
            v1::validate::validate_client_token,
        ),
        // The intake gate, for reverse proxies in front of Datadog-compatible backends.
        any(INTAKE_PATH, Intake, intake::authorize),
        any(INTAKE_BELOW, Intake, intake::authorize),
        // v1: the same use cases in v1's shapes; keys may also come in the query string.
        get("/api/v1/api_key", KeyPairOrQuery, v1::api_keys::list),
        post("/api/v1/api_key", KeyPairOrQuery, v1::api_keys::create),
        get("/api/v1/api_key/{key}", KeyPairOrQuery, v1::api_keys::get),
        put(
            "/api/v1/api_key/{key}",
            KeyPairOrQuery,
            v1::api_keys::update,
        ),
        delete(
            "/api/v1/api_key/{key}",
            KeyPairOrQuery,
            v1::api_keys::delete,
        ),
        get(
            "/api/v1/application_key",
            KeyPairOrQuery,
            v1::application_keys::list,
        ),
        post(
            "/api/v1/application_key",
            KeyPairOrQuery,
            v1::application_keys::create,
        ),
        get(
            "/api/v1/application_key/{key}",
            KeyPairOrQuery,
            v1::application_keys::get,
        ),
        put(
            "/api/v1/application_key/{key}",
            KeyPairOrQuery,
            v1::application_keys::update,
        ),
        delete(
            "/api/v1/application_key/{key}",
            KeyPairOrQuery,
            v1::application_keys::delete,
        ),
        get("/api/v2/validate_keys", KeyPair, v2::validate_keys),
        get("/api/v2/validate", ApiKey, v2::validate),
        // Personal access tokens (the list holds service-account tokens too)
        get("/api/v2/personal_access_tokens", KeyPair, pat::list),
        post("/api/v2/personal_access_tokens", KeyPair, pat::create),
        get(
            "/api/v2/personal_access_tokens/{token_id}",
            KeyPair,
            pat::get,
        ),
        patch(
            "/api/v2/personal_access_tokens/{token_id}",
            KeyPair,
            pat::update,
        ),
        delete(
            "/api/v2/personal_access_tokens/{token_id}",
            KeyPair,
            pat::delete,
        ),
        // API keys
        get("/api/v2/api_keys", KeyPair, api_keys::list),
        post("/api/v2/api_keys", KeyPair, api_keys::create),
        get("/api/v2/api_keys/self", ApiKey, api_keys::own),
        get("/api/v2/api_keys/{api_key_id}", KeyPair, api_keys::get),
        patch("/api/v2/api_keys/{api_key_id}", KeyPair, api_keys::update),
        delete("/api/v2/api_keys/{api_key_id}", KeyPair, api_keys::delete),
        post(
            "/api/v2/api_keys/{api_key_id}/rotate",
            KeyPair,
            api_keys::rotate,
        ),
        get(
            "/api/v2/api_keys/{api_key_id}/rotation",
            KeyPair,
            api_keys::rotation,
        ),
        // Application keys of the organization
        get("/api/v2/application_keys", KeyPair, app::org::list),
        get(
            "/api/v2/application_keys/{app_key_id}",
            KeyPair,
            app::org::get,
        ),
        patch(
            "/api/v2/application_keys/{app_key_id}",
            KeyPair,
            app::org::update,
        ),
        delete(
            "/api/v2/application_keys/{app_key_id}",
            KeyPair,
            app::org::delete,
        ),
        post(
            "/api/v2/application_keys/{app_key_id}/rotate",
            KeyPair,
            app::org::rotate,
        ),
        // Application keys of the current user
        get(
            "/api/v2/current_user/application_keys",
            KeyPair,
            app::current_user::list,
        ),
        post(
            "/api/v2/current_user/application_keys",
            KeyPair,
            app::current_user::create,
        ),
        get(
            "/api/v2/current_user/application_keys/{app_key_id}",
            KeyPair,
            app::current_user::get,
        ),
        patch(
            "/api/v2/current_user/application_keys/{app_key_id}",
            KeyPair,
            app::current_user::update,
        ),
        delete(
            "/api/v2/current_user/application_keys/{app_key_id}",
            KeyPair,
            app::current_user::delete,
        ),
        post(
            "/api/v2/current_user/application_keys/{app_key_id}/rotate",
            KeyPair,
            app::current_user::rotate,
        ),
        // Service accounts and their application keys
        post("/api/v2/service_accounts", KeyPair, sa::create),
        get(
            "/api/v2/service_accounts/{service_account_id}/application_keys",
            KeyPair,
            app::service_account::list,
        ),
        post(
            "/api/v2/service_accounts/{service_account_id}/application_keys",
            KeyPair,
            app::service_account::create,
        ),
        get(
            "/api/v2/service_accounts/{service_account_id}/application_keys/{app_key_id}",
            KeyPair,
            app::service_account::get,
        ),
        patch(
            "/api/v2/service_accounts/{service_account_id}/application_keys/{app_key_id}",
            KeyPair,
            app::service_account::update,
        ),
        delete(
            "/api/v2/service_accounts/{service_account_id}/application_keys/{app_key_id}",
            KeyPair,
            app::service_account::delete,
        ),
        post(
            "/api/v2/service_accounts/{service_account_id}/application_keys/{app_key_id}/rotate",
            KeyPair,
            app::service_account::rotate,
        ),
        get(
            "/api/v2/service_accounts/{service_account_id}/access_tokens",
            KeyPair,
            sat::list,
        ),
        post(
            "/api/v2/service_accounts/{service_account_id}/access_tokens",
            KeyPair,
            sat::create,
        ),
        get(
            "/api/v2/service_accounts/{service_account_id}/access_tokens/{token_id}",
            KeyPair,
            sat::get,
        ),
        patch(
            "/api/v2/service_accounts/{service_account_id}/access_tokens/{token_id}",
            KeyPair,
            sat::update,
        ),
        delete(
            "/api/v2/service_accounts/{service_account_id}/access_tokens/{token_id}",
            KeyPair,
            sat::delete,
        ),
        // Users and roles
        get("/api/v2/users", KeyPair, users::list),
        post("/api/v2/users", KeyPair, users::create),
        get("/api/v2/users/{user_id}", KeyPair, users::get),
        patch("/api/v2/users/{user_id}", KeyPair, users::update),
        delete("/api/v2/users/{user_id}", KeyPair, users::disable),
        delete(
            "/api/v2/users/{user_id}/invitations",
            KeyPair,
            invitations::cancel,
        ),
        post("/api/v2/user_invitations", KeyPair, invitations::send),
        get(
            "/api/v2/user_invitations/{user_invitation_uuid}",
            KeyPair,
            invitations::get,
        ),
        get(
            "/api/v2/users/{user_id}/permissions",
            KeyPair,
            permissions::of_user,
        ),
        get("/api/v2/users/{user_id}/orgs", KeyPair, current_user::orgs),
        get("/api/v2/current_user", KeyPair, current_user::get),
        patch("/api/v2/current_user", KeyPair, current_user::update),
        get("/api/v2/roles", KeyPair, roles::list),
        post("/api/v2/roles", KeyPair, roles::create),
        get("/api/v2/roles/{role_id}", KeyPair, roles::get),
        patch("/api/v2/roles/{role_id}", KeyPair, roles::update),
        delete("/api/v2/roles/{role_id}", KeyPair, roles::delete),
        post("/api/v2/roles/{role_id}/clone", KeyPair, roles::clone),
        get(
            "/api/v2/roles/{role_id}/permissions",
            KeyPair,
            permissions::of_role,
        ),
        post(
            "/api/v2/roles/{role_id}/permissions",
            KeyPair,
            permissions::grant,
        ),
        delete(
            "/api/v2/roles/{role_id}/permissions",
            KeyPair,
            permissions::revoke,
        ),
        get("/api/v2/roles/{role_id}/users", KeyPair, role_users::list),
        post("/api/v2/roles/{role_id}/users", KeyPair, role_users::add),
        delete("/api/v2/roles/{role_id}/users", KeyPair, role_users::remove),
        get("/api/v2/permissions", KeyPair, permissions::list),
        // Client tokens (browser intake)
        get("/api/v2/client_tokens", KeyPair, client_tokens::list),
        post("/api/v2/client_tokens", KeyPair, client_tokens::create),
        get(
            "/api/v2/client_tokens/{client_token_id}",
            KeyPair,
            client_tokens::get,
        ),
        patch(
            "/api/v2/client_tokens/{client_token_id}",
            KeyPair,
            client_tokens::update,
        ),
        delete(
            "/api/v2/client_tokens/{client_token_id}",
            KeyPair,
            client_tokens::delete,
        ),
        post(
            "/api/v2/client_tokens/{client_token_id}/rotate",
            KeyPair,
            client_tokens::rotate,
        ),
        // Organization settings
        get("/api/v2/org_configs", KeyPair, org_configs::list),
        get(
            "/api/v2/org_configs/{org_config_name}",
            KeyPair,
            org_configs::get,
        ),
        patch(
            "/api/v2/org_configs/{org_config_name}",
            KeyPair,
            org_configs::update,
        ),
        // The audit trail
        get("/api/v2/audit/events", KeyPair, v2::audit::list),
        // Leak reports: anyone who found a credential in the open
        post(
            "/api/v2/credentials/leaked",
            Public,
            v2::leaked_credentials::report,
        ),
        // The web console: its page, its files and its sign-in
        get("/", Public, console::assets::index),
        get("/ui/{file}", Public, console::assets::asset),
        post("/api/console/session", Public, console::session::create),
        get("/api/console/session", Session, console::session::get),
        delete("/api/console/session", Session, console::session::delete),
        // Invitations: sent from the console (which shows the link), opened by the invited user
        post(
            "/api/console/invitations",
            Session,
            console::invitations::send,
        ),
        post(
            "/api/console/invitation/lookup",
            Public,
            console::invitations::lookup,
        ),
        post(
            "/api/console/invitation",
            Public,
            console::invitations::accept,
        ),
    ]
}
