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
    // 3: the lead engine: versioned tenant settings, its progress over the touchpoint log, the
    // command log, snapshots of its state, its outputs and the outbox of outbound calls.
    // Status columns have no CHECK: SQLite cannot alter one, and the set of statuses will grow;
    // the Rust side validates them.
    r#"
    CREATE TABLE lead_settings (
        tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
        name       TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        document   TEXT    NOT NULL, -- JSON
        created_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, name, version)
    );

    -- One row (id = 1); absent means (0, 0).
    CREATE TABLE lead_progress (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        cursor      INTEGER NOT NULL, -- last touchpoint id applied
        command_seq INTEGER NOT NULL  -- last command seq applied
    );

    -- seq is assigned by the engine, strictly increasing: the replay order of commands.
    CREATE TABLE lead_commands (
        seq          INTEGER PRIMARY KEY,
        tenant_id    INTEGER NOT NULL,
        after_cursor INTEGER NOT NULL, -- applied after the touchpoint with this id
        at           INTEGER NOT NULL,
        command      TEXT    NOT NULL  -- JSON
    );

    -- One row (id = 1) when a snapshot exists: the progress its states were taken at.
    CREATE TABLE lead_snapshot_meta (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        cursor      INTEGER NOT NULL,
        command_seq INTEGER NOT NULL,
        taken_at    INTEGER NOT NULL
    );

    CREATE TABLE lead_snapshots (
        tenant_id INTEGER PRIMARY KEY,
        state     BLOB    NOT NULL
    );

    CREATE TABLE lead_transitions (
        tenant_id  INTEGER NOT NULL,
        person_id  INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        from_stage TEXT    NOT NULL,
        to_stage   TEXT    NOT NULL,
        at         INTEGER NOT NULL,
        cause      TEXT    NOT NULL, -- JSON
        actor      TEXT    NOT NULL, -- JSON
        PRIMARY KEY (tenant_id, person_id, seq)
    ) WITHOUT ROWID;

    CREATE INDEX lead_transitions_by_time ON lead_transitions(tenant_id, at);

    CREATE TABLE lead_merges (
        tenant_id INTEGER NOT NULL,
        merge_id  INTEGER NOT NULL,
        survivor  INTEGER NOT NULL,
        absorbed  INTEGER NOT NULL,
        at        INTEGER NOT NULL,
        cause     TEXT    NOT NULL, -- JSON
        undone    INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, merge_id)
    ) WITHOUT ROWID;

    CREATE TABLE lead_handoffs (
        tenant_id   INTEGER NOT NULL,
        person_id   INTEGER NOT NULL,
        seq         INTEGER NOT NULL,
        team        TEXT    NOT NULL,
        owner       TEXT    NOT NULL,
        assigned_at INTEGER NOT NULL,
        due_at      INTEGER NOT NULL,
        status      TEXT    NOT NULL, -- open | accepted | rejected | reassigned | escalated | closed
        reason      TEXT,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, person_id, seq)
    ) WITHOUT ROWID;

    -- A rowid table: payloads can be a few KiB, too large for WITHOUT ROWID to pay off.
    CREATE TABLE outbox (
        tenant_id  INTEGER NOT NULL,
        key        TEXT    NOT NULL,
        kind       TEXT    NOT NULL,
        target     TEXT    NOT NULL, -- JSON
        payload    TEXT    NOT NULL, -- JSON
        status     TEXT    NOT NULL, -- pending | sent | dead
        attempts   INTEGER NOT NULL,
        next_at    INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, key)
    );

    -- The dispatcher's scan: pending items by due time.
    CREATE INDEX outbox_due ON outbox(status, next_at);
    "#,
    // 4: marketing spend, for cost-per-lead and ROI reports.
    r#"
    CREATE TABLE spend (
        id         INTEGER PRIMARY KEY,
        tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        channel    TEXT,
        campaign   TEXT,
        from_at    INTEGER NOT NULL,
        to_at      INTEGER NOT NULL,
        amount     REAL    NOT NULL,
        currency   TEXT    NOT NULL,
        note       TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX spend_by_tenant ON spend(tenant_id, from_at);
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
