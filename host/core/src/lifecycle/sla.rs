//! The acceptance SLA: timers are plain data, so they survive restarts when
//! stored, and checking them is a pure function of the time.

use super::{Policy, SlaExpiry, UserId};
use crate::identity::PersonId;
use crate::touchpoint::Timestamp;
use serde::{Deserialize, Serialize};

/// The owner of a sales-ready lead must accept it by `due_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTimer {
    /// The lead.
    pub lead: PersonId,
    /// Who must accept it.
    pub owner: UserId,
    /// When the lead was handed over.
    pub started_at: Timestamp,
    /// When the SLA runs out (expired at exactly this time).
    pub due_at: Timestamp,
}

impl SlaTimer {
    /// A timer for `lead` handed to `owner` at `now`, due after the
    /// policy's window.
    pub fn start(lead: PersonId, owner: UserId, now: Timestamp, policy: &Policy) -> SlaTimer {
        SlaTimer {
            lead,
            owner,
            started_at: now,
            due_at: now.saturating_add(policy.sla_millis()),
        }
    }

    /// Whether the SLA has run out at `now` (at or after `due_at`).
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        now >= self.due_at
    }
}

/// What to do about one overdue timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum SlaAction {
    /// Alert the team lead `to` about the lead `owner` did not accept.
    Escalate {
        /// The lead.
        lead: PersonId,
        /// The owner who did not accept.
        owner: UserId,
        /// The team lead alerted.
        to: UserId,
    },
    /// Route the lead again, to someone other than `from`.
    Reassign {
        /// The lead.
        lead: PersonId,
        /// The owner who did not accept.
        from: UserId,
    },
}

/// The actions for the overdue timers, in the order given; timers not yet
/// due give nothing. The caller drops the timers it acted on (and starts new
/// ones for reassigned leads).
pub fn sla_check(timers: &[SlaTimer], now: Timestamp, policy: &Policy) -> Vec<SlaAction> {
    timers
        .iter()
        .filter(|t| t.is_overdue(now))
        .map(|t| match &policy.on_sla_expiry {
            SlaExpiry::Escalate { to } => SlaAction::Escalate {
                lead: t.lead,
                owner: t.owner.clone(),
                to: to.clone(),
            },
            SlaExpiry::Reassign => SlaAction::Reassign {
                lead: t.lead,
                from: t.owner.clone(),
            },
        })
        .collect()
}
