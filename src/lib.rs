//! keyplane: a self-hosted, Datadog-API-compatible key management service.
//!
//! Dependencies point one way: `domain` ← `store` ← `service` ← `auth` ← `http` ← `app` ← `cli`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod http;
pub mod import;
pub mod metrics;
pub mod migrate;
pub mod secret_helper;
pub mod service;
pub mod store;
pub mod telemetry;
