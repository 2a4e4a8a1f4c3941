//! The planner: one lead's way through one care model, as a pure state
//! machine driven by [`advance`].

use super::assign::{LeadFacts, exit_reason, goal_reached};
use super::local::MS_PER_HOUR;
use super::model::{Action, CareModel, Condition, SendStep};
use crate::identity::PersonId;
use crate::message::Message;
use crate::touchpoint::{
    Attribute, Channel, ContentStage, Identities, Timestamp, Touchpoint, TouchpointKind,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Why a lead left a model before its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitReason {
    /// The person unsubscribed.
    Unsubscribed,
    /// The person is marked do-not-contact.
    DoNotContact,
    /// The lead was disqualified.
    Disqualified,
    /// Mail to the person bounced for good.
    HardBounce,
    /// The lead no longer fits the model and moved to another.
    Switched {
        /// The model it moved to.
        to: String,
    },
    /// A new revision of the model no longer has the step it was at.
    ModelChanged,
    /// The model is no longer configured.
    ModelRemoved,
}

impl ExitReason {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            ExitReason::Unsubscribed => "unsubscribed",
            ExitReason::DoNotContact => "do-not-contact",
            ExitReason::Disqualified => "disqualified",
            ExitReason::HardBounce => "hard-bounce",
            ExitReason::Switched { .. } => "switched",
            ExitReason::ModelChanged => "model-changed",
            ExitReason::ModelRemoved => "model-removed",
        }
    }
}

/// How an enrollment ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The model's goal was reached.
    GoalReached,
    /// The lead left early.
    Exited(ExitReason),
    /// The lead went through every step without reaching the goal.
    Completed,
}

impl Outcome {
    /// A short name for reports: `goal-reached`, `completed`, or the exit
    /// reason's name.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::GoalReached => "goal-reached",
            Outcome::Exited(r) => r.name(),
            Outcome::Completed => "completed",
        }
    }
}

/// Where an enrollment stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Going through the steps.
    Active,
    /// Over.
    Finished {
        /// How it ended.
        outcome: Outcome,
        /// When.
        at: Timestamp,
    },
}

/// A message that went out for a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecord {
    /// The step's id.
    pub step: String,
    /// The message's idempotency key.
    pub key: String,
    /// The channel it went out on.
    pub channel: Channel,
    /// When.
    pub at: Timestamp,
}

/// A send step the send-time policy skipped for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// The step's id.
    pub step: String,
    /// The key the message would have had.
    pub key: String,
    /// Why ([`super::Reason::name`]).
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// One lead's way through one care model: plain data for the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrollment {
    /// The lead.
    pub person: PersonId,
    /// 1 for the person's first enrollment in any model, then counting.
    pub seq: u32,
    /// The model's name.
    pub model: String,
    /// The model's revision when the lead entered; part of every key, so a
    /// new revision never changes the key of a message.
    pub revision: u32,
    /// The revision whose steps it follows now.
    pub current_revision: u32,
    /// The index of the step it is at; the number of steps when past the end.
    pub step: usize,
    /// That step's id (so a new revision can find it again).
    pub step_id: Option<String>,
    /// When it entered.
    pub entered_at: Timestamp,
    /// Nothing happens before this: the end of a wait, or a send the
    /// policy rescheduled.
    pub next_at: Option<Timestamp>,
    /// Messages sent, oldest first.
    pub sent: Vec<SentRecord>,
    /// Send steps skipped for good.
    pub skipped: Vec<SkippedRecord>,
    /// Where it stands.
    pub status: Status,
}

/// The idempotency key of the message of `step`:
/// `nurture:{person}:{model}:{revision}:{enrollment seq}:{step}`. Only
/// tenant-agnostic parts; the host scopes keys by tenant.
pub fn idempotency_key(
    person: PersonId,
    model: &str,
    revision: u32,
    seq: u32,
    step: &str,
) -> String {
    format!("nurture:{}:{model}:{revision}:{seq}:{step}", person.0)
}

/// The `seq` for the person's next enrollment: one more than the highest
/// in `history` (1 for the first).
pub fn next_seq(history: &[Enrollment]) -> u32 {
    history.iter().map(|e| e.seq).max().unwrap_or(0) + 1
}

impl Enrollment {
    /// Enters the lead into `model` at its first step.
    pub fn start(model: &CareModel, person: PersonId, seq: u32, now: Timestamp) -> Enrollment {
        Enrollment {
            person,
            seq,
            model: model.name().to_string(),
            revision: model.revision(),
            current_revision: model.revision(),
            step: 0,
            step_id: model.steps().first().map(|s| s.id.clone()),
            entered_at: now,
            next_at: None,
            sent: Vec::new(),
            skipped: Vec::new(),
            status: Status::Active,
        }
    }

    /// The idempotency key of `step`'s message in this enrollment.
    pub fn key(&self, step: &str) -> String {
        idempotency_key(self.person, &self.model, self.revision, self.seq, step)
    }

    /// Whether it is still going.
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    /// When it ended; `None` while active.
    pub fn ended_at(&self) -> Option<Timestamp> {
        match self.status {
            Status::Active => None,
            Status::Finished { at, .. } => Some(at),
        }
    }

    /// The key of the message sent at `step`, if one was.
    pub fn sent_key(&self, step: &str) -> Option<&str> {
        self.sent
            .iter()
            .find(|s| s.step == step)
            .map(|s| s.key.as_str())
    }

    /// Whether `step` was sent or skipped: either way it is never sent again.
    pub fn handled(&self, step: &str) -> bool {
        self.sent.iter().any(|s| s.step == step) || self.skipped.iter().any(|s| s.step == step)
    }

    /// Records that the message went out on `channel` at `at`; the next
    /// [`advance`] moves past its step. Recording a step twice keeps the first.
    pub fn record_sent(&mut self, message: &Outgoing, channel: Channel, at: Timestamp) {
        if !self.handled(&message.step) {
            self.sent.push(SentRecord {
                step: message.step.clone(),
                key: message.key.clone(),
                channel,
                at,
            });
        }
        self.next_at = None;
    }

    /// Records that the policy skipped the message for good (`reason`: the
    /// reason's name); the next [`advance`] moves past its step.
    pub fn record_skipped(&mut self, message: &Outgoing, reason: &str, at: Timestamp) {
        if !self.handled(&message.step) {
            self.skipped.push(SkippedRecord {
                step: message.step.clone(),
                key: message.key.clone(),
                reason: reason.to_string(),
                at,
            });
        }
        self.next_at = None;
    }

    /// Holds the enrollment until `until` (a send the policy rescheduled);
    /// the same message, with the same key, comes back then.
    pub fn postpone(&mut self, until: Timestamp) {
        self.next_at = Some(until);
    }

    /// Ends it (a switch, a removed model); does nothing if it already ended.
    pub fn finish(&mut self, outcome: Outcome, at: Timestamp) -> Decision {
        if self.is_active() {
            self.status = Status::Finished {
                outcome: outcome.clone(),
                at,
            };
            self.next_at = None;
        }
        Decision::Finished(outcome)
    }

    fn move_to(&mut self, model: &CareModel, index: usize) {
        self.step = index;
        self.step_id = model.steps().get(index).map(|s| s.id.clone());
        self.next_at = None;
    }
}

/// A message the planner wants sent. The host picks the channel, asks the
/// send-time policy, and records the result on the enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// The idempotency key (see [`idempotency_key`]).
    pub key: String,
    /// The step's id.
    pub step: String,
    /// The content's id.
    pub content: String,
    /// The content's stage.
    pub stage: ContentStage,
    /// The subject line.
    pub subject: Option<String>,
    /// The plain-text body.
    pub text: String,
    /// The consent purpose.
    pub purpose: String,
}

impl Outgoing {
    /// The message for a connector's `deliver`: the model's name as the
    /// campaign, and the content stage and purpose as attributes.
    pub fn message(&self, recipient: Identities, model: &str) -> Message {
        Message {
            idempotency_key: self.key.clone(),
            recipient,
            recipient_name: None,
            subject: self.subject.clone(),
            text: self.text.clone(),
            html: None,
            content_id: Some(self.content.clone()),
            campaign: Some(model.to_string()),
            other: vec![
                Attribute {
                    name: "content_stage".into(),
                    value: stage_name(self.stage).into(),
                },
                Attribute {
                    name: "purpose".into(),
                    value: self.purpose.clone(),
                },
            ],
        }
    }
}

fn stage_name(stage: ContentStage) -> &'static str {
    match stage {
        ContentStage::Connecting => "connecting",
        ContentStage::Educating => "educating",
        ContentStage::Closing => "closing",
    }
}

/// What [`advance`] asks the host to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send this message (then record it, or the policy's skip or
    /// reschedule, on the enrollment).
    Send(Outgoing),
    /// Nothing to do before this time; call [`advance`] again then.
    WaitUntil(Timestamp),
    /// The enrollment is over.
    Finished(Outcome),
}

/// A page view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The URL.
    pub url: String,
    /// When; `None`: unknown (it counts).
    pub at: Option<Timestamp>,
}

/// What the person did with nurturing, for branch conditions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Engagement {
    /// Keys of messages opened.
    pub opened: BTreeSet<String>,
    /// Keys of messages with a click.
    pub clicked: BTreeSet<String>,
    /// Keys of messages replied to.
    pub replied: BTreeSet<String>,
    /// Keys of messages the person registered through.
    pub registered: BTreeSet<String>,
    /// Pages viewed.
    pub visits: Vec<Visit>,
    /// When the person attended events (`None`: unknown, it counts).
    pub attended: Vec<Option<Timestamp>>,
}

impl Engagement {
    /// Collects engagement from touchpoints. A touchpoint names the message
    /// it answers by the attribute `idempotency_key` in its properties'
    /// `other` (the email connector passes it through as a custom
    /// argument): `email-opened` → opened, `email-clicked` → clicked,
    /// `event-registered` → registered, a custom kind `replied` or ending
    /// in `-replied` → replied. Page views with a URL are visits;
    /// `event-attended` and `badge-scanned` are attendance.
    pub fn from_touchpoints(touchpoints: &[&Touchpoint]) -> Engagement {
        let mut e = Engagement::default();
        for t in touchpoints {
            let key = t
                .properties
                .other
                .iter()
                .find(|a| a.name == "idempotency_key")
                .map(|a| a.value.clone());
            match (&t.kind, key) {
                (TouchpointKind::EmailOpened, Some(k)) => {
                    e.opened.insert(k);
                }
                (TouchpointKind::EmailClicked, Some(k)) => {
                    e.clicked.insert(k);
                }
                (TouchpointKind::EventRegistered, Some(k)) => {
                    e.registered.insert(k);
                }
                (TouchpointKind::Custom(c), Some(k))
                    if c == "replied" || c.ends_with("-replied") =>
                {
                    e.replied.insert(k);
                }
                (TouchpointKind::PageView, _) => {
                    if let Some(url) = &t.properties.url {
                        e.visits.push(Visit {
                            url: url.clone(),
                            at: t.occurred_at,
                        });
                    }
                }
                (TouchpointKind::EventAttended | TouchpointKind::BadgeScanned, _) => {
                    e.attended.push(t.occurred_at);
                }
                _ => {}
            }
        }
        e
    }
}

/// Whether `condition` holds for the enrollment.
fn holds(condition: &Condition, e: &Enrollment, facts: &LeadFacts, g: &Engagement) -> bool {
    let since = |at: Option<Timestamp>| at.is_none_or(|t| t >= e.entered_at);
    let key = |step: &str| e.sent_key(step);
    match condition {
        Condition::Opened(s) => key(s).is_some_and(|k| {
            g.opened.contains(k) || g.clicked.contains(k) || g.replied.contains(k)
        }),
        Condition::Clicked(s) => key(s).is_some_and(|k| g.clicked.contains(k)),
        Condition::Replied(s) => key(s).is_some_and(|k| g.replied.contains(k)),
        Condition::Registered(s) => key(s).is_some_and(|k| g.registered.contains(k)),
        Condition::ScoreAbove(n) => facts.score > *n,
        Condition::Visited(part) => g
            .visits
            .iter()
            .any(|v| since(v.at) && v.url.to_lowercase().contains(part.as_str())),
        Condition::AttendedEvent(want) => g.attended.iter().any(|&at| since(at)) == *want,
        Condition::Grade(grade) => facts.grade == Some(*grade),
    }
}

fn outgoing(e: &Enrollment, step: &str, s: &SendStep) -> Outgoing {
    Outgoing {
        key: e.key(step),
        step: step.to_string(),
        content: s.content.clone(),
        stage: s.stage,
        subject: s.subject.clone(),
        text: s.text.clone(),
        purpose: s.purpose.clone(),
    }
}

/// Moves the enrollment along at `now` as far as it can go, and says what
/// blocks it.
///
/// The goal is checked first, then the exit conditions: either ends the
/// enrollment. Then, unless `next_at` is still ahead, steps run in order
/// from the current one: a branch jumps; a send step already sent or
/// skipped is passed (a step is never sent twice in one enrollment); a send
/// step not yet handled stops with [`Decision::Send`] — the same decision,
/// with the same key, on every call until the host records it; a `wait`
/// starts when reached and stops until it ends; a `wait_until` passes when
/// the lead's local time is inside the window and otherwise stops until its
/// next opening (reached a second time within one call it waits for the
/// next opening, so a loop through it cannot spin). Past the last step the
/// model is completed.
///
/// The answer is empty for an enrollment that already ended or belongs to
/// another model; otherwise it holds exactly one decision. When the model's
/// revision changed, the enrollment resumes at the step with the same id,
/// or exits (`model-changed`) if there is none.
pub fn advance(
    model: &CareModel,
    enrollment: &mut Enrollment,
    facts: &LeadFacts,
    engagement: &Engagement,
    now: Timestamp,
) -> Vec<Decision> {
    let e = enrollment;
    if !e.is_active() || e.model != model.name() {
        return Vec::new();
    }
    if goal_reached(model, facts, e.entered_at) {
        return vec![e.finish(Outcome::GoalReached, now)];
    }
    if let Some(reason) = exit_reason(model, facts) {
        return vec![e.finish(Outcome::Exited(reason), now)];
    }
    if e.current_revision != model.revision() {
        match e.step_id.as_deref().map(|id| model.step_index(id)) {
            Some(Some(index)) => e.step = index,
            Some(None) => return vec![e.finish(Outcome::Exited(ExitReason::ModelChanged), now)],
            None => e.step = model.steps().len(),
        }
        e.current_revision = model.revision();
    }
    if let Some(at) = e.next_at
        && now < at
    {
        return vec![Decision::WaitUntil(at)];
    }

    let steps = model.steps();
    let offset = facts.utc_offset_minutes;
    let mut visited = vec![false; steps.len()];
    // Validation leaves no loop without a wait, and a wait stops this loop
    // by its second visit, so 3n+3 rounds are more than enough.
    for _ in 0..3 * steps.len() + 3 {
        let Some(step) = steps.get(e.step) else {
            return vec![e.finish(Outcome::Completed, now)];
        };
        let revisit = std::mem::replace(&mut visited[e.step], true);
        let next = e.step + 1;
        match &step.action {
            Action::Send(s) => {
                if e.handled(&step.id) {
                    e.move_to(model, next);
                } else {
                    return vec![Decision::Send(outgoing(e, &step.id, s))];
                }
            }
            Action::Wait(ms) => {
                if e.next_at.is_some() {
                    // It started earlier and is over (`now` reached it).
                    e.move_to(model, next);
                } else {
                    let until = now.saturating_add(*ms);
                    e.next_at = Some(until);
                    return vec![Decision::WaitUntil(until)];
                }
            }
            Action::WaitUntil(window) => {
                let at = if e.next_at.is_some() {
                    now
                } else if revisit {
                    window.next_opening(now, offset, true)
                } else {
                    window.open_at(now, offset)
                };
                if at <= now {
                    e.move_to(model, next);
                } else {
                    e.next_at = Some(at);
                    return vec![Decision::WaitUntil(at)];
                }
            }
            Action::Branch(b) => {
                let target = if holds(&b.condition, e, facts, engagement) {
                    b.then
                } else {
                    b.otherwise
                };
                e.move_to(model, target);
            }
        }
    }
    let until = now.saturating_add(MS_PER_HOUR);
    e.next_at = Some(until);
    vec![Decision::WaitUntil(until)]
}
