//! Schema migrations and per-connection settings.
//!
//! The schema version lives in `PRAGMA user_version`: version `n` means the first `n` entries
//! of [`MIGRATIONS`] have been applied. Released migrations are never edited, only appended to.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::{StoreError, StoreOptions};

/// How long a connection waits for another one's write lock before giving up with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// Each entry moves the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: tenants, connectors with their secrets and plugin state, touchpoints.
    r#"
    CREATE TABLE tenants (
        id             INTEGER PRIMARY KEY,
        name           TEXT    NOT NULL UNIQUE,
        api_key_sha256 BLOB    NOT NULL UNIQUE,
        created_at     INTEGER NOT NULL
    );

    CREATE TABLE connectors (
        id             INTEGER PRIMARY KEY,
        tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
        name           TEXT    NOT NULL,
        plugin         TEXT    NOT NULL,
        plugin_version TEXT    NOT NULL,
        config         TEXT    NOT NULL, -- JSON object of strings
        grants         TEXT    NOT NULL, -- JSON of Grants
        enabled        INTEGER NOT NULL,
        revision       INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        UNIQUE (tenant_id, name)
    );

    CREATE TABLE connector_secrets (
        connector_id INTEGER NOT NULL REFERENCES connectors(id),
        name         TEXT    NOT NULL,
        value        TEXT    NOT NULL,
        PRIMARY KEY (connector_id, name)
    ) WITHOUT ROWID;

    CREATE TABLE connector_state (
        connector_id INTEGER NOT NULL REFERENCES connectors(id),
        key          TEXT    NOT NULL,
        value        BLOB    NOT NULL,
        PRIMARY KEY (connector_id, key)
    ) WITHOUT ROWID;

    -- No AUTOINCREMENT: ids only grow because rows are never deleted, and the single writer
    -- assigns them in commit order, which is what makes `id` a safe paging cursor.
    -- The idempotency key is led by the event time so that index inserts stay adjacent.
    CREATE TABLE touchpoints (
        id           INTEGER PRIMARY KEY,
        tenant_id    INTEGER NOT NULL,
        connector_id INTEGER NOT NULL,
        key_time     INTEGER NOT NULL,
        external_id  TEXT    NOT NULL,
        occurred_at  INTEGER NOT NULL,
        received_at  INTEGER NOT NULL,
        channel      TEXT    NOT NULL,
        kind         TEXT    NOT NULL,
        document     TEXT    NOT NULL,
        UNIQUE (tenant_id, connector_id, key_time, external_id)
    );

    -- (tenant_id, connector_id, rowid): serves paging per connector directly and paging per
    -- tenant by merging the tenant's connectors; inserts land at the end of each range.
    CREATE INDEX touchpoints_by_connector ON touchpoints(tenant_id, connector_id);
    "#,
    // 2: the delivery log (one row per idempotency key) and poll cursors.
    r#"
    CREATE TABLE deliveries (
        connector_id    INTEGER NOT NULL REFERENCES connectors(id),
        idempotency_key TEXT    NOT NULL,
        status          TEXT    NOT NULL, -- sending | accepted | retry-after | rejected | failed
        provider_id     TEXT,
        detail          TEXT,
        attempts        INTEGER NOT NULL,
        message         TEXT    NOT NULL, -- JSON of the message
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        PRIMARY KEY (connector_id, idempotency_key)
    ) WITHOUT ROWID;

    CREATE TABLE poll_cursors (
        connector_id INTEGER PRIMARY KEY REFERENCES connectors(id),
        cursor       TEXT    NOT NULL,
        updated_at   INTEGER NOT NULL
    );
    "#,
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens the ingest writer's connection: WAL, the configured durability and page cache.
pub(crate) fn open_writer(path: &Path, options: &StoreOptions) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Invalid(format!(
            "{} cannot use write-ahead logging (journal_mode is {mode})",
            path.display()
        )));
    }
    set_synchronous(&conn, options)?;
    conn.pragma_update(None, "cache_size", -i64::from(options.cache_kib))?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// Opens the connection for tenants, connectors and state writes: enforces foreign keys.
pub(crate) fn open_manager(path: &Path, options: &StoreOptions) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    set_synchronous(&conn, options)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// Opens the connection for reads; it refuses writes so that a slip cannot bypass the writers.
pub(crate) fn open_reader(path: &Path, options: &StoreOptions) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "cache_size", -i64::from(options.cache_kib))?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

fn set_synchronous(conn: &Connection, options: &StoreOptions) -> Result<(), StoreError> {
    let level = if options.synchronous_full {
        "FULL"
    } else {
        "NORMAL"
    };
    conn.pragma_update(None, "synchronous", level)?;
    Ok(())
}

/// Brings the schema up to [`SCHEMA_VERSION`] in one transaction.
///
/// The version is read inside the write transaction, so two processes opening the same file
/// at once cannot both apply a migration.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if !(0..=SCHEMA_VERSION).contains(&current) {
        return Err(StoreError::Invalid(format!(
            "store schema version {current} is not one this build supports (0..={SCHEMA_VERSION})"
        )));
    }
    // `current` is within 0..=MIGRATIONS.len() here, so the conversion and slice cannot fail.
    let start = usize::try_from(current).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql)?;
        tracing::info!(version = index + 1, "store schema migrated");
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
