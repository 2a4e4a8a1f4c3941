//! Marketing spend an operator entered: an amount per channel and/or
//! campaign over a period, read by the cost and ROI reports.

use rusqlite::TransactionBehavior;
use serde::Serialize;

use crate::{Store, StoreError};

/// One spend entry to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSpend {
    /// The channel it bought (`web`, `email`, …), if it names one.
    pub channel: Option<String>,
    /// The campaign it bought, if it names one.
    pub campaign: Option<String>,
    /// The period's start, unix ms.
    pub from: i64,
    /// The period's end (exclusive), unix ms; equal to `from` for a one-off.
    pub to: i64,
    /// How much.
    pub amount: f64,
    /// In what (ISO 4217).
    pub currency: String,
    /// The operator's words.
    pub note: Option<String>,
}

/// A stored spend entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendRow {
    /// Its id within the store.
    pub id: i64,
    /// The channel it bought.
    pub channel: Option<String>,
    /// The campaign it bought.
    pub campaign: Option<String>,
    /// The period's start, unix ms.
    pub from: i64,
    /// The period's end (exclusive), unix ms.
    pub to: i64,
    /// How much.
    pub amount: f64,
    /// In what.
    pub currency: String,
    /// The operator's words.
    pub note: Option<String>,
    /// When it was entered, unix ms.
    pub created_at: i64,
}

impl Store {
    /// Stores `entries` for `tenant_id` in one transaction (all or none) and returns their
    /// ids in order.
    ///
    /// Fails with [`StoreError::NotFound`] when the tenant does not exist and with
    /// [`StoreError::Invalid`] for an entry whose amount is not a finite number of at least 0,
    /// whose period ends before it starts or whose currency is empty; the error names the
    /// entry by its position.
    pub fn add_spend(
        &self,
        tenant_id: i64,
        entries: &[NewSpend],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        for (i, e) in entries.iter().enumerate() {
            if !e.amount.is_finite() || e.amount < 0.0 {
                return Err(StoreError::Invalid(format!(
                    "spend {i}: the amount must be a number of at least 0 (got {})",
                    e.amount
                )));
            }
            if e.to < e.from {
                return Err(StoreError::Invalid(format!(
                    "spend {i}: the period ends before it starts"
                )));
            }
            if e.currency.trim().is_empty() {
                return Err(StoreError::Invalid(format!(
                    "spend {i}: a currency is needed"
                )));
            }
        }
        let mut conn = self.manager();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let known: i64 = tx
            .prepare_cached("SELECT count(*) FROM tenants WHERE id = ?1")?
            .query_row([tenant_id], |r| r.get(0))?;
        if known == 0 {
            return Err(StoreError::NotFound(format!("tenant {tenant_id}")));
        }
        let mut ids = Vec::with_capacity(entries.len());
        {
            let mut statement = tx.prepare_cached(
                "INSERT INTO spend (tenant_id, channel, campaign, from_at, to_at, amount, \
                 currency, note, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for e in entries {
                statement.execute((
                    tenant_id,
                    &e.channel,
                    &e.campaign,
                    e.from,
                    e.to,
                    e.amount,
                    e.currency.trim().to_ascii_uppercase(),
                    &e.note,
                    now,
                ))?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Every spend entry of `tenant_id`, by period start then id.
    pub fn spend(&self, tenant_id: i64) -> Result<Vec<SpendRow>, StoreError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT id, channel, campaign, from_at, to_at, amount, currency, note, created_at \
             FROM spend WHERE tenant_id = ?1 ORDER BY from_at, id",
        )?;
        let rows = statement
            .query_map([tenant_id], |r| {
                Ok(SpendRow {
                    id: r.get(0)?,
                    channel: r.get(1)?,
                    campaign: r.get(2)?,
                    from: r.get(3)?,
                    to: r.get(4)?,
                    amount: r.get(5)?,
                    currency: r.get(6)?,
                    note: r.get(7)?,
                    created_at: r.get(8)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Removes the spend entry `id` of `tenant_id`; false when there is none.
    pub fn delete_spend(&self, tenant_id: i64, id: i64) -> Result<bool, StoreError> {
        let conn = self.manager();
        let changed = conn
            .prepare_cached("DELETE FROM spend WHERE tenant_id = ?1 AND id = ?2")?
            .execute((tenant_id, id))?;
        Ok(changed > 0)
    }
}
