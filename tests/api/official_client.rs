//! The official `datadog-api-client` crate against a real keyplane: every API key operation and
//! v1 validate go through the typed client, so any response it cannot deserialize fails here.

use crate::helpers::{dd_config_with, Server};
use datadog_api_client::datadog::Error;
use datadog_api_client::datadogV1::api_authentication::AuthenticationAPI;
use datadog_api_client::datadogV2::api_key_management::{
    GetAPIKeyOptionalParams, KeyManagementAPI, ListAPIKeysOptionalParams,
};
use datadog_api_client::datadogV2::model::{
    APIKeyCreateAttributes, APIKeyCreateData, APIKeyCreateRequest, APIKeyRelationships,
    APIKeyResponseIncludedItem, APIKeyUpdateAttributes, APIKeyUpdateData, APIKeyUpdateRequest,
    APIKeysResponse, APIKeysSort, APIKeysType, FullAPIKey, FullAPIKeyAttributes,
};
use std::fmt::Debug;

const BOOTSTRAP_KEY: &str = "Initial API key";

fn client(server: &Server) -> KeyManagementAPI {
    KeyManagementAPI::with_config(server.dd_config())
}

async fn create(api: &KeyManagementAPI, attributes: APIKeyCreateAttributes) -> FullAPIKey {
    let body = APIKeyCreateRequest::new(APIKeyCreateData::new(attributes, APIKeysType::API_KEYS));
    let response = api.create_api_key(body).await.expect("create API key");
    response.data.expect("created key")
}

fn named(name: &str) -> APIKeyCreateAttributes {
    APIKeyCreateAttributes::new(name.to_owned())
}

fn renamed(name: &str) -> APIKeyUpdateAttributes {
    APIKeyUpdateAttributes::new(name.to_owned())
}

async fn get(api: &KeyManagementAPI, id: &str) -> FullAPIKey {
    let response = api.get_api_key(id.to_owned(), Default::default()).await;
    response.expect("get API key").data.expect("fetched key")
}

async fn update(api: &KeyManagementAPI, id: &str, attrs: APIKeyUpdateAttributes) -> FullAPIKey {
    let data = APIKeyUpdateData::new(attrs, id.to_owned(), APIKeysType::API_KEYS);
    let response = api
        .update_api_key(id.to_owned(), APIKeyUpdateRequest::new(data))
        .await;
    response.expect("update API key").data.expect("updated key")
}

async fn list(api: &KeyManagementAPI, params: ListAPIKeysOptionalParams) -> APIKeysResponse {
    api.list_api_keys(params).await.expect("list API keys")
}

async fn list_names(api: &KeyManagementAPI, params: ListAPIKeysOptionalParams) -> Vec<String> {
    names(&list(api, params).await)
}

fn attrs(key: &FullAPIKey) -> &FullAPIKeyAttributes {
    key.attributes.as_ref().expect("attributes")
}

fn id(key: &FullAPIKey) -> String {
    key.id.clone().expect("id")
}

/// The ids of the users a key's relationships name as its creator and last modifier.
fn creator_and_modifier(relationships: Option<&APIKeyRelationships>) -> (String, String) {
    let relationships = relationships.expect("relationships");
    let created_by = relationships.created_by.as_ref().expect("created_by");
    let modified_by = relationships.modified_by.clone().flatten();
    let modified_by = modified_by.and_then(|m| m.data).expect("modified_by");
    (created_by.data.id.clone(), modified_by.id)
}

fn names(response: &APIKeysResponse) -> Vec<String> {
    let data = response.data.as_ref().expect("data");
    let names = data.iter().map(|k| k.attributes.as_ref()?.name.clone());
    names.collect::<Option<_>>().expect("names")
}

fn reversed(names: &[&str]) -> Vec<String> {
    names.iter().rev().map(|n| n.to_string()).collect()
}

/// `(id, email)` of each included item, all of which must be users.
fn included_users(included: Option<Vec<APIKeyResponseIncludedItem>>) -> Vec<(String, String)> {
    let users = included
        .expect("included")
        .into_iter()
        .map(|item| match item {
            APIKeyResponseIncludedItem::User(user) => {
                let email = user.attributes.and_then(|a| a.email).expect("email");
                (user.id.expect("user id"), email)
            }
            other => panic!("expected a user, got {other:?}"),
        });
    users.collect()
}

fn total(response: &APIKeysResponse) -> i64 {
    let page = response.meta.as_ref().and_then(|m| m.page.as_ref());
    page.and_then(|p| p.total_filtered_count)
        .expect("total_filtered_count")
}

/// The status and raw body of an error response; panics on success or any other failure.
fn response_error<R: Debug, T>(result: Result<R, Error<T>>) -> (u16, String) {
    match result {
        Err(Error::ResponseError(response)) => (response.status.as_u16(), response.content),
        Err(other) => panic!("expected an error response, got {other}"),
        Ok(value) => panic!("expected an error response, got {value:?}"),
    }
}

#[tokio::test]
async fn create_returns_the_full_key_with_defaults_and_get_round_trips_it() {
    let server = Server::start().await;
    let api = client(&server);

    let created = create(&api, named("official default")).await;
    assert_eq!(created.type_, Some(APIKeysType::API_KEYS));
    let a = attrs(&created);
    let key = a.key.clone().expect("key");
    assert_eq!(key.len(), 32, "{key}");
    assert!(key.chars().all(|c| "0123456789abcdef".contains(c)), "{key}");
    assert_eq!(a.last4.as_deref(), Some(&key[28..]));
    assert_eq!(a.name.as_deref(), Some("official default"));
    assert_eq!(a.category.as_deref(), Some("default"));
    assert_eq!(a.remote_config_read_enabled, Some(true));
    let (creator, modifier) = creator_and_modifier(created.relationships.as_ref());
    assert_eq!(creator, modifier);

    let fetched = get(&api, &id(&created)).await;
    assert_eq!(fetched.id, created.id);
    let f = attrs(&fetched);
    assert_eq!(f.key.as_deref(), Some(key.as_str()));
    assert_eq!(f.name.as_deref(), Some("official default"));
    assert_eq!((&f.last4, f.created_at), (&a.last4, a.created_at));
    assert_eq!(f.category.as_deref(), Some("default"));
    assert_eq!(f.remote_config_read_enabled, Some(true));
    assert_eq!(f.date_last_used, Some(None));
    let relationships = creator_and_modifier(fetched.relationships.as_ref());
    assert_eq!(relationships, (creator.clone(), creator));
}

#[tokio::test]
async fn category_and_remote_config_are_set_on_create_and_changed_by_update() {
    let server = Server::start().await;
    let api = client(&server);

    let attributes = named("ci pipeline")
        .category("ci".to_owned())
        .remote_config_read_enabled(false);
    let created = create(&api, attributes).await;
    let key_id = id(&created);
    let key = attrs(&created).key.clone().expect("key");
    for c in [attrs(&created), attrs(&get(&api, &key_id).await)] {
        assert_eq!(c.category.as_deref(), Some("ci"));
        assert_eq!(c.remote_config_read_enabled, Some(false));
    }

    let attributes = renamed("agent fleet")
        .category("agent".to_owned())
        .remote_config_read_enabled(true);
    let updated = update(&api, &key_id, attributes).await;
    assert_eq!(updated.id.as_deref(), Some(key_id.as_str()));
    let u = attrs(&updated);
    assert_eq!(u.key.as_deref(), Some(key.as_str()));
    assert_eq!(u.name.as_deref(), Some("agent fleet"));
    assert_eq!(u.category.as_deref(), Some("agent"));
    assert_eq!(u.remote_config_read_enabled, Some(true));
    assert_eq!(u.created_at, attrs(&created).created_at);
    assert!(u.modified_at > attrs(&created).modified_at, "{u:?}");

    // A rename alone keeps the category and remote config setting.
    let renamed = update(&api, &key_id, renamed("Fleet")).await;
    for r in [attrs(&renamed), attrs(&get(&api, &key_id).await)] {
        assert_eq!(r.name.as_deref(), Some("Fleet"));
        assert_eq!(r.category.as_deref(), Some("agent"));
        assert_eq!(r.remote_config_read_enabled, Some(true));
    }
}

#[tokio::test]
async fn delete_removes_the_key_and_a_second_delete_is_not_found() {
    let server = Server::start().await;
    let api = client(&server);
    let key_id = id(&create(&api, named("short lived")).await);
    assert_eq!(total(&list(&api, Default::default()).await), 2);

    api.delete_api_key(key_id.clone()).await.expect("delete");

    let params = GetAPIKeyOptionalParams::default();
    let (status, _) = response_error(api.get_api_key(key_id.clone(), params).await);
    assert_eq!(status, 404);
    let (status, content) = response_error(api.delete_api_key(key_id).await);
    assert_eq!(status, 404);
    assert!(content.contains("API key not found"), "{content}");
    let remaining = list(&api, Default::default()).await;
    assert_eq!(names(&remaining), [BOOTSTRAP_KEY]);
    assert_eq!(total(&remaining), 1);
}

#[tokio::test]
async fn list_sorts_pages_and_hides_secrets() {
    let server = Server::start().await;
    let api = client(&server);
    let mut keys = Vec::new();
    for name in ["bravo", "Alpha", "charlie", "Delta"] {
        keys.push(create(&api, named(name)).await);
    }
    let sorted = |sort| ListAPIKeysOptionalParams::default().sort(sort);

    let all = list(&api, Default::default()).await;
    assert_eq!(total(&all), 5);
    assert_eq!(all.meta.as_ref().and_then(|m| m.max_allowed), Some(5));
    for key in all.data.as_ref().expect("data") {
        let a = key.attributes.as_ref().expect("attributes");
        assert!(!a.additional_properties.contains_key("key"), "{a:?}");
        assert_eq!(a.last4.as_ref().map(String::len), Some(4));
    }

    let by_name = ["Alpha", "bravo", "charlie", "Delta", BOOTSTRAP_KEY];
    let listed = list_names(&api, sorted(APIKeysSort::NAME_ASCENDING)).await;
    assert_eq!(listed, by_name);
    let listed = list_names(&api, sorted(APIKeysSort::NAME_DESCENDING)).await;
    assert_eq!(listed, reversed(&by_name));

    let by_creation = [BOOTSTRAP_KEY, "bravo", "Alpha", "charlie", "Delta"];
    let listed = list_names(&api, sorted(APIKeysSort::CREATED_AT_ASCENDING)).await;
    assert_eq!(listed, by_creation);
    let listed = list_names(&api, sorted(APIKeysSort::CREATED_AT_DESCENDING)).await;
    assert_eq!(listed, reversed(&by_creation));

    let mut by_last4: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (attrs(k).last4.as_deref(), attrs(k).name.as_deref()))
        .map(|(last4, name)| (last4.expect("last4"), name.expect("name")))
        .collect();
    by_last4.push((&server.creds.api_key[28..], BOOTSTRAP_KEY));
    by_last4.sort();
    let listed = list_names(&api, sorted(APIKeysSort::LAST4_ASCENDING)).await;
    assert_eq!(listed, by_last4.iter().map(|(_, n)| *n).collect::<Vec<_>>());

    update(&api, &id(&keys[0]), renamed("bravo")).await;
    let by_modification = [BOOTSTRAP_KEY, "Alpha", "charlie", "Delta", "bravo"];
    let listed = list_names(&api, sorted(APIKeysSort::MODIFIED_AT_ASCENDING)).await;
    assert_eq!(listed, by_modification);
    let listed = list_names(&api, sorted(APIKeysSort::MODIFIED_AT_DESCENDING)).await;
    assert_eq!(listed, reversed(&by_modification));

    for (number, expected) in [(0, &by_name[..2]), (1, &by_name[2..4]), (2, &by_name[4..])] {
        let params = sorted(APIKeysSort::NAME_ASCENDING)
            .page_size(2)
            .page_number(number);
        let page = list(&api, params).await;
        assert_eq!(names(&page), expected, "page {number}");
        assert_eq!(total(&page), 5, "page {number}");
    }

    let body = APIKeyCreateRequest::new(APIKeyCreateData::new(named("6th"), APIKeysType::API_KEYS));
    let (status, content) = response_error(api.create_api_key(body).await);
    assert_eq!(status, 400);
    assert!(content.contains("at most 5 keys"), "{content}");
}

#[tokio::test]
async fn list_filters_by_name_dates_category_and_remote_config() {
    let server = Server::start().await;
    let api = client(&server);
    let prod = named("Prod Agent").category("agent".to_owned());
    let prod = create(&api, prod.remote_config_read_enabled(false)).await;
    let staging = create(&api, named("staging agent")).await;
    let ci = create(&api, named("CI runner").category("ci".to_owned())).await;
    let params = ListAPIKeysOptionalParams::default;

    let agents = list(&api, params().filter("AGENT".to_owned())).await;
    assert_eq!(names(&agents), ["Prod Agent", "staging agent"]);
    assert_eq!(total(&agents), 2);

    let rc_off = list_names(&api, params().filter_remote_config_read_enabled(false)).await;
    assert_eq!(rc_off, ["Prod Agent"]);
    let rc_on = list_names(&api, params().filter_remote_config_read_enabled(true)).await;
    assert_eq!(rc_on, ["CI runner", BOOTSTRAP_KEY, "staging agent"]);
    let ci_only = list_names(&api, params().filter_category("ci".to_owned())).await;
    assert_eq!(ci_only, ["CI runner"]);
    let both = params()
        .filter("agent".to_owned())
        .filter_category("agent".to_owned());
    assert_eq!(list_names(&api, both).await, ["Prod Agent"]);

    let created = |key: &FullAPIKey| attrs(key).created_at.expect("created_at").to_rfc3339();
    let since = list_names(&api, params().filter_created_at_start(created(&staging))).await;
    assert_eq!(since, ["CI runner", "staging agent"]);
    let until = list_names(&api, params().filter_created_at_end(created(&prod))).await;
    assert_eq!(until, [BOOTSTRAP_KEY, "Prod Agent"]);
    let window = params()
        .filter_created_at_start(created(&prod))
        .filter_created_at_end(created(&staging));
    let within = list_names(&api, window).await;
    assert_eq!(within, ["Prod Agent", "staging agent"]);

    let touched = update(&api, &id(&prod), renamed("Prod Agent")).await;
    let modified = |key: &FullAPIKey| attrs(key).modified_at.expect("modified_at").to_rfc3339();
    let since = list_names(&api, params().filter_modified_at_start(modified(&touched))).await;
    assert_eq!(since, ["Prod Agent"]);
    let until = list_names(&api, params().filter_modified_at_end(modified(&ci))).await;
    assert_eq!(until, ["CI runner", BOOTSTRAP_KEY, "staging agent"]);
}

#[tokio::test]
async fn list_and_get_include_the_creating_and_modifying_user() {
    let server = Server::start().await;
    let api = client(&server);
    let created = create(&api, named("with people")).await;
    let (admin_id, _) = creator_and_modifier(created.relationships.as_ref());

    let plain = list(&api, Default::default()).await;
    assert!(plain.included.is_none(), "{:?}", plain.included);

    let params = ListAPIKeysOptionalParams::default().include("created_by,modified_by".to_owned());
    let listed = list(&api, params).await;
    for key in listed.data.as_ref().expect("data") {
        let relationships = creator_and_modifier(key.relationships.as_ref());
        assert_eq!(relationships, (admin_id.clone(), admin_id.clone()));
    }
    let admin = vec![(admin_id, server.creds.email.clone())];
    assert_eq!(included_users(listed.included), admin);

    let params = GetAPIKeyOptionalParams::default().include("created_by".to_owned());
    let fetched = api.get_api_key(id(&created), params).await.expect("get");
    assert_eq!(included_users(fetched.included), admin);
}

#[tokio::test]
async fn validate_accepts_live_keys_and_rejects_wrong_or_deleted_ones() {
    let server = Server::start().await;
    let validate = |api_key: &str| {
        let config = dd_config_with(&server.base, api_key, &server.creds.app_key);
        async move { AuthenticationAPI::with_config(config).validate().await }
    };

    let response = validate(&server.creds.api_key).await.expect("validate");
    assert_eq!(response.valid, Some(true));

    let api = client(&server);
    let created = create(&api, named("fresh")).await;
    let key = attrs(&created).key.clone().expect("key");
    let response = validate(&key).await.expect("validate new key");
    assert_eq!(response.valid, Some(true));

    assert_eq!(response_error(validate(&"0".repeat(32)).await).0, 403);
    api.delete_api_key(id(&created)).await.expect("delete");
    assert_eq!(response_error(validate(&key).await).0, 403);
}
