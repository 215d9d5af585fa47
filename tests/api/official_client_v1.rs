//! The official `datadog-api-client` crate's v1 key management against a real keyplane: every
//! v1 API and application key operation goes through the typed client, keys are named by their
//! value, and keys made through either version are visible and usable through the other.

use crate::helpers::{dd_config_with, send, Server};
use datadog_api_client::datadog::Error;
use datadog_api_client::datadogV1::api_authentication::AuthenticationAPI;
use datadog_api_client::datadogV1::api_key_management::KeyManagementAPI;
use datadog_api_client::datadogV1::model::{ApiKey, ApplicationKey};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::fmt::Debug;

const BOOTSTRAP_API_KEY: &str = "Initial API key";
const BOOTSTRAP_APP_KEY: &str = "Initial application key";
const CU: &str = "/api/v2/current_user/application_keys";

fn client(server: &Server) -> KeyManagementAPI {
    KeyManagementAPI::with_config(server.dd_config())
}

fn api_key(name: &str) -> ApiKey {
    ApiKey::new().name(name.to_owned())
}

fn app_key(name: &str) -> ApplicationKey {
    ApplicationKey::new().name(name.to_owned())
}

async fn new_api_key(api: &KeyManagementAPI, name: &str) -> ApiKey {
    let created = api.create_api_key(api_key(name)).await;
    created.expect("create API key").api_key.expect("api_key")
}

async fn new_app_key(api: &KeyManagementAPI, name: &str) -> ApplicationKey {
    let created = api.create_application_key(app_key(name)).await;
    created
        .expect("create app key")
        .application_key
        .expect("key")
}

fn is_hex(value: &str, len: usize) -> bool {
    value.len() == len && value.chars().all(|c| "0123456789abcdef".contains(c))
}

/// `(key, name, created_by)` of every listed API key, sorted by name.
async fn api_keys(api: &KeyManagementAPI) -> Vec<(String, String, String)> {
    let listed = api.list_api_keys().await.expect("list API keys");
    let mut keys: Vec<_> = listed
        .api_keys
        .expect("api_keys")
        .into_iter()
        .map(|k| (k.key.expect("key"), k.name.expect("name"), k.created_by))
        .map(|(key, name, by)| (key, name, by.expect("created_by")))
        .collect();
    keys.sort_by(|a, b| a.1.cmp(&b.1));
    keys
}

/// `(hash, name, owner)` of every listed application key, sorted by name.
async fn app_keys(api: &KeyManagementAPI) -> Vec<(String, String, String)> {
    let listed = api.list_application_keys().await.expect("list app keys");
    let mut keys: Vec<_> = listed
        .application_keys
        .expect("application_keys")
        .into_iter()
        .map(|k| (k.hash.expect("hash"), k.name.expect("name"), k.owner))
        .map(|(hash, name, owner)| (hash, name, owner.expect("owner")))
        .collect();
    keys.sort_by(|a, b| a.1.cmp(&b.1));
    keys
}

fn revoked(key: &ApplicationKey) -> Option<&Value> {
    key.additional_properties.get("revoked")
}

/// The status and raw body of an error response; panics on success or any other failure.
fn response_error<R: Debug, T>(result: Result<R, Error<T>>) -> (u16, String) {
    match result {
        Err(Error::ResponseError(response)) => (response.status.as_u16(), response.content),
        Err(other) => panic!("expected an error response, got {other}"),
        Ok(value) => panic!("expected an error response, got {value:?}"),
    }
}

fn expect_error<R: Debug, T>(result: Result<R, Error<T>>, status: u16, message: &str) {
    let (got, content) = response_error(result);
    assert_eq!(got, status, "{content}");
    assert!(content.contains(message), "{message:?} not in {content}");
}

async fn v2(server: &Server, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, body) = server.call(method, path, body).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

#[tokio::test]
async fn api_keys_go_through_every_v1_operation_by_value() {
    let server = Server::start().await;
    let api = client(&server);
    let admin = server.creds.email.clone();

    let created = new_api_key(&api, "v1 agent").await;
    let key = created.key.clone().expect("key");
    assert!(is_hex(&key, 32), "{key}");
    assert_eq!(created.name.as_deref(), Some("v1 agent"));
    assert_eq!(created.created_by.as_deref(), Some(admin.as_str()));
    let stamp = created.created.clone().expect("created");
    let shape = stamp.char_indices().all(|(i, c)| match i {
        4 | 7 => c == '-',
        10 => c == ' ',
        13 | 16 => c == ':',
        _ => c.is_ascii_digit(),
    });
    assert!(shape && stamp.len() == 19, "{stamp}");

    let fetched = api.get_api_key(key.clone()).await.expect("get");
    assert_eq!(fetched.api_key.as_ref(), Some(&created));

    let listed = api_keys(&api).await;
    let bootstrap = server.creds.api_key.clone();
    let expected = vec![
        (bootstrap, BOOTSTRAP_API_KEY.to_owned(), admin.clone()),
        (key.clone(), "v1 agent".to_owned(), admin.clone()),
    ];
    assert_eq!(listed, expected);

    let updated = api.update_api_key(key.clone(), api_key("v1 fleet")).await;
    let updated = updated.expect("update").api_key.expect("api_key");
    let renamed = created.clone().name("v1 fleet".to_owned());
    assert_eq!(updated, renamed);
    let fetched = api.get_api_key(key.clone()).await.expect("get renamed");
    assert_eq!(fetched.api_key, Some(renamed.clone()));

    let deleted = api.delete_api_key(key.clone()).await.expect("delete");
    assert_eq!(deleted.api_key, Some(renamed));
    expect_error(api.get_api_key(key.clone()).await, 404, "API key not found");
    let again = api.delete_api_key(key.clone()).await;
    expect_error(again, 404, "API key not found");
    let names: Vec<_> = api_keys(&api).await.into_iter().map(|k| k.1).collect();
    assert_eq!(names, [BOOTSTRAP_API_KEY]);
}

#[tokio::test]
async fn api_key_refusals_come_back_as_response_errors() {
    let server = Server::start().await;
    let api = client(&server);

    let missing = "Required parameter 'name' is missing";
    expect_error(api.create_api_key(ApiKey::new()).await, 400, missing);
    let unknown = "0".repeat(32);
    let not_found = "API key not found";
    expect_error(api.get_api_key(unknown.clone()).await, 404, not_found);
    let rename = api.update_api_key(unknown.clone(), api_key("x")).await;
    expect_error(rename, 404, not_found);
    expect_error(api.delete_api_key(unknown).await, 404, not_found);

    let mut keys = Vec::new();
    for name in ["two", "three", "four", "five"] {
        keys.push(new_api_key(&api, name).await.key.expect("key"));
        if keys.len() == 2 {
            // Below the limit, a taken name is a conflict on create and on rename.
            let taken = "An API key with the name two already exists";
            expect_error(api.create_api_key(api_key("two")).await, 409, taken);
            let rename = api.update_api_key(keys[1].clone(), api_key("two"));
            expect_error(rename.await, 409, taken);
        }
    }
    let limit = "Orgs must have at least 1 and at most 5 keys.";
    expect_error(api.create_api_key(api_key("six")).await, 400, limit);
    assert_eq!(api_keys(&api).await.len(), 5);

    for key in keys {
        api.delete_api_key(key).await.expect("delete");
    }
    let last = api.delete_api_key(server.creds.api_key.clone()).await;
    let refusal = "The last API key of an organization cannot be deleted";
    expect_error(last, 400, refusal);
    let left = api.get_api_key(server.creds.api_key.clone()).await;
    let left = left.expect("bootstrap key survives").api_key;
    assert_eq!(
        left.and_then(|k| k.name).as_deref(),
        Some(BOOTSTRAP_API_KEY)
    );
}

#[tokio::test]
async fn application_keys_go_through_every_v1_operation_by_value() {
    let server = Server::start().await;
    let api = client(&server);
    let admin = server.creds.email.clone();

    let created = new_app_key(&api, "v1 script").await;
    let hash = created.hash.clone().expect("hash");
    assert!(is_hex(&hash, 40), "{hash}");
    assert_eq!(created.name.as_deref(), Some("v1 script"));
    assert_eq!(created.owner.as_deref(), Some(admin.as_str()));
    assert_eq!(revoked(&created), Some(&json!(false)));

    let fetched = api.get_application_key(hash.clone()).await.expect("get");
    assert_eq!(fetched.application_key.as_ref(), Some(&created));

    let expected = vec![
        (
            server.creds.app_key.clone(),
            BOOTSTRAP_APP_KEY.to_owned(),
            admin.clone(),
        ),
        (hash.clone(), "v1 script".to_owned(), admin.clone()),
    ];
    assert_eq!(app_keys(&api).await, expected);

    let updated = api
        .update_application_key(hash.clone(), app_key("v1 cron"))
        .await;
    let updated = updated.expect("update").application_key.expect("key");
    let renamed = created.clone().name("v1 cron".to_owned());
    assert_eq!(updated, renamed);
    let fetched = api.get_application_key(hash.clone()).await.expect("get");
    assert_eq!(fetched.application_key, Some(renamed.clone()));

    let deleted = api.delete_application_key(hash.clone()).await;
    let deleted = deleted.expect("delete").application_key.expect("key");
    assert_eq!(
        (&deleted.hash, &deleted.name),
        (&renamed.hash, &renamed.name)
    );
    assert_eq!(deleted.owner.as_deref(), Some(admin.as_str()));
    assert_eq!(revoked(&deleted), Some(&json!(true)));

    let not_found = "Application key not found";
    expect_error(api.get_application_key(hash.clone()).await, 404, not_found);
    let again = api.delete_application_key(hash.clone()).await;
    expect_error(again, 404, not_found);
    let names: Vec<_> = app_keys(&api).await.into_iter().map(|k| k.1).collect();
    assert_eq!(names, [BOOTSTRAP_APP_KEY]);
}

#[tokio::test]
async fn application_key_refusals_come_back_as_response_errors() {
    let server = Server::start().await;
    let api = client(&server);

    let missing = "Required parameter 'name' is missing";
    let nameless = api.create_application_key(ApplicationKey::new()).await;
    expect_error(nameless, 400, missing);

    let hash = new_app_key(&api, "taken").await.hash.expect("hash");
    let conflict = "An application key with the name taken already exists";
    let duplicate = api.create_application_key(app_key("taken")).await;
    expect_error(duplicate, 409, conflict);
    let bootstrap = server.creds.app_key.clone();
    let rename = api
        .update_application_key(bootstrap, app_key("taken"))
        .await;
    expect_error(rename, 409, conflict);
    let own_name = api.update_application_key(hash, app_key("taken")).await;
    let own_name = own_name.expect("rename to itself").application_key;
    assert_eq!(own_name.and_then(|k| k.name).as_deref(), Some("taken"));

    let unknown = "0".repeat(40);
    let not_found = "Application key not found";
    let got = api.get_application_key(unknown.clone()).await;
    expect_error(got, 404, not_found);
    let rename = api
        .update_application_key(unknown.clone(), app_key("x"))
        .await;
    expect_error(rename, 404, not_found);
    expect_error(api.delete_application_key(unknown).await, 404, not_found);
}

#[tokio::test]
async fn api_keys_cross_between_v1_and_v2_both_ways() {
    let server = Server::start().await;
    let api = client(&server);

    let created = new_api_key(&api, "from v1").await;
    let key = created.key.clone().expect("key");
    let listed = v2(&server, Method::GET, "/api/v2/api_keys", None).await;
    let mut entries = listed["data"].as_array().expect("data").iter();
    let entry = entries.find(|k| k["attributes"]["name"] == "from v1");
    let id = entry
        .and_then(|k| k["id"].as_str())
        .expect("v1 key in v2 list");
    let path = format!("/api/v2/api_keys/{id}");
    let fetched = v2(&server, Method::GET, &path, None).await;
    let attributes = &fetched["data"]["attributes"];
    assert_eq!(attributes["key"], key.as_str());
    let at = attributes["created_at"].as_str().expect("created_at");
    let v1_created = format!("{} {}", &at[..10], &at[11..19]);
    assert_eq!(created.created.as_deref(), Some(v1_created.as_str()));

    let config = dd_config_with(&server.base, &key, &server.creds.app_key);
    let valid = AuthenticationAPI::with_config(config).validate().await;
    assert_eq!(valid.expect("validate v1 key").valid, Some(true));

    let (v2_id, v2_key) = server.create_api_key("from v2").await;
    let fetched = api.get_api_key(v2_key.clone()).await.expect("get v2 key");
    let fetched = fetched.api_key.expect("api_key");
    assert_eq!(fetched.name.as_deref(), Some("from v2"));
    let admin = server.creds.email.as_str();
    assert_eq!(fetched.created_by.as_deref(), Some(admin));
    assert!(api_keys(&api).await.iter().any(|k| k.0 == v2_key));

    api.delete_api_key(v2_key)
        .await
        .expect("delete v2 key via v1");
    let path = format!("/api/v2/api_keys/{v2_id}");
    let (status, body) = server.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn application_keys_cross_between_v1_and_v2_both_ways() {
    let server = Server::start().await;
    let api = client(&server);

    let hash = new_app_key(&api, "from v1").await.hash.expect("hash");
    let listed = v2(&server, Method::GET, CU, None).await;
    let names = listed["data"].as_array().expect("data").iter();
    let names: Vec<_> = names.map(|k| k["attributes"]["name"].clone()).collect();
    assert!(names.contains(&json!("from v1")), "{listed}");

    // The v1 key authenticates the v2 and v1 surfaces at once.
    let config = dd_config_with(&server.base, &server.creds.api_key, &hash);
    let as_new = KeyManagementAPI::with_config(config);
    assert_eq!(app_keys(&as_new).await.len(), 2);
    let request = server.http.get(server.url(CU));
    let request = request.header("DD-API-KEY", &server.creds.api_key);
    let (status, body) = send(request.header("DD-APPLICATION-KEY", &hash)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let body = json!({"data": {"type": "application_keys", "attributes": {"name": "from v2"}}});
    let made = v2(&server, Method::POST, CU, Some(body)).await;
    let v2_id = made["data"]["id"].as_str().expect("id").to_owned();
    let v2_key = made["data"]["attributes"]["key"].as_str().expect("key");
    let fetched = api.get_application_key(v2_key.to_owned()).await;
    let fetched = fetched.expect("get v2 key").application_key.expect("key");
    assert_eq!(fetched.hash.as_deref(), Some(v2_key));
    assert_eq!(fetched.name.as_deref(), Some("from v2"));
    assert_eq!(fetched.owner.as_deref(), Some(server.creds.email.as_str()));

    let renamed = api.update_application_key(v2_key.to_owned(), app_key("renamed in v1"));
    renamed.await.expect("rename v2 key via v1");
    let path = format!("{CU}/{v2_id}");
    let got = v2(&server, Method::GET, &path, None).await;
    assert_eq!(got["data"]["attributes"]["name"], "renamed in v1");

    api.delete_application_key(v2_key.to_owned())
        .await
        .expect("delete");
    let (status, body) = server.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
