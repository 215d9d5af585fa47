//! One integration-test binary. Every test starts a real `keyplane serve` process on port 0
//! with a fresh data dir and talks to it over real HTTP.

mod helpers;

mod api_keys;
mod auth;
mod bad_input;
mod official_client;
mod secrets;
mod serve;
