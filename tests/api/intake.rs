//! The intake gate (`/intake/authorize`) as reverse proxies call it: the credential wherever
//! Datadog's clients put it, the kinds each intake admits, the tenant headers, revocation on
//! the next request, usage and metrics. The proxies themselves are in intake_proxies.rs.

use crate::helpers::*;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// What the gate answered: the status, its headers and its body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[track_caller]
    fn assert_refused(&self) {
        assert_eq!(self.status, StatusCode::FORBIDDEN, "{}", self.body);
        assert_eq!(self.body, r#"{"errors":["Forbidden"]}"#);
        assert_eq!(self.header("content-type"), "application/json");
        assert_eq!(self.header("x-keyplane-org"), "");
    }
}

async fn ask(req: reqwest::RequestBuilder) -> Answer {
    let response = req.send().await.expect("gate request");
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

/// nginx's `auth_request`: a GET naming the original request in `X-Original-URI`, with the
/// client's headers.
fn nginx(s: &Server, original: &str) -> reqwest::RequestBuilder {
    s.http
        .get(s.url("/intake/authorize"))
        .header("X-Original-URI", original)
}

#[tokio::test]
async fn api_keys_pass_wherever_agents_put_them_with_the_tenant_headers() {
    let s = Server::start().await;
    let (id, key) = s.create_api_key("agents").await;
    let allowed = [
        ask(nginx(&s, "/api/v2/series").header("DD-API-KEY", &key)).await,
        ask(nginx(&s, "/api/v2/series").header("Dd-Api-Key", &key)).await,
        ask(nginx(&s, &format!("/api/v1/validate?api_key={key}"))).await,
        ask(nginx(&s, &format!("/support/flare?api_key={key}"))).await,
        ask(nginx(&s, &format!("/v1/input/{key}"))).await,
        // Caddy and Traefik name the original request in X-Forwarded-Uri.
        ask(s
            .http
            .get(s.url("/intake/authorize"))
            .header("X-Forwarded-Uri", format!("/api/v2/logs?dd-api-key={key}"))
            .header("X-Forwarded-Method", "POST"))
        .await,
        // Envoy appends the original path to the gate's and keeps the method.
        ask(s
            .http
            .post(s.url(&format!("/intake/authorize/api/v0.2/traces?api_key={key}")))
            .header("Content-Length", "0"))
        .await,
        ask(s
            .http
            .put(s.url("/intake/authorize/api/v2/series"))
            .header("DD-API-KEY", &key))
        .await,
    ];
    let org = s.admin(&["list-organizations"]);
    let org_id = org.split('\t').next().expect("org id");
    for answer in &allowed {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.header("x-keyplane-org"), org_id);
        assert_eq!(answer.header("x-keyplane-org-num"), "1");
        assert_eq!(answer.header("x-keyplane-key-id"), id);
        assert_eq!(answer.header("x-keyplane-key-type"), "api_key");
        assert_eq!(
            answer.header("x-envoy-auth-headers-to-remove"),
            "dd-api-key, dd-client-token"
        );
        assert_eq!(answer.body, "");
        // Browser-only headers are not sent to a proxy (nginx parses each one per request).
        assert_eq!(answer.header("content-security-policy"), "");
    }
    // Mimir, Loki and Tempo refuse tenant ids outside this set.
    assert!(
        org_id.len() <= 150
            && org_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!-_.*'()".contains(c))
    );

    // Nothing else passes: no key, an unknown key, an upper-cased key, an application key,
    // an API key presented as a client token on agent intake.
    let unknown = "0123456789abcdef0123456789abcdef";
    let refused = [
        ask(nginx(&s, "/api/v2/series")).await,
        ask(nginx(&s, "/api/v2/series").header("DD-API-KEY", unknown)).await,
        ask(nginx(&s, "/api/v2/series").header("DD-API-KEY", key.to_uppercase())).await,
        ask(nginx(&s, "/api/v2/series").header("DD-API-KEY", &s.creds.app_key)).await,
        ask(nginx(
            &s,
            &format!("/api/v1/validate?application_key={}", s.creds.app_key),
        ))
        .await,
        ask(s.http.delete(s.url("/intake/authorize/api/v2/series"))).await,
    ];
    for answer in &refused {
        answer.assert_refused();
    }
}

#[tokio::test]
async fn client_tokens_pass_only_on_browser_and_mobile_intake() {
    let s = Server::start().await;
    let (id, token) = s.create_client_token("web shop").await;
    // The browser SDK with `proxy`: the intake path and the token nested in `ddforward`.
    let inner = format!(
        "/api/v2/rum?ddsource=browser&dd-api-key={token}&dd-evp-origin=browser&dd-request-id=1"
    );
    let via_proxy = format!("/browser-intake?ddforward={}", encoded(&inner));
    let allowed = [
        ask(nginx(&s, &via_proxy).header("Origin", "https://shop.example")).await,
        ask(nginx(
            &s,
            &format!("/api/v2/logs?ddsource=browser&dd-api-key={token}&dd-evp-origin=browser"),
        ))
        .await,
        // Mobile SDKs send the token as DD-API-KEY (iOS also as DD-CLIENT-TOKEN).
        ask(nginx(&s, "/api/v2/rum")
            .header("DD-API-KEY", &token)
            .header("DD-EVP-ORIGIN", "ios"))
        .await,
        ask(nginx(&s, "/api/v2/replay").header("DD-CLIENT-TOKEN", &token)).await,
        ask(nginx(&s, &format!("/v1/input/{token}"))).await,
    ];
    for answer in &allowed {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.header("x-keyplane-key-id"), id);
        assert_eq!(answer.header("x-keyplane-key-type"), "client_token");
        assert_eq!(answer.header("x-keyplane-org-num"), "1");
    }
    // A token published in a web page writes no metrics, traces or events.
    for path in ["/api/v2/series", "/api/v0.2/traces", "/api/v2/events"] {
        ask(nginx(&s, path).header("DD-API-KEY", &token))
            .await
            .assert_refused();
    }
    let series = format!(
        "/browser-intake?ddforward={}",
        encoded(&format!("/api/v2/series?dd-api-key={token}"))
    );
    ask(nginx(&s, &series)).await.assert_refused();
    // /api/v1/validate is the Agent's, and refuses tokens too.
    ask(nginx(&s, &format!("/api/v1/validate?api_key={token}")))
        .await
        .assert_refused();
}

async fn exposures(s: &Server) -> Vec<Value> {
    let (status, body) = s
        .call(
            Method::GET,
            "/api/v2/audit/events?filter[action]=api_key.exposed",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn an_api_key_from_a_browser_is_refused_and_recorded_as_exposed() {
    let s = Server::start_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let (id, key) = s.create_api_key("pasted into a page").await;
    let browser_requests = [
        nginx(
            &s,
            &format!("/api/v2/logs?dd-api-key={key}&dd-evp-origin=browser"),
        ),
        nginx(
            &s,
            &format!(
                "/p?ddforward={}",
                encoded(&format!("/api/v2/rum?dd-api-key={key}"))
            ),
        ),
        nginx(&s, "/api/v2/logs")
            .header("DD-API-KEY", &key)
            .header("Origin", "https://shop.example"),
        nginx(&s, "/api/v2/series")
            .header("DD-API-KEY", &key)
            .header("Sec-Fetch-Mode", "cors"),
    ];
    for req in browser_requests {
        ask(req.header("X-Forwarded-For", "198.51.100.23"))
            .await
            .assert_refused();
    }
    // Recorded once, with the browser's address (named by the trusted proxy), not per view.
    let recorded = exposures(&s).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let attributes = &recorded[0]["attributes"];
    assert_eq!(attributes["target_id"], id.as_str(), "{recorded:?}");
    assert_eq!(attributes["source"], "198.51.100.23", "{recorded:?}");
    // The same key from an agent still passes: the owner decides when to rotate it.
    let agent = ask(nginx(&s, "/api/v2/logs").header("DD-API-KEY", &key)).await;
    assert_eq!(agent.status, StatusCode::OK);
    assert!(
        s.logs().contains("API key used from a browser"),
        "the node logs the exposure"
    );
    assert!(!s.logs().contains(&key), "a key never reaches the log");
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let s = Server::start().await;
    let (_, key) = s.create_api_key("pasted").await;
    ask(nginx(
        &s,
        &format!("/api/v2/logs?dd-api-key={key}&dd-evp-origin=browser"),
    )
    .header("X-Forwarded-For", "198.51.100.23"))
    .await
    .assert_refused();
    let recorded = exposures(&s).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["attributes"]["source"], "127.0.0.1");
}

#[tokio::test]
async fn a_revoked_key_is_refused_on_the_next_request() {
    let s = Server::start().await;
    let (id, key) = s.create_api_key("leaving").await;
    let (_, v1_key) = s.create_api_key("leaving by v1").await;
    let (token_id, token) = s.create_client_token("old page").await;
    let agent = |key: &str| nginx(&s, "/api/v2/series").header("DD-API-KEY", key.to_owned());
    let browser = |token: &str| nginx(&s, &format!("/api/v2/rum?dd-api-key={token}"));
    assert_eq!(ask(agent(&key)).await.status, StatusCode::OK);
    assert_eq!(ask(agent(&v1_key)).await.status, StatusCode::OK);
    assert_eq!(ask(browser(&token)).await.status, StatusCode::OK);

    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    ask(agent(&key)).await.assert_refused();
    let (status, _) = s
        .call(Method::DELETE, &format!("/api/v1/api_key/{v1_key}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    ask(agent(&v1_key)).await.assert_refused();
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v2/client_tokens/{token_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    ask(browser(&token)).await.assert_refused();
}

#[tokio::test]
async fn organizations_keep_distinct_stable_numbers() {
    let mut s = Server::start().await;
    let other = s.admin(&[
        "create-organization",
        "--name",
        "Tenant two",
        "--admin-email",
        "ops@two.example",
    ]);
    let other_key = env_value(&other, "DD_API_KEY");
    s.await_key_pair(&other_key, &env_value(&other, "DD_APP_KEY"))
        .await;
    let tenant = |answer: Answer| {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        (
            answer.header("x-keyplane-org").to_owned(),
            answer.header("x-keyplane-org-num").to_owned(),
        )
    };
    let first =
        tenant(ask(nginx(&s, "/api/v2/series").header("DD-API-KEY", &s.creds.api_key)).await);
    let second = tenant(ask(nginx(&s, "/api/v2/series").header("DD-API-KEY", &other_key)).await);
    assert_eq!((first.1.as_str(), second.1.as_str()), ("1", "2"));
    assert_ne!(first.0, second.0);
    assert!(s.stop().await);
    s.restart().await;
    let again = tenant(ask(nginx(&s, "/api/v2/series").header("DD-API-KEY", &other_key)).await);
    assert_eq!(
        again, second,
        "a tenant keeps its id and number across restarts"
    );
}

#[tokio::test]
async fn usage_and_metrics_count_gate_decisions() {
    let mut s = Server::start().await;
    let (id, key) = s.create_api_key("counted").await;
    for _ in 0..3 {
        let answer = ask(nginx(&s, "/api/v2/series").header("DD-API-KEY", &key)).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    ask(nginx(&s, "/api/v2/series").header("DD-API-KEY", "f".repeat(32)))
        .await
        .assert_refused();
    ask(nginx(&s, "/api/v2/series")).await.assert_refused();
    let text = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let org = s.admin(&["list-organizations"]);
    let org_id = org.split('\t').next().expect("org id");
    let line = |labels: &str| {
        text.lines()
            .find(|l| l.starts_with("keyplane_intake_requests_total{") && l.contains(labels))
            .map(|l| l.rsplit(' ').next().unwrap_or("").to_owned())
    };
    assert_eq!(
        line(&format!(
            r#"org="{org_id}",kind="api_key",outcome="allowed""#
        ))
        .as_deref(),
        Some("3"),
        "{text}"
    );
    assert_eq!(
        line(r#"org="none",kind="api_key",outcome="refused""#).as_deref(),
        Some("1")
    );
    assert_eq!(
        line(r#"org="none",kind="none",outcome="refused""#).as_deref(),
        Some("1")
    );
    assert!(!text.contains(&key), "no key in the metrics");
    // Usage is written like validate's: at the latest when the server stops.
    assert!(s.stop().await);
    s.restart().await;
    let (_, got) = s
        .call(Method::GET, &format!("/api/v2/api_keys/{id}"), None)
        .await;
    assert!(
        got["data"]["attributes"]["date_last_used"].is_string(),
        "{got}"
    );
}
