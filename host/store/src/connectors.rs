//! Connectors: a plugin enabled for a tenant, with its configuration, secrets and grants.
//!
//! Config and grants are JSON text in the `connectors` row; secrets have their own table so
//! that they are never part of a row that gets logged or exported wholesale.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::{Store, StoreError, now_ms, validate_name};

/// What a connector's plugin is allowed to do. Stored as given; the runtime enforces it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Grants {
    /// Hosts the plugin may call out to.
    #[serde(default)]
    pub outbound_hosts: Vec<String>,
    /// Whether those calls may reach private or loopback addresses.
    #[serde(default)]
    pub allow_private_networks: bool,
    /// Whether the plugin may use its key-value state.
    #[serde(default)]
    pub state: bool,
    /// Memory limit of one instance, MiB (runtime default when absent).
    #[serde(default)]
    pub memory_mib: Option<u32>,
    /// Time limit of one call, ms (runtime default when absent).
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    /// Deliveries through the connector at once (the dispatcher's default
    /// when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<u32>,
    /// Messages per `deliver-batch` call, for plugins that export it (the
    /// dispatcher's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
}

/// The desired state of a connector, as handed to [`Store::put_connector`].
///
/// `Debug` shows secret names only, never their values.
#[derive(Clone, Serialize, Deserialize)]
pub struct ConnectorSpec {
    /// Unique per tenant, matching `^[a-z0-9][a-z0-9-]{0,62}$`.
    pub name: String,
    /// The plugin's name.
    pub plugin: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// Plain configuration handed to the plugin.
    pub config: BTreeMap<String, String>,
    /// Secret configuration handed to the plugin.
    pub secrets: BTreeMap<String, String>,
    /// What the plugin may do.
    pub grants: Grants,
    /// Whether the connector accepts and processes events.
    pub enabled: bool,
}

/// A stored connector.
///
/// Deliberately not `Serialize`, and its `Debug` shows secret names only, so that secrets do
/// not leak into responses or logs by accident.
#[derive(Clone)]
pub struct Connector {
    /// Store-assigned id; the key of its touchpoints and state.
    pub id: i64,
    /// The owning tenant.
    pub tenant_id: i64,
    /// Unique per tenant.
    pub name: String,
    /// The plugin's name.
    pub plugin: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// Plain configuration.
    pub config: BTreeMap<String, String>,
    /// Secret configuration, in clear text.
    pub secrets: BTreeMap<String, String>,
    /// What the plugin may do.
    pub grants: Grants,
    /// Whether the connector accepts and processes events.
    pub enabled: bool,
    /// 1 when created, +1 on every change: a cheap "has this changed since I loaded it?".
    pub revision: i64,
    /// Time of the last change, unix ms.
    pub updated_at: i64,
}

impl Connector {
    /// The names of its secrets, sorted; safe to show.
    pub fn secret_names(&self) -> Vec<String> {
        self.secrets.keys().cloned().collect()
    }

    /// Whether `spec` describes exactly this connector (then a put changes nothing).
    fn matches(&self, spec: &ConnectorSpec) -> bool {
        self.name == spec.name
            && self.plugin == spec.plugin
            && self.plugin_version == spec.plugin_version
            && self.config == spec.config
            && self.secrets == spec.secrets
            && self.grants == spec.grants
            && self.enabled == spec.enabled
    }
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("name", &self.name)
            .field("plugin", &self.plugin)
            .field("plugin_version", &self.plugin_version)
            .field("config", &self.config)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("grants", &self.grants)
            .field("enabled", &self.enabled)
            .field("revision", &self.revision)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl fmt::Debug for ConnectorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorSpec")
            .field("name", &self.name)
            .field("plugin", &self.plugin)
            .field("plugin_version", &self.plugin_version)
            .field("config", &self.config)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("grants", &self.grants)
            .field("enabled", &self.enabled)
            .finish()
    }
}

const SELECT_CONNECTOR: &str = "SELECT id, tenant_id, name, plugin, plugin_version, config, \
     grants, enabled, revision, updated_at FROM connectors";

impl Store {
    /// Creates or replaces the connector `spec.name` of `tenant_id` (secrets included).
    ///
    /// A new connector gets revision 1; a change bumps the revision by 1; a put that changes
    /// nothing returns the stored connector untouched (same revision), so re-applying the
    /// same configuration is free. Fails with [`StoreError::Invalid`] for a bad name and
    /// [`StoreError::NotFound`] for an unknown tenant.
    pub fn put_connector(
        &self,
        tenant_id: i64,
        spec: &ConnectorSpec,
    ) -> Result<Connector, StoreError> {
        validate_name("connector", &spec.name)?;
        let config = serde_json::to_string(&spec.config)?;
        let grants = serde_json::to_string(&spec.grants)?;
        let mut conn = self.manager();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let tenant_exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?1)",
            [tenant_id],
            |row| row.get(0),
        )?;
        if !tenant_exists {
            return Err(StoreError::NotFound(format!("tenant {tenant_id}")));
        }
        let updated_at = now_ms();
        let (id, revision) = match load_connector(&tx, tenant_id, &spec.name)? {
            Some(current) if current.matches(spec) => return Ok(current),
            Some(current) => {
                tx.execute(
                    "UPDATE connectors SET plugin = ?1, plugin_version = ?2, config = ?3, \
                     grants = ?4, enabled = ?5, revision = ?6, updated_at = ?7 WHERE id = ?8",
                    (
                        &spec.plugin,
                        &spec.plugin_version,
                        &config,
                        &grants,
                        spec.enabled,
                        current.revision + 1,
                        updated_at,
                        current.id,
                    ),
                )?;
                tx.execute(
                    "DELETE FROM connector_secrets WHERE connector_id = ?1",
                    [current.id],
                )?;
                (current.id, current.revision + 1)
            }
            None => {
                let id = tx.query_row(
                    "INSERT INTO connectors (tenant_id, name, plugin, plugin_version, config, \
                     grants, enabled, revision, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8) RETURNING id",
                    (
                        tenant_id,
                        &spec.name,
                        &spec.plugin,
                        &spec.plugin_version,
                        &config,
                        &grants,
                        spec.enabled,
                        updated_at,
                    ),
                    |row| row.get(0),
                )?;
                (id, 1)
            }
        };
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO connector_secrets (connector_id, name, value) VALUES (?1, ?2, ?3)",
            )?;
            for (name, value) in &spec.secrets {
                insert.execute((id, name, value))?;
            }
        }
        tx.commit()?;
        Ok(Connector {
            id,
            tenant_id,
            name: spec.name.clone(),
            plugin: spec.plugin.clone(),
            plugin_version: spec.plugin_version.clone(),
            config: spec.config.clone(),
            secrets: spec.secrets.clone(),
            grants: spec.grants.clone(),
            enabled: spec.enabled,
            revision,
            updated_at,
        })
    }

    /// Enables or disables the connector `name` of `tenant_id`; bumps the revision when this
    /// changes its state. Fails with [`StoreError::NotFound`] when there is no such connector.
    pub fn set_connector_enabled(
        &self,
        tenant_id: i64,
        name: &str,
        enabled: bool,
    ) -> Result<Connector, StoreError> {
        let mut conn = self.manager();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(mut connector) = load_connector(&tx, tenant_id, name)? else {
            return Err(StoreError::NotFound(format!(
                "connector {name} of tenant {tenant_id}"
            )));
        };
        if connector.enabled == enabled {
            return Ok(connector);
        }
        connector.enabled = enabled;
        connector.revision += 1;
        connector.updated_at = now_ms();
        tx.execute(
            "UPDATE connectors SET enabled = ?1, revision = ?2, updated_at = ?3 WHERE id = ?4",
            (
                enabled,
                connector.revision,
                connector.updated_at,
                connector.id,
            ),
        )?;
        tx.commit()?;
        Ok(connector)
    }

    /// The connector `name` of `tenant_id`, with its secrets, if any.
    pub fn connector(&self, tenant_id: i64, name: &str) -> Result<Option<Connector>, StoreError> {
        load_connector(&self.reader(), tenant_id, name)
    }

    /// Every connector of `tenant_id`, with their secrets, by name.
    pub fn list_connectors(&self, tenant_id: i64) -> Result<Vec<Connector>, StoreError> {
        let conn = self.reader();
        let mut connectors = {
            let mut statement = conn.prepare_cached(&format!(
                "{SELECT_CONNECTOR} WHERE tenant_id = ?1 ORDER BY name"
            ))?;
            let rows = statement
                .query_map([tenant_id], ConnectorRow::read)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(ConnectorRow::into_connector)
                .collect::<Result<Vec<_>, _>>()?
        };
        let mut statement = conn.prepare_cached(
            "SELECT s.connector_id, s.name, s.value FROM connector_secrets s \
             JOIN connectors c ON c.id = s.connector_id WHERE c.tenant_id = ?1",
        )?;
        let position: HashMap<i64, usize> = connectors
            .iter()
            .enumerate()
            .map(|(index, connector)| (connector.id, index))
            .collect();
        let mut rows = statement.query([tenant_id])?;
        while let Some(row) = rows.next()? {
            let connector_id: i64 = row.get(0)?;
            if let Some(&index) = position.get(&connector_id) {
                connectors[index].secrets.insert(row.get(1)?, row.get(2)?);
            }
        }
        Ok(connectors)
    }
}

/// Every connector id of `tenant_id` with its name; for touchpoint queries.
pub(crate) fn connector_names(
    conn: &Connection,
    tenant_id: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut statement =
        conn.prepare_cached("SELECT id, name FROM connectors WHERE tenant_id = ?1")?;
    let names = statement
        .query_map([tenant_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}

/// Loads one connector with its secrets, inside whatever transaction `conn` is in.
fn load_connector(
    conn: &Connection,
    tenant_id: i64,
    name: &str,
) -> Result<Option<Connector>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "{SELECT_CONNECTOR} WHERE tenant_id = ?1 AND name = ?2"
        ))?
        .query_row((tenant_id, name), ConnectorRow::read)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut connector = row.into_connector()?;
    let mut statement =
        conn.prepare_cached("SELECT name, value FROM connector_secrets WHERE connector_id = ?1")?;
    connector.secrets = statement
        .query_map([connector.id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(Some(connector))
}

/// A `connectors` row before its JSON columns are parsed.
struct ConnectorRow {
    id: i64,
    tenant_id: i64,
    name: String,
    plugin: String,
    plugin_version: String,
    config: String,
    grants: String,
    enabled: bool,
    revision: i64,
    updated_at: i64,
}

impl ConnectorRow {
    /// Reads the columns of [`SELECT_CONNECTOR`], in order.
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConnectorRow> {
        Ok(ConnectorRow {
            id: row.get(0)?,
            tenant_id: row.get(1)?,
            name: row.get(2)?,
            plugin: row.get(3)?,
            plugin_version: row.get(4)?,
            config: row.get(5)?,
            grants: row.get(6)?,
            enabled: row.get(7)?,
            revision: row.get(8)?,
            updated_at: row.get(9)?,
        })
    }

    /// Parses the JSON columns; secrets are loaded separately.
    fn into_connector(self) -> Result<Connector, StoreError> {
        Ok(Connector {
            id: self.id,
            tenant_id: self.tenant_id,
            name: self.name,
            plugin: self.plugin,
            plugin_version: self.plugin_version,
            config: serde_json::from_str(&self.config)?,
            secrets: BTreeMap::new(),
            grants: serde_json::from_str(&self.grants)?,
            enabled: self.enabled,
            revision: self.revision,
            updated_at: self.updated_at,
        })
    }
}
