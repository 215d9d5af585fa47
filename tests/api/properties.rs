//! Properties of every route that takes a body, over HTTP against a live keyplane: arbitrary
//! JSON values and mutations of valid bodies (wrong types, missing and extra fields, huge
//! strings, deep nesting, cut-off text, raw bytes) never get a 5xx, every 4xx carries
//! Datadog's `{"errors":[...]}`, and a 4xx changes nothing (keys, tokens, users, counts).
//!
//! `PROPTEST_CASES` sets the number of cases (default 64); each case goes to every route.

use crate::helpers::*;
use keyplane::http::routes::table;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const DEFAULT_CASES: u32 = 64;
/// keyplane's body limit (`keyplane::http::MAX_BODY_BYTES`): huge strings cross it.
const BODY_LIMIT: usize = keyplane::http::MAX_BODY_BYTES;
/// Field names the API reads, so arbitrary objects often look almost right.
const FIELDS: &[&str] = &[
    "data",
    "type",
    "id",
    "attributes",
    "relationships",
    "name",
    "scopes",
    "category",
    "remote_config_read_enabled",
    "email",
    "password",
    "title",
    "disabled",
    "service_account",
    "roles",
];
const TYPES: &[&str] = &[
    "api_keys",
    "application_keys",
    "client_tokens",
    "users",
    "roles",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        proptest::sample::select(TYPES).prop_map(|t| json!(t)),
        Just(json!(uuid::Uuid::new_v4().to_string())),
        "[a-z ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        let key = prop_oneof![
            3 => proptest::sample::select(FIELDS).prop_map(str::to_owned),
            1 => any::<String>(),
        ];
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(key, inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change to a valid body. `at` picks a node of the body (pre-order, modulo its size).
#[derive(Debug, Clone)]
enum Mutation {
    /// The node becomes another value, usually of another type.
    Replace { at: usize, with: Value },
    /// An object loses one of its fields.
    Remove { at: usize, field: usize },
    /// An object gains a field.
    Insert { at: usize, key: String, with: Value },
    /// The node becomes a long string (the longest cross the body limit).
    Huge { at: usize, len: usize },
    /// The node is wrapped in `depth` arrays or objects.
    Nest {
        at: usize,
        depth: usize,
        objects: bool,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, json_value()).prop_map(|(at, with)| Mutation::Replace { at, with }),
        (at, any::<usize>()).prop_map(|(at, field)| Mutation::Remove { at, field }),
        (
            at,
            prop_oneof![
                proptest::sample::select(FIELDS).prop_map(str::to_owned),
                any::<String>()
            ],
            json_value()
        )
            .prop_map(|(at, key, with)| Mutation::Insert { at, key, with }),
        (
            at,
            prop_oneof![0usize..300, 1_000usize..20_000, 60_000usize..80_000]
        )
            .prop_map(|(at, len)| Mutation::Huge { at, len }),
        (at, 1usize..300, any::<bool>()).prop_map(|(at, depth, objects)| Mutation::Nest {
            at,
            depth,
            objects
        }),
    ]
}

/// A change to one node of a body.
type Change = Box<dyn FnOnce(&mut Value)>;

fn node_count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(node_count).sum(),
        Value::Object(map) => map.values().map(node_count).sum(),
        _ => 0,
    }
}

/// Applies `change` to the node numbered `*left` (pre-order); true once applied.
fn visit(value: &mut Value, left: &mut usize, change: &mut Option<Change>) -> bool {
    if *left == 0 {
        if let Some(change) = change.take() {
            change(value);
        }
        return true;
    }
    *left -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|v| visit(v, left, change)),
        Value::Object(map) => map.values_mut().any(|v| visit(v, left, change)),
        _ => false,
    }
}

impl Mutation {
    fn apply(self, body: &mut Value) {
        let (at, change): (usize, Change) = match self {
            Mutation::Replace { at, with } => (at, Box::new(move |v| *v = with)),
            Mutation::Remove { at, field } => (
                at,
                Box::new(move |v| {
                    if let Value::Object(map) = v {
                        if let Some(key) = map.keys().nth(field % map.len().max(1)).cloned() {
                            map.remove(&key);
                        }
                    }
                }),
            ),
            Mutation::Insert { at, key, with } => (
                at,
                Box::new(move |v| {
                    if let Value::Object(map) = v {
                        map.insert(key, with);
                    }
                }),
            ),
            Mutation::Huge { at, len } => (at, Box::new(move |v| *v = json!("x".repeat(len)))),
            Mutation::Nest { at, depth, objects } => (
                at,
                Box::new(move |v| {
                    let mut nested = v.take();
                    for _ in 0..depth {
                        nested = if objects {
                            json!({ "data": nested })
                        } else {
                            json!([nested])
                        };
                    }
                    *v = nested;
                }),
            ),
        };
        let mut left = at % node_count(body);
        visit(body, &mut left, &mut Some(change));
    }
}

/// What one case sends to every route.
#[derive(Debug, Clone)]
enum Input {
    /// Any JSON value at all.
    Arbitrary(Value),
    /// The route's own valid body, changed.
    Mutated(Vec<Mutation>),
    /// The route's valid body cut off after this many bytes.
    Truncated(usize),
    /// Bytes that are rarely JSON.
    Bytes(Vec<u8>),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        3 => json_value().prop_map(Input::Arbitrary),
        4 => vec(mutation(), 1..4).prop_map(Input::Mutated),
        1 => any::<usize>().prop_map(Input::Truncated),
        1 => vec(any::<u8>(), 0..64).prop_map(Input::Bytes),
    ]
}

/// The ids the routes' paths name: keys and users made for this test, never the admin's own
/// credentials (a successful mutation may rename, rescope or disable what it targets).
struct Fixtures {
    api_key_id: String,
    api_key: String,
    app_key_id: String,
    app_key: String,
    client_token_id: String,
    user_id: String,
    service_account_id: String,
    service_account_key_id: String,
    role_id: String,
    /// The admin's own id (`PATCH /api/v2/current_user` names it).
    admin_id: String,
    /// A grantable permission (Datadog's fixture: `data[4]`).
    permission_id: String,
    personal_token_id: String,
    service_account_token_id: String,
}

/// Thirty days ahead, as access tokens take it.
fn token_expiry() -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(30))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("date")
}

async fn created(s: &Server, path: &str, body: Value) -> Value {
    let (status, got) = s.call(Method::POST, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {got}");
    got["data"].clone()
}

fn id_of(data: &Value) -> String {
    data["id"].as_str().expect("id").to_owned()
}

impl Fixtures {
    async fn new(s: &Server) -> Self {
        let api = created(s, "/api/v2/api_keys", api_key_body("prop-target")).await;
        let app_body = |name: &str| json!({"data": {"type": "application_keys", "attributes": {"name": name}}});
        let app = created(
            s,
            "/api/v2/current_user/application_keys",
            app_body("prop-target"),
        )
        .await;
        let token = created(
            s,
            "/api/v2/client_tokens",
            json!({"data": {"type": "client_tokens", "attributes": {"name": "prop-target"}}}),
        )
        .await;
        let user = created(
            s,
            "/api/v2/users",
            json!({"data": {"type": "users", "attributes": {"email": "prop-target@example.com"}}}),
        )
        .await;
        let sa = created(
            s,
            "/api/v2/service_accounts",
            json!({"data": {"type": "users", "attributes": {
                "email": "prop-sa@example.com", "service_account": true}}}),
        )
        .await;
        let sa_id = id_of(&sa);
        let role = json!({"data": {"type": "roles", "attributes": {"name": "prop-target"}}});
        let (status, role) = s.call(Method::POST, "/api/v2/roles", Some(role)).await;
        assert_eq!(status, StatusCode::OK, "{role}");
        let (_, me) = s.call(Method::GET, "/api/v2/current_user", None).await;
        let (_, permissions) = s.call(Method::GET, "/api/v2/permissions", None).await;
        let sa_key = created(
            s,
            &format!("/api/v2/service_accounts/{sa_id}/application_keys"),
            app_body("prop-sa-target"),
        )
        .await;
        let pat = created(
            s,
            "/api/v2/personal_access_tokens",
            json!({"data": {"type": "personal_access_tokens", "attributes": {
                "name": "prop-target", "scopes": ["api_keys_read"], "expires_at": token_expiry()}}}),
        )
        .await;
        let sat = created(
            s,
            &format!("/api/v2/service_accounts/{sa_id}/access_tokens"),
            json!({"data": {"type": "service_access_tokens", "attributes": {
                "name": "prop-target", "scopes": ["api_keys_read"]}}}),
        )
        .await;
        Self {
            personal_token_id: id_of(&pat),
            service_account_token_id: id_of(&sat),
            api_key_id: id_of(&api),
            api_key: api["attributes"]["key"].as_str().expect("key").to_owned(),
            app_key_id: id_of(&app),
            app_key: app["attributes"]["key"].as_str().expect("key").to_owned(),
            client_token_id: id_of(&token),
            user_id: id_of(&user),
            service_account_id: sa_id,
            service_account_key_id: id_of(&sa_key),
            role_id: id_of(&role["data"]),
            admin_id: id_of(&me["data"]),
            permission_id: id_of(&permissions["data"][4]),
        }
    }
}

/// A route that takes a body: its concrete path and a valid body (`{n}` in names and emails
/// is made unique per request, so valid bodies keep succeeding).
struct Target {
    method: Method,
    template: &'static str,
    path: String,
    valid: Value,
}

fn targets(f: &Fixtures, creds: &Creds) -> Vec<Target> {
    let mut out = Vec::new();
    for route in table() {
        if ![Method::POST, Method::PATCH, Method::PUT].contains(&route.method) {
            continue;
        }
        let t = route.path;
        let app_key_id = if t.starts_with("/api/v2/service_accounts") {
            &f.service_account_key_id
        } else {
            &f.app_key_id
        };
        let path = t
            .replace("{api_key_id}", &f.api_key_id)
            .replace("{app_key_id}", app_key_id)
            .replace("{client_token_id}", &f.client_token_id)
            .replace("{user_id}", &f.user_id)
            .replace("{service_account_id}", &f.service_account_id)
            .replace("{org_config_name}", "monitor_timezone")
            .replace("{role_id}", &f.role_id)
            .replace(
                "{token_id}",
                if t.starts_with("/api/v2/service_accounts") {
                    &f.service_account_token_id
                } else {
                    &f.personal_token_id
                },
            )
            .replace(
                "{key}",
                if t.contains("api_key/") {
                    &f.api_key
                } else {
                    &f.app_key
                },
            );
        assert!(
            !path.contains('{'),
            "a body route this test does not know: {t}"
        );
        let resource = |kind: &str, attributes: Value| {
            let mut data = json!({"type": kind, "attributes": attributes});
            if route.method == Method::PATCH {
                data["id"] = json!(path.rsplit('/').next().unwrap_or_default());
            }
            json!({ "data": data })
        };
        let valid = match t {
            "/api/console/session" => json!({"email": creds.email, "password": creds.password}),
            _ if t.starts_with("/api/v1/") => json!({"name": "prop-{n}"}),
            _ if t.contains("api_keys") && !t.contains("application") => resource(
                "api_keys",
                json!({"name": "prop-{n}", "category": "c", "remote_config_read_enabled": false}),
            ),
            _ if t.contains("application_keys") => resource(
                "application_keys",
                json!({"name": "prop-{n}", "scopes": ["api_keys_read"]}),
            ),
            _ if t.contains("client_tokens") => {
                resource("client_tokens", json!({"name": "prop-{n}"}))
            }
            "/api/v2/service_accounts" => resource(
                "users",
                json!({"email": "prop-{n}@example.com", "name": "n", "service_account": true}),
            ),
            "/api/v2/users" => resource(
                "users",
                json!({"email": "prop-{n}@example.com", "name": "n", "title": "t"}),
            ),
            "/api/v2/users/{user_id}" => {
                resource("users", json!({"name": "prop-{n}", "title": "t"}))
            }
            "/api/v2/personal_access_tokens" => resource(
                "personal_access_tokens",
                json!({"name": "prop-{n}", "scopes": ["api_keys_read"], "expires_at": token_expiry()}),
            ),
            "/api/v2/service_accounts/{service_account_id}/access_tokens" => resource(
                "service_access_tokens",
                json!({"name": "prop-{n}", "scopes": ["api_keys_read"]}),
            ),
            "/api/v2/personal_access_tokens/{token_id}" => {
                resource("personal_access_tokens", json!({"name": "prop-{n}"}))
            }
            "/api/v2/service_accounts/{service_account_id}/access_tokens/{token_id}" => {
                resource("service_access_tokens", json!({"name": "prop-{n}"}))
            }
            "/api/v2/user_invitations" => json!({"data": [{"type": "user_invitations",
                "relationships": {"user": {"data": {"type": "users", "id": f.user_id}}}}]}),
            "/api/v2/org_configs/{org_config_name}" => {
                resource("org_configs", json!({"value": "UTC"}))
            }
            "/api/v2/credentials/leaked" => resource(
                "leaked_credentials",
                json!({"candidates": ["prop-{n}"], "source": "s"}),
            ),
            // Without a session or a link these only refuse; the bodies still must not 5xx.
            "/api/console/invitations" => json!({"user_id": f.user_id}),
            "/api/console/invitation/lookup" => json!({"secret": "prop-{n}"}),
            "/api/console/invitation" => {
                json!({"secret": "prop-{n}", "password": "long enough password"})
            }
            "/api/v2/current_user" => json!({"data": {"id": f.admin_id, "type": "users",
                "attributes": {"name": "prop-{n}"}}}),
            "/api/v2/roles" | "/api/v2/roles/{role_id}/clone" => {
                json!({"data": {"type": "roles", "attributes": {"name": "prop-{n}"}}})
            }
            "/api/v2/roles/{role_id}" => resource("roles", json!({"name": "prop-{n}"})),
            "/api/v2/roles/{role_id}/permissions" => {
                json!({"data": {"id": f.permission_id, "type": "permissions"}})
            }
            "/api/v2/roles/{role_id}/users" => {
                json!({"data": {"id": f.user_id, "type": "users"}})
            }
            other => panic!("no valid body known for {other}"),
        };
        out.push(Target {
            method: route.method.clone(),
            template: t,
            path,
            valid,
        });
    }
    out
}

/// Everything a write could change, without usage timestamps (written in the background).
async fn snapshot(s: &Server) -> Value {
    const LISTS: [&str; 5] = [
        "/api/v2/api_keys?page[size]=100",
        "/api/v2/application_keys?page[size]=100",
        "/api/v2/client_tokens?page[size]=100",
        "/api/v2/users?page[size]=1000",
        "/api/v2/org_configs",
    ];
    let get = |path| s.call(Method::GET, path, None);
    let (a, b, c, d, e) = tokio::join!(
        get(LISTS[0]),
        get(LISTS[1]),
        get(LISTS[2]),
        get(LISTS[3]),
        get(LISTS[4])
    );
    let mut all = Vec::new();
    for (path, (status, mut body)) in LISTS.into_iter().zip([a, b, c, d, e]) {
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        strip_usage(&mut body);
        all.push(body);
    }
    Value::Array(all)
}

fn strip_usage(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for usage in [
                "date_last_used",
                "used_in_last_24_hours",
                "last_used_date",
                "last_used_at",
                "last_login_time",
            ] {
                map.remove(usage);
            }
            map.values_mut().for_each(strip_usage);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_usage),
        _ => {}
    }
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

fn body_bytes(input: &Input, valid: &Value) -> Vec<u8> {
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed).to_string();
    let valid: Value =
        serde_json::from_str(&valid.to_string().replace("{n}", &n)).expect("valid body stays JSON");
    match input {
        Input::Arbitrary(value) => value.to_string().into_bytes(),
        Input::Mutated(changes) => {
            let mut body = valid;
            for change in changes.iter().cloned() {
                change.apply(&mut body);
            }
            body.to_string().into_bytes()
        }
        Input::Truncated(at) => {
            let text = valid.to_string().into_bytes();
            text[..at % text.len()].to_vec()
        }
        Input::Bytes(bytes) => bytes.clone(),
    }
}

#[derive(Default)]
struct Tally {
    cases: u64,
    requests: u64,
    by_status: std::collections::BTreeMap<u16, u64>,
}

/// Sends one body and checks the answer; on a 4xx also that nothing changed.
async fn send_one(
    s: &Server,
    target: &Target,
    body: Vec<u8>,
    state: &mut Value,
    tally: &Mutex<Tally>,
) -> Result<(), String> {
    let label = format!(
        "{} {} with {:.300}",
        target.method,
        target.template,
        String::from_utf8_lossy(&body)
    );
    let oversized = body.len() > BODY_LIMIT;
    let req = s
        .req(target.method.clone(), &target.path)
        .header("content-type", "application/json")
        .body(body);
    let answer = req.send().await;
    // Whatever the verdict, the next request is judged against the data as it is now, so a
    // failure is blamed on the request that caused it (also while proptest shrinks).
    let before = std::mem::replace(state, snapshot(s).await);
    let changed = before != *state;
    let resp = match answer {
        Ok(resp) => resp,
        // The server may answer 413 and close before an oversized body is written; the
        // client then reports a broken pipe instead of the answer.
        Err(_) if oversized && !changed => return Ok(()),
        Err(e) => return Err(format!("{label}: {e} (data changed: {changed})")),
    };
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("{label}: {e}"))?;
    if let Ok(mut t) = tally.lock() {
        t.requests += 1;
        *t.by_status.entry(status.as_u16()).or_default() += 1;
    }
    if status.is_server_error() {
        return Err(format!("{label}: {status} {text}"));
    }
    if status.is_client_error() {
        let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let well_formed = parsed
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("errors"))
            .and_then(Value::as_array)
            .is_some_and(|errors| !errors.is_empty() && errors.iter().all(Value::is_string));
        if !well_formed {
            return Err(format!("{label}: {status} without an errors body: {text}"));
        }
        if changed {
            return Err(format!("{label}: {status} {text}, yet the data changed"));
        }
    } else if !status.is_success() {
        return Err(format!("{label}: unexpected {status} {text}"));
    }
    Ok(())
}

#[test]
fn every_body_route_answers_bad_json_with_a_clean_4xx_and_no_write() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let s = rt.block_on(Server::start_with(&[
        "--max-api-keys-per-org",
        "1000",
        "--rate-limit",
        "0",
    ]));
    let fixtures = rt.block_on(Fixtures::new(&s));
    let targets = targets(&fixtures, &s.creds);
    let state = std::cell::RefCell::new(rt.block_on(snapshot(&s)));
    let tally = Mutex::new(Tally::default());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    };
    let started = std::time::Instant::now();
    let result = TestRunner::new(config).run(&input(), |input| {
        if let Ok(mut t) = tally.lock() {
            t.cases += 1;
        }
        let mut current = state.take();
        let outcome: Result<(), String> = rt.block_on(async {
            for target in &targets {
                let body = body_bytes(&input, &target.valid);
                send_one(&s, target, body, &mut current, &tally).await?;
            }
            Ok(())
        });
        state.replace(current);
        outcome.map_err(TestCaseError::fail)
    });
    let t = tally.into_inner().unwrap_or_default();
    report(&format!(
        "properties: {} cases over {} body routes, {} requests by status {:?}, {:.1} s",
        t.cases,
        targets.len(),
        t.requests,
        t.by_status,
        started.elapsed().as_secs_f64()
    ));
    if let Err(e) = result {
        panic!(
            "{e}
server log tail:
{}",
            tail(&s.logs())
        );
    }
    let logs = s.logs();
    assert!(!logs.contains("panicked"), "{}", tail(&logs));
}

fn tail(logs: &str) -> String {
    let lines: Vec<&str> = logs.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
