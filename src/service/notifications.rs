//! Following other nodes' writes as they commit. Where the store pushes change hints
//! (PostgreSQL), a task holds the feed's connection and wakes the catch-up on each hint; the
//! poll then only confirms freshness once a second. When the connection drops, the node
//! polls every 100 ms again until it reconnects.

use crate::store::ChangeFeed;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// The backend pushes no hints (SQLite): polling is the only path.
    Unsupported,
    /// The backend pushes hints but this node is not connected: polling meanwhile.
    Disconnected,
    Connected,
}

impl FeedState {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedState::Unsupported => "none",
            FeedState::Disconnected => "disconnected",
            FeedState::Connected => "connected",
        }
    }
}

/// This node's feed state, shared with `/healthz` and the poller.
#[derive(Debug, Default)]
pub struct FeedStatus(AtomicU8);

impl FeedStatus {
    pub fn get(&self) -> FeedState {
        match self.0.load(Ordering::Relaxed) {
            1 => FeedState::Disconnected,
            2 => FeedState::Connected,
            _ => FeedState::Unsupported,
        }
    }

    pub(crate) fn set(&self, state: FeedState) {
        let raw = match state {
            FeedState::Unsupported => 0,
            FeedState::Disconnected => 1,
            FeedState::Connected => 2,
        };
        self.0.store(raw, Ordering::Relaxed);
    }

    pub fn connected(&self) -> bool {
        self.get() == FeedState::Connected
    }
}

/// Holds the feed's connection for as long as the node runs: wakes `wake` on every hint,
/// and once after each connect and each loss (hints may have been missed around either).
/// Reconnects after 1 s, doubling up to 30 s while connecting fails.
pub(crate) async fn follow(
    mut feed: Box<dyn ChangeFeed>,
    status: Arc<FeedStatus>,
    wake: Arc<Notify>,
) {
    status.set(FeedState::Disconnected);
    let mut retry = FIRST_RETRY;
    loop {
        match feed.connect().await {
            Ok(()) => {
                status.set(FeedState::Connected);
                retry = FIRST_RETRY;
                tracing::info!("change notifications connected");
                wake.notify_one();
                let err = loop {
                    match feed.next().await {
                        Ok(()) => wake.notify_one(),
                        Err(err) => break err,
                    }
                };
                status.set(FeedState::Disconnected);
                wake.notify_one();
                tracing::warn!(
                    error = %err,
                    "change notifications lost; polling every 100 ms until reconnected"
                );
            }
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    retry_seconds = retry.as_secs(),
                    "change notifications unavailable; polling every 100 ms"
                );
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LAST_RETRY);
                continue;
            }
        }
        tokio::time::sleep(FIRST_RETRY).await;
    }
}
