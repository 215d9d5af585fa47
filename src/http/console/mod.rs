//! The web console: its page and scripts (embedded in the binary) and its sign-in endpoints.
//! Everything else the console does goes through the same JSON API the clients use.

pub mod assets;
pub mod session;
