//! Embedded persistence of Leadhost: tenants, their connectors (with secrets and plugin
//! state), durably ingested touchpoints and the lead engine's log, snapshots, outputs and
//! outbox, in one SQLite file in WAL mode.
//!
//! The store holds no domain logic: it stores what it is handed and answers queries.
//!
//! # Ingest: group commit
//!
//! [`Store::append`] puts a batch on a bounded queue and returns a [`Pending`] answer at once,
//! or [`StoreError::Busy`] when the queue is full (the caller should answer 429/503 rather than
//! buffer events nobody has made durable). One writer thread owns the write connection. It
//! blocks for the first batch, then takes everything else already queued (up to about 20,000
//! rows), writes the whole group in one `BEGIN IMMEDIATE` transaction through one cached
//! `INSERT OR IGNORE` statement, commits, and only then answers every batch of the group.
//! The cost of the commit (an fsync with `synchronous=FULL`) is thus shared by everything that
//! arrived while the previous commit was running: the busier the store, the larger the groups.
//! There is no timer; an idle store commits a lone batch at once. If the transaction fails it
//! is rolled back and every batch in it gets the error: nothing is acknowledged that was not
//! committed.
//!
//! # Idempotency key
//!
//! A touchpoint is identified by `(tenant, connector, key_time, external_id)`, where `key_time`
//! is the event's own `occurred_at` (0 when the sender gave none). Redelivering the same event
//! stores nothing and counts as a duplicate in the [`AppendReceipt`]. The key is led by the
//! event time on purpose: events arrive roughly in time order, so index inserts land on
//! adjacent pages instead of a random page per row (about 7x the throughput of a key on a
//! random message id, on a store holding millions of rows).
//!
//! The caveat: the event time is part of the key. A sender that re-stamps a retried event with
//! a new timestamp produces a new key, and the retry **is stored a second time**. Senders that
//! retry by resending the identical event (the usual case) are deduplicated.
//!
//! # Reads
//!
//! Reads use their own connection and see only committed data. Touchpoint ids grow in commit
//! order (one writer, no deletes), so paging with the `next` cursor never skips a row, even
//! while ingest continues.
//!
//! # The lead engine's tables
//!
//! The lead engine is a deterministic fold over the touchpoint log interleaved with logged
//! commands (operator and sales actions, timer expiries). One worker reads touchpoints after
//! its cursor ([`Store::touchpoints_after`]), applies them in memory and writes each batch
//! with [`Store::commit_lead_batch`] in one transaction: its new [`LeadProgress`] (the last
//! touchpoint id and command seq applied), the commands it executed ([`CommandRecord`], whose
//! `seq` the engine assigns) and its outputs: stage transitions, merges, hand-offs and outbox
//! items. From time to time it saves its whole state, opaque bytes per tenant, with the
//! progress it was taken at ([`Store::save_lead_snapshot`]).
//!
//! After a crash the engine loads the latest snapshot ([`Store::load_lead_snapshot`]) and
//! replays the touchpoints and commands logged after it ([`Store::commands_after`]). The
//! replay produces outputs that were already committed, with the same keys, so every output
//! write is idempotent: immutable rows (transitions, commands, outbox enqueues) are
//! `INSERT OR IGNORE`, rows whose status changes (merges, hand-offs) are upserts, and the
//! stored progress only moves forward (`MAX` per field). A replayed batch whose progress is
//! strictly behind the stored one writes no outputs at all: they are already durable, and
//! re-applying an older status would move a hand-off or merge back until the replay caught
//! up. An outbox item is changed only by the dispatcher ([`Store::outbox_record`]), so a
//! replayed enqueue never resends or resets a sent item.
//!
//! The engine writes through its own connection, so a batch commit never waits behind a
//! tenant or connector change in this process; SQLite still allows one writer at a time, and
//! every writer waits for the others (busy timeout) instead of failing.
//!
//! # Example
//!
//! ```
//! use leadhost_store::{ConnectorSpec, NewTouchpoint, Store, StoreOptions, TouchpointQuery};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let store = Store::open(&dir.path().join("leadhost.db"), StoreOptions::default())?;
//! let (tenant, _api_key) = store.create_tenant("acme")?;
//! let spec = ConnectorSpec {
//!     name: "website".into(),
//!     plugin: "web".into(),
//!     plugin_version: "1.0.0".into(),
//!     config: Default::default(),
//!     secrets: Default::default(),
//!     grants: Default::default(),
//!     enabled: true,
//! };
//! let connector = store.put_connector(tenant.id, &spec)?;
//! let event = NewTouchpoint {
//!     external_id: "msg-1".into(),
//!     occurred_at: Some(1_700_000_000_000),
//!     channel: "web".into(),
//!     kind: "page_view".into(),
//!     document: r#"{"messageId":"msg-1"}"#.into(),
//! };
//! // In async code: `store.append(..)?.finish().await`.
//! let receipt = store.append(tenant.id, connector.id, 1_700_000_000_500, vec![event])?.wait()?;
//! assert_eq!((receipt.stored, receipt.duplicates), (1, 0));
//! let page = store.touchpoints(tenant.id, &TouchpointQuery::default())?;
//! assert_eq!(page.items[0].document, r#"{"messageId":"msg-1"}"#);
//! # Ok(())
//! # }
//! ```

mod connectors;
mod deliveries;
mod error;
mod ingest;
mod lead_outputs;
mod lead_settings;
mod leads;
mod outbox;
mod schema;
mod spend;
mod state;
mod tenants;
mod touchpoints;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

pub use connectors::{Connector, ConnectorSpec, Grants};
pub use deliveries::{DeliveryFinish, DeliveryRecord};
pub use error::StoreError;
pub use ingest::{AppendReceipt, NewTouchpoint, Pending};
pub use lead_outputs::{HANDOFF_STATUSES, HandoffRow, MergeRow, TransitionRow};
pub use lead_settings::LeadSetting;
pub use leads::{CommandRecord, LeadBatch, LeadProgress, LeadSnapshot, LoggedTouchpoint};
pub use outbox::{NewOutboxItem, OUTBOX_STATUSES, OutboxCounts, OutboxItem, OutboxOutcome};
pub use spend::{NewSpend, SpendRow};
pub use tenants::Tenant;
pub use touchpoints::{StoredTouchpoint, TouchpointPage, TouchpointQuery};

/// Tuning of a [`Store`]; `StoreOptions::default()` is right for production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// How many batches may wait for the writer before [`Store::append`] answers
    /// [`StoreError::Busy`]. Must be at least 1. Default 1024.
    pub queue_capacity: usize,
    /// `synchronous=FULL` (default, `true`): an acknowledged batch survives power loss.
    /// `false` selects `NORMAL`, which is faster but can lose the last acknowledged commits
    /// on power loss (not on a process crash).
    pub synchronous_full: bool,
    /// SQLite page cache of the writer and of the reader connection, in KiB. Default 65536.
    pub cache_kib: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            queue_capacity: 1024,
            synchronous_full: true,
            cache_kib: 65536,
        }
    }
}

/// A handle on an open store. Cheap to clone; all clones share the connections and the writer.
///
/// When the last clone is dropped the writer thread finishes the batches already queued and
/// ends; the drop waits for it, so the file is closed cleanly when the drop returns.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// For every read; `query_only`.
    reader: Mutex<Connection>,
    /// For tenant, connector and state writes, so they do not queue behind ingest.
    manager: Mutex<Connection>,
    /// For the lead engine's batches, snapshots and outbox, so they do not queue behind
    /// tenant and connector writes (nor those behind them).
    leads: Mutex<Connection>,
    ingest: ingest::Writer,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store at `path`: creates missing parent directories, switches
    /// the file to WAL, applies pending schema migrations (the version is kept in
    /// `PRAGMA user_version`) and starts the ingest writer thread.
    ///
    /// Fails with [`StoreError::Invalid`] if `options.queue_capacity` is 0 or the file's
    /// schema is newer than this build.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        if options.queue_capacity == 0 {
            return Err(StoreError::Invalid(
                "queue_capacity must be at least 1".to_string(),
            ));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut writer = schema::open_writer(path, &options)?;
        schema::migrate(&mut writer)?;
        let manager = schema::open_manager(path, &options)?;
        let leads = schema::open_manager(path, &options)?;
        let reader = schema::open_reader(path, &options)?;
        let ingest = ingest::Writer::spawn(writer, options.queue_capacity)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                reader: Mutex::new(reader),
                manager: Mutex::new(manager),
                leads: Mutex::new(leads),
                ingest,
            }),
        })
    }

    /// The path the store was opened with.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        lock(&self.inner.reader)
    }

    fn manager(&self) -> MutexGuard<'_, Connection> {
        lock(&self.inner.manager)
    }

    fn leads(&self) -> MutexGuard<'_, Connection> {
        lock(&self.inner.leads)
    }
}

/// Locks a connection, ignoring poisoning: a panic while the lock was held cannot leave a
/// transaction open (rusqlite rolls back when the transaction is dropped during unwinding).
fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A page size as SQLite wants it (`LIMIT` takes an i64).
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Serializes a column holding JSON text as that JSON (an object, not a string holding one),
/// so a JSON API shows it as it was written. Text that is not JSON is shown as a string.
fn json_text<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize as _;
    match serde_json::from_str::<&serde_json::value::RawValue>(text) {
        Ok(raw) => raw.serialize(serializer),
        Err(_) => serializer.serialize_str(text),
    }
}

/// Whether `name` follows the rule shared by tenant, connector and setting
/// names: `^[a-z0-9][a-z0-9-]{0,62}$`.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    first_ok && rest_ok && bytes.len() <= 63
}

/// Checks [`is_valid_name`], naming what is named in the error.
fn validate_name(what: &str, name: &str) -> Result<(), StoreError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "{what} name {name:?} must match ^[a-z0-9][a-z0-9-]{{0,62}}$: 1 to 63 lowercase \
             letters, digits or '-', not starting with '-'"
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn name_rule() {
        for ok in ["a", "0", "acme", "acme-eu-1", &"a".repeat(63)] {
            assert!(validate_name("tenant", ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "Acme", "a_b", "a b", "é", &"a".repeat(64)] {
            assert!(
                matches!(validate_name("tenant", bad), Err(StoreError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn errors_cross_threads() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<StoreError>();
        assert_send_sync::<Store>();
    }
}
