//! Which care model a lead belongs in: eligibility, choice by priority,
//! re-entry and reassignment.

use super::local::MS_PER_DAY;
use super::model::{CareModel, Entry};
use super::plan::{Enrollment, ExitReason};
use crate::identity::PersonId;
use crate::lifecycle::Stage;
use crate::scoring::{Grade, pattern_matches};
use crate::touchpoint::Timestamp;
use serde::{Deserialize, Serialize};

/// What nurturing needs to know about a lead, as plain data the host fills
/// from its lead record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadFacts {
    /// The person (part of every idempotency key).
    pub person: PersonId,
    /// The lifecycle stage.
    pub stage: Stage,
    /// The grade, once scored.
    pub grade: Option<Grade>,
    /// The total score.
    pub score: f64,
    /// The reported job title.
    pub job_title: Option<String>,
    /// The reported industry.
    pub industry: Option<String>,
    /// The account's importance tier (`key`, `A`, …).
    pub account_tier: Option<String>,
    /// The reason sales gave when it last sent the lead back.
    pub recycled_reason: Option<String>,
    /// Products installed at the lead's account (models or product lines).
    pub installed_products: Vec<String>,
    /// The person unsubscribed.
    pub unsubscribed: bool,
    /// The person must not be contacted at all.
    pub do_not_contact: bool,
    /// Mail to the person bounced for good.
    pub hard_bounced: bool,
    /// The lead is disqualified (also true when `stage` is disqualified).
    pub disqualified: bool,
    /// When the lead (or its account, as the host decides) last bought.
    pub last_purchase_at: Option<Timestamp>,
    /// The lead's local time as a fixed offset from UTC in minutes
    /// (`120` for UTC+02:00). No time-zone database is used: the host
    /// passes the offset in force, daylight saving included.
    pub utc_offset_minutes: i32,
}

impl LeadFacts {
    /// A lead with nothing known but its person and stage (UTC, score 0).
    pub fn new(person: PersonId, stage: Stage) -> LeadFacts {
        LeadFacts {
            person,
            stage,
            grade: None,
            score: 0.0,
            job_title: None,
            industry: None,
            account_tier: None,
            recycled_reason: None,
            installed_products: Vec::new(),
            unsubscribed: false,
            do_not_contact: false,
            hard_bounced: false,
            disqualified: false,
            last_purchase_at: None,
            utc_offset_minutes: 0,
        }
    }

    /// Whether the lead is disqualified, by flag or by stage.
    pub fn is_disqualified(&self) -> bool {
        self.disqualified || self.stage == Stage::Disqualified
    }
}

impl Entry {
    /// The first entry field the lead does not match (`None`: it matches).
    pub fn mismatch(&self, facts: &LeadFacts) -> Option<&'static str> {
        let eq = |accepted: &[String], value: &Option<String>| {
            accepted.is_empty()
                || value
                    .as_deref()
                    .is_some_and(|v| accepted.iter().any(|a| a.eq_ignore_ascii_case(v.trim())))
        };
        let pattern = |accepted: &[String], value: &Option<String>| {
            accepted.is_empty()
                || value
                    .as_deref()
                    .is_some_and(|v| accepted.iter().any(|p| pattern_matches(p, v)))
        };
        if !pattern(&self.job_title, &facts.job_title) {
            return Some("job_title");
        }
        if !eq(&self.industry, &facts.industry) {
            return Some("industry");
        }
        if !eq(&self.account_tier, &facts.account_tier) {
            return Some("account_tier");
        }
        if !(self.stage.is_empty() || self.stage.contains(&facts.stage)) {
            return Some("stage");
        }
        if !(self.grade.is_empty() || facts.grade.is_some_and(|g| self.grade.contains(&g))) {
            return Some("grade");
        }
        if self.score.is_some_and(|r| !r.contains(facts.score)) {
            return Some("score");
        }
        if !pattern(&self.recycled_reason, &facts.recycled_reason) {
            return Some("recycled_reason");
        }
        let products_ok = self.customer_products.is_empty()
            || facts.installed_products.iter().any(|p| {
                self.customer_products
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(p.trim()))
            });
        if !products_ok {
            return Some("customer_products");
        }
        None
    }

    /// Whether the lead matches every field given.
    pub fn matches(&self, facts: &LeadFacts) -> bool {
        self.mismatch(facts).is_none()
    }
}

/// Whether the model's goal holds for the lead: its stage is a goal stage,
/// or the goal is buying and the lead bought after `entered_at`.
pub fn goal_reached(model: &CareModel, facts: &LeadFacts, entered_at: Timestamp) -> bool {
    let goal = model.goal();
    goal.stage.contains(&facts.stage)
        || (goal.bought && facts.last_purchase_at.is_some_and(|t| t > entered_at))
}

/// The model's exit condition that holds for the lead, checked in the order
/// unsubscribed, do-not-contact, disqualified, hard bounce.
pub fn exit_reason(model: &CareModel, facts: &LeadFacts) -> Option<ExitReason> {
    let exit = model.exit();
    if exit.unsubscribed && facts.unsubscribed {
        Some(ExitReason::Unsubscribed)
    } else if exit.do_not_contact && facts.do_not_contact {
        Some(ExitReason::DoNotContact)
    } else if exit.disqualified && facts.is_disqualified() {
        Some(ExitReason::Disqualified)
    } else if exit.hard_bounce && facts.hard_bounced {
        Some(ExitReason::HardBounce)
    } else {
        None
    }
}

/// Why a lead may not enter a model now.
#[derive(Debug, Clone, PartialEq)]
pub enum Ineligible {
    /// The entry field that does not match.
    Entry(&'static str),
    /// The lead is in this model now.
    AlreadyEnrolled,
    /// The model's goal already holds.
    GoalReached,
    /// An exit condition holds: it would leave at once.
    WouldExit(ExitReason),
    /// It was in the model before and the model does not allow re-entry.
    ReentryNotAllowed,
    /// It was in the model before; it may enter again from this time.
    ReentryTooSoon {
        /// When re-entry opens.
        from: Timestamp,
    },
}

impl Ineligible {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Ineligible::Entry(_) => "entry-mismatch",
            Ineligible::AlreadyEnrolled => "already-enrolled",
            Ineligible::GoalReached => "goal-reached",
            Ineligible::WouldExit(_) => "would-exit",
            Ineligible::ReentryNotAllowed => "reentry-not-allowed",
            Ineligible::ReentryTooSoon { .. } => "reentry-too-soon",
        }
    }
}

/// Whether the lead may enter `model` at `now`, given all its enrollments
/// (`history`, any model, current and past).
///
/// A lead that finished or left the model before may enter again only if
/// the model's `reentry.allowed` is true and `after_days` have passed since
/// its latest enrollment in the model ended.
pub fn eligible(
    model: &CareModel,
    facts: &LeadFacts,
    history: &[Enrollment],
    now: Timestamp,
) -> Result<(), Ineligible> {
    if let Some(field) = model.entry().mismatch(facts) {
        return Err(Ineligible::Entry(field));
    }
    if let Some(reason) = exit_reason(model, facts) {
        return Err(Ineligible::WouldExit(reason));
    }
    if goal_reached(model, facts, now) {
        return Err(Ineligible::GoalReached);
    }
    let mine = history.iter().filter(|e| e.model == model.name());
    let mut last_end: Option<Timestamp> = None;
    for e in mine {
        match e.ended_at() {
            None => return Err(Ineligible::AlreadyEnrolled),
            Some(at) => last_end = Some(last_end.map_or(at, |l| l.max(at))),
        }
    }
    if let Some(ended) = last_end {
        let reentry = model.reentry();
        if !reentry.allowed {
            return Err(Ineligible::ReentryNotAllowed);
        }
        let from = ended.saturating_add((reentry.after_days * MS_PER_DAY as f64).round() as i64);
        if now < from {
            return Err(Ineligible::ReentryTooSoon { from });
        }
    }
    Ok(())
}

/// The eligible model with the highest priority; on a tie, the first by
/// name. `None` when no model is eligible.
pub fn choose<'m>(
    models: &'m [CareModel],
    facts: &LeadFacts,
    history: &[Enrollment],
    now: Timestamp,
) -> Option<&'m CareModel> {
    best(models.iter(), facts, history, now)
}

fn best<'m>(
    models: impl Iterator<Item = &'m CareModel>,
    facts: &LeadFacts,
    history: &[Enrollment],
    now: Timestamp,
) -> Option<&'m CareModel> {
    models
        .filter(|m| eligible(m, facts, history, now).is_ok())
        .min_by(|a, b| {
            b.priority()
                .cmp(&a.priority())
                .then_with(|| a.name().cmp(b.name()))
        })
}

/// What the lead's care-model membership should become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    /// Stay where it is (or stay out: no model is eligible).
    Keep,
    /// Not enrolled: enter this model.
    Enter {
        /// The model.
        model: String,
    },
    /// Leave the current model (exit reason `switched`) and enter another.
    Switch {
        /// The current model.
        from: String,
        /// The model to enter.
        to: String,
    },
    /// The current model is no longer configured and nothing else is
    /// eligible: end the enrollment (exit reason `model-removed`).
    Leave {
        /// The current model.
        from: String,
    },
}

/// Decides membership on one evaluation of the lead.
///
/// Not enrolled: [`choose`] decides. Enrolled: the current model's goal and
/// exit take precedence — while either holds the answer is
/// [`Assignment::Keep`] and [`super::advance`] ends the enrollment with the
/// right outcome. Otherwise the current model's entry is checked again;
/// while it still matches the lead stays (a model of higher priority that
/// becomes eligible does not pull it away). When it no longer matches and
/// another model is eligible, the answer is [`Assignment::Switch`]; when
/// none is, the lead stays and finishes the model it is in.
pub fn assign(
    models: &[CareModel],
    facts: &LeadFacts,
    history: &[Enrollment],
    now: Timestamp,
) -> Assignment {
    let Some(current) = history.iter().find(|e| e.is_active()) else {
        return match choose(models, facts, history, now) {
            Some(m) => Assignment::Enter {
                model: m.name().to_string(),
            },
            None => Assignment::Keep,
        };
    };
    let model = models.iter().find(|m| m.name() == current.model);
    if let Some(model) = model
        && (goal_reached(model, facts, current.entered_at)
            || exit_reason(model, facts).is_some()
            || model.entry().matches(facts))
    {
        return Assignment::Keep;
    }
    let others = models.iter().filter(|m| m.name() != current.model);
    match (best(others, facts, history, now), model) {
        (Some(to), _) => Assignment::Switch {
            from: current.model.clone(),
            to: to.name().to_string(),
        },
        (None, Some(_)) => Assignment::Keep,
        (None, None) => Assignment::Leave {
            from: current.model.clone(),
        },
    }
}
