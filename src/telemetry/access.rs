//! The access log: one line per request, written in batches by a background thread.
//!
//! A request only appends a few words to a buffer under an uncontended lock: no formatting,
//! no wake-up, no system call. Going through `tracing` cost each request its formatting plus
//! a futex wake of the writer thread and a `write` per line (about a tenth of the throughput
//! of `/api/v1/validate`). The writer wakes every `FLUSH_EVERY`, formats the batch and writes
//! it with one call. Past `CAPACITY` lines waiting, lines are dropped and counted, and the
//! count is logged: under overload requests are not slowed down for the log's sake.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const CAPACITY: usize = 65_536;

/// One request, as logged. Every field comes from a closed set or a number: the route is a
/// route template, never the raw path (v1 puts keys in paths, the Agent in query strings).
#[derive(Debug, Clone, Copy)]
pub struct AccessLine {
    pub at: SystemTime,
    pub method: &'static str,
    pub route: &'static str,
    pub status: u16,
    pub micros: u64,
}

struct Shared {
    lines: Mutex<Vec<AccessLine>>,
    dropped: AtomicU64,
    stop: AtomicBool,
}

static LOG: OnceLock<Arc<Shared>> = OnceLock::new();

/// Records `line` if the access log is on.
pub fn record(line: AccessLine) {
    let Some(log) = LOG.get() else { return };
    let mut lines = log.lines.lock().unwrap_or_else(PoisonError::into_inner);
    if lines.len() < CAPACITY {
        lines.push(line);
    } else {
        drop(lines);
        log.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Flushes the lines still waiting when dropped.
pub struct Guard(Option<JoinHandle<()>>);

impl Guard {
    /// The guard of a log that is off.
    pub fn none() -> Self {
        Self(None)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let (Some(log), Some(writer)) = (LOG.get(), self.0.take()) {
            log.stop.store(true, Ordering::Relaxed);
            writer.thread().unpark();
            let _ = writer.join();
        }
    }
}

/// Starts the writer; lines go to `out` (stderr in the binary). Without a call, `record`
/// does nothing: the log is off.
pub fn start(out: impl Write + Send + 'static, ansi: bool) -> Guard {
    let shared = Arc::new(Shared {
        lines: Mutex::new(Vec::with_capacity(1024)),
        dropped: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    if LOG.set(shared.clone()).is_err() {
        return Guard::none();
    }
    let writer = std::thread::Builder::new()
        .name("access-log".to_owned())
        .spawn(move || write_batches(&shared, out, ansi));
    Guard(writer.ok())
}

fn write_batches(log: &Shared, mut out: impl Write, ansi: bool) {
    let mut batch = Vec::with_capacity(1024);
    let mut text = String::new();
    loop {
        let stopping = log.stop.load(Ordering::Relaxed);
        std::mem::swap(
            &mut batch,
            &mut *log.lines.lock().unwrap_or_else(PoisonError::into_inner),
        );
        text.clear();
        for line in batch.drain(..) {
            format_line(&mut text, &line, ansi);
        }
        let dropped = log.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            text.push_str(&format!(
                "{}  WARN access log fell behind: {dropped} request lines dropped\n",
                timestamp(SystemTime::now())
            ));
        }
        if !text.is_empty() {
            // Nowhere to report a failed write to the log itself.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        }
        if stopping {
            return;
        }
        std::thread::park_timeout(FLUSH_EVERY);
    }
}

fn timestamp(at: SystemTime) -> String {
    OffsetDateTime::from(at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "-".to_owned())
}

/// The shape of `tracing`'s own lines, so both kinds read alike.
fn format_line(text: &mut String, line: &AccessLine, ansi: bool) {
    use std::fmt::Write as _;
    let level = if ansi {
        "\x1b[32m INFO\x1b[0m"
    } else {
        " INFO"
    };
    let _ = writeln!(
        text,
        "{} {level} request method={} route={} status={} micros={}",
        timestamp(line.at),
        line.method,
        line.route,
        line.status,
        line.micros
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_the_route_template_and_the_outcome() {
        let mut text = String::new();
        let line = AccessLine {
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            method: "GET",
            route: "/api/v2/api_keys/{api_key_id}",
            status: 404,
            micros: 42,
        };
        format_line(&mut text, &line, false);
        assert_eq!(
            text,
            "2027-01-15T08:00:00Z  INFO request method=GET route=/api/v2/api_keys/{api_key_id} status=404 micros=42\n"
        );
    }
}
