//! Domain types and the rules that hold whatever the transport: key names, secrets,
//! timestamps, list queries. Nothing here knows about HTTP or SQL.

pub mod access_token;
pub mod api_key;
pub mod application_key;
pub mod audit;
pub mod client_addr;
pub mod client_token;
pub mod credential;
pub mod expiry;
pub mod imported_key;
pub mod intake;
pub mod invitation;
pub mod leak;
pub mod list;
pub mod name;
pub mod org;
pub mod org_config;
pub mod permission;
pub mod principal;
pub mod role;
pub mod rotation;
pub mod secret;
pub mod session;
pub mod time;
pub mod user;
pub mod webhook;
