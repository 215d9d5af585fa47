//! Logs go to stderr; `RUST_LOG` overrides the default level. Secrets never reach a log
//! line: they are `Secret` values whose `Debug` redacts, and requests are logged by route.
//!
//! The per-request access line (target [`ACCESS`], see `access`) is written in batches by a
//! background thread, off the request path. Every other event (warnings, errors, start-up)
//! stays synchronous, so it is on stderr before the request that caused it is answered.

pub mod access;

use std::io::IsTerminal;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// The target that turns the access log on or off in `RUST_LOG` (`access=off`).
pub const ACCESS: &str = "access";

/// Installs the subscriber and, unless `RUST_LOG` turns it off, the access log; keep the
/// guard until exit, its drop flushes the access lines.
pub fn init() -> access::Guard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::stderr().is_terminal();
    let events = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    tracing_subscriber::registry()
        .with(filter)
        .with(events)
        .init();
    if tracing::enabled!(target: ACCESS, tracing::Level::INFO) {
        access::start(std::io::stderr(), ansi)
    } else {
        access::Guard::none()
    }
}
