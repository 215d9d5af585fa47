//! Authentication in one place: which credentials a route needs is the extractor type a
//! handler takes (`ApiKeyAuth` or `KeyPairAuth`); both resolve through `credentials`.

pub mod credentials;
pub mod extractors;

pub use extractors::{ApiKeyAuth, KeyPairAuth};

pub const API_KEY_HEADER: &str = "dd-api-key";
pub const APP_KEY_HEADER: &str = "dd-application-key";
