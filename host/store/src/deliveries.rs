//! The delivery log: one row per connector and idempotency key, so a message
//! accepted once is never handed to the plugin again. And poll cursors.

use rusqlite::OptionalExtension;
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
            .query_row((connector_id, key), |r| {
                Ok(DeliveryRecord {
                    idempotency_key: r.get(0)?,
                    status: r.get(1)?,
                    provider_id: r.get(2)?,
                    detail: r.get(3)?,
                    attempts: r.get(4)?,
                    created_at: r.get(5)?,
                    updated_at: r.get(6)?,
                })
            })
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
    use crate::{ConnectorSpec, Store, StoreOptions};

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
