//! Tenants and their API keys.
//!
//! A key is shown once, at creation; only its SHA-256 is stored, so a stolen database file
//! does not hand out working keys.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::is_unique_violation;
use crate::{Store, StoreError, now_ms, validate_name};

/// Every API key starts with this, so keys are recognisable in configuration and leak scanners.
const API_KEY_PREFIX: &str = "lh_";

/// An organisation using Leadhost; everything else belongs to one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    /// Store-assigned id.
    pub id: i64,
    /// Unique name, matching `^[a-z0-9][a-z0-9-]{0,62}$`.
    pub name: String,
    /// Creation time, unix ms.
    pub created_at: i64,
}

impl Tenant {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Tenant> {
        Ok(Tenant {
            id: row.get(0)?,
            name: row.get(1)?,
            created_at: row.get(2)?,
        })
    }
}

impl Store {
    /// Creates a tenant and returns it with its API key in clear text: `lh_` followed by 32
    /// random bytes in unpadded base64url. The key cannot be recovered later.
    ///
    /// Fails with [`StoreError::Invalid`] when `name` breaks the name rule and with
    /// [`StoreError::AlreadyExists`] when the name is taken.
    pub fn create_tenant(&self, name: &str) -> Result<(Tenant, String), StoreError> {
        validate_name("tenant", name)?;
        let key = new_api_key();
        let created_at = now_ms();
        let conn = self.manager();
        let inserted = conn.query_row(
            "INSERT INTO tenants (name, api_key_sha256, created_at) VALUES (?1, ?2, ?3) RETURNING id",
            (name, hash_api_key(&key).as_slice(), created_at),
            |row| row.get(0),
        );
        let id = match inserted {
            Ok(id) => id,
            Err(error) if is_unique_violation(&error) => {
                return Err(StoreError::AlreadyExists(format!("tenant {name}")));
            }
            Err(error) => return Err(error.into()),
        };
        let tenant = Tenant {
            id,
            name: name.to_string(),
            created_at,
        };
        Ok((tenant, key))
    }

    /// The tenant called `name`, if any.
    pub fn tenant(&self, name: &str) -> Result<Option<Tenant>, StoreError> {
        let conn = self.reader();
        let tenant = conn
            .prepare_cached("SELECT id, name, created_at FROM tenants WHERE name = ?1")?
            .query_row([name], Tenant::from_row)
            .optional()?;
        Ok(tenant)
    }

    /// The tenant whose API key is `key`, if any.
    pub fn tenant_by_api_key(&self, key: &str) -> Result<Option<Tenant>, StoreError> {
        if !key.starts_with(API_KEY_PREFIX) {
            return Ok(None);
        }
        let conn = self.reader();
        let tenant = conn
            .prepare_cached("SELECT id, name, created_at FROM tenants WHERE api_key_sha256 = ?1")?
            .query_row([hash_api_key(key).as_slice()], Tenant::from_row)
            .optional()?;
        Ok(tenant)
    }

    /// Every tenant, by name.
    pub fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let conn = self.reader();
        let mut statement =
            conn.prepare_cached("SELECT id, name, created_at FROM tenants ORDER BY name")?;
        let tenants = statement
            .query_map([], Tenant::from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(tenants)
    }
}

/// A fresh key from the thread-local CSPRNG (ChaCha, seeded from the OS).
fn new_api_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn hash_api_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn api_key_shape() {
        let key = new_api_key();
        let body = key.strip_prefix(API_KEY_PREFIX).unwrap_or_default();
        assert_eq!(
            body.len(),
            43,
            "32 bytes in unpadded base64 are 43 chars: {key}"
        );
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(new_api_key(), key);
    }
}
