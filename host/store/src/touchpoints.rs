//! Reading stored touchpoints: cursor paging per tenant or per connector, and counts.

use serde::{Deserialize, Serialize};

use crate::connectors::connector_names;
use crate::{Store, StoreError};

/// Page size when the query gives none.
const DEFAULT_LIMIT: u32 = 100;
/// Largest page size; larger requests are cut down to it.
const MAX_LIMIT: u32 = 1000;

/// Which touchpoints of a tenant to return.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TouchpointQuery {
    /// Only this connector's touchpoints (by name); all of the tenant's when absent.
    pub connector: Option<String>,
    /// Cursor: only touchpoints with an id greater than this (a previous page's `next`).
    pub after: Option<i64>,
    /// Page size: default 100, at most 1000 (larger values are cut down, 0 counts as 1).
    pub limit: Option<u32>,
}

/// A touchpoint as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredTouchpoint {
    /// Store-assigned id; grows in commit order.
    pub id: i64,
    /// The name of the connector it came through.
    pub connector: String,
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

/// One page of touchpoints, oldest (lowest id) first.
#[derive(Debug, Clone, Serialize)]
pub struct TouchpointPage {
    /// The touchpoints of this page.
    pub items: Vec<StoredTouchpoint>,
    /// The `after` for the next page; `None` when no more touchpoints existed when the page was
    /// read. To follow new arrivals, keep paging from the last item's id.
    pub next: Option<i64>,
}

impl Store {
    /// One page of `tenant_id`'s touchpoints in id order, from one consistent snapshot.
    ///
    /// Fails with [`StoreError::NotFound`] when `query.connector` names no connector of the
    /// tenant.
    pub fn touchpoints(
        &self,
        tenant_id: i64,
        query: &TouchpointQuery,
    ) -> Result<TouchpointPage, StoreError> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let wanted = i64::from(limit) + 1;
        let limit = limit as usize;
        let after = query.after.unwrap_or(0);
        let mut conn = self.reader();
        // One read transaction: the per-connector scans below must see the same commits, or
        // a row committed between two scans could be skipped by the cursor.
        let tx = conn.transaction()?;
        let mut connectors = connector_names(&tx, tenant_id)?;
        if let Some(name) = &query.connector {
            connectors.retain(|(_, n)| n == name);
            if connectors.is_empty() {
                return Err(StoreError::NotFound(format!(
                    "connector {name} of tenant {tenant_id}"
                )));
            }
        }

        // The index is (tenant_id, connector_id, id): read the next `limit + 1` ids of each
        // connector from the index alone, merge, keep the lowest. The extra one tells whether
        // there is a next page.
        let mut ids: Vec<(i64, usize)> = Vec::new();
        {
            let mut scan = tx.prepare_cached(
                "SELECT id FROM touchpoints WHERE tenant_id = ?1 AND connector_id = ?2 \
                 AND id > ?3 ORDER BY id LIMIT ?4",
            )?;
            for (index, (connector_id, _)) in connectors.iter().enumerate() {
                let mut rows = scan.query((tenant_id, connector_id, after, wanted))?;
                while let Some(row) = rows.next()? {
                    ids.push((row.get(0)?, index));
                }
            }
        }
        ids.sort_unstable();
        let more = ids.len() > limit;
        ids.truncate(limit);

        let mut items = Vec::with_capacity(ids.len());
        {
            let mut fetch = tx.prepare_cached(
                "SELECT external_id, occurred_at, received_at, channel, kind, document \
                 FROM touchpoints WHERE id = ?1",
            )?;
            for (id, index) in &ids {
                let item = fetch.query_row([id], |row| {
                    Ok(StoredTouchpoint {
                        id: *id,
                        connector: connectors[*index].1.clone(),
                        external_id: row.get(0)?,
                        occurred_at: row.get(1)?,
                        received_at: row.get(2)?,
                        channel: row.get(3)?,
                        kind: row.get(4)?,
                        document: row.get(5)?,
                    })
                })?;
                items.push(item);
            }
        }
        tx.commit()?;
        let next = if more {
            items.last().map(|item| item.id)
        } else {
            None
        };
        Ok(TouchpointPage { items, next })
    }

    /// How many touchpoints `tenant_id` has, in all or in one connector.
    pub fn count_touchpoints(
        &self,
        tenant_id: i64,
        connector_id: Option<i64>,
    ) -> Result<u64, StoreError> {
        let conn = self.reader();
        let count: i64 = match connector_id {
            Some(connector_id) => conn
                .prepare_cached(
                    "SELECT count(*) FROM touchpoints WHERE tenant_id = ?1 AND connector_id = ?2",
                )?
                .query_row((tenant_id, connector_id), |row| row.get(0))?,
            None => conn
                .prepare_cached("SELECT count(*) FROM touchpoints WHERE tenant_id = ?1")?
                .query_row([tenant_id], |row| row.get(0))?,
        };
        // count(*) is never negative.
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
