//! The delivery log: one row per connector and idempotency key, so a message
//! accepted once is never handed to the plugin again. And poll cursors.

use rusqlite::{OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::error::is_foreign_key_violation;
use crate::{Store, StoreError};

/// What is known of one message's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    /// The message's idempotency key.
    pub idempotency_key: String,
    /// `sending`, `accepted`, `retry-after`, `rejected` or `failed`.
    pub status: String,
    /// The provider's id, once accepted.
    pub provider_id: Option<String>,
    /// Why it was refused or failed, or the retry delay.
    pub detail: Option<String>,
    /// How many times it was handed to the plugin.
    pub attempts: i64,
    /// First attempt, unix ms.
    pub created_at: i64,
    /// Last change, unix ms.
    pub updated_at: i64,
}

/// What one attempt came to, for [`Store::finish_deliveries`].
#[derive(Debug, Clone, Copy)]
pub struct DeliveryFinish<'a> {
    /// The connector.
    pub connector_id: i64,
    /// The message's idempotency key.
    pub key: &'a str,
    /// `accepted`, `retry-after`, `rejected` or `failed`.
    pub status: &'a str,
    /// The provider's id, once accepted.
    pub provider_id: Option<&'a str>,
    /// Why it was refused or failed, or the retry delay.
    pub detail: Option<&'a str>,
}

fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        idempotency_key: r.get(0)?,
        status: r.get(1)?,
        provider_id: r.get(2)?,
        detail: r.get(3)?,
        attempts: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

impl Store {
    /// The delivery record of `key` on `connector_id`.
    pub fn delivery(
        &self,
        connector_id: i64,
        key: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let conn = self.reader();
        let record = conn
            .prepare_cached(
                "SELECT idempotency_key, status, provider_id, detail, attempts, created_at, updated_at \
                 FROM deliveries WHERE connector_id = ?1 AND idempotency_key = ?2",
            )?
            .query_row((connector_id, key), record_from_row)
            .optional()?;
        Ok(record)
    }

    /// Marks `key` as being sent (one more attempt) before the plugin is called,
    /// so an interrupted send is visible afterwards.
    pub fn begin_delivery(
        &self,
        connector_id: i64,
        key: &str,
        message_json: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let conn = self.manager();
        let result = conn
            .prepare_cached(
                "INSERT INTO deliveries (connector_id, idempotency_key, status, attempts, message, created_at, updated_at) \
                 VALUES (?1, ?2, 'sending', 1, ?3, ?4, ?4) \
                 ON CONFLICT (connector_id, idempotency_key) DO UPDATE SET \
                   status = 'sending', attempts = attempts + 1, updated_at = excluded.updated_at",
            )?
            .execute((connector_id, key, message_json, now));
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_foreign_key_violation(&e) => {
                Err(StoreError::NotFound(format!("connector {connector_id}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records what the attempt begun with [`Store::begin_delivery`] came to.
    pub fn finish_delivery(
        &self,
        connector_id: i64,
        key: &str,
        status: &str,
        provider_id: Option<&str>,
        detail: Option<&str>,
        now: i64,
    ) -> Result<DeliveryRecord, StoreError> {
        {
            let conn = self.manager();
            let changed = conn
                .prepare_cached(
                    "UPDATE deliveries SET status = ?3, provider_id = ?4, detail = ?5, updated_at = ?6 \
                     WHERE connector_id = ?1 AND idempotency_key = ?2",
                )?
                .execute((connector_id, key, status, provider_id, detail, now))?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("delivery {key:?}")));
            }
        }
        self.delivery(connector_id, key)?
            .ok_or_else(|| StoreError::NotFound(format!("delivery {key:?}")))
    }

    /// [`Store::begin_delivery`] for many messages (`(connector_id, key,
    /// message_json)`) in one transaction, so they share one commit.
    pub fn begin_deliveries(&self, rows: &[(i64, &str, &str)], now: i64) -> Result<(), StoreError> {
        let mut conn = self.manager();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut statement = tx.prepare_cached(
                "INSERT INTO deliveries (connector_id, idempotency_key, status, attempts, message, created_at, updated_at) \
                 VALUES (?1, ?2, 'sending', 1, ?3, ?4, ?4) \
                 ON CONFLICT (connector_id, idempotency_key) DO UPDATE SET \
                   status = 'sending', attempts = attempts + 1, updated_at = excluded.updated_at",
            )?;
            for (connector_id, key, message_json) in rows {
                match statement.execute((connector_id, key, message_json, now)) {
                    Ok(_) => {}
                    Err(e) if is_foreign_key_violation(&e) => {
                        return Err(StoreError::NotFound(format!("connector {connector_id}")));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// [`Store::finish_delivery`] for many attempts in one transaction; the
    /// records in the order given. An attempt that was never begun fails the
    /// whole transaction.
    pub fn finish_deliveries(
        &self,
        rows: &[DeliveryFinish<'_>],
        now: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let mut conn = self.manager();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut records = Vec::with_capacity(rows.len());
        {
            let mut statement = tx.prepare_cached(
                "UPDATE deliveries SET status = ?3, provider_id = ?4, detail = ?5, updated_at = ?6 \
                 WHERE connector_id = ?1 AND idempotency_key = ?2 \
                 RETURNING idempotency_key, status, provider_id, detail, attempts, created_at, updated_at",
            )?;
            for row in rows {
                let record = statement
                    .query_row(
                        (
                            row.connector_id,
                            row.key,
                            row.status,
                            row.provider_id,
                            row.detail,
                            now,
                        ),
                        record_from_row,
                    )
                    .optional()?
                    .ok_or_else(|| StoreError::NotFound(format!("delivery {:?}", row.key)))?;
                records.push(record);
            }
        }
        tx.commit()?;
        Ok(records)
    }

    /// Where the last poll of `connector_id` stopped.
    pub fn poll_cursor(&self, connector_id: i64) -> Result<Option<String>, StoreError> {
        let conn = self.reader();
        let cursor = conn
            .prepare_cached("SELECT cursor FROM poll_cursors WHERE connector_id = ?1")?
            .query_row([connector_id], |r| r.get(0))
            .optional()?;
        Ok(cursor)
    }

    /// Remembers where the next poll starts.
    pub fn set_poll_cursor(
        &self,
        connector_id: i64,
        cursor: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let conn = self.manager();
        conn.prepare_cached(
            "INSERT INTO poll_cursors (connector_id, cursor, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (connector_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        )?
        .execute((connector_id, cursor, now))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{ConnectorSpec, DeliveryFinish, Store, StoreOptions};

    #[test]
    fn deliveries_count_attempts_and_keep_the_outcome_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        let connector_id = {
            let store = Store::open(&path, StoreOptions::default()).unwrap();
            let (t, _) = store.create_tenant("acme").unwrap();
            let spec = ConnectorSpec {
                name: "mail".into(),
                plugin: "email".into(),
                plugin_version: "0.1.0".into(),
                config: Default::default(),
                secrets: Default::default(),
                grants: Default::default(),
                enabled: true,
            };
            let c = store.put_connector(t.id, &spec).unwrap();
            assert_eq!(store.delivery(c.id, "k1").unwrap(), None);
            store.begin_delivery(c.id, "k1", "{}", 1).unwrap();
            let r = store
                .finish_delivery(c.id, "k1", "retry-after", None, Some("60"), 2)
                .unwrap();
            assert_eq!((r.status.as_str(), r.attempts), ("retry-after", 1));
            store.begin_delivery(c.id, "k1", "{}", 3).unwrap();
            store
                .finish_delivery(c.id, "k1", "accepted", Some("msg-9"), None, 4)
                .unwrap();
            store.set_poll_cursor(c.id, "start:100", 5).unwrap();
            assert!(store.begin_delivery(999, "k", "{}", 1).is_err());
            c.id
        };
        let store = Store::open(&path, StoreOptions::default()).unwrap();

        // Many at once: one transaction each way, records in the order given.
        store
            .begin_deliveries(&[(connector_id, "k2", "{}"), (connector_id, "k3", "{}")], 6)
            .unwrap();
        let finished = store
            .finish_deliveries(
                &[
                    DeliveryFinish {
                        connector_id,
                        key: "k3",
                        status: "rejected",
                        provider_id: None,
                        detail: Some("opted-out: unsubscribed"),
                    },
                    DeliveryFinish {
                        connector_id,
                        key: "k2",
                        status: "accepted",
                        provider_id: Some("msg-2"),
                        detail: None,
                    },
                ],
                7,
            )
            .unwrap();
        let got: Vec<_> = finished
            .iter()
            .map(|r| (r.idempotency_key.as_str(), r.status.as_str(), r.attempts))
            .collect();
        assert_eq!(got, [("k3", "rejected", 1), ("k2", "accepted", 1)]);
        // Never begun: the whole group fails and nothing of it is written.
        let never = DeliveryFinish {
            connector_id,
            key: "k-none",
            status: "accepted",
            provider_id: None,
            detail: None,
        };
        let k2_again = DeliveryFinish {
            status: "failed",
            key: "k2",
            ..never
        };
        assert!(store.finish_deliveries(&[k2_again, never], 8).is_err());
        assert_eq!(
            store.delivery(connector_id, "k2").unwrap().unwrap().status,
            "accepted"
        );
        assert!(store.begin_deliveries(&[(999, "k", "{}")], 9).is_err());

        let r = store.delivery(connector_id, "k1").unwrap().unwrap();
        assert_eq!(r.status, "accepted");
        assert_eq!(r.provider_id.as_deref(), Some("msg-9"));
        assert_eq!((r.attempts, r.created_at, r.updated_at), (2, 1, 4));
        assert_eq!(
            store.poll_cursor(connector_id).unwrap().as_deref(),
            Some("start:100")
        );
    }
}
