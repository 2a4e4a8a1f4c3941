//! The durable outbox: outbound calls the lead engine decided on (CRM hand-offs, owner
//! alerts, later nurturing messages), made by a dispatcher that may fail and retry.
//!
//! The engine only enqueues, idempotently by key ([`Store::commit_lead_batch`]); only the
//! dispatcher changes an item, so a replayed enqueue never resends or resets an item.

use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::Serialize;

use crate::{Store, StoreError, json_text, sql_limit};

/// The statuses an outbox item can have: `pending` (waiting for its `next_at`), `sent`, and
/// `dead` (given up; see [`Store::outbox_redrive`]).
pub const OUTBOX_STATUSES: [&str; 3] = ["pending", "sent", "dead"];

const COLUMNS: &str = "tenant_id, key, kind, target, payload, status, attempts, next_at, \
                       last_error, created_at, updated_at";

/// An outbound call as the lead engine enqueues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxItem {
    /// The owning tenant.
    pub tenant_id: i64,
    /// Unique per tenant and derived from what caused the call, so a replay produces the same.
    pub key: String,
    /// What sort of call (`crm-handoff`, `owner-alert`, …).
    pub kind: String,
    /// Where it goes, JSON text.
    pub target: String,
    /// What it carries, JSON text.
    pub payload: String,
    /// Not before this time, unix ms.
    pub next_at: i64,
    /// When it was decided, unix ms.
    pub created_at: i64,
}

/// A stored outbox item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxItem {
    /// The owning tenant.
    pub tenant_id: i64,
    /// Unique per tenant.
    pub key: String,
    /// What sort of call.
    pub kind: String,
    /// Where it goes, JSON text; serialized as that JSON.
    #[serde(serialize_with = "json_text")]
    pub target: String,
    /// What it carries, JSON text; serialized as that JSON.
    #[serde(serialize_with = "json_text")]
    pub payload: String,
    /// One of [`OUTBOX_STATUSES`].
    pub status: String,
    /// How many times the dispatcher tried it.
    pub attempts: i64,
    /// When a pending item is due, unix ms.
    pub next_at: i64,
    /// The error of the last failed attempt, if any.
    pub last_error: Option<String>,
    /// When it was enqueued, unix ms.
    pub created_at: i64,
    /// When it last changed, unix ms.
    pub updated_at: i64,
}

/// What one attempt at an outbox item came to; each counts as an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// Delivered: the item is `sent`.
    Sent,
    /// Failed for now: the item stays `pending`, due again at `next_at`.
    Retry {
        /// When to try again, unix ms.
        next_at: i64,
        /// What went wrong.
        error: String,
    },
    /// Failed for good: the item is `dead` until redriven.
    Dead {
        /// What went wrong.
        error: String,
    },
}

impl OutboxOutcome {
    /// The status, `next_at` and `last_error` columns it writes.
    fn into_columns(self) -> (&'static str, Option<i64>, Option<String>) {
        match self {
            OutboxOutcome::Sent => ("sent", None, None),
            OutboxOutcome::Retry { next_at, error } => ("pending", Some(next_at), Some(error)),
            OutboxOutcome::Dead { error } => ("dead", None, Some(error)),
        }
    }
}

/// How many outbox items of a tenant are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    /// Waiting to be sent.
    pub pending: u64,
    /// Sent.
    pub sent: u64,
    /// Given up.
    pub dead: u64,
}

impl Store {
    /// Up to `limit` pending items of every tenant that are due at `now`, the longest due
    /// first (then in the order they were enqueued: the index's order, no sort).
    pub fn outbox_due(&self, now: i64, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND next_at <= ?1 \
             ORDER BY next_at, rowid LIMIT ?2"
        ))?;
        let items = statement
            .query_map((now, sql_limit(limit)), item_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(items)
    }

    /// Records the outcome of an attempt at the pending item `key` and returns the item.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no such item and with
    /// [`StoreError::Invalid`] when it is not pending (already sent, or dead).
    pub fn outbox_record(
        &self,
        tenant_id: i64,
        key: &str,
        outcome: OutboxOutcome,
        now: i64,
    ) -> Result<OutboxItem, StoreError> {
        let (status, next_at, error) = outcome.into_columns();
        let conn = self.leads();
        let item = conn
            .prepare_cached(&format!(
                "UPDATE outbox SET status = ?3, attempts = attempts + 1, \
                 next_at = COALESCE(?4, next_at), last_error = COALESCE(?5, last_error), \
                 updated_at = ?6 \
                 WHERE tenant_id = ?1 AND key = ?2 AND status = 'pending' RETURNING {COLUMNS}"
            ))?
            .query_row((tenant_id, key, status, next_at, error, now), item_from_row)
            .optional()?;
        match item {
            Some(item) => Ok(item),
            None => Err(not_in_status(&conn, tenant_id, key, "pending")),
        }
    }

    /// Records the outcomes of many attempts (`(key, outcome)`) in one
    /// transaction, as [`Store::outbox_record`] does each; returns how many
    /// were recorded. An item that is no longer pending (a redrive raced it,
    /// or it was recorded already) is left as it is and not counted.
    pub fn outbox_record_all(
        &self,
        tenant_id: i64,
        outcomes: Vec<(String, OutboxOutcome)>,
        now: i64,
    ) -> Result<usize, StoreError> {
        let mut conn = self.leads();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut recorded = 0;
        {
            let mut statement = tx.prepare_cached(
                "UPDATE outbox SET status = ?3, attempts = attempts + 1, \
                 next_at = COALESCE(?4, next_at), last_error = COALESCE(?5, last_error), \
                 updated_at = ?6 \
                 WHERE tenant_id = ?1 AND key = ?2 AND status = 'pending'",
            )?;
            for (key, outcome) in outcomes {
                let (status, next_at, error) = outcome.into_columns();
                recorded += statement.execute((tenant_id, key, status, next_at, error, now))?;
            }
        }
        tx.commit()?;
        Ok(recorded)
    }

    /// Puts the dead item `key` back in the queue: pending, due at `now`; its attempts and
    /// last error are kept.
    ///
    /// Fails with [`StoreError::NotFound`] when there is no such item and with
    /// [`StoreError::Invalid`] when it is not dead.
    pub fn outbox_redrive(&self, tenant_id: i64, key: &str, now: i64) -> Result<(), StoreError> {
        let conn = self.leads();
        let changed = conn
            .prepare_cached(
                "UPDATE outbox SET status = 'pending', next_at = ?3, updated_at = ?3 \
                 WHERE tenant_id = ?1 AND key = ?2 AND status = 'dead'",
            )?
            .execute((tenant_id, key, now))?;
        if changed == 0 {
            return Err(not_in_status(&conn, tenant_id, key, "dead"));
        }
        Ok(())
    }

    /// The item `key` of `tenant_id`, if any.
    pub fn outbox_item(&self, tenant_id: i64, key: &str) -> Result<Option<OutboxItem>, StoreError> {
        let conn = self.reader();
        let item = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE tenant_id = ?1 AND key = ?2"
            ))?
            .query_row((tenant_id, key), item_from_row)
            .optional()?;
        Ok(item)
    }

    /// Up to `limit` items of `tenant_id`, all or those with `status`, oldest first.
    ///
    /// Fails with [`StoreError::Invalid`] when `status` is not one of [`OUTBOX_STATUSES`].
    pub fn outbox_items(
        &self,
        tenant_id: i64,
        status: Option<&str>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        if let Some(status) = status
            && !OUTBOX_STATUSES.contains(&status)
        {
            return Err(StoreError::Invalid(format!(
                "outbox status {status:?} is not one of {}",
                OUTBOX_STATUSES.join(", ")
            )));
        }
        let conn = self.reader();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE tenant_id = ?1 AND (?2 IS NULL OR status = ?2) \
             ORDER BY created_at, key LIMIT ?3"
        ))?;
        let items = statement
            .query_map((tenant_id, status, sql_limit(limit)), item_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(items)
    }

    /// How many items of `tenant_id` are pending, sent and dead.
    pub fn outbox_counts(&self, tenant_id: i64) -> Result<OutboxCounts, StoreError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT status, count(*) FROM outbox WHERE tenant_id = ?1 GROUP BY status",
        )?;
        let mut rows = statement.query([tenant_id])?;
        let mut counts = OutboxCounts::default();
        while let Some(row) = rows.next()? {
            let status: String = row.get(0)?;
            // count(*) is never negative.
            let count = u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0);
            match status.as_str() {
                "pending" => counts.pending = count,
                "sent" => counts.sent = count,
                "dead" => counts.dead = count,
                _ => {}
            }
        }
        Ok(counts)
    }
}

/// Enqueues `items` inside a lead batch; an item whose key exists is left as it is.
pub(crate) fn insert_outbox_items(
    tx: &Transaction<'_>,
    items: &[NewOutboxItem],
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (tenant_id, key, kind, target, payload, status, attempts, \
         next_at, last_error, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, NULL, ?7, ?7)",
    )?;
    for item in items {
        insert.execute((
            item.tenant_id,
            &item.key,
            &item.kind,
            &item.target,
            &item.payload,
            item.next_at,
            item.created_at,
        ))?;
    }
    Ok(())
}

fn item_from_row(r: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        tenant_id: r.get(0)?,
        key: r.get(1)?,
        kind: r.get(2)?,
        target: r.get(3)?,
        payload: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        next_at: r.get(7)?,
        last_error: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

/// The error for an update that matched no row: the item is missing, or not `wanted`.
fn not_in_status(
    conn: &rusqlite::Connection,
    tenant_id: i64,
    key: &str,
    wanted: &str,
) -> StoreError {
    let status = conn
        .prepare_cached("SELECT status FROM outbox WHERE tenant_id = ?1 AND key = ?2")
        .and_then(|mut s| {
            s.query_row((tenant_id, key), |r| r.get::<_, String>(0))
                .optional()
        });
    match status {
        Ok(Some(status)) => StoreError::Invalid(format!(
            "outbox item {key:?} of tenant {tenant_id} is {status}, not {wanted}"
        )),
        Ok(None) => StoreError::NotFound(format!("outbox item {key:?} of tenant {tenant_id}")),
        Err(error) => error.into(),
    }
}
