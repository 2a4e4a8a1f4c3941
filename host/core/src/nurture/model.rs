//! Parsing and validating a care model (format version 1; the format is in
//! the [module documentation](super)).

use serde_json::{Map, Value};

use super::json::{check_id, get, names, texts, unknown};
use super::local::WeeklyWindow;
use super::steps::{find_loop, steps};
use crate::lifecycle::Stage;
use crate::scoring::Grade;
use crate::touchpoint::ContentStage;

/// The only care-model format version this crate reads.
pub const CARE_MODEL_VERSION: u64 = 1;

/// The most steps one care model may have.
pub const MAX_STEPS: usize = 200;

/// Why a care model was refused. Steps are numbered from 1 in messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CareModelError {
    /// Not JSON, or the top level is not an object.
    #[error("care model is not valid JSON: {0}")]
    Json(String),
    /// A `version` this crate does not read.
    #[error("care model version {found} is not supported (expected {CARE_MODEL_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// A field outside the steps is missing, unknown or wrong.
    #[error("{section}: field `{field}`: {reason}")]
    Field {
        /// `care model` (the top level), `entry`, `goal`, `exit` or `reentry`.
        section: &'static str,
        /// The field's path within the section.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// One step is malformed.
    #[error("{}", step_message(*.number, .id.as_deref(), .field, .reason))]
    Step {
        /// Its position, from 1.
        number: usize,
        /// Its id, when it has a readable one.
        id: Option<String>,
        /// The faulty field's path within the step (`wait.days`); empty
        /// when the step as a whole is wrong.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Steps that can run in a circle without passing a wait.
    #[error("steps {} loop without a wait: put a `wait` or `wait_until` step in the loop", loop_path(.steps))]
    Loop {
        /// The ids around the loop, the first repeated at the end.
        steps: Vec<String>,
    },
}

fn step_message(number: usize, id: Option<&str>, field: &str, reason: &str) -> String {
    let id = id.map(|i| format!(" ({i:?})")).unwrap_or_default();
    if field.is_empty() {
        format!("step {number}{id}: {reason}")
    } else {
        format!("step {number}{id}: field `{field}`: {reason}")
    }
}

fn loop_path(steps: &[String]) -> String {
    steps
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// A score range, both ends inclusive, either optional.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ScoreRange {
    /// The lowest matching score.
    pub min: Option<f64>,
    /// The highest matching score.
    pub max: Option<f64>,
}

impl ScoreRange {
    /// Whether `score` is within the range.
    pub fn contains(&self, score: f64) -> bool {
        self.min.is_none_or(|lo| score >= lo) && self.max.is_none_or(|hi| score <= hi)
    }
}

/// Who may enter a care model. Every field given must match; within a list
/// any value may. An empty entry matches every lead.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    /// Job-title patterns ([`crate::scoring::pattern_matches`]).
    pub job_title: Vec<String>,
    /// Industries, case-insensitive.
    pub industry: Vec<String>,
    /// Account importance tiers, case-insensitive.
    pub account_tier: Vec<String>,
    /// Lifecycle stages.
    pub stage: Vec<Stage>,
    /// Grades.
    pub grade: Vec<Grade>,
    /// The score range.
    pub score: Option<ScoreRange>,
    /// Patterns for the latest rejection reason (as job titles).
    pub recycled_reason: Vec<String>,
    /// Products installed at the lead's account, case-insensitive.
    pub customer_products: Vec<String>,
}

/// A message a step sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendStep {
    /// The content's id.
    pub content: String,
    /// The content's stage in the buying journey.
    pub stage: ContentStage,
    /// The subject line.
    pub subject: Option<String>,
    /// The plain-text body.
    pub text: String,
    /// The consent purpose it needs (default `marketing`).
    pub purpose: String,
}

/// What a branch tests. Engagement conditions look at the message sent at
/// the named step of the same enrollment.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The message was opened (a click or reply counts as an open).
    Opened(String),
    /// A link in the message was clicked.
    Clicked(String),
    /// The message was replied to.
    Replied(String),
    /// The person registered through the message (an event invitation).
    Registered(String),
    /// The lead's score is above this.
    ScoreAbove(f64),
    /// The person viewed a URL containing this (case-insensitive) since
    /// entering the model.
    Visited(String),
    /// The person attended (`true`) or did not attend (`false`) an event
    /// since entering the model.
    AttendedEvent(bool),
    /// The lead has this grade.
    Grade(Grade),
}

/// A jump: to `then` when the condition holds, else to `otherwise`.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// The test.
    pub condition: Condition,
    /// The step index when it holds.
    pub then: usize,
    /// The step index when it does not (the next step unless `else` is
    /// given; the number of steps means the model is finished).
    pub otherwise: usize,
}

/// What one step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Sends a message.
    Send(SendStep),
    /// Waits this many milliseconds from reaching the step.
    Wait(i64),
    /// Waits for the next opening of a weekly window in the lead's time.
    WaitUntil(WeeklyWindow),
    /// Jumps.
    Branch(Branch),
}

impl Action {
    /// Whether the step holds the enrollment until time passes.
    pub fn is_wait(&self) -> bool {
        matches!(self, Action::Wait(_) | Action::WaitUntil(_))
    }
}

/// One step of a care model.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Unique within the model; part of the idempotency key.
    pub id: String,
    /// What it does.
    pub action: Action,
}

/// What ends a model successfully: any one of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Goal {
    /// Reaching one of these stages.
    pub stage: Vec<Stage>,
    /// Buying after entering the model.
    pub bought: bool,
}

/// What takes a lead out of a model early. Each defaults to `true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The person unsubscribed.
    pub unsubscribed: bool,
    /// The lead was disqualified.
    pub disqualified: bool,
    /// Mail to the person bounced for good.
    pub hard_bounce: bool,
    /// The person is marked do-not-contact.
    pub do_not_contact: bool,
}

impl Default for Exit {
    fn default() -> Self {
        Exit {
            unsubscribed: true,
            disqualified: true,
            hard_bounce: true,
            do_not_contact: true,
        }
    }
}

/// Whether and when a lead may enter the model again after leaving it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reentry {
    /// May it at all (default `false`).
    pub allowed: bool,
    /// Days that must pass after the previous enrollment ended.
    pub after_days: f64,
}

/// A tenant's validated care model.
#[derive(Debug, Clone, PartialEq)]
pub struct CareModel {
    name: String,
    description: Option<String>,
    revision: u32,
    priority: i64,
    entry: Entry,
    steps: Vec<Step>,
    goal: Goal,
    exit: Exit,
    reentry: Reentry,
}

const TOP_FIELDS: &[&str] = &[
    "version",
    "name",
    "description",
    "revision",
    "entry",
    "steps",
    "goal",
    "exit",
    "reentry",
    "priority",
];

impl CareModel {
    /// Parses and validates a care model in the JSON format of the module
    /// documentation.
    pub fn from_json(json: &str) -> Result<CareModel, CareModelError> {
        let top = super::json::top(json).map_err(CareModelError::Json)?;
        let field = |field: &str, reason: String| CareModelError::Field {
            section: "care model",
            field: field.to_string(),
            reason,
        };
        if let Some(k) = unknown(&top, TOP_FIELDS) {
            return Err(field(&k, "unknown field".into()));
        }
        let version: u64 = get(&top, "version")
            .map_err(|r| field("version", r))?
            .ok_or_else(|| field("version", "missing".into()))?;
        if version != CARE_MODEL_VERSION {
            return Err(CareModelError::UnsupportedVersion { found: version });
        }
        let name: String = get(&top, "name")
            .map_err(|r| field("name", r))?
            .ok_or_else(|| field("name", "missing".into()))?;
        check_id(&name).map_err(|r| field("name", r))?;
        let description = get(&top, "description").map_err(|r| field("description", r))?;
        let revision: u32 = get(&top, "revision")
            .map_err(|r| field("revision", r))?
            .unwrap_or(1);
        if revision == 0 {
            return Err(field("revision", "must be 1 or more".into()));
        }
        let priority: i64 = get(&top, "priority")
            .map_err(|r| field("priority", r))?
            .unwrap_or(0);

        let section = |name: &'static str| -> Result<Map<String, Value>, CareModelError> {
            Ok(get(&top, name)
                .map_err(|r| field(name, r))?
                .unwrap_or_default())
        };
        let entry = entry(&section("entry")?)?;
        let goal = goal(&section("goal")?)?;
        let exit = exit(&section("exit")?)?;
        let reentry = reentry(&section("reentry")?)?;

        let raw: Vec<Value> = get(&top, "steps")
            .map_err(|r| field("steps", r))?
            .ok_or_else(|| field("steps", "missing".into()))?;
        if raw.is_empty() {
            return Err(field("steps", "needs at least one step".into()));
        }
        if raw.len() > MAX_STEPS {
            return Err(field("steps", format!("at most {MAX_STEPS} steps")));
        }
        let steps = steps(&raw)?;
        if let Some(cycle) = find_loop(&steps) {
            return Err(CareModelError::Loop {
                steps: cycle.into_iter().map(|i| steps[i].id.clone()).collect(),
            });
        }
        Ok(CareModel {
            name,
            description,
            revision,
            priority,
            entry,
            steps,
            goal,
            exit,
            reentry,
        })
    }

    /// The model's name, unique within the tenant.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it is for, in the tenant's words.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The revision the tenant gave it (default 1).
    pub fn revision(&self) -> u32 {
        self.revision
    }

    /// Higher wins when several models are eligible.
    pub fn priority(&self) -> i64 {
        self.priority
    }

    /// Who may enter.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The index of the step with this id.
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    /// What ends it successfully.
    pub fn goal(&self) -> &Goal {
        &self.goal
    }

    /// What takes a lead out early.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// Whether and when a lead may enter again.
    pub fn reentry(&self) -> Reentry {
        self.reentry
    }
}

/// Builds one section's error.
fn in_section(section: &'static str) -> impl Fn(&str, String) -> CareModelError {
    move |field: &str, reason: String| CareModelError::Field {
        section,
        field: field.to_string(),
        reason,
    }
}

const ENTRY_FIELDS: &[&str] = &[
    "job_title",
    "industry",
    "account_tier",
    "stage",
    "grade",
    "score",
    "recycled_reason",
    "customer_products",
];

fn entry(obj: &Map<String, Value>) -> Result<Entry, CareModelError> {
    let err = in_section("entry");
    if let Some(k) = unknown(obj, ENTRY_FIELDS) {
        return Err(err(&k, "unknown field".into()));
    }
    let text = |key: &str| texts(obj, key).map_err(|r| err(key, r));
    let score = match get::<Map<String, Value>>(obj, "score").map_err(|r| err("score", r))? {
        None => None,
        Some(range) => {
            if let Some(k) = unknown(&range, &["min", "max"]) {
                return Err(err(&format!("score.{k}"), "unknown field".into()));
            }
            let bound = |key: &str| -> Result<Option<f64>, CareModelError> {
                let path = format!("score.{key}");
                match get::<f64>(&range, key).map_err(|r| err(&path, r))? {
                    Some(v) if !v.is_finite() => Err(err(&path, "must be a finite number".into())),
                    v => Ok(v),
                }
            };
            let (min, max) = (bound("min")?, bound("max")?);
            match (min, max) {
                (None, None) => return Err(err("score", "needs min or max".into())),
                (Some(lo), Some(hi)) if lo > hi => {
                    return Err(err("score", "min is above max".into()));
                }
                _ => Some(ScoreRange { min, max }),
            }
        }
    };
    Ok(Entry {
        job_title: text("job_title")?,
        industry: text("industry")?,
        account_tier: text("account_tier")?,
        stage: names(obj, "stage", "stage", Stage::from_name).map_err(|r| err("stage", r))?,
        grade: names(obj, "grade", "grade", grade_from_name).map_err(|r| err("grade", r))?,
        score,
        recycled_reason: text("recycled_reason")?,
        customer_products: text("customer_products")?,
    })
}

/// Parses a grade's stored name.
pub(crate) fn grade_from_name(name: &str) -> Option<Grade> {
    [Grade::Cold, Grade::Warm, Grade::Hot]
        .into_iter()
        .find(|g| g.name() == name)
}

fn goal(obj: &Map<String, Value>) -> Result<Goal, CareModelError> {
    let err = in_section("goal");
    if let Some(k) = unknown(obj, &["stage", "bought"]) {
        return Err(err(&k, "unknown field".into()));
    }
    Ok(Goal {
        stage: names(obj, "stage", "stage", Stage::from_name).map_err(|r| err("stage", r))?,
        bought: get(obj, "bought")
            .map_err(|r| err("bought", r))?
            .unwrap_or(false),
    })
}

fn exit(obj: &Map<String, Value>) -> Result<Exit, CareModelError> {
    let err = in_section("exit");
    let keys = [
        "unsubscribed",
        "disqualified",
        "hard_bounce",
        "do_not_contact",
    ];
    if let Some(k) = unknown(obj, &keys) {
        return Err(err(&k, "unknown field".into()));
    }
    let flag = |key: &str| -> Result<bool, CareModelError> {
        Ok(get(obj, key).map_err(|r| err(key, r))?.unwrap_or(true))
    };
    Ok(Exit {
        unsubscribed: flag("unsubscribed")?,
        disqualified: flag("disqualified")?,
        hard_bounce: flag("hard_bounce")?,
        do_not_contact: flag("do_not_contact")?,
    })
}

fn reentry(obj: &Map<String, Value>) -> Result<Reentry, CareModelError> {
    let err = in_section("reentry");
    if let Some(k) = unknown(obj, &["allowed", "after_days"]) {
        return Err(err(&k, "unknown field".into()));
    }
    let after_days: f64 = get(obj, "after_days")
        .map_err(|r| err("after_days", r))?
        .unwrap_or(0.0);
    if !(after_days.is_finite() && after_days >= 0.0) {
        return Err(err("after_days", "must be a number of 0 or more".into()));
    }
    Ok(Reentry {
        allowed: get(obj, "allowed")
            .map_err(|r| err("allowed", r))?
            .unwrap_or(false),
        after_days,
    })
}
