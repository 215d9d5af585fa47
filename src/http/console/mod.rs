//! The web console: its page and scripts (embedded in the binary), its sign-in endpoints and
//! the invitation links (which the JSON API, sending no email, has no place for).
//! Everything else the console does goes through the same JSON API the clients use.

pub mod assets;
pub mod invitations;
pub mod session;
