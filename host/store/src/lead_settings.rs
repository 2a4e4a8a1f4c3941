//! Versioned lead-engine settings of a tenant (`scoring`, `policy`, `routing`, `handoff`, …).
//!
//! A change never overwrites: it adds the next version, so the engine can name the version
//! it applied and a replay applies the same one.

use rusqlite::{OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::{Store, StoreError, json_text, now_ms, validate_name};

/// One version of a named setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadSetting {
    /// 1 for the first version of the name, +1 for each later one.
    pub version: i64,
    /// The setting, JSON text as given; serialized as that JSON.
    #[serde(serialize_with = "json_text")]
    pub document: String,
    /// When this version was stored, unix ms.
    pub created_at: i64,
}

impl Store {
    /// Stores `document_json` as the next version of `tenant_id`'s setting `name` and returns
    /// that version (1 for the first).
    ///
    /// Fails with [`StoreError::NotFound`] when the tenant does not exist and with
    /// [`StoreError::Invalid`] when `name` breaks the name rule
    /// (`^[a-z0-9][a-z0-9-]{0,62}$`) or the document is not JSON.
    pub fn put_lead_setting(
        &self,
        tenant_id: i64,
        name: &str,
        document_json: &str,
    ) -> Result<i64, StoreError> {
        validate_name("setting", name)?;
        if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(document_json) {
            return Err(StoreError::Invalid(format!(
                "setting {name} is not JSON: {error}"
            )));
        }
        let mut conn = self.manager();
        // Immediate: the next version is read and written under the write lock.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let tenant: Option<i64> = tx
            .prepare_cached("SELECT id FROM tenants WHERE id = ?1")?
            .query_row([tenant_id], |r| r.get(0))
            .optional()?;
        if tenant.is_none() {
            return Err(StoreError::NotFound(format!("tenant {tenant_id}")));
        }
        let version: i64 = tx
            .prepare_cached(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM lead_settings \
                 WHERE tenant_id = ?1 AND name = ?2",
            )?
            .query_row((tenant_id, name), |r| r.get(0))?;
        tx.prepare_cached(
            "INSERT INTO lead_settings (tenant_id, name, version, document, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute((tenant_id, name, version, document_json, now_ms()))?;
        tx.commit()?;
        Ok(version)
    }

    /// The latest version of `tenant_id`'s setting `name`, if any.
    pub fn lead_setting(
        &self,
        tenant_id: i64,
        name: &str,
    ) -> Result<Option<LeadSetting>, StoreError> {
        let conn = self.reader();
        let setting = conn
            .prepare_cached(
                "SELECT version, document, created_at FROM lead_settings \
                 WHERE tenant_id = ?1 AND name = ?2 ORDER BY version DESC LIMIT 1",
            )?
            .query_row((tenant_id, name), |r| {
                Ok(LeadSetting {
                    version: r.get(0)?,
                    document: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })
            .optional()?;
        Ok(setting)
    }

    /// Version `version` of `tenant_id`'s setting `name`, if it exists.
    pub fn lead_setting_version(
        &self,
        tenant_id: i64,
        name: &str,
        version: i64,
    ) -> Result<Option<LeadSetting>, StoreError> {
        let conn = self.reader();
        let setting = conn
            .prepare_cached(
                "SELECT version, document, created_at FROM lead_settings \
                 WHERE tenant_id = ?1 AND name = ?2 AND version = ?3",
            )?
            .query_row((tenant_id, name, version), |r| {
                Ok(LeadSetting {
                    version: r.get(0)?,
                    document: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })
            .optional()?;
        Ok(setting)
    }
}
