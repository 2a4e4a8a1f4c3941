//! The lead engine: one tenant's leads, built from its touchpoints.
//!
//! An [`Engine`] ties the pure parts together: the [identity
//! graph](crate::identity), [scoring](crate::scoring), the
//! [lifecycle](crate::lifecycle) with routing and the SLA, and the
//! [predictive model](crate::predict). It is a deterministic fold: given the
//! same touchpoints and commands in the same order it reaches the same state
//! and produces the same [`Effects`], which is what lets the store rebuild it
//! from a snapshot plus the log after it.
//!
//! # One touchpoint ([`Engine::apply`])
//!
//! 1. The engine's clock moves to the touchpoint's time (`occurred_at`, else
//!    the time it was received), never backwards. Scores are computed at
//!    this clock, so replaying the log gives the same scores.
//! 2. The identity graph resolves it to a person, merging people it links;
//!    a merge joins their leads (the survivor counts the absorbed person's
//!    touchpoints and takes its stage if that is further along).
//! 3. The lead records it: reported traits (newer values win), product
//!    interest (the topic of quotes, orders, downloads, forms and equipment),
//!    and a slim copy for scoring (at most [`MAX_SIGNALS`] per person; the
//!    oldest are dropped beyond that and counted). Its account records
//!    orders (amount and currency) and installed equipment (by serial).
//! 4. The lead is evaluated: identified → suspect; any fit or engagement →
//!    prospect; an order → customer; then the score against the policy's
//!    thresholds → lead (MQL) or sales-ready (SQL).
//! 5. Entering sales-ready starts a hand-off: routing picks a team and an
//!    owner, an SLA timer starts, and the outbox gets the CRM hand-off and
//!    the owner's alert, each under an idempotency key. Hand-offs run in
//!    real time: their clock is the latest time a touchpoint was *received*
//!    or a command ran, so loading old touchpoints starts today's SLA.
//!
//! # Requalification
//!
//! A lead sales sent back (recycled) and a customer (for upsell and
//! cross-sell) qualify again on what they did *since*: while in those
//! stages the score compared with the thresholds is fit plus the engagement
//! of touchpoints after the moment they entered the stage (so the purchase
//! itself does not count), and fit alone never brings them back: until they
//! do something new their qualifying score is 0. The score shown is still
//! the whole score.
//!
//! # Commands ([`Engine::command`])
//!
//! Sales and operator actions (accept, reject, won, lost, disqualify, move,
//! unmerge), SLA expiries, nurturing ticks and configuration changes.
//!
//! # Nurturing
//!
//! When the tenant has care models, every evaluation of a lead also decides
//! its enrollment ([`crate::nurture::assign`]: enter, stay, switch, leave)
//! and puts an active enrollment in a time-ordered schedule. A `tick`
//! advances what is due: a send picks the channel (an explicit
//! `preferred_channel` trait, else the channel the person engages on most,
//! then the policy's fallback order, among channels with a configured
//! connector and an address), applies consent, unsubscribes, quiet hours and
//! frequency caps, and becomes an outbox call of kind `nurture` under the
//! step's idempotency key; a skip is recorded with its reason; a wait or a
//! reschedule puts the lead back in the schedule. Opens and clicks that come
//! back carrying the message's key feed the branches, and, as touchpoints,
//! the score. A configuration change
//! that touches the scoring rules rematches and rescores every lead; one
//! that touches the policy re-evaluates every lead against the new
//! thresholds.

mod config;
mod engine;
mod nurturing;
mod signal;
#[cfg(test)]
mod tests;
mod views;

pub use config::{DEFAULT_RULES, TenantConfig, Versions};
pub use engine::Engine;
pub use nurturing::MAX_TICK_ADVANCES;
// Read by the reports, which fold over the same records.
pub(crate) use engine::Lead;
pub(crate) use signal::Signal;
pub use views::{
    AccountView, ExplainedDelta, LeadFilter, LeadPage, LeadSummary, LeadView, StageCounts,
};

use crate::identity::{AccountId, Conflict, MergeId, MergeRecord, PersonId};
use crate::lifecycle::{Actor, Stage, Transition, UserId};
use crate::touchpoint::Timestamp;
use serde::{Deserialize, Serialize};

/// The most touchpoints kept per person for scoring; beyond it the oldest
/// are dropped (their decayed points are negligible by then) and counted.
pub const MAX_SIGNALS: usize = 1000;

/// What became of a hand-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum HandoffStatus {
    /// Waiting for the owner to accept.
    Open,
    /// No owner: routing is not configured or found nobody (`note` says why).
    Unassigned {
        /// Why.
        note: String,
    },
    /// The SLA ran out and a team lead was alerted; still waiting.
    Escalated {
        /// The team lead.
        to: UserId,
    },
    /// The SLA ran out and the lead went to someone else (a new hand-off).
    Reassigned,
    /// Sales accepted: the lead is an opportunity.
    Accepted {
        /// Who.
        by: UserId,
    },
    /// Sales sent it back to nurturing.
    Rejected {
        /// Who.
        by: UserId,
        /// Why.
        reason: String,
    },
    /// The lead left sales-ready another way (bought, disqualified, moved).
    Closed,
}

impl HandoffStatus {
    /// The stored name.
    pub fn name(&self) -> &'static str {
        match self {
            HandoffStatus::Open => "open",
            HandoffStatus::Unassigned { .. } => "unassigned",
            HandoffStatus::Escalated { .. } => "escalated",
            HandoffStatus::Reassigned => "reassigned",
            HandoffStatus::Accepted { .. } => "accepted",
            HandoffStatus::Rejected { .. } => "rejected",
            HandoffStatus::Closed => "closed",
        }
    }

    /// Whether the owner may still accept or reject it.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            HandoffStatus::Open
                | HandoffStatus::Escalated { .. }
                | HandoffStatus::Unassigned { .. }
        )
    }
}

/// One hand-off of a sales-ready lead to sales.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// 1 for the lead's first hand-off, then counting.
    pub seq: u32,
    /// The team routing chose.
    pub team: Option<String>,
    /// The owner routing chose.
    pub owner: Option<UserId>,
    /// The routing rule that matched (`None`: the default team).
    pub rule: Option<String>,
    /// When it was handed over.
    pub assigned_at: Timestamp,
    /// When the SLA runs out.
    pub due_at: Timestamp,
    /// What became of it.
    pub status: HandoffStatus,
    /// When the status last changed.
    pub updated_at: Timestamp,
}

/// What an outbound call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutboundKind {
    /// Create or update the lead in the CRM as sales-ready.
    CrmHandoff,
    /// Tell the owner a lead is theirs.
    OwnerAlert,
    /// Tell a team lead an SLA ran out.
    Escalation,
    /// A nurturing message, through the connector of its channel.
    Nurture,
}

impl OutboundKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            OutboundKind::CrmHandoff => "crm-handoff",
            OutboundKind::OwnerAlert => "owner-alert",
            OutboundKind::Escalation => "escalation",
            OutboundKind::Nurture => "nurture",
        }
    }
}

/// An outbound call the engine asks for; the host sends it through its
/// durable outbox, keyed by `key` so it is never sent twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outbound {
    /// The idempotency key, unique within the tenant and stable on replay.
    pub key: String,
    /// What it is for.
    pub kind: OutboundKind,
    /// The lead.
    pub person: PersonId,
    /// The user it is for (owner or team lead), when there is one.
    pub recipient: Option<UserId>,
    /// The JSON body.
    pub payload: serde_json::Value,
}

/// A transition with its place in the lead's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedTransition {
    /// The lead.
    pub person: PersonId,
    /// Its index in the lead's history, from 0.
    pub seq: u32,
    /// The move.
    pub transition: Transition,
}

/// Everything one step of the engine changed that the host persists or
/// acts on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// New stage transitions.
    pub transitions: Vec<RecordedTransition>,
    /// New merges, and merges undone.
    pub merges: Vec<MergeRecord>,
    /// New or changed hand-offs, with their lead.
    pub handoffs: Vec<(PersonId, Handoff)>,
    /// Outbound calls to make.
    pub outbox: Vec<Outbound>,
    /// Links the identity policy refused to make.
    pub conflicts: Vec<Conflict>,
}

impl Effects {
    /// Appends `other`.
    pub fn extend(&mut self, other: Effects) {
        self.transitions.extend(other.transitions);
        self.merges.extend(other.merges);
        self.handoffs.extend(other.handoffs);
        self.outbox.extend(other.outbox);
        self.conflicts.extend(other.conflicts);
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.transitions.is_empty()
            && self.merges.is_empty()
            && self.handoffs.is_empty()
            && self.outbox.is_empty()
            && self.conflicts.is_empty()
    }
}

/// An action on the leads from outside the touchpoint stream. Commands are
/// logged by the host and replayed in order, so they carry everything they
/// need (a configuration change carries the configuration itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// Sales accepts a hand-off: the lead becomes an opportunity.
    Accept {
        /// The lead (any id it had; merges are followed).
        person: PersonId,
        /// The sales user.
        by: UserId,
    },
    /// Sales rejects a hand-off: the lead is recycled into nurturing.
    Reject {
        /// The lead.
        person: PersonId,
        /// The sales user.
        by: UserId,
        /// Why, kept for nurturing and reports.
        reason: String,
    },
    /// The CRM reports the opportunity won.
    Won {
        /// The lead.
        person: PersonId,
        /// The deal's amount.
        #[serde(default)]
        amount: Option<f64>,
        /// Its currency.
        #[serde(default)]
        currency: Option<String>,
    },
    /// The CRM reports the opportunity lost: the lead is recycled.
    Lost {
        /// The lead.
        person: PersonId,
        /// Why.
        reason: String,
    },
    /// The lead is out.
    Disqualify {
        /// The lead.
        person: PersonId,
        /// Who decided.
        actor: Actor,
        /// Why.
        reason: String,
    },
    /// Moves a lead by hand along a legal edge.
    Move {
        /// The lead.
        person: PersonId,
        /// The stage.
        to: Stage,
        /// Who.
        actor: Actor,
        /// Why.
        note: String,
    },
    /// Undoes a merge.
    Unmerge {
        /// The merge.
        merge: MergeId,
    },
    /// The SLA of a hand-off ran out (issued by the host's timer).
    SlaExpired {
        /// The lead.
        person: PersonId,
        /// The hand-off.
        seq: u32,
    },
    /// New configuration: rescores or re-evaluates every lead as needed.
    Configure {
        /// The new configuration.
        config: Box<TenantConfig>,
    },
    /// Trains the predictive model on the tenant's leads.
    Train,
    /// Advances the nurturing enrollments due at the command's time, at most
    /// [`MAX_TICK_ADVANCES`] (issued by the host's timer when
    /// [`Engine::next_nurture_due`] has come, and again at once while more
    /// is due).
    Tick,
}

/// Why a command was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// No such lead.
    #[error("no lead {0}")]
    UnknownLead(u64),
    /// The lead has no hand-off waiting for an answer.
    #[error("lead {person} has no open hand-off (it is {stage})")]
    NoOpenHandoff {
        /// The lead.
        person: u64,
        /// Its stage.
        stage: Stage,
    },
    /// The state machine refused the move.
    #[error(transparent)]
    Lifecycle(#[from] crate::lifecycle::LifecycleError),
    /// The identity graph refused the unmerge.
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    /// Training needs more outcomes.
    #[error(transparent)]
    Train(#[from] crate::predict::TrainError),
}

/// What an account has bought and installed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountState {
    /// The account.
    pub id: AccountId,
    /// Its people (canonical or not).
    pub members: std::collections::BTreeSet<PersonId>,
    /// Orders placed.
    pub orders: u32,
    /// Revenue by currency (orders and won deals).
    pub revenue: std::collections::BTreeMap<String, f64>,
    /// The latest orders, newest last (at most 50).
    pub recent_orders: Vec<Order>,
    /// Installed equipment by serial number.
    pub installed_base: std::collections::BTreeMap<String, Equipment>,
    /// The sales owner: whoever accepted its first hand-off.
    pub owner: Option<UserId>,
}

/// One order of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The touchpoint's external id (or the CRM deal).
    pub reference: String,
    /// When.
    pub at: Timestamp,
    /// How much.
    pub amount: Option<f64>,
    /// In what.
    pub currency: Option<String>,
    /// Who ordered.
    pub person: PersonId,
}

/// One installed machine or product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equipment {
    /// Its model.
    pub model: Option<String>,
    /// Its product line.
    pub product_line: Option<String>,
    /// When it was registered.
    pub registered_at: Timestamp,
}

/// The score a lead had at its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ScoreState {
    /// Fit plus engagement.
    pub total: f64,
    /// Explicit fit.
    pub fit: f64,
    /// Implicit engagement.
    pub engagement: f64,
    /// The score compared with the thresholds (see the module doc on
    /// requalification).
    pub qualifying: f64,
    /// The clock it was computed at.
    pub at: Timestamp,
}
