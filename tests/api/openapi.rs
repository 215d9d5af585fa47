//! The served OpenAPI document against the router's own table: every route documented, every
//! documented operation routed, and each operation's security saying what its `Access` does.

use crate::helpers::*;
use keyplane::auth::Access;
use keyplane::http::routes::table;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// The security alternatives (each a set of scheme names) that `access` stands for.
fn security_of(access: Access) -> BTreeSet<BTreeSet<&'static str>> {
    let alternatives: &[&[&str]] = match access {
        Access::Public => &[],
        Access::ApiKey => &[&["apiKeyAuth"], &["apiKeyAuthQuery"]],
        // A personal or service-account token authenticates alone, as a bearer token or in
        // the application-key header.
        Access::KeyPair => &[
            &["apiKeyAuth", "appKeyAuth"],
            &["consoleSession"],
            &["bearerAuth"],
            &["appKeyAuth"],
        ],
        Access::KeyPairOrQuery => &[
            &["apiKeyAuth", "appKeyAuth"],
            &["apiKeyAuthQuery", "appKeyAuthQuery"],
            &["bearerAuth"],
            &["appKeyAuth"],
        ],
        Access::ClientToken => &[&["clientTokenAuth"], &["clientTokenAuthQuery"]],
        Access::Intake => &[
            &["apiKeyAuth"],
            &["apiKeyAuthQuery"],
            &["clientTokenAuth"],
            &["clientTokenAuthQuery"],
        ],
        Access::Session => &[&["consoleSession"]],
    };
    alternatives
        .iter()
        .map(|alt| alt.iter().copied().collect())
        .collect()
}

/// A route's path as OpenAPI templates it: a catch-all `{*rest}` is a plain `{rest}`.
fn documented_path(route: &str) -> String {
    route.replace("{*", "{")
}

fn declared_security(op: &Value) -> Option<BTreeSet<BTreeSet<String>>> {
    op.get("security")?.as_array().map(|alts| {
        alts.iter()
            .map(|alt| {
                alt.as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            })
            .collect()
    })
}

/// `{"$ref": "#/components/<kind>/<name>"}` followed to what it names.
fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved $ref {reference}"));
            resolve(doc, target)
        }
        None => node,
    }
}

fn every_ref(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => every_ref(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| every_ref(v, out)),
        _ => {}
    }
}

async fn served_document() -> (Value, String) {
    let s = Server::start().await;
    let resp = s
        .http
        .get(s.url("/api/openapi.yaml"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/yaml");
    let text = resp.text().await.expect("body");
    let doc: Value = serde_norway::from_str(&text).expect("the served document is YAML");
    (doc, text)
}

#[tokio::test]
async fn the_served_document_describes_every_route_and_nothing_else() {
    let (doc, text) = served_document().await;
    let on_disk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/keyplane.yaml"
    ))
    .expect("openapi/keyplane.yaml");
    assert!(text == on_disk, "the binary serves a stale document");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"], serde_json::json!([{"url": "/"}]));

    let mut documented: BTreeMap<(String, String), &Value> = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                documented.insert((method.to_uppercase(), path.clone()), op);
            }
        }
    }
    let routes = table();
    let routed: BTreeSet<(String, String)> = routes
        .iter()
        .map(|r| (r.method.as_str().to_owned(), documented_path(r.path)))
        .collect();
    let undocumented: Vec<_> = routed
        .iter()
        .filter(|k| !documented.contains_key(*k))
        .collect();
    let unrouted: Vec<_> = documented.keys().filter(|k| !routed.contains(*k)).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );

    let mut wrong = Vec::new();
    for route in &routes {
        let key = (
            route.method.as_str().to_owned(),
            documented_path(route.path),
        );
        let op = documented[&key];
        let want: BTreeSet<BTreeSet<String>> = security_of(route.access)
            .into_iter()
            .map(|alt| alt.into_iter().map(str::to_owned).collect())
            .collect();
        match declared_security(op) {
            Some(got) if got == want => {}
            got => wrong.push(format!(
                "{} {} ({:?}): security {got:?}, want {want:?}",
                route.method, route.path, route.access
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn every_operation_documents_its_errors_in_datadogs_shape() {
    let (doc, _) = served_document().await;
    let mut refs = Vec::new();
    every_ref(&doc, &mut refs);
    for reference in &refs {
        assert!(
            doc.pointer(reference.trim_start_matches('#')).is_some(),
            "unresolved $ref {reference}"
        );
    }
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    assert_eq!(schemes["apiKeyAuth"]["name"], "DD-API-KEY");
    assert_eq!(schemes["appKeyAuth"]["name"], "DD-APPLICATION-KEY");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");

    let error_schemas = ["APIErrorResponse", "V1APIErrorResponse"];
    let mut operation_ids = BTreeSet::new();
    let mut problems = Vec::new();
    for route in table() {
        let method = route.method.as_str().to_lowercase();
        let op = &doc["paths"][documented_path(route.path).as_str()][&method];
        let name = format!("{} {}", route.method, route.path);
        match op["operationId"].as_str() {
            Some(id) if operation_ids.insert(id.to_owned()) => {}
            other => problems.push(format!("{name}: operationId {other:?} missing or repeated")),
        }
        let responses = op["responses"].as_object().expect("responses");
        let mut needed: Vec<&str> = Vec::new();
        if op.get("requestBody").is_some() {
            needed.extend(["400", "408", "413", "415"]);
        }
        // The gate's sub-path names no resource: it is the original request's path.
        if route.path.contains("/{") && route.access != Access::Intake {
            needed.push("404");
        }
        // Callers of an organization are rate-limited; the others are not counted.
        match route.access {
            Access::Public => {}
            Access::Session => needed.extend(["401", "429"]),
            Access::KeyPair => needed.extend(["401", "403", "429", "503"]),
            Access::KeyPairOrQuery => needed.extend(["403", "429", "503"]),
            Access::ApiKey | Access::ClientToken | Access::Intake => needed.extend(["403", "503"]),
        }
        // Console sign-in (public) has a limit of its own: 429 with Retry-After; leak
        // reports (public) are limited per source address.
        let own_limit = ["/api/console/session", "/api/v2/credentials/leaked"];
        if !matches!(
            route.access,
            Access::KeyPair | Access::KeyPairOrQuery | Access::Session
        ) && !own_limit.contains(&route.path)
            && responses.contains_key("429")
        {
            problems.push(format!(
                "{name}: 429 documented on a route that is not limited"
            ));
        }
        for code in needed {
            if !responses.contains_key(code) {
                problems.push(format!("{name}: no {code} response"));
            }
        }
        for (code, response) in responses {
            let is_error = code.starts_with('4') || code.starts_with('5');
            // Health reports its own body when the database is down.
            if !is_error || route.path == "/healthz" {
                continue;
            }
            let response = resolve(&doc, response);
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            let shape = schema.as_str().and_then(|r| r.rsplit('/').next());
            if !shape.is_some_and(|s| error_schemas.contains(&s)) {
                problems.push(format!("{name}: {code} is not {{\"errors\": [...]}}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for shape in error_schemas {
        let schema = &doc["components"]["schemas"][shape];
        assert_eq!(schema["required"], serde_json::json!(["errors"]));
        assert_eq!(schema["properties"]["errors"]["items"]["type"], "string");
    }
}
