//! Nurturing: per care model and step, what went out, what was skipped and
//! why, what was opened and clicked, and how enrollments ended.

use super::ReportQuery;
use super::scope::{Scope, Select, ratio};
use super::sla::{ReasonCount, reason_counts};
use super::table::{Table, count, rate, reasons};
use crate::leads::{Engine, Lead};
use crate::nurture::{Action, Outcome, Status};
use crate::touchpoint::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The enrollments that began in the range, per care model and step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NurtureReport {
    /// The range's start (inclusive), on the enrollment's start.
    pub from: Option<Timestamp>,
    /// The range's end (exclusive).
    pub to: Option<Timestamp>,
    /// The configured models in their configured order (with the query's
    /// care model, only it), then models no longer configured that have
    /// enrollments, by name.
    pub models: Vec<CareModelRow>,
}

/// One care model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CareModelRow {
    /// The model's name.
    pub model: String,
    /// Enrollments that began in the range.
    pub enrolled: u64,
    /// Of them, still going.
    pub active: u64,
    /// Ended by reaching the goal.
    pub goal_reached: u64,
    /// Went through every step without reaching the goal.
    pub completed: u64,
    /// Left early.
    pub exited: u64,
    /// Why they left, most frequent first.
    pub exits: Vec<ReasonCount>,
    /// Its send steps: the configured ones in order, then steps of older
    /// revisions with messages, by id.
    pub steps: Vec<StepRow>,
}

/// One send step of a care model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    /// The step's id.
    pub step: String,
    /// Messages sent.
    pub sent: u64,
    /// Of them, opened (a click or a reply counts as an open, as in the
    /// model's branches).
    pub opened: u64,
    /// Of them, with a click.
    pub clicked: u64,
    /// Messages the send-time policy skipped for good.
    pub skipped: u64,
    /// Why, most frequent first.
    pub skipped_by_reason: Vec<ReasonCount>,
}

#[derive(Default)]
struct StepTally<'a> {
    sent: u64,
    opened: u64,
    clicked: u64,
    skipped: BTreeMap<&'a str, u64>,
}

#[derive(Default)]
struct ModelTally<'a> {
    enrolled: u64,
    active: u64,
    goal_reached: u64,
    completed: u64,
    exits: BTreeMap<&'static str, u64>,
    steps: BTreeMap<&'a str, StepTally<'a>>,
}

/// Sends, skips (by reason), opens and clicks per care model and send step,
/// and how the enrollments ended, for the enrollments of the selected leads
/// (and the people merged into them) that began in `[from, to)`. Opens and
/// clicks are those that came back carrying the message's key.
pub fn nurture(engine: &Engine, q: &ReportQuery) -> NurtureReport {
    let scope = Scope::new(engine, q);
    let select = Select {
        in_range: false,
        first_touch: false,
    };
    let mut models = scope.fold(
        select,
        BTreeMap::new,
        |models, lead, _| tally(&scope, models, lead),
        |models, other| {
            for (name, t) in other {
                models.entry(name).or_default().merge(t);
            }
        },
    );

    let mut rows = Vec::new();
    let configured = engine
        .config()
        .nurture
        .models
        .iter()
        .filter(|m| q.care_model.as_deref().is_none_or(|c| c == m.name()));
    for model in configured {
        let mut tally = models.remove(model.name()).unwrap_or_default();
        let mut steps = Vec::new();
        for step in model.steps() {
            if matches!(step.action, Action::Send(_)) {
                let t = tally.steps.remove(step.id.as_str()).unwrap_or_default();
                steps.push(step_row(&step.id, t));
            }
        }
        rows.push(model_row(model.name(), tally, steps));
    }
    for (name, tally) in models {
        rows.push(model_row(name, tally, Vec::new()));
    }
    NurtureReport {
        from: q.from,
        to: q.to,
        models: rows,
    }
}

/// Counts the enrollments of a lead (and the people merged into it) that
/// began in the range.
fn tally<'a>(scope: &Scope<'a>, models: &mut BTreeMap<&'a str, ModelTally<'a>>, lead: &'a Lead) {
    let engagement = &lead.nurturing.engagement;
    for member in scope.members(lead) {
        for e in &member.nurturing.enrollments {
            if !scope.in_range(e.entered_at)
                || scope.q.care_model.as_deref().is_some_and(|m| m != e.model)
            {
                continue;
            }
            let m = models.entry(e.model.as_str()).or_default();
            m.enrolled += 1;
            match &e.status {
                Status::Active => m.active += 1,
                Status::Finished { outcome, .. } => match outcome {
                    Outcome::GoalReached => m.goal_reached += 1,
                    Outcome::Completed => m.completed += 1,
                    Outcome::Exited(reason) => {
                        *m.exits.entry(reason.name()).or_insert(0) += 1;
                    }
                },
            }
            for s in &e.sent {
                let step = m.steps.entry(s.step.as_str()).or_default();
                step.sent += 1;
                let clicked = engagement.clicked.contains(&s.key);
                let opened = clicked
                    || engagement.opened.contains(&s.key)
                    || engagement.replied.contains(&s.key);
                step.opened += u64::from(opened);
                step.clicked += u64::from(clicked);
            }
            for s in &e.skipped {
                let step = m.steps.entry(s.step.as_str()).or_default();
                *step.skipped.entry(s.reason.as_str()).or_insert(0) += 1;
            }
        }
    }
}

impl<'a> ModelTally<'a> {
    fn merge(&mut self, o: ModelTally<'a>) {
        self.enrolled += o.enrolled;
        self.active += o.active;
        self.goal_reached += o.goal_reached;
        self.completed += o.completed;
        for (reason, n) in o.exits {
            *self.exits.entry(reason).or_insert(0) += n;
        }
        for (id, step) in o.steps {
            let mine = self.steps.entry(id).or_default();
            mine.sent += step.sent;
            mine.opened += step.opened;
            mine.clicked += step.clicked;
            for (reason, n) in step.skipped {
                *mine.skipped.entry(reason).or_insert(0) += n;
            }
        }
    }
}

fn step_row(id: &str, t: StepTally<'_>) -> StepRow {
    StepRow {
        step: id.to_string(),
        sent: t.sent,
        opened: t.opened,
        clicked: t.clicked,
        skipped: t.skipped.values().sum(),
        skipped_by_reason: reason_counts(t.skipped),
    }
}

/// The row of a model; steps not configured (older revisions) follow
/// `steps`, by id.
fn model_row(name: &str, t: ModelTally<'_>, mut steps: Vec<StepRow>) -> CareModelRow {
    steps.extend(t.steps.into_iter().map(|(id, s)| step_row(id, s)));
    CareModelRow {
        model: name.to_string(),
        enrolled: t.enrolled,
        active: t.active,
        goal_reached: t.goal_reached,
        completed: t.completed,
        exited: t.exits.values().sum(),
        exits: reason_counts(t.exits),
        steps,
    }
}

impl NurtureReport {
    /// One table of models, one of steps.
    pub fn tables(&self) -> Vec<Table> {
        let models = Table {
            title: "Nurturing by care model".into(),
            headers: [
                "model",
                "enrolled",
                "active",
                "goal reached",
                "completed",
                "exited",
                "exit reasons",
            ]
            .map(String::from)
            .to_vec(),
            rows: self
                .models
                .iter()
                .map(|m| {
                    vec![
                        m.model.clone(),
                        count(m.enrolled),
                        count(m.active),
                        count(m.goal_reached),
                        count(m.completed),
                        count(m.exited),
                        reasons(&m.exits),
                    ]
                })
                .collect(),
        };
        let steps = Table {
            title: "Nurturing by step".into(),
            headers: [
                "model",
                "step",
                "sent",
                "opened",
                "clicked",
                "open rate",
                "click rate",
                "skipped",
                "skip reasons",
            ]
            .map(String::from)
            .to_vec(),
            rows: self
                .models
                .iter()
                .flat_map(|m| {
                    m.steps.iter().map(|s| {
                        vec![
                            m.model.clone(),
                            s.step.clone(),
                            count(s.sent),
                            count(s.opened),
                            count(s.clicked),
                            rate(ratio(s.opened as f64, s.sent as f64)),
                            rate(ratio(s.clicked as f64, s.sent as f64)),
                            count(s.skipped),
                            reasons(&s.skipped_by_reason),
                        ]
                    })
                })
                .collect(),
        };
        vec![models, steps]
    }
}
