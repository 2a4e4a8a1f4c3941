//! A tenant's hand-off settings: where the outbox dispatcher sends the lead
//! engine's outbound calls. Stored as the lead setting [`SETTING`]
//! (versioned; the dispatcher reads the latest version on every pass).
//!
//! ```json
//! {
//!   "crm": { "url": "https://crm.example/api/leads", "secret": "optional shared secret" },
//!   "alerts": { "url": "https://hooks.example/alerts",
//!               "email": { "connector": "mail", "from": "leads@acme.example" } },
//!   "users": { "anna": { "email": "anna@acme.example", "name": "Anna Virtanen" } },
//!   "retry": { "max_attempts": 8, "base_seconds": 2, "max_seconds": 3600 }
//! }
//! ```
//!
//! Every part is optional, and so is every field but `crm.url` and
//! `alerts.email.connector`; unknown fields are refused.
//!
//! - `crm.url`: where `crm-handoff` calls are POSTed (http or https, with a
//!   host). `crm.secret`, when given, signs every body POSTed (to the CRM
//!   and to `alerts.url`):
//!   `Leadhost-Signature: sha256=<hex HMAC-SHA256 of the body>`.
//! - `alerts.url`: where `owner-alert` and `escalation` calls are POSTed.
//!   `alerts.email.connector`: the tenant's connector whose `deliver` emails
//!   them to the recipient's `users` address. The connector sends from its
//!   own `from-email` config (a message carries no sender); `from`, when
//!   given, is the address the tenant expects, and an alert whose connector
//!   sends from another one is dead with an error saying so. `alerts`, when
//!   present, needs `url`, `email` or both.
//! - `users`: the routing's user ids, with an `email` and a display `name`.
//! - `retry`: attempts per item before it is dead (1–100, default 8); the
//!   wait after the n-th failed attempt is `base_seconds × 2^(n-1)`
//!   (1–3600, default 2) capped at `max_seconds` (`base_seconds`–604800,
//!   default 3600), or longer when the receiver's `Retry-After` asks.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The name of the lead setting that holds them.
pub(crate) const SETTING: &str = "handoff";

/// The most attempts `retry.max_attempts` may allow.
const MAX_ATTEMPTS: u32 = 100;
/// The longest `retry.base_seconds`.
const MAX_BASE_SECONDS: u64 = 3600;
/// The longest `retry.max_seconds`: a week.
const MAX_MAX_SECONDS: u64 = 7 * 24 * 3600;

/// A tenant's hand-off settings, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HandoffSettings {
    /// Where CRM hand-offs go.
    pub(crate) crm: Option<Crm>,
    /// Where owner alerts and escalations go.
    pub(crate) alerts: Option<Alerts>,
    /// The tenant's users, by the id routing assigns leads to.
    pub(crate) users: BTreeMap<String, User>,
    /// How failed calls are retried.
    pub(crate) retry: Retry,
}

/// The CRM's endpoint. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Crm {
    /// The URL hand-offs are POSTed to.
    pub(crate) url: String,
    /// The key that signs each body, when set.
    #[serde(default)]
    pub(crate) secret: Option<String>,
}

impl fmt::Debug for Crm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crm")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Where alerts go: a webhook, email, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Alerts {
    /// The URL alerts are POSTed to.
    pub(crate) url: Option<String>,
    /// Email through one of the tenant's connectors.
    pub(crate) email: Option<EmailAlerts>,
}

/// Alerts by email.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailAlerts {
    /// The tenant's connector that delivers them.
    pub(crate) connector: String,
    /// The sender the tenant expects; must be the connector's `from-email`.
    #[serde(default)]
    pub(crate) from: Option<String>,
}

/// One of the tenant's users.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct User {
    /// Where their alerts are emailed.
    #[serde(default)]
    pub(crate) email: Option<String>,
    /// Their display name.
    #[serde(default)]
    pub(crate) name: Option<String>,
}

/// How failed calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Retry {
    /// Attempts before an item is dead.
    pub(crate) max_attempts: u32,
    /// The wait after the first failure, seconds.
    pub(crate) base_seconds: u64,
    /// The longest wait the doubling reaches, seconds.
    pub(crate) max_seconds: u64,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: 8,
            base_seconds: 2,
            max_seconds: 3600,
        }
    }
}

impl Retry {
    /// The wait, in seconds, after an item failed for the time `attempt`
    /// (1 for its first attempt).
    pub(crate) fn backoff_seconds(&self, attempt: u32) -> u64 {
        let doublings = attempt.saturating_sub(1).min(63);
        self.base_seconds
            .saturating_mul(1u64 << doublings)
            .min(self.max_seconds)
    }
}

/// The document as written: sections are read one by one so an error can
/// name the one it is in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    crm: Option<Value>,
    #[serde(default)]
    alerts: Option<Value>,
    #[serde(default)]
    users: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    retry: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsDocument {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    email: Option<Value>,
}

/// Reads and checks a `handoff` setting; the error names the field at fault.
pub(crate) fn parse(json: &str) -> Result<HandoffSettings, String> {
    let document: Value =
        serde_json::from_str(json).map_err(|e| format!("handoff settings: {e}"))?;
    let document: Document = section("handoff settings", document)?;
    let crm = match document.crm {
        Some(value) => {
            let crm: Crm = section("crm", value)?;
            check_url("crm.url", &crm.url)?;
            if crm.secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
                return Err("crm.secret must not be empty (leave it out to send unsigned)".into());
            }
            Some(crm)
        }
        None => None,
    };
    let alerts = match document.alerts {
        Some(value) => {
            let raw: AlertsDocument = section("alerts", value)?;
            if let Some(url) = &raw.url {
                check_url("alerts.url", url)?;
            }
            let email = match raw.email {
                Some(value) => {
                    let email: EmailAlerts = section("alerts.email", value)?;
                    check_name("alerts.email.connector", &email.connector)?;
                    if let Some(from) = &email.from {
                        check_address("alerts.email.from", from)?;
                    }
                    Some(email)
                }
                None => None,
            };
            if raw.url.is_none() && email.is_none() {
                return Err("alerts needs a url, an email, or both".into());
            }
            Some(Alerts {
                url: raw.url,
                email,
            })
        }
        None => None,
    };
    let mut users = BTreeMap::new();
    for (id, value) in document.users.unwrap_or_default() {
        let field = format!("users.{id}");
        if id.trim().is_empty() {
            return Err("users: a user id must not be empty".into());
        }
        let user: User = section(&field, value)?;
        if let Some(email) = &user.email {
            check_address(&format!("{field}.email"), email)?;
        }
        if user.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(format!("{field}.name must not be empty"));
        }
        users.insert(id, user);
    }
    let retry = match document.retry {
        Some(value) => section("retry", value)?,
        None => Retry::default(),
    };
    check_retry(&retry)?;
    Ok(HandoffSettings {
        crm,
        alerts,
        users,
        retry,
    })
}

fn section<T: DeserializeOwned>(field: &str, value: Value) -> Result<T, String> {
    // Serde would also read a struct from an array of its fields.
    if !value.is_object() {
        return Err(format!("{field} must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| format!("{field}: {e}"))
}

fn check_url(field: &str, url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("{field} {url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "{field} {url:?} must be http or https, not {}",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{field} {url:?} has no host"));
    }
    Ok(())
}

fn check_address(field: &str, address: &str) -> Result<(), String> {
    let usable = address.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !address.chars().any(|c| c.is_whitespace() || c.is_control());
    if usable {
        Ok(())
    } else {
        Err(format!("{field} {address:?} is not an email address"))
    }
}

/// The store's rule for connector names.
fn check_name(field: &str, name: &str) -> Result<(), String> {
    if leadhost_store::is_valid_name(name) {
        Ok(())
    } else {
        Err(format!(
            "{field} {name:?} is not a connector name (^[a-z0-9][a-z0-9-]{{0,62}}$)"
        ))
    }
}

fn check_retry(retry: &Retry) -> Result<(), String> {
    if !(1..=MAX_ATTEMPTS).contains(&retry.max_attempts) {
        return Err(format!(
            "retry.max_attempts must be 1 to {MAX_ATTEMPTS} (got {})",
            retry.max_attempts
        ));
    }
    if !(1..=MAX_BASE_SECONDS).contains(&retry.base_seconds) {
        return Err(format!(
            "retry.base_seconds must be 1 to {MAX_BASE_SECONDS} (got {})",
            retry.base_seconds
        ));
    }
    if !(retry.base_seconds..=MAX_MAX_SECONDS).contains(&retry.max_seconds) {
        return Err(format!(
            "retry.max_seconds must be from base_seconds ({}) to {MAX_MAX_SECONDS} (got {})",
            retry.base_seconds, retry.max_seconds
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use super::*;

    const EXAMPLE: &str = r#"{
      "crm": { "url": "https://crm.example/api/leads", "secret": "optional shared secret" },
      "alerts": { "url": "https://hooks.example/alerts",
                  "email": { "connector": "mail", "from": "leads@acme.example" } },
      "users": { "anna": { "email": "anna@acme.example", "name": "Anna Virtanen" } },
      "retry": { "max_attempts": 8, "base_seconds": 2, "max_seconds": 3600 }
    }"#;

    #[test]
    fn the_documented_example_parses() {
        let s = parse(EXAMPLE).unwrap();
        let crm = s.crm.as_ref().unwrap();
        assert_eq!(crm.url, "https://crm.example/api/leads");
        assert_eq!(crm.secret.as_deref(), Some("optional shared secret"));
        assert!(
            !format!("{s:?}").contains("shared secret"),
            "Debug hides it"
        );
        let alerts = s.alerts.unwrap();
        assert_eq!(alerts.url.as_deref(), Some("https://hooks.example/alerts"));
        let email = alerts.email.unwrap();
        assert_eq!(email.connector, "mail");
        assert_eq!(email.from.as_deref(), Some("leads@acme.example"));
        assert_eq!(s.users["anna"].name.as_deref(), Some("Anna Virtanen"));
        assert_eq!(s.retry, Retry::default());
    }

    #[test]
    fn every_part_is_optional_and_retry_has_defaults() {
        assert_eq!(parse("{}").unwrap(), HandoffSettings::default());
        let s = parse(r#"{"retry": {"max_attempts": 3}}"#).unwrap();
        assert_eq!(
            s.retry,
            Retry {
                max_attempts: 3,
                base_seconds: 2,
                max_seconds: 3600
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"crm": {"url": "ftp://crm.example/x"}}"#, "crm.url"),
            (r#"{"crm": {"url": "not a url"}}"#, "crm.url"),
            (r#"{"crm": {"url": "http://"}}"#, "crm.url"),
            (r#"{"crm": {"secret": "s"}}"#, "missing field `url`"),
            (
                r#"{"crm": {"url": "https://a.example", "sekret": "s"}}"#,
                "`sekret`",
            ),
            (r#"{"alerts": {"url": "mailto:x@y.example"}}"#, "alerts.url"),
            (r#"{"alerts": {}}"#, "alerts needs"),
            (
                r#"{"alerts": {"email": {"connector": "Mail"}}}"#,
                "alerts.email.connector",
            ),
            (
                r#"{"alerts": {"email": {"connector": "mail", "from": "nobody"}}}"#,
                "alerts.email.from",
            ),
            (
                r#"{"alerts": {"email": {"connector": "mail", "to": "x"}}}"#,
                "alerts.email: unknown field `to`",
            ),
            (
                r#"{"users": {"anna": {"email": "anna"}}}"#,
                "users.anna.email",
            ),
            (
                r#"{"users": {"anna": {"mail": "a@b.example"}}}"#,
                "users.anna: unknown field `mail`",
            ),
            (r#"{"retry": {"max_attempts": 0}}"#, "retry.max_attempts"),
            (r#"{"retry": {"max_attempts": 101}}"#, "retry.max_attempts"),
            (r#"{"retry": {"base_seconds": 0}}"#, "retry.base_seconds"),
            (
                r#"{"retry": {"base_seconds": 10, "max_seconds": 5}}"#,
                "retry.max_seconds",
            ),
            (r#"{"retry": {"max_attempts": -1}}"#, "retry: invalid value"),
            (r#"{"retries": {}}"#, "unknown field `retries`"),
            ("[]", "handoff settings must be a JSON object"),
            ("{", "handoff settings: EOF"),
            (
                r#"{"crm": ["https://a.example"]}"#,
                "crm must be a JSON object",
            ),
        ];
        for (json, expected) in cases {
            let error = parse(json).expect_err(json);
            assert!(error.contains(expected), "{json}: {error}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = Retry::default();
        let waits: Vec<u64> = (1..=12).map(|n| r.backoff_seconds(n)).collect();
        assert_eq!(
            waits,
            [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600]
        );
        assert_eq!(r.backoff_seconds(u32::MAX), 3600);
    }
}
