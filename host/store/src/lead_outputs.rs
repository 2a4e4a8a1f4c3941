//! The lead engine's outputs: stage transitions, merges and hand-offs, written by
//! [`Store::commit_lead_batch`] and read by the API and reports.
//!
//! Transitions never change once written; merges and hand-offs change status, so their
//! writes are upserts (the later row wins).

use rusqlite::{Row, Transaction};
use serde::Serialize;

use crate::{Store, StoreError, json_text};

/// The statuses a hand-off can have.
pub const HANDOFF_STATUSES: [&str; 6] = [
    "open",
    "accepted",
    "rejected",
    "reassigned",
    "escalated",
    "closed",
];

/// One stage transition of a person's lead. Immutable once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionRow {
    /// The owning tenant.
    pub tenant_id: i64,
    /// The (canonical) person whose lead moved.
    pub person_id: i64,
    /// The transition's number within the person's history; with the person, its key.
    pub seq: i64,
    /// The stage left (kebab-case stage name).
    pub from_stage: String,
    /// The stage entered.
    pub to_stage: String,
    /// When, unix ms.
    pub at: i64,
    /// Why, JSON text; serialized as that JSON.
    #[serde(serialize_with = "json_text")]
    pub cause: String,
    /// Who, JSON text; serialized as that JSON.
    #[serde(serialize_with = "json_text")]
    pub actor: String,
}

/// One merge of two people; only `undone` ever changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeRow {
    /// The owning tenant.
    pub tenant_id: i64,
    /// The merge's id within the tenant.
    pub merge_id: i64,
    /// The person that stayed.
    pub survivor: i64,
    /// The person merged into the survivor.
    pub absorbed: i64,
    /// When, unix ms.
    pub at: i64,
    /// What linked them, JSON text; serialized as that JSON.
    #[serde(serialize_with = "json_text")]
    pub cause: String,
    /// Whether the merge was undone.
    pub undone: bool,
}

/// One hand-off of a lead to a sales owner; its status changes over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoffRow {
    /// The owning tenant.
    pub tenant_id: i64,
    /// The person handed off.
    pub person_id: i64,
    /// The hand-off's number within the person's history; with the person, its key.
    pub seq: i64,
    /// The team it was routed to.
    pub team: String,
    /// The user it was assigned to.
    pub owner: String,
    /// When it was assigned, unix ms.
    pub assigned_at: i64,
    /// When the owner must have accepted it (the SLA), unix ms.
    pub due_at: i64,
    /// One of [`HANDOFF_STATUSES`].
    pub status: String,
    /// Why it was rejected, reassigned, escalated or closed, if known.
    pub reason: Option<String>,
    /// When the status last changed, unix ms.
    pub updated_at: i64,
}

impl Store {
    /// The transitions of `person_id`'s lead, in seq order.
    pub fn lead_transitions(
        &self,
        tenant_id: i64,
        person_id: i64,
    ) -> Result<Vec<TransitionRow>, StoreError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT tenant_id, person_id, seq, from_stage, to_stage, at, cause, actor \
             FROM lead_transitions WHERE tenant_id = ?1 AND person_id = ?2 ORDER BY seq",
        )?;
        let rows = statement
            .query_map((tenant_id, person_id), transition_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The transitions of `tenant_id` with `from_at <= at < to_at`, by time, then person and
    /// seq: the input of funnel and velocity reports.
    pub fn lead_transitions_between(
        &self,
        tenant_id: i64,
        from_at: i64,
        to_at: i64,
    ) -> Result<Vec<TransitionRow>, StoreError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT tenant_id, person_id, seq, from_stage, to_stage, at, cause, actor \
             FROM lead_transitions WHERE tenant_id = ?1 AND at >= ?2 AND at < ?3 \
             ORDER BY at, person_id, seq",
        )?;
        let rows = statement
            .query_map((tenant_id, from_at, to_at), transition_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The hand-offs of `tenant_id`, all or those with `status`, by person and seq.
    ///
    /// Fails with [`StoreError::Invalid`] when `status` is not one of [`HANDOFF_STATUSES`].
    pub fn lead_handoffs(
        &self,
        tenant_id: i64,
        status: Option<&str>,
    ) -> Result<Vec<HandoffRow>, StoreError> {
        if let Some(status) = status {
            validate_handoff_status(status)?;
        }
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT tenant_id, person_id, seq, team, owner, assigned_at, due_at, status, reason, \
             updated_at FROM lead_handoffs WHERE tenant_id = ?1 AND (?2 IS NULL OR status = ?2) \
             ORDER BY person_id, seq",
        )?;
        let rows = statement
            .query_map((tenant_id, status), |r| {
                Ok(HandoffRow {
                    tenant_id: r.get(0)?,
                    person_id: r.get(1)?,
                    seq: r.get(2)?,
                    team: r.get(3)?,
                    owner: r.get(4)?,
                    assigned_at: r.get(5)?,
                    due_at: r.get(6)?,
                    status: r.get(7)?,
                    reason: r.get(8)?,
                    updated_at: r.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The merges of `tenant_id`, undone ones included, by merge id.
    pub fn lead_merges(&self, tenant_id: i64) -> Result<Vec<MergeRow>, StoreError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT tenant_id, merge_id, survivor, absorbed, at, cause, undone \
             FROM lead_merges WHERE tenant_id = ?1 ORDER BY merge_id",
        )?;
        let rows = statement
            .query_map([tenant_id], |r| {
                Ok(MergeRow {
                    tenant_id: r.get(0)?,
                    merge_id: r.get(1)?,
                    survivor: r.get(2)?,
                    absorbed: r.get(3)?,
                    at: r.get(4)?,
                    cause: r.get(5)?,
                    undone: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

fn transition_from_row(r: &Row<'_>) -> rusqlite::Result<TransitionRow> {
    Ok(TransitionRow {
        tenant_id: r.get(0)?,
        person_id: r.get(1)?,
        seq: r.get(2)?,
        from_stage: r.get(3)?,
        to_stage: r.get(4)?,
        at: r.get(5)?,
        cause: r.get(6)?,
        actor: r.get(7)?,
    })
}

pub(crate) fn validate_handoff_status(status: &str) -> Result<(), StoreError> {
    if HANDOFF_STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "hand-off status {status:?} is not one of {}",
            HANDOFF_STATUSES.join(", ")
        )))
    }
}

pub(crate) fn insert_transitions(
    tx: &Transaction<'_>,
    rows: &[TransitionRow],
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO lead_transitions \
         (tenant_id, person_id, seq, from_stage, to_stage, at, cause, actor) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for row in rows {
        insert.execute((
            row.tenant_id,
            row.person_id,
            row.seq,
            &row.from_stage,
            &row.to_stage,
            row.at,
            &row.cause,
            &row.actor,
        ))?;
    }
    Ok(())
}

pub(crate) fn upsert_merges(tx: &Transaction<'_>, rows: &[MergeRow]) -> Result<(), StoreError> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO lead_merges (tenant_id, merge_id, survivor, absorbed, at, cause, undone) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (tenant_id, merge_id) DO UPDATE SET undone = excluded.undone",
    )?;
    for row in rows {
        upsert.execute((
            row.tenant_id,
            row.merge_id,
            row.survivor,
            row.absorbed,
            row.at,
            &row.cause,
            row.undone,
        ))?;
    }
    Ok(())
}

pub(crate) fn upsert_handoffs(tx: &Transaction<'_>, rows: &[HandoffRow]) -> Result<(), StoreError> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO lead_handoffs \
         (tenant_id, person_id, seq, team, owner, assigned_at, due_at, status, reason, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (tenant_id, person_id, seq) DO UPDATE SET team = excluded.team, \
         owner = excluded.owner, assigned_at = excluded.assigned_at, due_at = excluded.due_at, \
         status = excluded.status, reason = excluded.reason, updated_at = excluded.updated_at",
    )?;
    for row in rows {
        upsert.execute((
            row.tenant_id,
            row.person_id,
            row.seq,
            &row.team,
            &row.owner,
            row.assigned_at,
            row.due_at,
            &row.status,
            &row.reason,
            row.updated_at,
        ))?;
    }
    Ok(())
}
