//! Datadog API v2: JSON:API resources.

pub mod api_keys;
