//! What the intake gate can tell from a request alone, before any lookup: where its credential
//! is, what kind of credential it is by shape, whether a browser sent it, and whether it is
//! bound for browser or mobile intake. The places and markers are those Datadog's own clients
//! use (`shared/reference/intake-gating.md` §1).

/// A credential by its shape; keyplane's formats tell the kinds apart without a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// 32 lowercase hex characters.
    ApiKey,
    /// `pub` + 32 lowercase hex characters.
    ClientToken,
    /// 40 lowercase hex characters: never a credential for intake.
    ApplicationKey,
    /// Anything else.
    Other,
}

impl Shape {
    pub fn of(value: &str) -> Self {
        let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        match value.len() {
            32 if hex(value) => Shape::ApiKey,
            35 if value.starts_with("pub") && hex(&value[3..]) => Shape::ClientToken,
            40 if hex(value) => Shape::ApplicationKey,
            _ => Shape::Other,
        }
    }

    /// The label for metrics (a closed set).
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::ApiKey => "api_key",
            Shape::ClientToken => "client_token",
            Shape::ApplicationKey => "application_key",
            Shape::Other => "other",
        }
    }
}

/// What a request to the gate says about the request it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeRequest {
    /// The first credential found, in Datadog's clients' order of places.
    pub credential: Option<String>,
    /// A browser sent it: browser SDK markers, or headers only browsers send.
    pub from_browser: bool,
    /// It is bound for browser or mobile intake (RUM, logs, replay, …).
    pub browser_intake: bool,
}

/// Paths of the intake that browser and mobile SDKs send to with a client token.
const BROWSER_INTAKE: [&str; 8] = [
    "/api/v2/rum",
    "/api/v2/logs",
    "/api/v2/replay",
    "/api/v2/profile",
    "/api/v2/exposures",
    "/api/v2/spans",
    "/api/v2/flagevaluation",
    "/v1/input",
];

/// The original request's path and query, from the gate request: what the proxy names in
/// `X-Original-URI` (nginx) or `X-Forwarded-Uri` (Caddy, Traefik), else what follows the
/// gate's own path (Envoy appends the original path and query to its path prefix).
pub fn original_uri<'a>(header: &impl Fn(&str) -> Option<&'a str>, own: &'a str) -> &'a str {
    header("x-original-uri")
        .or_else(|| header("x-forwarded-uri"))
        .unwrap_or(own)
}

/// Inspects a gate request. `header` returns a request header's value by lowercase name;
/// `uri` is the original request's path and query (see `original_uri`).
pub fn inspect<'a>(header: impl Fn(&str) -> Option<&'a str>, uri: &str) -> IntakeRequest {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let outer = Query::parse(query);
    let forwarded = outer.ddforward.as_deref().map(|inner| {
        let (path, query) = inner.split_once('?').unwrap_or((inner, ""));
        (path.to_owned(), Query::parse(query))
    });
    let present = |v: Option<&'a str>| v.map(str::trim).filter(|v| !v.is_empty());
    let credential = present(header("dd-api-key"))
        .or_else(|| present(header("dd-client-token")))
        .map(str::to_owned)
        .or_else(|| outer.api_key.clone())
        .or_else(|| outer.dd_api_key.clone())
        .or_else(|| forwarded.as_ref().and_then(|(_, q)| q.dd_api_key.clone()))
        .or_else(|| input_path_key(path).map(str::to_owned));
    let evp_browser = |v: Option<&str>| v.is_some_and(|v| v.eq_ignore_ascii_case("browser"));
    let from_browser = forwarded.is_some()
        || evp_browser(outer.evp_origin.as_deref())
        || evp_browser(
            forwarded
                .as_ref()
                .and_then(|(_, q)| q.evp_origin.as_deref()),
        )
        || evp_browser(header("dd-evp-origin"))
        || header("origin").is_some()
        || header("sec-fetch-mode").is_some();
    let target = forwarded.as_ref().map_or(path, |(p, _)| p.as_str());
    IntakeRequest {
        credential,
        from_browser,
        browser_intake: is_browser_intake(target),
    }
}

/// The parameters of a query string the gate reads, percent-decoded; the first non-empty
/// value of each wins.
#[derive(Default)]
struct Query {
    api_key: Option<String>,
    dd_api_key: Option<String>,
    ddforward: Option<String>,
    evp_origin: Option<String>,
}

impl Query {
    fn parse(query: &str) -> Self {
        let mut found = Query::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*name {
                "api_key" => &mut found.api_key,
                "dd-api-key" => &mut found.dd_api_key,
                "ddforward" => &mut found.ddforward,
                "dd-evp-origin" => &mut found.evp_origin,
                _ => continue,
            };
            let value = value.trim();
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value.to_owned());
            }
        }
        found
    }
}

/// The key in a legacy logs path, `/v1/input/<key>`.
fn input_path_key(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once("/v1/input/")?;
    let key = rest.split('/').next()?;
    (!key.is_empty()).then_some(key)
}

fn is_browser_intake(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    BROWSER_INTAKE.iter().any(|intake| {
        path.ends_with(intake) || (*intake == "/v1/input" && path.contains("/v1/input/"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "pub0123456789abcdef0123456789abcdef";

    fn inspect_with(headers: &[(&str, &str)], uri: &str) -> IntakeRequest {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        inspect(
            |name| {
                headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            },
            uri,
        )
    }

    #[test]
    fn shapes_tell_the_kinds_apart() {
        assert_eq!(Shape::of(KEY), Shape::ApiKey);
        assert_eq!(Shape::of(TOKEN), Shape::ClientToken);
        assert_eq!(Shape::of(&"a".repeat(40)), Shape::ApplicationKey);
        assert_eq!(Shape::of(&KEY.to_uppercase()), Shape::Other);
        assert_eq!(
            Shape::of("pubX123456789abcdef0123456789abcdef"),
            Shape::Other
        );
        assert_eq!(Shape::of(""), Shape::Other);
        assert_eq!(Shape::of("ü".repeat(16).as_str()), Shape::Other);
    }

    #[test]
    fn credentials_are_found_where_datadog_clients_put_them() {
        let found = |headers: &[(&str, &str)], uri: &str| inspect_with(headers, uri).credential;
        let key = Some(KEY.to_owned());
        assert_eq!(found(&[("DD-API-KEY", KEY)], "/api/v2/series"), key);
        assert_eq!(found(&[("Dd-Api-Key", KEY)], "/api/v2/series"), key);
        assert_eq!(
            found(&[("dd-client-token", TOKEN)], "/api/v2/rum"),
            Some(TOKEN.into())
        );
        assert_eq!(found(&[], &format!("/api/v1/validate?api_key={KEY}")), key);
        assert_eq!(
            found(&[], &format!("/api/v2/logs?x=1&dd-api-key={KEY}")),
            key
        );
        let inner =
            format!("/api/v2/rum?ddsource=browser&dd-api-key={TOKEN}&dd-evp-origin=browser");
        let encoded: String = form_urlencoded::byte_serialize(inner.as_bytes()).collect();
        assert_eq!(
            found(&[], &format!("/proxy?ddforward={encoded}")),
            Some(TOKEN.into())
        );
        assert_eq!(found(&[], &format!("/v1/input/{KEY}")), key);
        assert_eq!(found(&[], &format!("/logs/v1/input/{KEY}/")), key);
        // The header wins over the query; an empty header falls through.
        assert_eq!(found(&[("dd-api-key", KEY)], "/x?api_key=other"), key);
        assert_eq!(
            found(&[("dd-api-key", " ")], &format!("/x?api_key={KEY}")),
            key
        );
        assert_eq!(found(&[], "/api/v2/series"), None);
        assert_eq!(found(&[], "/v1/input/"), None);
    }

    #[test]
    fn browser_requests_are_recognised() {
        let browser = |headers: &[(&str, &str)], uri: &str| inspect_with(headers, uri).from_browser;
        assert!(browser(
            &[],
            "/api/v2/logs?dd-evp-origin=browser&dd-api-key=x"
        ));
        assert!(browser(&[], "/p?ddforward=%2Fapi%2Fv2%2Flogs"));
        assert!(browser(
            &[("Origin", "https://shop.example")],
            "/api/v2/logs"
        ));
        assert!(browser(&[("Sec-Fetch-Mode", "no-cors")], "/api/v2/logs"));
        assert!(browser(&[("DD-EVP-ORIGIN", "browser")], "/api/v2/logs"));
        // The Agent's logs and metrics carry none of those.
        assert!(!browser(&[("DD-EVP-ORIGIN", "agent")], "/api/v2/logs"));
        assert!(!browser(
            &[("User-Agent", "datadog-agent/7.60.0")],
            "/api/v2/series"
        ));
    }

    #[test]
    fn browser_intake_is_known_by_path() {
        let intake = |uri: &str| inspect_with(&[], uri).browser_intake;
        assert!(intake("/api/v2/rum?batch_time=1"));
        assert!(intake("/api/v2/logs"));
        assert!(intake("/gateway/api/v2/replay/"));
        assert!(intake(&format!("/v1/input/{TOKEN}")));
        assert!(intake("/p?ddforward=%2Fapi%2Fv2%2Frum%3Fdd-api-key%3Dpub"));
        assert!(!intake("/api/v2/series"));
        assert!(!intake("/api/v0.2/traces"));
        assert!(!intake("/api/v2/logsx"));
        // The proxy's own path does not count when the SDK names the intake in ddforward.
        assert!(!intake("/api/v2/logs?ddforward=%2Fapi%2Fv2%2Fseries"));
    }

    #[test]
    fn the_original_uri_comes_from_the_proxy_headers_first() {
        let headers = [("x-forwarded-uri", "/b"), ("x-original-uri", "/a")];
        let h = |name: &str| headers.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        assert_eq!(original_uri(&h, "/own"), "/a");
        let h = |name: &str| (name == "x-forwarded-uri").then_some("/b");
        assert_eq!(original_uri(&h, "/own"), "/b");
        assert_eq!(original_uri(&|_: &str| None, "/own"), "/own");
    }
}
