//! Issue 18, item 6: org configs with Datadog's shapes and errors, and One-Time Read mode as
//! the config `one_time_read_application_keys`.

use crate::helpers::*;
use datadog_api_client::datadogV2::api_organizations::OrganizationsAPI;
use datadog_api_client::datadogV2::model::{
    OrgConfigType, OrgConfigWrite, OrgConfigWriteAttributes, OrgConfigWriteRequest,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const OTR: &str = "/api/v2/org_configs/one_time_read_application_keys";
const CU: &str = "/api/v2/current_user/application_keys";

fn value_body(value: Value) -> Value {
    json!({"data": {"type": "org_configs", "attributes": {"value": value}}})
}

#[tokio::test]
async fn org_configs_have_datadogs_shapes_and_errors() {
    let s = Server::start().await;
    let (status, list) = s.call(Method::GET, "/api/v2/org_configs", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["data"].as_array().expect("list");
    let names: Vec<&str> = items
        .iter()
        .filter_map(|c| c["attributes"]["name"].as_str())
        .collect();
    for name in [
        "custom_roles",
        "monitor_timezone",
        "security_contacts",
        "30d_invite_expiration",
        "one_time_read_application_keys",
    ] {
        assert!(names.contains(&name), "{name} missing: {names:?}");
    }
    for item in items {
        assert_eq!(item["type"], "org_configs");
        assert!(uuid::Uuid::parse_str(item["id"].as_str().expect("id")).is_ok());
        let attrs = &item["attributes"];
        for field in ["name", "description", "value_type", "value", "modified_at"] {
            assert!(attrs.get(field).is_some(), "{field}: {item}");
        }
    }

    let (status, roles) = s
        .call(Method::GET, "/api/v2/org_configs/custom_roles", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(roles["data"]["attributes"]["value_type"], "bool");
    assert_eq!(roles["data"]["attributes"]["value"], false);
    assert_eq!(roles["data"]["attributes"]["modified_at"], Value::Null);

    let (status, body) = s
        .call(Method::GET, "/api/v2/org_configs/i_dont_exist", None)
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            errors("OrgConfig: i_dont_exist not found")
        )
    );
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v2/org_configs/i_dont_exist",
            Some(value_body(json!([]))),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            errors("OrgConfig: i_dont_exist not found")
        )
    );
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v2/org_configs/custom_roles",
            Some(value_body(json!("not-a-boolean"))),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            errors("The value provided for parameter 'OrgConfig: not-a-boolean' is invalid")
        )
    );
    for bad in [
        json!({"data": {"type": "org_configs", "attributes": {}}}),
        json!({"data": {"type": "org_configs", "attributes": {"value": null}}}),
        json!({"data": {"type": "users", "attributes": {"value": "UTC"}}}),
        json!({"data": []}),
        value_body(json!("UTC; rm -rf /")),
        value_body(json!(["<script>"])),
    ] {
        let path = if bad.to_string().contains("script") {
            "/api/v2/org_configs/security_contacts"
        } else {
            "/api/v2/org_configs/monitor_timezone"
        };
        let (status, body) = s.call(Method::PATCH, path, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["errors"].is_array(), "{body}");
    }

    let (status, tz) = s
        .call(
            Method::PATCH,
            "/api/v2/org_configs/monitor_timezone",
            Some(value_body(json!("America/New_York"))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tz}");
    assert_eq!(tz["data"]["attributes"]["value"], "America/New_York");
    assert!(tz["data"]["attributes"]["modified_at"].is_string(), "{tz}");
    let (_, again) = s
        .call(Method::GET, "/api/v2/org_configs/monitor_timezone", None)
        .await;
    assert_eq!(again, tz);
    let contacts = value_body(json!(["security@example.com"]));
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v2/org_configs/security_contacts",
            Some(contacts),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["attributes"]["value"],
        json!(["security@example.com"])
    );
}

async fn set_otr(s: &Server, api: &str, app: &str, on: bool) -> (StatusCode, Value) {
    send(
        s.http
            .patch(s.url(OTR))
            .header("DD-API-KEY", api)
            .header("DD-APPLICATION-KEY", app)
            .json(&value_body(json!(on))),
    )
    .await
}

#[tokio::test]
async fn one_time_read_mode_is_an_org_config() {
    let s = Server::start().await;
    let admin = (&s.creds.api_key, &s.creds.app_key);
    let body = json!({"data": {"type": "application_keys", "attributes": {"name": "revealed"}}});
    let (_, key) = s.call(Method::POST, CU, Some(body)).await;
    let key_path = format!("{CU}/{}", key["data"]["id"].as_str().expect("id"));

    let (status, off) = set_otr(&s, admin.0, admin.1, false).await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["data"]["attributes"]["value"], false);
    let (_, got) = s.call(Method::GET, &key_path, None).await;
    assert!(
        got["data"]["attributes"]["key"].is_string(),
        "shown when off: {got}"
    );

    let (status, on) = set_otr(&s, admin.0, admin.1, true).await;
    assert_eq!(status, StatusCode::OK, "{on}");
    let (_, read) = s.call(Method::GET, OTR, None).await;
    assert_eq!(read["data"]["attributes"]["value"], true);
    assert!(read["data"]["attributes"]["modified_at"].is_string());
    let (_, got) = s.call(Method::GET, &key_path, None).await;
    assert!(
        got["data"]["attributes"].get("key").is_none(),
        "hidden when on: {got}"
    );
    let (status, _) = s.call(Method::GET, "/api/v1/application_key", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // org_management alone may change other configs, not this one.
    let scoped = json!({"data": {"type": "application_keys", "attributes": {"name": "org-only", "scopes": ["org_management"]}}});
    let (status, scoped) = s.call(Method::POST, CU, Some(scoped)).await;
    assert_eq!(status, StatusCode::CREATED, "{scoped}");
    let scoped_app = scoped["data"]["attributes"]["key"].as_str().expect("key");
    s.await_key_pair(admin.0, scoped_app).await;
    let (status, body) = set_otr(&s, admin.0, scoped_app, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = send(
        s.http
            .patch(s.url("/api/v2/org_configs/monitor_timezone"))
            .header("DD-API-KEY", admin.0)
            .header("DD-APPLICATION-KEY", scoped_app)
            .json(&value_body(json!("UTC"))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, read) = s.call(Method::GET, OTR, None).await;
    assert_eq!(read["data"]["attributes"]["value"], true);

    let (_, audit) = s
        .call(
            Method::GET,
            "/api/v2/audit/events?filter[action]=org.one_time_read.disable",
            None,
        )
        .await;
    assert!(
        !audit["data"].as_array().expect("events").is_empty(),
        "{audit}"
    );
}

#[tokio::test]
async fn org_configs_through_the_official_client() {
    let s = Server::start().await;
    let api = OrganizationsAPI::with_config(s.dd_config());
    let list = api.list_org_configs().await.expect("list org configs");
    assert!(list
        .data
        .iter()
        .any(|c| c.attributes.name == "custom_roles"));
    let got = api
        .get_org_config("custom_roles".to_owned())
        .await
        .expect("get org config");
    assert_eq!(got.data.attributes.value, json!(false));
    assert_eq!(got.data.attributes.value_type, "bool");
    let body = OrgConfigWriteRequest::new(OrgConfigWrite::new(
        OrgConfigWriteAttributes::new(json!("UTC")),
        OrgConfigType::ORG_CONFIGS,
    ));
    let updated = api
        .update_org_config("monitor_timezone".to_owned(), body)
        .await
        .expect("update org config");
    assert_eq!(updated.data.attributes.value, json!("UTC"));
    assert!(matches!(updated.data.attributes.modified_at, Some(Some(_))));
    let missing = api.get_org_config("i_dont_exist".to_owned()).await;
    assert!(matches!(
        missing,
        Err(datadog_api_client::datadog::Error::ResponseError(ref e)) if e.status == StatusCode::NOT_FOUND
    ));
}
