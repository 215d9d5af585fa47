//! Authentication in one place. Each route declares its `Access` in the route table
//! (`http::routes`); `middleware::authenticate` enforces it before the handler runs and
//! leaves the result for the `Caller` / `ValidApiKey` extractors.

pub mod credentials;
pub mod extractors;
pub mod middleware;

pub use extractors::{Caller, ValidApiKey};

pub const API_KEY_HEADER: &str = "dd-api-key";
pub const APP_KEY_HEADER: &str = "dd-application-key";

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
}
