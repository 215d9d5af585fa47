//! Datadog API v1: thin translations onto the same use cases as v2.

pub mod validate;
