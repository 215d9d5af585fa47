//! The ready-made deployments in `deploy/` in front of keyplane's intake gate: the real nginx
//! and Caddy (Debian packages) running the files as shipped, with a recording backend behind
//! them; Envoy and Traefik (not packaged here) as the exact requests they send, built from
//! their files in `deploy/`.

use crate::helpers::*;
use crate::intake_tools::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SERIES: &str = r#"{"series":[{"metric":"kp.gate","points":[[1700000000,1]]}]}"#;

/// Where the browser SDK sends logs when no proxy is set, with its query.
fn browser_logs(credential: &str) -> String {
    format!("/api/v2/logs?ddsource=browser&dd-api-key={credential}&dd-evp-origin=browser&dd-request-id=1")
}

/// The same request through the SDK's `proxy` option, set to the deployments'
/// /browser-intake: the intake path nested in ddforward.
fn browser_proxied(credential: &str) -> String {
    format!(
        "/browser-intake?ddforward={}",
        encoded(&browser_logs(credential))
    )
}

fn random_api_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Polls the audit trail until an event with `action` is listed.
pub async fn await_audit(s: &Server, action: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = s
            .call(
                Method::GET,
                &format!("/api/v2/audit/events?filter[action]={action}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let events = body["data"].as_array().cloned().unwrap_or_default();
        if !events.is_empty() {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "no {action} event in the audit trail"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One case: a request through the proxy marked `X-Test: name`, its status, and what (if
/// anything) the backend received with that mark.
struct Gate<'a> {
    backend: &'a Backend,
    port: u16,
    http: reqwest::Client,
}

impl Gate<'_> {
    fn post(&self, name: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("http://127.0.0.1:{}{path}", self.port))
            .header("X-Test", name)
            .header("content-type", "application/json")
            .body(SERIES)
    }

    fn received(&self, name: &str) -> Option<Recorded> {
        self.backend
            .records()
            .into_iter()
            .find(|r| r.header("x-test") == Some(name))
    }

    /// The request must pass: 202 from the backend, which got the body, no credential
    /// header, and keyplane's org and key type whatever the client sent.
    async fn passes(&self, name: &str, req: reqwest::RequestBuilder, org: &str, kind: &str) {
        let resp = req.send().await.expect("request through the proxy");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::ACCEPTED, "{name}: {text}");
        let got = self
            .received(name)
            .unwrap_or_else(|| panic!("{name}: the backend got nothing"));
        assert_eq!(got.body_text(), SERIES, "{name}");
        assert_eq!(
            got.header("dd-api-key"),
            None,
            "{name}: key reached the backend"
        );
        assert_eq!(got.header("dd-client-token"), None, "{name}");
        assert_eq!(got.header("x-scope-orgid"), Some(org), "{name}");
        assert_eq!(got.header("x-keyplane-org"), Some(org), "{name}");
        assert_eq!(got.header("x-keyplane-key-type"), Some(kind), "{name}");
    }

    /// The request must be refused with Datadog's JSON 403, and never reach the backend.
    async fn refused(&self, name: &str, req: reqwest::RequestBuilder) {
        let resp = req.send().await.expect("request through the proxy");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {text}");
        assert!(
            content_type.starts_with("application/json"),
            "{name}: {content_type}"
        );
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{name}: {text}"));
        assert_eq!(body, errors("Forbidden"), "{name}");
        assert!(self.received(name).is_none(), "{name} reached the backend");
    }
}

/// Everything a deployment must do, through the proxy listening on `port` with `backend`
/// behind it. Ends with keyplane stopped, so the caller checks what the proxy does then.
async fn gate_matrix(s: &mut Server, backend: &Backend, port: u16) {
    let org = org_id(s, "keyplane");
    let other = s.admin(&[
        "create-organization",
        "--name",
        "Other",
        "--admin-email",
        "ops@other.example",
    ]);
    let (other_api, other_app) = (
        env_value(&other, "DD_API_KEY"),
        env_value(&other, "DD_APP_KEY"),
    );
    s.await_key_pair(&other_api, &other_app).await;
    let other_org = org_id(s, "Other");
    let (token_id, token) = s.create_client_token("shop").await;
    let live = s.creds.api_key.clone();
    // The client is 127.0.0.3, the proxy reaches keyplane from 127.0.0.1 (its trusted proxy):
    // the audit trail must name the client the proxy saw, whatever the client claims.
    let g = Gate {
        backend,
        port,
        http: reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 3]))
            .build()
            .expect("client"),
    };

    // Live API keys pass in the header and the query; a client's tenant is overwritten.
    g.passes(
        "header",
        g.post("header", "/api/v2/series")
            .header("DD-API-KEY", &live)
            .header("X-Scope-OrgID", "someone-else")
            .header("X-Keyplane-Org", "someone-else"),
        &org,
        "api_key",
    )
    .await;
    g.passes(
        "query",
        g.post("query", &format!("/api/v1/series?api_key={live}")),
        &org,
        "api_key",
    )
    .await;
    g.passes(
        "other org",
        g.post("other org", "/api/v2/series")
            .header("DD-API-KEY", &other_api)
            .header("X-Scope-OrgID", &org),
        &other_org,
        "api_key",
    )
    .await;
    // Header names in whatever case the client writes them (Go sends Dd-Api-Key).
    for name in ["DD-API-KEY", "Dd-Api-Key", "dd-api-key"] {
        let (status, body) = raw_http(
            port,
            &format!("POST /api/v2/series HTTP/1.1\r\n{name}: {live}\r\nX-Test: case {name}"),
            SERIES,
        );
        assert_eq!(status, 202, "{name}: {body}");
        let got = g
            .received(&format!("case {name}"))
            .expect("the backend got it");
        assert_eq!(got.header("dd-api-key"), None, "{name} reached the backend");
        assert_eq!(got.header("x-scope-orgid"), Some(org.as_str()));
    }

    // Unknown keys, no key, and application keys (never intake credentials) are refused.
    let unknown = random_api_key();
    g.refused(
        "unknown",
        g.post("unknown", "/api/v2/series")
            .header("DD-API-KEY", &unknown),
    )
    .await;
    g.refused(
        "unknown query",
        g.post(
            "unknown query",
            &format!("/api/v1/series?api_key={unknown}"),
        ),
    )
    .await;
    g.refused("no key", g.post("no key", "/api/v2/series"))
        .await;
    g.refused(
        "app key",
        g.post("app key", "/api/v2/series")
            .header("DD-API-KEY", &s.creds.app_key),
    )
    .await;

    // Client tokens pass on browser intake, as the SDK sends them, and nowhere else.
    g.passes(
        "token browser",
        g.post("token browser", &browser_logs(&token)),
        &org,
        "client_token",
    )
    .await;
    g.passes(
        "token ddforward",
        g.post("token ddforward", &browser_proxied(&token)),
        &org,
        "client_token",
    )
    .await;
    g.refused(
        "token series",
        g.post("token series", "/api/v2/series")
            .header("DD-API-KEY", &token),
    )
    .await;
    g.refused(
        "token series query",
        g.post(
            "token series query",
            &format!("/api/v2/series?dd-api-key={token}"),
        ),
    )
    .await;
    // The proxy, not the client, tells keyplane the path: a client naming a browser path in
    // the headers keyplane reads the original URI from changes nothing.
    g.refused(
        "token spoofed uri",
        g.post("token spoofed uri", "/api/v2/series")
            .header("DD-CLIENT-TOKEN", &token)
            .header("X-Original-URI", browser_logs(&token))
            .header("X-Forwarded-Uri", browser_logs(&token)),
    )
    .await;

    // ddforward elsewhere than the SDK's proxy path: keyplane judges the inner path, the
    // backend would serve the outer one.
    g.refused(
        "ddforward on series",
        g.post(
            "ddforward on series",
            &format!(
                "/api/v1/series?ddforward={}",
                encoded(&browser_logs(&token))
            ),
        ),
    )
    .await;
    g.refused(
        "ddforward second",
        g.post(
            "ddforward second",
            &format!(
                "/api/v2/series?x=1&ddforward={}",
                encoded(&browser_logs(&token))
            ),
        ),
    )
    .await;

    // Paths a backend may normalize into another route are refused before keyplane is asked:
    // keyplane judges the path as written, so each of these is a browser path to it.
    for (n, path) in [
        "/v1/input/../../api/v2/series",
        "/v1/input/%2e%2e/%2e%2e/api/v2/series",
        "/api/v2/series;/api/v2/logs",
        "/api/v2/series%3F/api/v2/logs",
        "/api/v2/series//v1/input/x",
    ]
    .iter()
    .enumerate()
    {
        let (status, body) = raw_http(
            port,
            &format!("POST {path} HTTP/1.1\r\nDD-API-KEY: {token}\r\nX-Test: ambiguous {n}"),
            SERIES,
        );
        assert_eq!(
            (status, body.as_str()),
            (403, r#"{"errors":["Forbidden"]}"#),
            "{path}"
        );
        assert!(
            g.received(&format!("ambiguous {n}")).is_none(),
            "{path} reached the backend"
        );
    }

    // An API key on browser intake is refused, and recorded as exposed.
    g.refused(
        "api key browser",
        g.post("api key browser", &browser_proxied(&live))
            .header("X-Forwarded-For", "203.0.113.9")
            .header("X-Real-IP", "203.0.113.9"),
    )
    .await;
    g.refused(
        "api key origin",
        g.post("api key origin", "/api/v2/series")
            .header("DD-API-KEY", &live)
            .header("Origin", "http://shop.example"),
    )
    .await;
    let exposed = await_audit(s, "api_key.exposed").await;
    assert_eq!(exposed.len(), 1, "recorded once an hour: {exposed:?}");
    assert_eq!(
        exposed[0]["attributes"]["source"], "127.0.0.3",
        "{exposed:?}"
    );

    // The Agent's hourly key check goes to keyplane through the proxy.
    let validate = |key: &str| {
        g.http.get(format!(
            "http://127.0.0.1:{port}/api/v1/validate?api_key={key}"
        ))
    };
    assert_eq!(
        send(validate(&live)).await,
        (StatusCode::OK, json!({"valid": true}))
    );
    assert_eq!(
        send(validate(&unknown)).await,
        (StatusCode::FORBIDDEN, errors("Forbidden"))
    );
    let header_form = g
        .http
        .get(format!("http://127.0.0.1:{port}/api/v1/validate"))
        .header("DD-API-KEY", &live);
    assert_eq!(send(header_form).await.0, StatusCode::OK);
    // /api/v2/validate goes to keyplane too, never ungated to the backend.
    let v2 = g
        .http
        .get(format!("http://127.0.0.1:{port}/api/v2/validate"))
        .header("DD-API-KEY", &live)
        .header("X-Test", "v2 validate");
    assert_ne!(send(v2).await.0, StatusCode::ACCEPTED);
    assert!(
        g.received("v2 validate").is_none(),
        "v2 validate reached the backend"
    );

    // A key revoked through the API is refused on the very next request, and so is a token.
    let (id, key) = s.create_api_key("revoked at the gate").await;
    g.passes(
        "before revoke",
        g.post("before revoke", "/api/v2/series")
            .header("DD-API-KEY", &key),
        &org,
        "api_key",
    )
    .await;
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    g.refused(
        "after revoke",
        g.post("after revoke", "/api/v2/series")
            .header("DD-API-KEY", &key),
    )
    .await;
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/client_tokens/{token_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    g.refused(
        "token after revoke",
        g.post("token after revoke", &browser_logs(&token)),
    )
    .await;
    assert!(s.stop().await, "keyplane did not stop cleanly");
}

/// With keyplane down the proxy answers a 5xx (the Agent keeps the payload and retries),
/// never a 403 (the Agent would drop it).
async fn keyplane_down(port: u16, key: &str) -> (StatusCode, String) {
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v2/series"))
        .header("DD-API-KEY", key)
        .body(SERIES)
        .send()
        .await
        .expect("request through the proxy");
    let status = resp.status();
    assert!(status.is_server_error(), "keyplane down gave {status}");
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn nginx_deployment_gates_intake() {
    let mut s = Server::start_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let backend = Backend::start();
    let Some(nginx) = Nginx::start(
        "keyplane.conf",
        &[
            ("KEYPLANE_ADDR", format!("127.0.0.1:{}", s.port)),
            ("BACKEND_ADDR", backend.addr()),
        ],
    )
    .await
    else {
        return;
    };
    gate_matrix(&mut s, &backend, nginx.port).await;
    let (status, body) = keyplane_down(nginx.port, &s.creds.api_key).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"errors":["Service Unavailable"]}"#
        ),
        "{}",
        nginx.log()
    );
}

#[tokio::test]
async fn caddy_deployment_gates_intake() {
    let mut s = Server::start_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let backend = Backend::start();
    let Some(caddy) = Caddy::start(&[
        ("KEYPLANE_ADDR", format!("127.0.0.1:{}", s.port)),
        ("BACKEND_ADDR", backend.addr()),
    ])
    .await
    else {
        return;
    };
    gate_matrix(&mut s, &backend, caddy.port).await;
    assert_eq!(
        keyplane_down(caddy.port, &s.creds.api_key).await.0,
        StatusCode::BAD_GATEWAY
    );
}

/// `deploy/<path>` as YAML.
fn deploy_yaml(path: &str) -> serde_norway::Value {
    serde_norway::from_str(&deploy_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The first mapping under `value` (depth first) that has `key`.
fn find<'a>(value: &'a serde_norway::Value, key: &str) -> Option<&'a serde_norway::Value> {
    match value {
        serde_norway::Value::Mapping(map) => map
            .get(key)
            .or_else(|| map.values().find_map(|v| find(v, key))),
        serde_norway::Value::Sequence(items) => items.iter().find_map(|v| find(v, key)),
        _ => None,
    }
}

fn strings(value: &serde_norway::Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `exact` names of an Envoy string-matcher list, lowercase.
fn exact_patterns(value: Option<&serde_norway::Value>) -> Vec<String> {
    value
        .and_then(|v| v.get("patterns"))
        .and_then(|v| v.as_sequence())
        .map(|items| {
            items
                .iter()
                .filter_map(|p| p.get("exact")?.as_str().map(str::to_ascii_lowercase))
                .collect()
        })
        .unwrap_or_default()
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn envoy_ext_authz_requests_as_deployed() {
    let yaml = deploy_yaml("envoy/envoy.yaml");
    let service = find(&yaml, "http_service").expect("ext_authz http_service");
    let prefix = service["path_prefix"].as_str().expect("path_prefix");
    let allowed = exact_patterns(find(service, "allowed_headers"));
    let upstream = exact_patterns(find(service, "allowed_upstream_headers"));
    // keyplane and the backend must see one path: Envoy normalizes it before asking.
    for (flag, value) in [("normalize_path", "true"), ("merge_slashes", "true")] {
        let set = find(&yaml, flag)
            .and_then(|v| v.as_bool())
            .map(|b| b.to_string());
        assert_eq!(set.as_deref(), Some(value), "{flag}");
    }
    // ddforward is refused on every path but the SDK's proxy path.
    let routes = find(&yaml, "routes")
        .and_then(|r| r.as_sequence())
        .expect("routes");
    let ddforward = routes
        .iter()
        .position(|r| find(r, "query_parameters").is_some_and(|q| q[0]["name"] == "ddforward"))
        .expect("a ddforward route");
    assert_eq!(
        routes[ddforward]["direct_response"]["status"].as_u64(),
        Some(403)
    );
    assert_eq!(
        routes[ddforward - 1]["match"]["path"].as_str(),
        Some("/browser-intake")
    );
    let on_error = find(&yaml, "status_on_error").expect("status_on_error");
    assert_eq!(on_error["code"].as_str(), Some("ServiceUnavailable"));
    for needed in ["dd-api-key", "dd-client-token", "origin", "sec-fetch-mode"] {
        assert!(allowed.contains(&needed.to_owned()), "{needed} not allowed");
    }
    // Envoy sends the path itself; a client's word for it must not reach keyplane.
    for never in ["x-original-uri", "x-forwarded-uri"] {
        assert!(!allowed.contains(&never.to_owned()), "{never} allowed");
    }

    // Envoy reaches keyplane from 127.0.0.1 with the client it saw in X-Forwarded-For.
    let s = Server::start_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let (_, token) = s.create_client_token("mobile").await;
    let org = org_id(&s, "keyplane");
    // What Envoy sends: the client's method, path_prefix + the original path and query,
    // Content-Length: 0, Host, and only the allowed headers.
    let envoy = |method: Method, path: &str, headers: &[(&str, &str)]| {
        let mut req = s
            .http
            .request(method, s.url(&format!("{prefix}{path}")))
            .header("content-length", "0")
            .header("x-forwarded-for", "203.0.113.7");
        for (name, value) in headers {
            assert!(allowed.iter().any(|a| a == name), "Envoy would drop {name}");
            req = req.header(*name, *value);
        }
        req
    };
    let live = s.creds.api_key.clone();
    for (method, path, headers, kind) in [
        (
            Method::POST,
            "/api/v2/series?x=1",
            vec![("dd-api-key", live.as_str())],
            "api_key",
        ),
        (
            Method::PUT,
            "/api/v0.2/traces",
            vec![("dd-api-key", live.as_str())],
            "api_key",
        ),
        (
            Method::GET,
            &*format!("/api/v1/series?api_key={live}"),
            vec![],
            "api_key",
        ),
        (
            Method::POST,
            &*format!("/v1/input/{live}"),
            vec![],
            "api_key",
        ),
        // The mobile SDKs: the client token in DD-API-KEY on RUM intake.
        (
            Method::POST,
            "/api/v2/rum?ddsource=android",
            vec![("dd-api-key", token.as_str())],
            "client_token",
        ),
        (
            Method::POST,
            "/api/v2/logs",
            vec![("dd-client-token", token.as_str())],
            "client_token",
        ),
        (
            Method::POST,
            &*browser_proxied(&token),
            vec![("origin", "http://shop.example")],
            "client_token",
        ),
    ] {
        let resp = envoy(method.clone(), path, &headers)
            .send()
            .await
            .expect("authorize");
        assert_eq!(resp.status(), StatusCode::OK, "{method} {path}");
        // Envoy copies only these to the backend; every one is always present.
        for name in &upstream {
            assert!(header(&resp, name).is_some(), "{path}: no {name}");
        }
        assert_eq!(header(&resp, "x-keyplane-org"), Some(org.as_str()));
        assert_eq!(header(&resp, "x-keyplane-key-type"), Some(kind));
        let remove = header(&resp, "x-envoy-auth-headers-to-remove").unwrap_or_default();
        let remove: Vec<&str> = remove.split(',').map(str::trim).collect();
        assert!(
            remove.contains(&"dd-api-key") && remove.contains(&"dd-client-token"),
            "{remove:?}"
        );
    }
    let unknown = random_api_key();
    for (method, path, headers) in [
        (
            Method::POST,
            "/api/v2/series",
            vec![("dd-api-key", unknown.as_str())],
        ),
        (Method::POST, "/api/v2/series", vec![]),
        (
            Method::POST,
            "/api/v2/series",
            vec![("dd-api-key", token.as_str())],
        ),
        (Method::POST, &*browser_proxied(&live), vec![]),
        (
            Method::POST,
            "/api/v2/series",
            vec![("dd-api-key", live.as_str()), ("sec-fetch-mode", "cors")],
        ),
    ] {
        let resp = envoy(method.clone(), path, &headers)
            .send()
            .await
            .expect("authorize");
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{method} {path} {headers:?}"
        );
        assert_eq!(resp.json::<Value>().await.ok(), Some(errors("Forbidden")));
    }
    let exposed = await_audit(&s, "api_key.exposed").await;
    assert_eq!(
        exposed[0]["attributes"]["source"], "203.0.113.7",
        "{exposed:?}"
    );
}

#[tokio::test]
async fn traefik_forward_auth_requests_as_deployed() {
    let yaml = deploy_yaml("traefik/dynamic.yml");
    let middlewares = &yaml["http"]["middlewares"];
    let auth = &middlewares["keyplane-authorize"]["forwardAuth"];
    let address = auth["address"].as_str().expect("forwardAuth address");
    let request_headers = strings(&auth["authRequestHeaders"]);
    let response_headers = strings(&auth["authResponseHeaders"]);
    assert_eq!(auth["trustForwardHeader"].as_bool(), Some(false));
    for never in ["X-Original-URI", "X-Forwarded-Uri"] {
        assert!(
            !request_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(never)),
            "{never}"
        );
    }
    // The credential is removed after keyplane saw it, never before.
    let router = &yaml["http"]["routers"]["datadog-intake"];
    assert_eq!(
        strings(&router["middlewares"]),
        ["keyplane-authorize", "keyplane-strip"]
    );
    assert_eq!(
        strings(&yaml["http"]["routers"]["browser-intake"]["middlewares"]),
        ["keyplane-authorize", "keyplane-strip"]
    );
    let rule = router["rule"].as_str().expect("rule");
    assert!(rule.contains("!QueryRegexp(`ddforward`"), "{rule}");
    let strip = &middlewares["keyplane-strip"]["headers"]["customRequestHeaders"];
    for name in ["DD-API-KEY", "DD-CLIENT-TOKEN", "X-Scope-OrgID"] {
        assert_eq!(strip[name].as_str(), Some(""), "{name} not stripped");
    }

    let s = Server::start_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let (_, token) = s.create_client_token("web").await;
    let org = org_id(&s, "keyplane");
    let url = address.replace("KEYPLANE_ADDR", &format!("127.0.0.1:{}", s.port));
    // What Traefik sends: a GET without body, the X-Forwarded-* it sets itself, and only the
    // client headers in authRequestHeaders.
    let traefik = |method: &str, uri: &str, headers: &[(&str, &str)]| {
        let mut req = s
            .http
            .get(&url)
            .header("X-Forwarded-Method", method)
            .header("X-Forwarded-Proto", "http")
            .header("X-Forwarded-Host", "intake.example")
            .header("X-Forwarded-Uri", uri)
            .header("X-Forwarded-For", "203.0.113.7");
        for (name, value) in headers {
            assert!(
                request_headers.iter().any(|h| h.eq_ignore_ascii_case(name)),
                "Traefik would drop {name}"
            );
            req = req.header(*name, *value);
        }
        req
    };
    let live = s.creds.api_key.clone();
    for (uri, headers, kind) in [
        (
            "/api/v2/series?x=1",
            vec![("DD-API-KEY", live.as_str())],
            "api_key",
        ),
        (
            &*format!("/api/v1/series?api_key={live}"),
            vec![],
            "api_key",
        ),
        (
            &*browser_logs(&token),
            vec![("Origin", "http://shop.example")],
            "client_token",
        ),
        (
            &*browser_proxied(&token),
            vec![("Sec-Fetch-Mode", "no-cors")],
            "client_token",
        ),
    ] {
        let resp = traefik("POST", uri, &headers)
            .send()
            .await
            .expect("authorize");
        assert!(resp.status().is_success(), "{uri}: {}", resp.status());
        // Traefik copies only the headers present; every one must be.
        for name in &response_headers {
            assert!(header(&resp, name).is_some(), "{uri}: no {name}");
        }
        assert_eq!(header(&resp, "x-keyplane-org"), Some(org.as_str()));
        assert_eq!(header(&resp, "x-keyplane-key-type"), Some(kind));
    }
    for (uri, headers) in [
        ("/api/v2/series", vec![("DD-API-KEY", random_api_key())]),
        ("/api/v2/series", vec![("DD-API-KEY", token.clone())]),
        ("/api/v2/series", vec![("DD-CLIENT-TOKEN", token.clone())]),
        (&*browser_logs(&live), vec![]),
        ("/api/v2/series", vec![]),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let resp = traefik("POST", uri, &headers)
            .send()
            .await
            .expect("authorize");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{uri} {headers:?}");
        assert_eq!(resp.json::<Value>().await.ok(), Some(errors("Forbidden")));
    }
    let exposed = await_audit(&s, "api_key.exposed").await;
    assert_eq!(
        exposed[0]["attributes"]["source"], "203.0.113.7",
        "{exposed:?}"
    );
}
