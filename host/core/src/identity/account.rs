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

/// Domains anyone can get a mailbox at: they say nothing about the company.
const FREE_MAIL: &[&str] = &[
    "aol.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "luukku.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "suomi24.fi",
    "web.de",
    "yahoo.com",
    "yandex.ru",
];

/// A domain trimmed, lower-cased, without a leading `@` or `www.`; `None`
/// when nothing is left.
pub fn normalize_domain(raw: &str) -> Option<String> {
    let d = raw.trim().trim_start_matches('@').to_lowercase();
    let d = d.strip_prefix("www.").unwrap_or(&d).trim_end_matches('.');
    (!d.is_empty()).then(|| d.to_string())
}

/// Whether a (normalized) domain is a free-mail provider's.
pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.contains(&domain)
}
