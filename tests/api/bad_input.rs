//! Bad input gets a clear 4xx in Datadog's error shape and changes nothing.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const JSON: &str = "application/json";

struct Case {
    method: Method,
    path: String,
    content_type: &'static str,
    body: String,
    status: StatusCode,
    /// A part of the error message, naming what was wrong.
    says: &'static str,
}

fn case(method: Method, path: &str, body: &str, status: u16, says: &'static str) -> Case {
    Case {
        method,
        path: path.to_owned(),
        content_type: JSON,
        body: body.to_owned(),
        status: StatusCode::from_u16(status).expect("status"),
        says,
    }
}

/// POSTs a 4 MiB body over a raw socket, writing and reading at once: the server answers
/// 413 without reading the whole body, which an HTTP client library reports as a broken pipe.
async fn oversized_create(s: &Server) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::to_vec(&api_key_body(&"x".repeat(4 * 1024 * 1024))).expect("body");
    let head = format!(
        "POST /api/v2/api_keys HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         DD-API-KEY: {}\r\nDD-APPLICATION-KEY: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        s.creds.api_key,
        s.creds.app_key,
        body.len()
    );
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let write = tokio::spawn(async move {
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&body).await;
    });
    let mut response = Vec::new();
    let _ = reader.read_to_end(&mut response).await;
    write.abort();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

async fn snapshot(s: &Server) -> Value {
    let (status, body) = s
        .call(Method::GET, "/api/v2/api_keys?page[size]=100", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    body
}

#[tokio::test]
async fn every_bad_request_is_a_clear_4xx_and_changes_nothing() {
    let s = Server::start().await;
    let (id, _) = s.create_api_key("existing").await;
    let before = snapshot(&s).await;
    let key_path = format!("/api/v2/api_keys/{id}");
    let create = |body: &str, says| case(Method::POST, "/api/v2/api_keys", body, 400, says);
    let attrs = |a: Value| json!({"data": {"type": "api_keys", "attributes": a}}).to_string();
    let patch = |body: Value| case(Method::PATCH, &key_path, &body.to_string(), 400, "");
    let list = |q: &str, says| case(Method::GET, &format!("/api/v2/api_keys?{q}"), "", 400, says);

    let mut cases = vec![
        create("{", "EOF"),
        create("", "EOF"),
        create("null", "null"),
        create("[]", "JSON object"),
        create(
            r#"[{"type": "api_keys", "attributes": {"name": "x"}}]"#,
            "JSON object",
        ),
        create(r#"{"data": ["api_keys", {"name": "x"}]}"#, "JSON object"),
        create(&attrs(json!(["positional"])), "JSON object"),
        create("\"text\"", "string"),
        create("{}", "data"),
        create(r#"{"data": null}"#, "data"),
        create(r#"{"data": {"type": "api_keys"}}"#, "attributes"),
        create(
            r#"{"data": {"type": "users", "attributes": {"name": "x"}}}"#,
            "type",
        ),
        create(r#"{"data": {"attributes": {"name": "x"}}}"#, "type"),
        create(&attrs(json!({})), "Required parameter 'name' is missing"),
        create(
            &attrs(json!({"name": null})),
            "Required parameter 'name' is missing",
        ),
        create(&attrs(json!({"name": ""})), "blank"),
        create(&attrs(json!({"name": " \t "})), "blank"),
        create(&attrs(json!({"name": "x".repeat(256)})), "255"),
        create(&attrs(json!({"name": "line\nbreak"})), "control"),
        create(&attrs(json!({"name": 5})), "name"),
        create(&attrs(json!({"name": ["a"]})), "name"),
        create(
            &attrs(json!({"name": "ok", "remote_config_read_enabled": "yes"})),
            "remote_config_read_enabled",
        ),
        create(&attrs(json!({"name": "ok", "category": 7})), "category"),
        create(&attrs(json!({"name": "ok", "category": ""})), "category"),
        Case {
            content_type: "text/plain",
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ..create(&attrs(json!({"name": "plain"})), "Content-Type")
        },
        Case {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            says: "do not match",
            ..patch(
                json!({"data": {"id": uuid::Uuid::new_v4(), "type": "api_keys", "attributes": {"name": "x"}}}),
            )
        },
        Case {
            says: "Required parameter 'name' is missing",
            ..patch(
                json!({"data": {"id": id, "type": "api_keys", "attributes": {"category": "c"}}}),
            )
        },
        Case {
            says: "type",
            ..patch(json!({"data": {"id": id, "type": "users", "attributes": {"name": "x"}}}))
        },
        Case {
            says: "id",
            ..patch(json!({"data": {"type": "api_keys", "attributes": {"name": "x"}}}))
        },
        list("page[size]=abc", "page[size]"),
        list("page%5Bsize%5D=-1", "page[size]"),
        list("page[size]=0", "page[size]"),
        list("page[size]=101", "page[size]"),
        list("page[size]=99999999999999999999999", "page[size]"),
        list("page[number]=-1", "page[number]"),
        list("page[number]=1.5", "page[number]"),
        list("sort=secret", "Invalid sort"),
        list("sort=--name", "Invalid sort"),
        list(
            "filter[created_at][start]=yesterday",
            "filter[created_at][start]",
        ),
        list(
            "filter%5Bmodified_at%5D%5Bend%5D=2020-02-30",
            "filter[modified_at][end]",
        ),
        list(
            "filter[remote_config_read_enabled]=maybe",
            "filter[remote_config_read_enabled]",
        ),
        list("include=owned_by", "include"),
        case(Method::GET, "/api/v2/nothing-here", "", 404, "Not found"),
        case(
            Method::PUT,
            "/api/v2/api_keys",
            "",
            405,
            "Method not allowed",
        ),
    ];
    // Hostile but well-formed query strings are answered normally.
    let hostile = [
        "filter=%27%3B%20DROP%20TABLE%20api_keys%3B%20--",
        "filter=%FF%FE%00",
        "filter=%",
        "sort=&page[size]=",
    ];
    for q in hostile {
        cases.push(Case {
            status: StatusCode::OK,
            ..list(q, "")
        });
    }

    for c in cases {
        let label = format!("{} {} {:.80}", c.method, c.path, c.body);
        let req = s
            .req(c.method.clone(), &c.path)
            .header("content-type", c.content_type)
            .body(c.body.clone());
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{label}: {e:?}"));
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(status, c.status, "{label}: {text}");
        if status.is_client_error() {
            let errs = body["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("{label}: {body}"));
            assert_eq!(errs.len(), 1, "{label}");
            let msg = errs[0].as_str().expect("string message");
            assert!(
                msg.contains(c.says),
                "{label}: {msg:?} should mention {:?}",
                c.says
            );
        }
    }
    let (status, body) = oversized_create(&s).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body, r#"{"errors":["Request body is too large"]}"#);

    assert_eq!(snapshot(&s).await, before, "a bad request changed the keys");
    let logs = s.logs();
    assert!(!logs.contains("panicked"), "{logs}");
}

/// serde's derived structs take arrays too, filling fields by position; no request body may
/// pass an array where Datadog's schema has an object.
#[tokio::test]
async fn arrays_never_pass_for_objects() {
    let s = Server::start().await;
    let scoped = json!({"data": {"type": "application_keys",
        "attributes": {"name": "scoped", "scopes": ["client_tokens_read"]}}});
    let (status, key) = s
        .call(
            Method::POST,
            "/api/v2/current_user/application_keys",
            Some(scoped),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let id = key["data"]["id"].as_str().expect("id");
    let key_path = format!("/api/v2/application_keys/{id}");
    let role = json!({"data": [{"id": "6b2c5a2e-7d0c-11ee-9f0a-0242ac120001", "type": "roles"}]});
    let cases = [
        (
            Method::PATCH,
            key_path.clone(),
            // As positional fields this would read as name unchanged, scopes null (everything).
            json!({"data": {"id": id, "type": "application_keys", "attributes": [null, null]}}),
        ),
        (
            Method::POST,
            "/api/v2/users".to_owned(),
            json!({"data": {"type": "users", "attributes": ["a@example.com"]}}),
        ),
        (
            Method::POST,
            "/api/v2/users".to_owned(),
            json!({"data": {"type": "users", "attributes": {"email": "b@example.com"},
                "relationships": [role]}}),
        ),
        (
            Method::POST,
            "/api/v2/users".to_owned(),
            json!({"data": {"type": "users", "attributes": {"email": "c@example.com"},
                "relationships": {"roles": {"data": [["6b2c5a2e-7d0c-11ee-9f0a-0242ac120001"]]}}}}),
        ),
        (
            Method::POST,
            "/api/v1/api_key".to_owned(),
            json!(["v1 name"]),
        ),
        (
            Method::POST,
            "/api/console/session".to_owned(),
            json!([s.creds.email, s.creds.password]),
        ),
    ];
    for (method, path, body) in cases {
        let (status, got) = s.call(method.clone(), &path, Some(body.clone())).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {got}"
        );
        let message = got["errors"][0].as_str().unwrap_or_default();
        assert!(
            message.contains("JSON object"),
            "{method} {path}: {message}"
        );
    }
    let (_, after) = s.call(Method::GET, &key_path, None).await;
    assert_eq!(
        after["data"]["attributes"]["scopes"],
        json!(["client_tokens_read"])
    );
    let (_, users) = s.call(Method::GET, "/api/v2/users", None).await;
    assert_eq!(users["meta"]["page"]["total_count"], 1, "{users}");
}
