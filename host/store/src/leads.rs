//! The lead engine's bookkeeping: its progress over the touchpoint log, the command log, the
//! batch commit and snapshots of its state. Its outputs are in `lead_outputs`.
//!
//! See "The lead engine's tables" in the crate documentation for the fold, snapshot and
//! replay design, and why every output write is idempotent.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::error::is_unique_violation;
use crate::lead_outputs::{
    HandoffRow, MergeRow, TransitionRow, insert_transitions, upsert_handoffs, upsert_merges,
    validate_handoff_status,
};
use crate::outbox::{NewOutboxItem, insert_outbox_items};
use crate::{Store, StoreError, json_text, sql_limit};

/// How far the lead engine has folded the logs: everything up to and including these was
/// applied and its outputs are committed. `(0, 0)` before the first batch.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct LeadProgress {
    /// The id of the last touchpoint applied.
    pub cursor: i64,
    /// The seq of the last command applied.
    pub command_seq: i64,
}

impl LeadProgress {
    /// True when `self` is behind `other` in one field and not ahead in the other: a batch
    /// ending here re-applies inputs whose outputs `other` already covers.
    fn strictly_behind(self, other: LeadProgress) -> bool {
        self.cursor <= other.cursor && self.command_seq <= other.command_seq && self != other
    }
}

/// A touchpoint as the lead engine reads it from the log: every tenant's, in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedTouchpoint {
    /// Store-assigned id; grows in commit order, so it is the engine's cursor.
    pub id: i64,
    /// The owning tenant.
    pub tenant_id: i64,
    /// The connector it came through.
    pub connector_id: i64,
    /// The sender's id of the event.
    pub external_id: String,
    /// When it happened (unix ms); `received_at` when the sender did not say.
    pub occurred_at: i64,
    /// When the host received it (unix ms).
    pub received_at: i64,
    /// The channel, as given.
    pub channel: String,
    /// The kind, as given.
    pub kind: String,
    /// The event JSON, byte for byte as appended.
    pub document: String,
}

/// A command the lead engine executed (an operator or sales action, a timer expiry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandRecord {
    /// Assigned by the engine, strictly increasing: the order commands are replayed in.
    pub seq: i64,
    /// The tenant it applies to.
    pub tenant_id: i64,
    /// It was applied after the touchpoint with this id (and before the next one).
    pub after_cursor: i64,
    /// When it was issued, unix ms.
    pub at: i64,
    /// The command, JSON text; serialized as that JSON.
    #[serde(serialize_with = "json_text")]
    pub command: String,
}

/// Everything one batch of the lead engine writes, committed by [`Store::commit_lead_batch`]
/// in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadBatch {
    /// The progress after the batch.
    pub progress: LeadProgress,
    /// The commands executed in the batch, in seq order.
    pub commands: Vec<CommandRecord>,
    /// New transitions.
    pub transitions: Vec<TransitionRow>,
    /// New or changed merges; when one appears twice, the later row wins.
    pub merges: Vec<MergeRow>,
    /// New or changed hand-offs; when one appears twice, the later row wins.
    pub handoffs: Vec<HandoffRow>,
    /// Outbound calls to make.
    pub outbox: Vec<NewOutboxItem>,
}

/// The latest saved state of the lead engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadSnapshot {
    /// The progress the states were taken at: replay the logs after it.
    pub progress: LeadProgress,
    /// When it was taken, unix ms.
    pub taken_at: i64,
    /// Each tenant's state, opaque bytes, by tenant id.
    pub states: Vec<(i64, Vec<u8>)>,
}

impl Store {
    /// How far the lead engine has got; `(0, 0)` before its first batch.
    pub fn lead_progress(&self) -> Result<LeadProgress, StoreError> {
        let conn = self.reader();
        let progress = conn
            .prepare_cached("SELECT cursor, command_seq FROM lead_progress WHERE id = 1")?
            .query_row([], |r| {
                Ok(LeadProgress {
                    cursor: r.get(0)?,
                    command_seq: r.get(1)?,
                })
            })
            .optional()?;
        Ok(progress.unwrap_or_default())
    }

    /// Up to `limit` touchpoints of every tenant with an id greater than `cursor`, in id
    /// order. Ids grow in commit order, so following the last id never skips a touchpoint.
    pub fn touchpoints_after(
        &self,
        cursor: i64,
        limit: usize,
    ) -> Result<Vec<LoggedTouchpoint>, StoreError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT id, tenant_id, connector_id, external_id, occurred_at, received_at, channel, \
             kind, document FROM touchpoints WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let touchpoints = statement
            .query_map((cursor, sql_limit(limit)), |r| {
                Ok(LoggedTouchpoint {
                    id: r.get(0)?,
                    tenant_id: r.get(1)?,
                    connector_id: r.get(2)?,
                    external_id: r.get(3)?,
                    occurred_at: r.get(4)?,
                    received_at: r.get(5)?,
                    channel: r.get(6)?,
                    kind: r.get(7)?,
                    document: r.get(8)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(touchpoints)
    }

    /// The id of the newest touchpoint, 0 when there is none: with the progress's cursor it
    /// tells how far behind the lead engine is.
    pub fn max_touchpoint_id(&self) -> Result<i64, StoreError> {
        let conn = self.reader();
        let id = conn
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM touchpoints")?
            .query_row([], |r| r.get(0))?;
        Ok(id)
    }

    /// Every logged command with a seq greater than `seq`, in seq order. Snapshots bound how
    /// many a replay reads.
    pub fn commands_after(&self, seq: i64) -> Result<Vec<CommandRecord>, StoreError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT seq, tenant_id, after_cursor, at, command FROM lead_commands \
             WHERE seq > ?1 ORDER BY seq",
        )?;
        let commands = statement
            .query_map([seq], |r| {
                Ok(CommandRecord {
                    seq: r.get(0)?,
                    tenant_id: r.get(1)?,
                    after_cursor: r.get(2)?,
                    at: r.get(3)?,
                    command: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(commands)
    }

    /// Writes one batch of the lead engine in one transaction, so a crash leaves either all
    /// of it or none.
    ///
    /// Every write is idempotent, so replaying after a crash is harmless:
    /// - the stored progress becomes the larger of it and `batch.progress`, per field: it
    ///   never moves back;
    /// - commands, transitions and outbox items are inserted unless their key exists (an
    ///   outbox item the dispatcher has sent stays sent);
    /// - merges and hand-offs are upserted, in the order given;
    /// - a batch whose progress is strictly behind the stored one (not ahead in either field,
    ///   behind in one) writes no outputs: a replay produces outputs that are already stored,
    ///   and re-applying an older status would move a hand-off or merge back for a while.
    ///   Its commands must already be logged.
    ///
    /// Fails with [`StoreError::Invalid`] (and writes nothing) when a progress field is
    /// negative, the commands' seqs are not strictly increasing or exceed
    /// `batch.progress.command_seq`, a command not yet logged has a seq at or below the stored
    /// progress (it would be replayed out of order), or a hand-off status is not one of
    /// [`HANDOFF_STATUSES`](crate::HANDOFF_STATUSES).
    pub fn commit_lead_batch(&self, batch: &LeadBatch) -> Result<(), StoreError> {
        validate_batch(batch)?;
        let mut conn = self.leads();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = read_progress(&tx)?;
        insert_commands(&tx, &batch.commands, stored)?;
        if !batch.progress.strictly_behind(stored) {
            insert_transitions(&tx, &batch.transitions)?;
            upsert_merges(&tx, &batch.merges)?;
            upsert_handoffs(&tx, &batch.handoffs)?;
            insert_outbox_items(&tx, &batch.outbox)?;
        }
        tx.prepare_cached(
            "INSERT INTO lead_progress (id, cursor, command_seq) VALUES (1, ?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET cursor = MAX(cursor, excluded.cursor), \
             command_seq = MAX(command_seq, excluded.command_seq)",
        )?
        .execute((batch.progress.cursor, batch.progress.command_seq))?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces the saved state of the lead engine with `states` (one entry per tenant;
    /// tenants of the previous snapshot that are not in it are dropped), taken at `progress`.
    ///
    /// Commit the batch that reached `progress` first: a snapshot ahead of the committed
    /// progress would hold state whose outputs a crash could lose, so it fails with
    /// [`StoreError::Invalid`], as do a negative progress field and a tenant given twice.
    pub fn save_lead_snapshot(
        &self,
        progress: LeadProgress,
        taken_at: i64,
        states: &[(i64, Vec<u8>)],
    ) -> Result<(), StoreError> {
        validate_progress(progress)?;
        let mut conn = self.leads();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = read_progress(&tx)?;
        if progress.cursor > stored.cursor || progress.command_seq > stored.command_seq {
            return Err(StoreError::Invalid(format!(
                "snapshot progress {progress:?} is ahead of the committed lead progress \
                 {stored:?}: commit the batch before saving the snapshot"
            )));
        }
        tx.execute("DELETE FROM lead_snapshots", [])?;
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO lead_snapshots (tenant_id, state) VALUES (?1, ?2)")?;
            for (tenant_id, state) in states {
                match insert.execute((tenant_id, state)) {
                    Ok(_) => {}
                    Err(error) if is_unique_violation(&error) => {
                        return Err(StoreError::Invalid(format!(
                            "snapshot holds tenant {tenant_id} more than once"
                        )));
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        tx.prepare_cached(
            "INSERT INTO lead_snapshot_meta (id, cursor, command_seq, taken_at) \
             VALUES (1, ?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor, \
             command_seq = excluded.command_seq, taken_at = excluded.taken_at",
        )?
        .execute((progress.cursor, progress.command_seq, taken_at))?;
        tx.commit()?;
        Ok(())
    }

    /// The latest saved state of the lead engine, states by tenant id; `None` before the first
    /// [`Store::save_lead_snapshot`].
    pub fn load_lead_snapshot(&self) -> Result<Option<LeadSnapshot>, StoreError> {
        let mut conn = self.reader();
        // One read transaction, so the states belong to the progress read with them.
        let tx = conn.transaction()?;
        let meta = tx
            .prepare_cached(
                "SELECT cursor, command_seq, taken_at FROM lead_snapshot_meta WHERE id = 1",
            )?
            .query_row([], |r| {
                Ok((
                    LeadProgress {
                        cursor: r.get(0)?,
                        command_seq: r.get(1)?,
                    },
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()?;
        let Some((progress, taken_at)) = meta else {
            return Ok(None);
        };
        let states = tx
            .prepare_cached("SELECT tenant_id, state FROM lead_snapshots ORDER BY tenant_id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit()?;
        Ok(Some(LeadSnapshot {
            progress,
            taken_at,
            states,
        }))
    }
}

fn validate_progress(progress: LeadProgress) -> Result<(), StoreError> {
    if progress.cursor < 0 || progress.command_seq < 0 {
        return Err(StoreError::Invalid(format!(
            "lead progress {progress:?} has a negative field"
        )));
    }
    Ok(())
}

/// The checks that need no database, so a bad batch fails before taking the write lock.
fn validate_batch(batch: &LeadBatch) -> Result<(), StoreError> {
    validate_progress(batch.progress)?;
    let mut previous: Option<i64> = None;
    for command in &batch.commands {
        if let Some(previous) = previous
            && command.seq <= previous
        {
            return Err(StoreError::Invalid(format!(
                "command seq {} follows {previous}: seqs must be strictly increasing",
                command.seq
            )));
        }
        if command.seq > batch.progress.command_seq {
            return Err(StoreError::Invalid(format!(
                "command seq {} is beyond the batch's progress (command_seq {})",
                command.seq, batch.progress.command_seq
            )));
        }
        previous = Some(command.seq);
    }
    for handoff in &batch.handoffs {
        validate_handoff_status(&handoff.status)?;
    }
    Ok(())
}

fn read_progress(tx: &Transaction<'_>) -> Result<LeadProgress, StoreError> {
    let progress = tx
        .prepare_cached("SELECT cursor, command_seq FROM lead_progress WHERE id = 1")?
        .query_row([], |r| {
            Ok(LeadProgress {
                cursor: r.get(0)?,
                command_seq: r.get(1)?,
            })
        })
        .optional()?;
    Ok(progress.unwrap_or_default())
}

/// Logs the commands not logged yet. A new one must come after every command the stored
/// progress covers, or a replay would apply it out of order.
fn insert_commands(
    tx: &Transaction<'_>,
    commands: &[CommandRecord],
    stored: LeadProgress,
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO lead_commands (seq, tenant_id, after_cursor, at, command) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for command in commands {
        let inserted = insert.execute((
            command.seq,
            command.tenant_id,
            command.after_cursor,
            command.at,
            &command.command,
        ))?;
        if inserted > 0 && command.seq <= stored.command_seq {
            // Returning drops the transaction, which rolls the insert back.
            return Err(StoreError::Invalid(format!(
                "command seq {} is new but not after the committed command_seq {}",
                command.seq, stored.command_seq
            )));
        }
    }
    Ok(())
}
