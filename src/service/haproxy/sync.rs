//! The loop that keeps HAProxy's map equal to the credential index: each API key change is
//! sent as it is applied (`set map`/`add map`, `del map`), and the whole map is replaced
//! atomically (`prepare map`, `add map @VER`, `commit map @VER`) at start, whenever HAProxy
//! is a new process (`show info`'s Pid or Uptime_sec, checked every second), when its socket
//! is back after being unreachable, and when this loop fell behind the index's feed. An
//! expiring key is deleted at its instant: an expiry writes nothing the feed would carry.

use super::runtime_api::{parse_info, Connection, Instance, RuntimeApi};
use super::{map_key, map_value, HaproxyMap};
use crate::domain::time;
use crate::service::credential_index::{ApiKeyChange, CredentialIndex};
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::Instant;

/// How often HAProxy is asked whether it is still the process that holds our map.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// While the socket is unreachable, retries back off from the check interval up to this.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// What HAProxy answers a `set map` for a key it does not hold (then it is added).
const SET_MISSING: &str = "entry not found.";
/// What HAProxy answers a `del map` for a key it does not hold (already gone: fine).
const DEL_MISSING: &str = "Key not found.";

/// Logs a failure when it differs from the last one logged, so an outage that lasts is one
/// line in the log, not one a second; `clear` says when it is over.
#[derive(Default)]
struct Outage {
    last: Option<String>,
}

impl Outage {
    fn report(&mut self, what: &str, map: &HaproxyMap, error: String) {
        if self.last.as_deref() != Some(error.as_str()) {
            tracing::warn!(
                socket = %map.socket.display(),
                map = %map.map,
                error = %error,
                "{what}; retrying (logged again only if the error changes)"
            );
            self.last = Some(error);
        }
    }

    fn clear(&mut self, map: &HaproxyMap) {
        if self.last.take().is_some() {
            tracing::info!(socket = %map.socket.display(), "HAProxy map sync working again");
        }
    }
}

/// Runs until `shutdown` changes. Never returns an error: HAProxy may come and go.
pub async fn run(
    index: Arc<CredentialIndex>,
    map: HaproxyMap,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let api = RuntimeApi::new(map.socket.clone());
    // Subscribed before the first snapshot, so no change falls between the two.
    let mut changes = index.subscribe_api_keys();
    // The HAProxy process that holds our map; `None` until a full resync succeeds.
    let mut synced: Option<Instance> = None;
    let mut outage = Outage::default();
    let mut retry = CHECK_INTERVAL;
    let mut next_check = Instant::now();
    // Keys expiring up to here are out of the map (a resync leaves expired keys out).
    let mut swept_to = time::now();
    tracing::info!(socket = %api.socket().display(), map = %map.map, "keeping the HAProxy map in sync");
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next_check) => {
                let now = time::now();
                match check(&api, &index, &map, synced).await {
                    Ok(instance) => {
                        outage.clear(&map);
                        synced = Some(instance);
                        retry = CHECK_INTERVAL;
                        next_check = next_tick(&index, now);
                        let expired: Vec<_> = index
                            .api_keys_expired_between(swept_to, now)
                            .into_iter()
                            .map(|digest| ApiKeyChange::Removed { digest })
                            .collect();
                        swept_to = now;
                        if !expired.is_empty() {
                            if let Err(err) = apply(&api, &map, &expired).await {
                                tracing::warn!(error = %err, "deleting expired keys from HAProxy failed; resyncing");
                                synced = None;
                                next_check = Instant::now();
                            }
                        }
                    }
                    Err(Failure::Unreachable(err)) => {
                        outage.report("HAProxy runtime API unreachable", &map, err.to_string());
                        synced = None;
                        next_check = Instant::now() + retry;
                        retry = (retry * 2).min(MAX_RETRY);
                    }
                    Err(Failure::Refused(err)) => {
                        outage.report("HAProxy refused the map resync", &map, err);
                        synced = None;
                        next_check = Instant::now() + CHECK_INTERVAL;
                    }
                }
            }
            change = changes.recv() => {
                let mut batch = match change {
                    Ok(change) => vec![change],
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "HAProxy map sync fell behind the key changes; resyncing");
                        synced = None;
                        next_check = Instant::now();
                        continue;
                    }
                    Err(RecvError::Closed) => return,
                };
                let mut lagged = false;
                loop {
                    match changes.try_recv() {
                        Ok(change) => batch.push(change),
                        Err(TryRecvError::Lagged(_)) => lagged = true,
                        Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                    }
                }
                if lagged {
                    synced = None;
                    next_check = Instant::now();
                } else if synced.is_some() {
                    // Without a synced HAProxy the next resync carries these changes.
                    if let Err(err) = apply(&api, &map, &batch).await {
                        tracing::warn!(error = %err, "sending key changes to HAProxy failed; resyncing");
                        synced = None;
                        next_check = Instant::now();
                    }
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// The next check: a second on, or sooner when a key expires before that.
fn next_tick(index: &CredentialIndex, now: time::Micros) -> Instant {
    let regular = Instant::now() + CHECK_INTERVAL;
    match index.next_api_key_expiry(now) {
        Some(at) => {
            let wait = Duration::from_micros(u64::try_from(at - time::now()).unwrap_or(0));
            regular.min(Instant::now() + wait)
        }
        None => regular,
    }
}

enum Failure {
    /// The socket could not be reached or the connection broke.
    Unreachable(io::Error),
    /// HAProxy answered, but refused the resync (e.g. no such map).
    Refused(String),
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure::Unreachable(err)
    }
}

/// Asks HAProxy which process it is, and resyncs the whole map unless it is the process
/// `synced` already holds our map.
async fn check(
    api: &RuntimeApi,
    index: &CredentialIndex,
    map: &HaproxyMap,
    synced: Option<Instance>,
) -> Result<Instance, Failure> {
    let mut conn = api.connect().await?;
    let info = conn.run_one("show info".to_owned()).await?;
    let instance = parse_info(&info)
        .ok_or_else(|| Failure::Refused(format!("unexpected `show info` answer: {info:.200}")))?;
    if synced.is_some_and(|s| !s.replaced_by(&instance)) {
        return Ok(instance);
    }
    let started = std::time::Instant::now();
    let keys = resync(&mut conn, index, map).await?;
    tracing::info!(
        pid = instance.pid,
        keys,
        seconds = started.elapsed().as_secs_f64(),
        map = %map.map,
        "HAProxy map resynced"
    );
    Ok(instance)
}

/// Replaces the whole map in one commit: requests see the old map or the new, never a
/// half-filled one.
async fn resync(
    conn: &mut Connection,
    index: &CredentialIndex,
    map: &HaproxyMap,
) -> Result<usize, Failure> {
    let name = &map.map;
    let prepared = conn.run_one(format!("prepare map {name}")).await?;
    let version = prepared
        .strip_prefix("New version created: ")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| Failure::Refused(format!("prepare map: {prepared}")))?;
    let entries = index.api_key_digests();
    let mut refused = 0usize;
    let mut first_refusal = None;
    for chunk in entries.chunks(1024) {
        let commands: Vec<String> = chunk
            .iter()
            .map(|(digest, org)| {
                format!(
                    "add map @{version} {name} {} {}",
                    map_key(digest),
                    map_value(*org)
                )
            })
            .collect();
        for answer in conn.run(&commands).await? {
            if !answer.is_empty() {
                refused += 1;
                first_refusal.get_or_insert(answer);
            }
        }
    }
    let committed = conn
        .run_one(format!("commit map @{version} {name}"))
        .await?;
    if !committed.is_empty() {
        return Err(Failure::Refused(format!("commit map: {committed}")));
    }
    // Committed even so: a map missing some keys refuses them, where the old map would
    // have accepted revoked ones. The error makes the next check resync again.
    if let Some(answer) = first_refusal {
        return Err(Failure::Refused(format!(
            "add map refused {refused} of {} keys: {answer}",
            entries.len()
        )));
    }
    Ok(entries.len())
}

/// Sends a batch of changes: each key's last change only, so the order between keys does
/// not matter. `set map` replaces a held key's tenant in place; a key HAProxy does not hold
/// yet is then added (a plain `add map` would duplicate a held one).
async fn apply(api: &RuntimeApi, map: &HaproxyMap, batch: &[ApiKeyChange]) -> io::Result<()> {
    let name = &map.map;
    let mut last: HashMap<String, Option<String>> = HashMap::with_capacity(batch.len());
    for change in batch {
        match change {
            ApiKeyChange::Added { digest, org_id } => {
                last.insert(map_key(digest), Some(map_value(*org_id)))
            }
            ApiKeyChange::Removed { digest } => last.insert(map_key(digest), None),
        };
    }
    let (keys, commands): (Vec<_>, Vec<_>) = last
        .iter()
        .map(|(key, value)| {
            let command = match value {
                Some(value) => format!("set map {name} {key} {value}"),
                None => format!("del map {name} {key}"),
            };
            (key, command)
        })
        .unzip();
    let mut conn = api.connect().await?;
    let answers = conn.run(&commands).await?;
    let mut refused = 0usize;
    let mut adds = Vec::new();
    for (key, answer) in keys.into_iter().zip(answers) {
        let value = last.get(key).cloned().flatten();
        match (&value, answer.as_str()) {
            (_, "") => {
                tracing::debug!(digest = %key, added = value.is_some(), "HAProxy map updated")
            }
            (Some(value), SET_MISSING) => adds.push((key, format!("add map {name} {key} {value}"))),
            (None, DEL_MISSING) => tracing::debug!(digest = %key, "key was not in the HAProxy map"),
            (_, answer) => {
                refusal(value.is_some(), key, answer);
                refused += 1;
            }
        }
    }
    if !adds.is_empty() {
        let (keys, commands): (Vec<_>, Vec<_>) = adds.into_iter().unzip();
        let answers = conn.run(&commands).await?;
        for (key, answer) in keys.into_iter().zip(answers) {
            if answer.is_empty() {
                tracing::debug!(digest = %key, added = true, "HAProxy map updated");
            } else {
                refusal(true, key, &answer);
                refused += 1;
            }
        }
    }
    // A refused `del map` would leave a revoked key in HAProxy: the caller resyncs.
    if refused > 0 {
        return Err(io::Error::other(format!(
            "HAProxy refused {refused} map updates"
        )));
    }
    Ok(())
}

/// HAProxy answered a map update with an error; the digest only at debug level.
fn refusal(adding: bool, key: &str, answer: &str) {
    let command = if adding { "add/set map" } else { "del map" };
    tracing::warn!(command, answer, "HAProxy refused a map update");
    tracing::debug!(command, digest = %key, "the refused update's key digest");
}
