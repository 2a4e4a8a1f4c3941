//! The tenant's qualification policy.

use super::UserId;
use serde::{Deserialize, Serialize};

/// A tenant's qualification and hand-off policy, from its JSON config:
///
/// ```json
/// { "mql_threshold": 40, "sql_threshold": 70, "sla_minutes": 240,
///   "on_sla_expiry": { "action": "escalate", "to": "team-lead-7" } }
/// ```
///
/// `on_sla_expiry` is `{"action": "escalate", "to": user}` or
/// `{"action": "reassign"}`. The optional `buying_roles` names the roles of
/// an account's buying group, each with job-title patterns (as in the
/// scoring rules' `job_title`): account views count which roles are covered,
/// e.g. `{"decision-maker": ["director", "vp", "chief *"], "user": ["operator"]}`.
/// Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The score at which a lead becomes marketing-qualified.
    pub mql_threshold: f64,
    /// The score at which a lead becomes sales-ready (above the MQL one).
    pub sql_threshold: f64,
    /// How long the owner has to accept a sales-ready lead, in minutes (> 0).
    pub sla_minutes: u32,
    /// What happens when the owner has not accepted in time.
    pub on_sla_expiry: SlaExpiry,
    /// The buying group's roles and the job-title patterns that fill them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub buying_roles: std::collections::BTreeMap<String, Vec<String>>,
}

impl Default for Policy {
    /// MQL at 40, SQL at 70, four hours to accept, then reassign; a buying
    /// group of decision makers, influencers and users.
    fn default() -> Self {
        let roles = [
            (
                "decision-maker",
                &[
                    "director",
                    "vp",
                    "head of *",
                    "chief *",
                    "ceo",
                    "cto",
                    "cfo",
                    "owner",
                ][..],
            ),
            (
                "influencer",
                &["manager", "engineer", "specialist", "lead *"][..],
            ),
            ("user", &["operator", "technician", "supervisor"][..]),
        ];
        Policy {
            mql_threshold: 40.0,
            sql_threshold: 70.0,
            sla_minutes: 240,
            on_sla_expiry: SlaExpiry::Reassign,
            buying_roles: roles
                .iter()
                .map(|(role, patterns)| {
                    (
                        role.to_string(),
                        patterns.iter().map(|p| p.to_string()).collect(),
                    )
                })
                .collect(),
        }
    }
}

/// What to do with a lead whose owner did not accept it in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SlaExpiry {
    /// Alert a team lead, who takes it from there.
    Escalate {
        /// The team lead.
        to: UserId,
    },
    /// Give the lead to the next person of the team.
    Reassign,
}

/// A policy config that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// Not the JSON shape of a policy.
    #[error("invalid policy JSON: {0}")]
    Json(String),
    /// A threshold is not a finite number, or MQL is not below SQL.
    #[error("thresholds must be finite with mql ({mql}) < sql ({sql})")]
    Thresholds {
        /// The MQL threshold given.
        mql: f64,
        /// The SQL threshold given.
        sql: f64,
    },
    /// The SLA window is zero.
    #[error("sla_minutes must be greater than 0")]
    SlaWindow,
    /// An escalation without a team lead.
    #[error("escalation needs a team lead in `to`")]
    EscalationTarget,
}

impl Policy {
    /// Parses and checks a policy from the tenant's JSON config.
    pub fn from_json(json: &str) -> Result<Policy, PolicyError> {
        let policy: Policy =
            serde_json::from_str(json).map_err(|e| PolicyError::Json(e.to_string()))?;
        policy.validate()?;
        Ok(policy)
    }

    /// Checks the invariants [`Policy::from_json`] enforces.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let (mql, sql) = (self.mql_threshold, self.sql_threshold);
        if !mql.is_finite() || !sql.is_finite() || mql >= sql {
            return Err(PolicyError::Thresholds { mql, sql });
        }
        if self.sla_minutes == 0 {
            return Err(PolicyError::SlaWindow);
        }
        if matches!(&self.on_sla_expiry, SlaExpiry::Escalate { to } if to.trim().is_empty()) {
            return Err(PolicyError::EscalationTarget);
        }
        Ok(())
    }

    /// The SLA window in milliseconds.
    pub fn sla_millis(&self) -> i64 {
        i64::from(self.sla_minutes) * 60_000
    }
}
