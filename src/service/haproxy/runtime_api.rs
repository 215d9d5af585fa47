//! HAProxy's runtime API on its unix stats socket (`stats socket PATH level admin`), in
//! prompt mode: one connection carries many commands, one per line, and each answer ends
//! with the prompt `"\n> "`. Map updates answer nothing on success and a message on failure.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// The end of every answer in prompt mode.
const PROMPT: &[u8] = b"\n> ";
/// Commands written before their answers are read: enough to amortise the round trip,
/// few enough that neither side's socket buffer fills while the other is not reading.
const PIPELINE: usize = 256;
/// How long HAProxy may take to answer one batch before the connection counts as lost.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The process behind the socket: a change of either means HAProxy restarted (and started
/// from its map file, not from what keyplane last sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    pub pid: u32,
    pub uptime_sec: u64,
}

impl Instance {
    /// Whether `later` is another process than `self` (a new pid, or an uptime that went
    /// backwards, should a pid be reused).
    pub fn replaced_by(&self, later: &Instance) -> bool {
        later.pid != self.pid || later.uptime_sec < self.uptime_sec
    }
}

/// Reads `Pid` and `Uptime_sec` from `show info`.
pub fn parse_info(answer: &str) -> Option<Instance> {
    let field = |name: &str| {
        answer.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(str::trim)
        })
    };
    Some(Instance {
        pid: field("Pid")?.parse().ok()?,
        uptime_sec: field("Uptime_sec")?.parse().ok()?,
    })
}

pub struct RuntimeApi {
    socket: PathBuf,
}

/// One open connection in prompt mode.
pub struct Connection {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl RuntimeApi {
    pub fn new(socket: PathBuf) -> Self {
        Self { socket }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub async fn connect(&self) -> io::Result<Connection> {
        let stream = UnixStream::connect(&self.socket).await?;
        let mut conn = Connection {
            stream,
            buf: Vec::new(),
        };
        conn.stream.write_all(b"prompt\n").await?;
        conn.answers(1).await?;
        Ok(conn)
    }
}

impl Connection {
    /// Sends `commands` and returns their answers in order (each without its trailing
    /// blank line). Commands must be single lines.
    pub async fn run(&mut self, commands: &[String]) -> io::Result<Vec<String>> {
        let mut answers = Vec::with_capacity(commands.len());
        for chunk in commands.chunks(PIPELINE) {
            let mut out = String::new();
            for command in chunk {
                out.push_str(command);
                out.push('\n');
            }
            self.stream.write_all(out.as_bytes()).await?;
            answers.extend(self.answers(chunk.len()).await?);
        }
        Ok(answers)
    }

    pub async fn run_one(&mut self, command: String) -> io::Result<String> {
        let mut answers = self.run(&[command]).await?;
        answers
            .pop()
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"))
    }

    /// Reads `n` answers, each ending with the prompt.
    async fn answers(&mut self, n: usize) -> io::Result<Vec<String>> {
        let read = async {
            let mut answers = Vec::with_capacity(n);
            let mut chunk = [0u8; 8192];
            while answers.len() < n {
                if let Some(end) = find(&self.buf, PROMPT) {
                    let answer = String::from_utf8_lossy(&self.buf[..end]);
                    answers.push(answer.trim_end_matches('\n').to_owned());
                    self.buf.drain(..end + PROMPT.len());
                    continue;
                }
                let got = self.stream.read(&mut chunk).await?;
                if got == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "HAProxy closed the runtime API connection",
                    ));
                }
                self.buf.extend_from_slice(&chunk[..got]);
            }
            Ok(answers)
        };
        tokio::time::timeout(ANSWER_TIMEOUT, read)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "HAProxy did not answer"))?
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_info_names_the_process() {
        let info =
            "Name: HAProxy\nVersion: 2.6.12\nPid: 4242\nUptime: 0d 0h00m07s\nUptime_sec: 7\n";
        let got = parse_info(info).expect("parsed");
        assert_eq!(
            got,
            Instance {
                pid: 4242,
                uptime_sec: 7
            }
        );
        let restarted = Instance {
            pid: 4242,
            uptime_sec: 1,
        };
        assert!(got.replaced_by(&restarted));
        assert!(!got.replaced_by(&Instance {
            pid: 4242,
            uptime_sec: 8
        }));
        assert!(parse_info("Name: HAProxy\n").is_none());
    }
}
