//! Logs go to stderr; `RUST_LOG` overrides the default level. Secrets never reach a log
//! line: they are `Secret` values whose `Debug` redacts, and requests are logged by route.
//!
//! The per-request access line (target [`ACCESS`]) is written by a background thread, off
//! the request path: a synchronous write per request cost about half of the throughput of
//! `/api/v1/validate`. Under overload the access writer drops lines rather than slow the
//! requests down. Every other event (warnings, errors, start-up) stays synchronous, so it is
//! on stderr before the request that caused it is answered.

use std::io::IsTerminal;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// The target of the one line logged per request.
pub const ACCESS: &str = "access";

/// Installs the subscriber; keep the guard until exit, its drop flushes the access lines.
pub fn init() -> WorkerGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::stderr().is_terminal();
    let (access_writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let events = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .with_filter(filter_fn(|meta| meta.target() != ACCESS));
    let access = fmt::layer()
        .with_writer(access_writer)
        .with_ansi(ansi)
        .with_target(false)
        .with_filter(filter_fn(|meta| meta.target() == ACCESS));
    tracing_subscriber::registry()
        .with(filter)
        .with(events)
        .with(access)
        .init();
    guard
}
