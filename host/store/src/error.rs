//! The one error type of the store.

/// Everything that can go wrong in [`crate::Store`].
///
/// It is `Send + Sync + 'static`, so an ingest answer can cross threads and `.await` points.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing (tenant, connector, …) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A thing with this name already exists.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The input breaks a rule; the message says which.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The ingest queue is full: nothing was enqueued, retry later (HTTP 429/503).
    #[error("ingest queue is full")]
    Busy,
    /// The ingest writer thread is gone; nothing more can be stored through this handle.
    #[error("ingest writer is closed")]
    Closed,
    /// The group transaction holding this batch failed and was rolled back: nothing of the
    /// batch was stored. Carries the failure as text because one failure answers many batches.
    #[error("ingest transaction failed, nothing stored: {0}")]
    IngestFailed(String),
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A JSON column (connector config or grants) could not be written or read back.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A filesystem or thread-spawn error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// A copy of this error for each batch of a failed group: SQLite failures keep their
    /// code (so callers can still tell "disk full" from "corrupt"), the rest keep their text.
    pub(crate) fn replicate(&self) -> StoreError {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
                StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
            }
            StoreError::Busy => StoreError::Busy,
            StoreError::Closed => StoreError::Closed,
            other => StoreError::IngestFailed(other.to_string()),
        }
    }
}

/// True when `error` is the violation of a UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// True when `error` is the violation of a FOREIGN KEY constraint.
pub(crate) fn is_foreign_key_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
    )
}
