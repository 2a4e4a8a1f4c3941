//! Accounts: the companies people belong to.

use super::AccountId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An account (a company) people belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Its company domain, normalized, if known.
    pub domain: Option<String>,
    /// Account ids channels reported for it explicitly (CRM or eServices).
    pub account_ids: BTreeSet<String>,
}

/// A domain trimmed, lower-cased, without a leading `@` or `www.`; `None`
/// when nothing is left.
pub fn normalize_domain(raw: &str) -> Option<String> {
    let d = raw.trim().trim_start_matches('@').to_lowercase();
    let d = d.strip_prefix("www.").unwrap_or(&d).trim_end_matches('.');
    (!d.is_empty()).then(|| d.to_string())
}

/// Whether a (normalized) domain is a free-mail provider's: one list for the
/// whole project, [`crate::email::is_free_mail`].
pub use crate::email::is_free_mail;
