//! Authentication in one place. Each route declares its `Access` in the route table
//! (`http::routes`); `middleware::authenticate` enforces it before the handler runs and
//! leaves the result for the `Caller` / `ValidApiKey` extractors.

pub mod credentials;
pub mod extractors;
pub mod middleware;
pub mod session;

pub use extractors::{Caller, ClientAddr, ConsoleSession, Intake, ValidApiKey, ValidClientToken};

pub const API_KEY_HEADER: &str = "dd-api-key";
pub const APP_KEY_HEADER: &str = "dd-application-key";
pub const CLIENT_TOKEN_HEADER: &str = "dd-client-token";

/// What a route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: health checks.
    Public,
    /// A valid API key, in `DD-API-KEY` or `?api_key=` (the Datadog Agent's validate call).
    ApiKey,
    /// `DD-API-KEY` + `DD-APPLICATION-KEY` of one organization: every management endpoint.
    KeyPair,
    /// As `KeyPair`, also accepting `?api_key=` / `?application_key=`, as Datadog's v1 does.
    KeyPairOrQuery,
    /// A client token, in `DD-CLIENT-TOKEN` or `?dd-api-key=` (as browser SDKs send it to
    /// intake): browser-intake proxies check tokens with it. API keys are refused.
    ClientToken,
    /// The intake gate: a reverse proxy asks whether the request it holds may pass. The
    /// credential is wherever Datadog's clients put it (`domain::intake`); the proxy's own
    /// call carries no key pair.
    Intake,
    /// A console session cookie (and, to change anything, its CSRF token): the console's
    /// own endpoints. `KeyPair` routes accept a session too, so the console calls the API.
    Session,
}
