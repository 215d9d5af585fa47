//! One integration-test binary. Every test starts a real `keyplane serve` process on port 0
//! with a fresh data dir and talks to it over real HTTP; `fuzz` alone runs the fuzz targets
//! in-process, so that `cargo test` exercises them on stable.

mod browser;
mod helpers;
mod intake;
mod intake_tools;
mod limits;

mod api_keys;
mod application_keys;
mod audit;
mod auth;
mod auth_matrix;
mod bad_input;
mod client_tokens;
mod console_browser;
mod console_browser_audit;
mod console_browser_roles;
mod console_session;
mod crash;
mod db_outage;
mod exhaustion;
mod fuzz;
mod intake_e2e;
mod intake_haproxy;
mod intake_proxies;
mod last_admin;
mod migrate;
mod multi_node;
mod official_client;
mod official_client_app_keys;
mod official_client_v1;
mod one_time_read_default;
mod openapi;
mod operations;
mod postgres_http;
mod properties;
mod refusals_and_names;
mod schemathesis;
mod scope_ceiling;
mod secrets;
mod serve;
mod store_conformance;
mod tls;
mod users;
mod v1;
mod validation_cache;
