//! Group commit: writes that arrive while one transaction commits share the next one, so
//! concurrent creates pay for one WAL sync between them instead of one each. Every write
//! still gets its own outcome: each runs inside a savepoint, so a write that fails (a
//! duplicate name, a limit) is rolled back alone, and no write is acknowledged before the
//! transaction holding it is durable.

use super::super::{StoreError, StoreResult};
use sqlx::{SqliteConnection, SqlitePool};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// How many writes one transaction takes at most, so one commit's latency stays bounded.
const MAX_BATCH: usize = 64;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A write as the committer sees it, whatever it returns.
trait Job: Send {
    /// Runs the write; the returned outcome is sent once the transaction has ended.
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Outcome>;
    /// Gives up on the write without running it.
    fn abandon(self: Box<Self>, err: StoreError);
}

/// What one write did, held until its transaction commits or fails.
struct Outcome {
    ok: bool,
    deliver: Box<dyn FnOnce(StoreResult<()>) + Send>,
}

struct Write<T, F> {
    op: F,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Write<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Outcome> {
        let Write { op, reply } = *self;
        Box::pin(async move {
            let result = op(conn).await;
            Outcome {
                ok: result.is_ok(),
                deliver: Box::new(move |committed: StoreResult<()>| {
                    // The caller may have gone; the write stands either way.
                    let _ = reply.send(committed.and(result));
                }),
            }
        })
    }

    fn abandon(self: Box<Self>, err: StoreError) {
        let _ = self.reply.send(Err(err));
    }
}

pub struct GroupCommit {
    queue: mpsc::UnboundedSender<Box<dyn Job>>,
}

impl GroupCommit {
    /// Starts the committer. `slot` is the store's writer lock, held for each transaction
    /// so writes made outside the committer cannot interleave with a batch.
    pub fn start(pool: SqlitePool, slot: Arc<Mutex<()>>) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(commit_loop(pool, slot, jobs));
        Self { queue }
    }

    /// Runs `op` in the next transaction; its result once that transaction is durable.
    pub async fn run<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send(Box::new(Write { op, reply }))
            .map_err(|_| StoreError::Backend("the SQLite writer has stopped".to_owned()))?;
        outcome
            .await
            .map_err(|_| StoreError::Backend("the SQLite writer dropped a write".to_owned()))?
    }
}

async fn commit_loop(
    pool: SqlitePool,
    slot: Arc<Mutex<()>>,
    mut jobs: mpsc::UnboundedReceiver<Box<dyn Job>>,
) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let _slot = Arc::clone(&slot).lock_owned().await;
        // A task of its own, so a panic in one write costs its batch (their callers get an
        // error, the transaction rolls back) and not every write after it.
        if let Err(err) = tokio::spawn(commit_batch(pool.clone(), batch)).await {
            tracing::error!(error = %err, "a SQLite write batch panicked; it was rolled back");
        }
    }
}

async fn commit_batch(pool: SqlitePool, batch: Vec<Box<dyn Job>>) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(err) => {
            let err = StoreError::from(err);
            for job in batch {
                job.abandon(err.clone());
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        if let Err(err) = savepoint(&mut tx, &["SAVEPOINT write"]).await {
            job.abandon(err.clone());
            broken = Some(err);
            break;
        }
        let outcome = job.run(&mut tx).await;
        let end: &'static [&'static str] = if outcome.ok {
            &["RELEASE write"]
        } else {
            &["ROLLBACK TO write", "RELEASE write"]
        };
        done.push(outcome);
        // A write whose failure ended the whole transaction (I/O, disk full) leaves no
        // savepoint to roll back to: then nothing in this batch can commit.
        if let Err(err) = savepoint(&mut tx, end).await {
            broken = Some(err);
            break;
        }
    }
    let committed = match broken {
        Some(err) => Err(err),
        None => tx.commit().await.map_err(StoreError::from),
    };
    if let Err(err) = &committed {
        for job in jobs {
            job.abandon(err.clone());
        }
    }
    for outcome in done {
        (outcome.deliver)(committed.clone());
    }
}

async fn savepoint(tx: &mut SqliteConnection, statements: &[&'static str]) -> StoreResult<()> {
    for sql in statements {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;

    async fn insert(conn: &mut SqliteConnection, v: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO t (v) VALUES (?)")
            .bind(v)
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn values(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT v FROM t ORDER BY v")
            .fetch_all(pool)
            .await
            .expect("read")
    }

    #[tokio::test]
    async fn writes_in_one_commit_keep_their_own_outcomes() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pool = SqlitePoolOptions::new().connect(&url).await.expect("pool");
        sqlx::query("CREATE TABLE t (v INTEGER UNIQUE)")
            .execute(&pool)
            .await
            .expect("table");
        let writes = GroupCommit::start(pool.clone(), Arc::default());

        // Joined futures queue all three before the committer runs (one thread), so they
        // share one transaction.
        let (ok, duplicate, undone) = tokio::join!(
            writes.run(|c| Box::pin(insert(c, 1))),
            writes.run(|c| Box::pin(insert(c, 1))),
            writes.run(|c| Box::pin(async move {
                insert(c, 2).await?;
                Err::<(), _>(StoreError::LastKey)
            })),
        );
        assert!(ok.is_ok(), "{ok:?}");
        assert!(
            matches!(duplicate, Err(StoreError::Conflict(_))),
            "{duplicate:?}"
        );
        assert!(matches!(undone, Err(StoreError::LastKey)), "{undone:?}");
        assert_eq!(
            values(&pool).await,
            [1],
            "the failed write's first insert is undone"
        );

        // A write that panics costs its batch, not the writes after it.
        let panicked = writes
            .run(|c| {
                Box::pin(async move {
                    insert(c, 3).await?;
                    panic!("a bug in a write");
                    #[allow(unreachable_code)]
                    Ok(())
                })
            })
            .await;
        assert!(panicked.is_err());
        writes
            .run(|c| Box::pin(insert(c, 4)))
            .await
            .expect("writes go on");
        assert_eq!(values(&pool).await, [1, 4]);
    }
}
