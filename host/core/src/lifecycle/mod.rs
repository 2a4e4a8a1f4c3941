//! Lifecycle stages, qualification and hand-off to sales.
//!
//! A lead's [`Lifecycle`] is its current [`Stage`] plus the full history of
//! [`Transition`]s (time, [`Cause`], [`Actor`]). [`Lifecycle::apply`] takes an
//! [`Event`] and the tenant's [`Policy`] and either records one legal move,
//! does nothing (`Ok(None)`: the event does not move this stage, such as a
//! score below the next threshold), or refuses with a [`LifecycleError`]
//! naming both stages.
//!
//! # The state machine
//!
//! | from                  | event                          | to             |
//! |-----------------------|--------------------------------|----------------|
//! | visitor               | `Identified`                   | suspect        |
//! | suspect               | `Engaged` (fit or engagement)  | prospect       |
//! | suspect, prospect, recycled | `Scored` ≥ MQL           | lead           |
//! | suspect, prospect, recycled, lead | `Scored` ≥ SQL     | sales-ready    |
//! | customer, advocate    | `Scored` ≥ SQL (upsell)        | sales-ready    |
//! | sales-ready           | `SalesAccepted`                | opportunity    |
//! | sales-ready, opportunity | `SalesRejected` (reason)    | recycled       |
//! | sales-ready           | `SlaExpired` (escalate/reassign) | sales-ready (recorded) |
//! | suspect, prospect, lead, sales-ready, opportunity, recycled | `Purchased` | customer |
//! | any but disqualified  | `Disqualify` (reason)          | disqualified   |
//! | any edge of [`is_legal`] | `Manual`                    | that stage     |
//! | any                   | `Merged` (a further stage)     | that stage     |
//!
//! Moves with no event of their own are manual: customer → advocate,
//! lead → recycled (marketing takes it back), disqualified → recycled.
//!
//! A score crossing the SQL threshold moves straight to sales-ready in one
//! transition (no intermediate lead step), with the score in the cause.
//! Signals that are routine in any stage (`Identified`, `Engaged`, `Scored`,
//! and `Purchased` by an existing customer) give `Ok(None)` where they do not
//! move the lead; explicit sales and operator actions that do not fit the
//! stage are errors. Anonymous visitors are not qualified by score until they
//! are identified. The SLA expiry is recorded as a sales-ready → sales-ready
//! transition so the history shows the escalation or reassignment. Customers
//! re-enter qualification for upsell and cross-sell by going back to
//! sales-ready; their history is kept whole. A merge of two people keeps
//! the further of their two stages (see [`Stage::rank`]); when that is the
//! absorbed person's, the survivor records a `Merged` transition to it.

mod policy;
mod routing;
mod sla;
#[cfg(test)]
mod tests;

pub use policy::{Policy, PolicyError, SlaExpiry};
pub use routing::{
    Assignment, LeadFacts, Member, RoundRobin, RoutingError, RoutingRule, RoutingRules, Team, route,
};
pub use sla::{SlaAction, SlaTimer, sla_check};

use crate::touchpoint::Timestamp;
use serde::{Deserialize, Serialize};

/// The id of a sales or operator user, as the tenant's CRM knows it.
pub type UserId = String;

/// Where a lead is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Anonymous: only a cookie or device id.
    Visitor,
    /// Identified, nothing known about fit or interest yet.
    Suspect,
    /// Shows fit or engagement.
    Prospect,
    /// Marketing-qualified (MQL): reached the MQL threshold.
    Lead,
    /// Sales-qualified (SQL): reached the SQL threshold, handed to sales.
    SalesReady,
    /// Accepted by sales and being worked.
    Opportunity,
    /// Bought.
    Customer,
    /// A customer who recommends.
    Advocate,
    /// Sent back to nurturing (rejected or lost).
    Recycled,
    /// Out: not a lead (competitor, student, spam).
    Disqualified,
}

impl Stage {
    /// The stored (kebab-case) name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Visitor => "visitor",
            Stage::Suspect => "suspect",
            Stage::Prospect => "prospect",
            Stage::Lead => "lead",
            Stage::SalesReady => "sales-ready",
            Stage::Opportunity => "opportunity",
            Stage::Customer => "customer",
            Stage::Advocate => "advocate",
            Stage::Recycled => "recycled",
            Stage::Disqualified => "disqualified",
        }
    }

    /// How far along the funnel the stage is, for merging two people:
    /// visitor 0 … advocate 7; recycled ranks with lead (3), and
    /// disqualified ranks lowest (-1), so a merge never disqualifies a lead
    /// nor requalifies a disqualified one by itself.
    pub fn rank(self) -> i8 {
        match self {
            Stage::Disqualified => -1,
            Stage::Visitor => 0,
            Stage::Suspect => 1,
            Stage::Prospect => 2,
            Stage::Lead | Stage::Recycled => 3,
            Stage::SalesReady => 4,
            Stage::Opportunity => 5,
            Stage::Customer => 6,
            Stage::Advocate => 7,
        }
    }

    /// Parses a stored name.
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Every stage, in funnel order.
    pub const ALL: [Stage; 10] = [
        Stage::Visitor,
        Stage::Suspect,
        Stage::Prospect,
        Stage::Lead,
        Stage::SalesReady,
        Stage::Opportunity,
        Stage::Customer,
        Stage::Advocate,
        Stage::Recycled,
        Stage::Disqualified,
    ];
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `from → to` is an edge of the state machine (the moves a manual
/// event may make). The SLA self-edge of sales-ready is not included: only
/// an SLA expiry makes it.
pub fn is_legal(from: Stage, to: Stage) -> bool {
    use Stage::*;
    match (from, to) {
        (Disqualified, Disqualified) => false,
        (_, Disqualified) => true,
        (Visitor, Suspect) => true,
        (Suspect, Prospect | Lead | SalesReady) => true,
        (Prospect, Lead | SalesReady) => true,
        (Lead, SalesReady | Recycled) => true,
        (Suspect | Prospect | Lead | Recycled, Customer) => true,
        (SalesReady, Opportunity | Recycled | Customer) => true,
        (Opportunity, Customer | Recycled) => true,
        (Customer, Advocate | SalesReady) => true,
        (Advocate, SalesReady) => true,
        (Recycled, Lead | SalesReady) => true,
        (Disqualified, Recycled) => true,
        _ => false,
    }
}

/// Which qualification threshold a score crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Threshold {
    /// Marketing-qualified.
    Mql,
    /// Sales-qualified.
    Sql,
}

/// Why a transition happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Cause {
    /// An identity linked an anonymous visitor to a known person.
    Identified,
    /// The first sign of fit or engagement.
    Engaged,
    /// The score reached a threshold.
    ScoreCrossed {
        /// Which one.
        threshold: Threshold,
        /// The score that reached it.
        score: f64,
    },
    /// Sales accepted the lead.
    SalesAccepted,
    /// Sales rejected the lead.
    SalesRejected {
        /// Sales' reason, kept for nurturing and reporting.
        reason: String,
    },
    /// The acceptance SLA ran out.
    SlaEscalation {
        /// What was done about it.
        action: SlaAction,
    },
    /// A purchase.
    Purchase,
    /// The lead was disqualified.
    Disqualified {
        /// Why.
        reason: String,
    },
    /// Two people were found to be one; the survivor took the absorbed
    /// person's further stage.
    Merged {
        /// The person merged in.
        absorbed: u64,
    },
    /// A person moved the lead by hand.
    Manual {
        /// Their note.
        note: String,
    },
}

/// Who made a transition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum Actor {
    /// Leadhost itself (scores, identities, timers, orders).
    System,
    /// A sales user.
    Sales(UserId),
    /// An operator or marketing user.
    Operator(UserId),
}

/// One recorded move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// The stage left.
    pub from: Stage,
    /// The stage entered (equal to `from` only for an SLA expiry).
    pub to: Stage,
    /// When, in milliseconds since the epoch.
    pub at: Timestamp,
    /// Why.
    pub cause: Cause,
    /// Who.
    pub actor: Actor,
}

/// Something that happened to a lead.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An identity linked the lead to a known person.
    Identified,
    /// Fit or engagement was first seen.
    Engaged,
    /// The lead was scored; `score` is the current total.
    Scored {
        /// The total score.
        score: f64,
    },
    /// Sales accepted the lead.
    SalesAccepted {
        /// The sales user.
        by: UserId,
    },
    /// Sales rejected the lead.
    SalesRejected {
        /// The sales user.
        by: UserId,
        /// Why.
        reason: String,
    },
    /// The acceptance SLA ran out and `action` was taken (see [`sla_check`]).
    SlaExpired(SlaAction),
    /// The lead (or its account) bought.
    Purchased,
    /// The lead is out.
    Disqualify {
        /// Who decided.
        actor: Actor,
        /// Why.
        reason: String,
    },
    /// The lead absorbed another person whose stage is further along.
    Merged {
        /// The absorbed person's stage.
        stage: Stage,
        /// The absorbed person.
        absorbed: u64,
    },
    /// A person moves the lead along an edge of [`is_legal`].
    Manual {
        /// The stage to enter.
        to: Stage,
        /// Who.
        actor: Actor,
        /// Why.
        note: String,
    },
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The event would move the lead along an edge that does not exist.
    #[error("a lead cannot move from {from} to {to}")]
    Illegal {
        /// The current stage.
        from: Stage,
        /// The stage the event asked for.
        to: Stage,
    },
}

/// One lead's stage and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// The current stage.
    pub stage: Stage,
    /// Every transition, oldest first.
    pub history: Vec<Transition>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new(Stage::Visitor)
    }
}

impl Lifecycle {
    /// A lead entering at `stage` (a visitor, or a suspect when it arrives
    /// already identified) with no history.
    pub fn new(stage: Stage) -> Self {
        Lifecycle {
            stage,
            history: Vec::new(),
        }
    }

    /// Applies `event` at `now`; records and returns the transition it makes.
    pub fn apply(
        &mut self,
        event: Event,
        policy: &Policy,
        now: Timestamp,
    ) -> Result<Option<Transition>, LifecycleError> {
        use Stage::*;
        let from = self.stage;
        let illegal = |to| Err(LifecycleError::Illegal { from, to });
        let (to, cause, actor) = match event {
            Event::Identified => match from {
                Visitor => (Suspect, Cause::Identified, Actor::System),
                _ => return Ok(None),
            },
            Event::Engaged => match from {
                Suspect => (Prospect, Cause::Engaged, Actor::System),
                _ => return Ok(None),
            },
            Event::Scored { score } => {
                let sql = score >= policy.sql_threshold;
                let mql = score >= policy.mql_threshold;
                let (to, threshold) = match from {
                    Suspect | Prospect | Recycled | Lead | Customer | Advocate if sql => {
                        (SalesReady, Threshold::Sql)
                    }
                    Suspect | Prospect | Recycled if mql => (Lead, Threshold::Mql),
                    _ => return Ok(None),
                };
                (to, Cause::ScoreCrossed { threshold, score }, Actor::System)
            }
            Event::SalesAccepted { by } => match from {
                SalesReady => (Opportunity, Cause::SalesAccepted, Actor::Sales(by)),
                _ => return illegal(Opportunity),
            },
            Event::SalesRejected { by, reason } => match from {
                SalesReady | Opportunity => {
                    (Recycled, Cause::SalesRejected { reason }, Actor::Sales(by))
                }
                _ => return illegal(Recycled),
            },
            Event::SlaExpired(action) => match from {
                SalesReady => (SalesReady, Cause::SlaEscalation { action }, Actor::System),
                _ => return illegal(SalesReady),
            },
            Event::Purchased => match from {
                Suspect | Prospect | Lead | SalesReady | Opportunity | Recycled => {
                    (Customer, Cause::Purchase, Actor::System)
                }
                Customer | Advocate => return Ok(None),
                _ => return illegal(Customer),
            },
            Event::Disqualify { actor, reason } => match from {
                Disqualified => return illegal(Disqualified),
                _ => (Disqualified, Cause::Disqualified { reason }, actor),
            },
            Event::Merged { stage, absorbed } => {
                if from == Disqualified || stage.rank() <= from.rank() {
                    return Ok(None);
                }
                (stage, Cause::Merged { absorbed }, Actor::System)
            }
            Event::Manual { to, actor, note } => {
                if !is_legal(from, to) {
                    return illegal(to);
                }
                (to, Cause::Manual { note }, actor)
            }
        };
        let transition = Transition {
            from,
            to,
            at: now,
            cause,
            actor,
        };
        self.stage = to;
        self.history.push(transition.clone());
        Ok(Some(transition))
    }
}
