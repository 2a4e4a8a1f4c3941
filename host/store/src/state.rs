//! Plugin key-value state, scoped to one connector.

use rusqlite::OptionalExtension;

use crate::error::is_foreign_key_violation;
use crate::{Store, StoreError};

impl Store {
    /// The value stored under `key` for `connector_id`, if any.
    pub fn state_get(&self, connector_id: i64, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.reader();
        let value = conn
            .prepare_cached(
                "SELECT value FROM connector_state WHERE connector_id = ?1 AND key = ?2",
            )?
            .query_row((connector_id, key), |row| row.get(0))
            .optional()?;
        Ok(value)
    }

    /// Stores `value` under `key` for `connector_id`, replacing any previous value.
    /// Fails with [`StoreError::NotFound`] when the connector does not exist.
    pub fn state_set(&self, connector_id: i64, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let conn = self.manager();
        let result = conn
            .prepare_cached(
                "INSERT INTO connector_state (connector_id, key, value) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (connector_id, key) DO UPDATE SET value = excluded.value",
            )?
            .execute((connector_id, key, value));
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_foreign_key_violation(&error) => {
                Err(StoreError::NotFound(format!("connector {connector_id}")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Removes `key` for `connector_id`; removing a missing key is not an error.
    pub fn state_delete(&self, connector_id: i64, key: &str) -> Result<(), StoreError> {
        let conn = self.manager();
        conn.prepare_cached("DELETE FROM connector_state WHERE connector_id = ?1 AND key = ?2")?
            .execute((connector_id, key))?;
        Ok(())
    }
}
