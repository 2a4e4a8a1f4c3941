//! Durable touchpoint ingest: the bounded queue and the group-commit writer thread.
//!
//! See the crate documentation for the design; the short version: one thread owns the write
//! connection, takes everything queued, writes it in one transaction, commits, then answers.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::{Store, StoreError};

/// A group stops taking queued batches once it holds this many rows: it bounds the time a
/// transaction holds the write lock and the memory of one group. A single larger batch is
/// still written whole, alone.
const MAX_GROUP_ROWS: usize = 20_000;

const INSERT: &str = "INSERT OR IGNORE INTO touchpoints \
     (tenant_id, connector_id, key_time, external_id, occurred_at, received_at, channel, kind, document) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// One event as handed to [`Store::append`].
#[derive(Debug, Clone)]
pub struct NewTouchpoint {
    /// The sender's id of the event; with `occurred_at` it is the idempotency key.
    pub external_id: String,
    /// When the event happened (unix ms), if the sender said. Stored as `received_at` when
    /// absent, but then the idempotency key uses 0 as its time.
    pub occurred_at: Option<i64>,
    /// The channel the touchpoint came through (`web`, `email`, …), stored as given.
    pub channel: String,
    /// The kind of touchpoint (`page_view`, `form_submit`, …), stored as given.
    pub kind: String,
    /// The event as JSON text; stored and returned byte for byte, never parsed.
    pub document: String,
}

/// The answer to one appended batch, given only after its transaction committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AppendReceipt {
    /// Touchpoints newly stored.
    pub stored: usize,
    /// Touchpoints whose idempotency key was already stored (earlier, or earlier in the batch).
    pub duplicates: usize,
}

/// The future answer to an [`Store::append`]: resolved once the batch is committed (or failed).
#[derive(Debug)]
pub struct Pending(oneshot::Receiver<Result<AppendReceipt, StoreError>>);

impl Pending {
    /// Blocks the current thread until the batch is committed or has failed.
    ///
    /// # Panics
    ///
    /// Panics when called from inside an asynchronous (tokio) execution context, like any
    /// blocking wait on a tokio channel; use [`Pending::finish`] there.
    pub fn wait(self) -> Result<AppendReceipt, StoreError> {
        self.0.blocking_recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Waits asynchronously until the batch is committed or has failed.
    pub async fn finish(self) -> Result<AppendReceipt, StoreError> {
        self.0.await.unwrap_or(Err(StoreError::Closed))
    }
}

impl Store {
    /// Queues `batch` for the writer without blocking and returns its [`Pending`] answer.
    ///
    /// Fails at once with [`StoreError::Busy`] when the queue is full (nothing was queued) and
    /// with [`StoreError::Closed`] when the writer is gone. The answer is
    /// [`StoreError::NotFound`] when `connector_id` is not a connector of `tenant_id`, and the
    /// transaction's error if the group it was written in failed (then none of it is stored).
    /// An empty batch is answered at once without touching the queue.
    pub fn append(
        &self,
        tenant_id: i64,
        connector_id: i64,
        received_at: i64,
        batch: Vec<NewTouchpoint>,
    ) -> Result<Pending, StoreError> {
        let (reply, answer) = oneshot::channel();
        if batch.is_empty() {
            // The receiver is alive (held just above), so this send cannot fail.
            let _ = reply.send(Ok(AppendReceipt {
                stored: 0,
                duplicates: 0,
            }));
        } else {
            self.inner.ingest.try_send(Request {
                tenant_id,
                connector_id,
                received_at,
                batch,
                reply,
            })?;
        }
        Ok(Pending(answer))
    }

    /// Like [`Store::append`], but blocks: first for room in the queue (back-pressure instead
    /// of [`StoreError::Busy`], for imports and backfills), then for the commit.
    ///
    /// # Panics
    ///
    /// Panics when called from inside an asynchronous (tokio) execution context; use
    /// [`Store::append`] and [`Pending::finish`] there.
    pub fn append_blocking(
        &self,
        tenant_id: i64,
        connector_id: i64,
        received_at: i64,
        batch: Vec<NewTouchpoint>,
    ) -> Result<AppendReceipt, StoreError> {
        if batch.is_empty() {
            return Ok(AppendReceipt {
                stored: 0,
                duplicates: 0,
            });
        }
        let (reply, answer) = oneshot::channel();
        self.inner.ingest.send(Request {
            tenant_id,
            connector_id,
            received_at,
            batch,
            reply,
        })?;
        Pending(answer).wait()
    }
}

/// One queued batch and where to send its answer.
struct Request {
    tenant_id: i64,
    connector_id: i64,
    received_at: i64,
    batch: Vec<NewTouchpoint>,
    reply: oneshot::Sender<Result<AppendReceipt, StoreError>>,
}

impl Request {
    fn answer(self, result: Result<AppendReceipt, StoreError>) {
        // The caller may have dropped its `Pending`; the outcome stands either way.
        let _ = self.reply.send(result);
    }
}

/// The sending side of the queue and the writer thread; dropping it drains the queue and
/// joins the thread.
pub(crate) struct Writer {
    sender: Option<SyncSender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `conn` (already configured and migrated).
    pub(crate) fn spawn(conn: Connection, capacity: usize) -> Result<Writer, StoreError> {
        let (sender, queue) = mpsc::sync_channel(capacity);
        let thread = thread::Builder::new()
            .name("leadhost-store-writer".to_string())
            .spawn(move || run(conn, queue))?;
        Ok(Writer {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    fn try_send(&self, request: Request) -> Result<(), StoreError> {
        let sender = self.sender.as_ref().ok_or(StoreError::Closed)?;
        sender.try_send(request).map_err(|error| match error {
            TrySendError::Full(_) => StoreError::Busy,
            TrySendError::Disconnected(_) => StoreError::Closed,
        })
    }

    fn send(&self, request: Request) -> Result<(), StoreError> {
        let sender = self.sender.as_ref().ok_or(StoreError::Closed)?;
        sender.send(request).map_err(|_| StoreError::Closed)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue lets the thread answer what is still queued, then end.
        drop(self.sender.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("store writer thread panicked");
        }
    }
}

/// The writer thread: one group per iteration until every sender is gone.
fn run(mut conn: Connection, queue: Receiver<Request>) {
    // connector id -> tenant id, for connectors already checked. Connectors are never
    // deleted, so an entry never goes stale.
    let mut owners: HashMap<i64, i64> = HashMap::new();
    let mut group: Vec<Request> = Vec::new();
    while let Ok(first) = queue.recv() {
        let mut rows = 0;
        admit(&conn, &mut owners, first, &mut group, &mut rows);
        while rows < MAX_GROUP_ROWS {
            match queue.try_recv() {
                Ok(request) => admit(&conn, &mut owners, request, &mut group, &mut rows),
                Err(_) => break,
            }
        }
        if group.is_empty() {
            continue;
        }
        match write_group(&mut conn, &group) {
            Ok(receipts) => {
                for (request, receipt) in group.drain(..).zip(receipts) {
                    request.answer(Ok(receipt));
                }
            }
            Err(error) => {
                tracing::error!(%error, batches = group.len(), rows, "ingest group rolled back");
                for request in group.drain(..) {
                    request.answer(Err(error.replicate()));
                }
            }
        }
    }
    tracing::debug!("store writer stopped");
}

/// Adds `request` to the group if its connector belongs to its tenant; answers it otherwise.
fn admit(
    conn: &Connection,
    owners: &mut HashMap<i64, i64>,
    request: Request,
    group: &mut Vec<Request>,
    rows: &mut usize,
) {
    match connector_owner(conn, owners, request.connector_id) {
        Ok(Some(owner)) if owner == request.tenant_id => {
            *rows += request.batch.len();
            group.push(request);
        }
        Ok(_) => {
            let message = format!(
                "connector {} of tenant {}",
                request.connector_id, request.tenant_id
            );
            request.answer(Err(StoreError::NotFound(message)));
        }
        Err(error) => request.answer(Err(error)),
    }
}

fn connector_owner(
    conn: &Connection,
    owners: &mut HashMap<i64, i64>,
    connector_id: i64,
) -> Result<Option<i64>, StoreError> {
    if let Some(owner) = owners.get(&connector_id) {
        return Ok(Some(*owner));
    }
    let owner: Option<i64> = conn
        .prepare_cached("SELECT tenant_id FROM connectors WHERE id = ?1")?
        .query_row([connector_id], |row| row.get(0))
        .optional()?;
    if let Some(owner) = owner {
        owners.insert(connector_id, owner);
    }
    Ok(owner)
}

/// Writes every batch of `group` in one transaction; one receipt per batch, in order.
/// On error the transaction is rolled back (when `tx` is dropped) and nothing is stored.
fn write_group(conn: &mut Connection, group: &[Request]) -> Result<Vec<AppendReceipt>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut receipts = Vec::with_capacity(group.len());
    {
        let mut insert = tx.prepare_cached(INSERT)?;
        for request in group {
            let mut stored = 0;
            for touchpoint in &request.batch {
                stored += insert.execute((
                    request.tenant_id,
                    request.connector_id,
                    touchpoint.occurred_at.unwrap_or(0),
                    &touchpoint.external_id,
                    touchpoint.occurred_at.unwrap_or(request.received_at),
                    request.received_at,
                    &touchpoint.channel,
                    &touchpoint.kind,
                    &touchpoint.document,
                ))?;
            }
            receipts.push(AppendReceipt {
                stored,
                duplicates: request.batch.len() - stored,
            });
        }
    }
    tx.commit()?;
    Ok(receipts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn request(tenant_id: i64, external_ids: &[&str]) -> (Request, Pending) {
        let (reply, answer) = oneshot::channel();
        let batch = external_ids
            .iter()
            .map(|id| NewTouchpoint {
                external_id: id.to_string(),
                occurred_at: Some(1),
                channel: "web".to_string(),
                kind: "page_view".to_string(),
                document: "{}".to_string(),
            })
            .collect();
        let request = Request {
            tenant_id,
            connector_id: 1,
            received_at: 2,
            batch,
            reply,
        };
        (request, Pending(answer))
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM touchpoints", [], |r| r.get(0))
            .unwrap()
    }

    /// A failure anywhere in a group stores nothing of any batch in it.
    #[test]
    fn failed_group_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn =
            crate::schema::open_writer(&dir.path().join("s.db"), &Default::default()).unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON touchpoints WHEN NEW.external_id = 'poison'
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .unwrap();
        let (good, _) = request(1, &["a", "b"]);
        let (bad, _) = request(1, &["c", "poison"]);
        let error = write_group(&mut conn, &[good, bad]).unwrap_err();
        assert!(error.to_string().contains("poisoned"), "{error}");
        assert!(conn.is_autocommit(), "transaction left open");
        assert_eq!(count(&conn), 0);

        let (good, _) = request(1, &["a", "b", "a"]);
        let receipts = write_group(&mut conn, &[good]).unwrap();
        assert_eq!(
            receipts,
            vec![AppendReceipt {
                stored: 2,
                duplicates: 1
            }]
        );
        assert_eq!(count(&conn), 2);
    }

    #[test]
    fn dropped_answer_is_closed() {
        let (request, pending) = request(1, &["a"]);
        drop(request);
        assert!(matches!(pending.wait(), Err(StoreError::Closed)));
    }
}
