//! Nurturing by care models, through each lead's preferred channel.
//!
//! A *care model* is a tenant's programme for a persona and segment: who may
//! enter, a sequence of steps (send content of a stage, wait, wait for a
//! weekday window, branch on engagement), a goal that ends it successfully
//! and conditions that end it early. Everything here is pure: no I/O, no
//! clock reads; every function takes `now` (milliseconds since the epoch),
//! so the host drives it with its clock and tests with a simulated one.
//!
//! The parts, in the order the host uses them:
//!
//! 1. [`CareModel::from_json`] and [`NurturePolicy::from_json`] read and
//!    validate the tenant's configuration.
//! 2. [`assign`] (with [`choose`] and [`eligible`]) says whether a lead
//!    enters, stays in, or switches its model.
//! 3. [`advance`] moves an [`Enrollment`] along and returns a [`Decision`]:
//!    send a message, wait until a time, or finished.
//! 4. For a send, [`preferred_channel`] and [`delivery_order`] rank the
//!    channels that can reach the person, and [`choose_channel`] /
//!    [`may_send`] apply consent, unsubscribes, quiet hours and frequency
//!    caps: send now on a channel, skip for good, or reschedule.
//! 5. The host records the result on the enrollment
//!    ([`Enrollment::record_sent`], [`Enrollment::record_skipped`],
//!    [`Enrollment::postpone`]) and calls [`advance`] again.
//!
//! ```
//! # use leadhost_core::nurture::*;
//! # use leadhost_core::{identity::PersonId, lifecycle::Stage, touchpoint::Channel};
//! let model = CareModel::from_json(r#"{"version": 1, "name": "hello",
//!     "steps": [{"id": "hi", "send": {"content": "c1", "stage": "connecting", "text": "Hi"}}]}"#)?;
//! let policy = NurturePolicy::default();
//! let facts = LeadFacts::new(PersonId(7), Stage::Prospect);
//! let now = 1_700_000_000_000;
//! let mut enrollment = Enrollment::start(&model, facts.person, 1, now);
//! let engagement = Engagement::default();
//! for decision in advance(&model, &mut enrollment, &facts, &engagement, now) {
//!     if let Decision::Send(out) = decision {
//!         assert_eq!(out.key, "nurture:7:hello:1:1:hi");
//!         let to = Recipient { facts: &facts, consents: &[], sent: &[] };
//!         let order = delivery_order(None, policy.fallback(), &[Channel::Email]);
//!         match choose_channel(&policy, &to, &out.purpose, &order, now) {
//!             Ok(channel) => enrollment.record_sent(&out, channel, now), // after deliver
//!             Err(Refusal::Skip(reason)) => enrollment.record_skipped(&out, reason.name(), now),
//!             Err(Refusal::Reschedule { at, .. }) => enrollment.postpone(at),
//!         }
//!     }
//! }
//! let done = advance(&model, &mut enrollment, &facts, &engagement, now);
//! assert_eq!(done, vec![Decision::Finished(Outcome::Completed)]);
//! # Ok::<(), CareModelError>(())
//! ```
//!
//! # The care model format (version 1)
//!
//! ```json
//! { "version": 1, "name": "mill-managers",
//!   "description": "Energy savings for mill managers of key pulp & paper accounts",
//!   "revision": 3,
//!   "entry": { "job_title": ["mill manager", "director", "head of *"],
//!              "industry": ["Pulp & Paper"],
//!              "account_tier": ["key", "A"],
//!              "stage": ["prospect", "lead", "recycled"],
//!              "grade": ["warm", "cold"],
//!              "score": { "min": 10, "max": 69 },
//!              "recycled_reason": ["no budget"],
//!              "customer_products": ["dryer"] },
//!   "steps": [
//!     { "id": "welcome", "send": { "content": "wp-energy", "stage": "connecting",
//!         "subject": "Cut drying energy by a fifth",
//!         "text": "Our white paper on dryer-section energy.", "purpose": "marketing" } },
//!     { "id": "pause", "wait": { "days": 3 } },
//!     { "id": "slot", "wait_until": { "weekdays": ["tue", "wed", "thu"],
//!                                     "from": "09:00", "to": "11:00" } },
//!     { "id": "check", "branch": { "if": { "clicked": "welcome" },
//!                                  "then": "closing", "else": "educate" } },
//!     { "id": "educate", "send": { "content": "case-nordic-mill", "stage": "educating",
//!         "subject": "How a Nordic mill did it", "text": "A case study." } },
//!     { "id": "closing", "send": { "content": "pricing-guide", "stage": "closing",
//!         "subject": "What it costs", "text": "Our pricing guide." } }
//!   ],
//!   "goal": { "stage": ["sales-ready", "opportunity", "customer"], "bought": true },
//!   "exit": { "unsubscribed": true, "disqualified": true, "hard_bounce": true },
//!   "reentry": { "allowed": true, "after_days": 90 },
//!   "priority": 10 }
//! ```
//!
//! Unknown fields are refused everywhere. Errors name the place:
//! `step 2 ("pause"): field `wait.days`: must be a number above 0`,
//! `entry: field `stage`: unknown stage "leed"`,
//! `step 4 ("check"): field `branch.then`: branch target "nope" is not a step id`.
//! Steps are numbered from 1 in messages.
//!
//! Top level:
//!
//! - `version` (required): must be `1`.
//! - `name` (required): 1 to 64 ASCII letters, digits, `-`, `_`, `.`;
//!   unique within the tenant (it is part of idempotency keys).
//! - `description` (optional): free text.
//! - `revision` (optional, ≥ 1, default 1): the tenant's edition of the
//!   model. An enrollment keeps the revision it entered under in its message
//!   keys; when a new revision is loaded it resumes at the step with the
//!   same id, or exits (`model-changed`) when that step is gone.
//! - `priority` (optional integer, default 0): among eligible models the
//!   highest wins; on a tie, the first by name.
//! - `steps` (required, 1 to 200).
//! - `entry`, `goal`, `exit`, `reentry` (optional).
//!
//! `entry` — who may enter. Every field is optional; every field given must
//! match, and within a list any value may. **An empty or absent entry
//! matches every lead.** Text compares case-insensitively.
//! `job_title` and `recycled_reason` are patterns as in the scoring rules
//! ([`crate::scoring::pattern_matches`]: without `*` a substring, with `*`
//! a whole-text glob); `recycled_reason` is matched against the latest
//! reason sales gave for sending the lead back. `industry`, `account_tier`:
//! exact values. `stage`: lifecycle stage names. `grade`: `hot`, `warm`,
//! `cold`. `score`: `{"min": n, "max": m}`, inclusive, either optional.
//! `customer_products`: any product installed at the lead's account.
//! A lead without the value a field asks about does not match it.
//!
//! Steps: each has an `id` (as `name`, unique in the model) and exactly one
//! of:
//!
//! - `send`: `content` (required), `stage` (required: `connecting`,
//!   `educating`, `closing`), `text` (required), `subject` (optional),
//!   `purpose` (optional, default `marketing`: the consent it needs).
//! - `wait`: `days` and/or `hours` (numbers above 0), counted from when the
//!   step is reached.
//! - `wait_until`: `from` and `to` (`HH:MM`, `from` before `to`, the window
//!   does not cross midnight) and `weekdays` (`mon` … `sun`; absent: every
//!   day), in the lead's local time. Inside the window the step passes at
//!   once; otherwise it waits for the window's next opening.
//! - `branch`: `if` (one condition), `then` (a step id), `else` (a step id;
//!   absent: the next step). A branch may not target itself.
//!
//! Branch conditions, one key each: `opened`, `clicked`, `replied`,
//! `registered` name a *send* step and hold when the person did that with
//! the message sent at it in this enrollment (a click or a reply counts as
//! an open; a step not sent holds none); `score_above: n` (the lead's score
//! is above n); `visited: "part"` (a page view since entering whose URL
//! contains it); `attended_event: true|false` (an event attended since
//! entering, or not); `grade: "hot"`.
//!
//! Steps run in order; a branch jumps; after the last step the model is
//! finished (`completed`: the goal was not reached). A model whose steps can
//! go round a loop without passing a `wait` or `wait_until` is refused
//! (loops through a wait are fine: "check again in a week").
//!
//! `goal` — any one ends the model with `goal-reached`: `stage` (the lead
//! reaches one of these stages), `bought: true` (the lead buys after
//! entering). `exit` — each `true` unless set `false`: `unsubscribed`,
//! `disqualified`, `hard_bounce`, `do_not_contact` end the model early.
//! (Setting one `false` keeps the lead in the model; the send-time policy
//! still never sends to an unsubscribed or do-not-contact person.)
//! `reentry` — `allowed` (default `false`) and `after_days` (default 0):
//! whether a lead that finished or left the model may enter it again, and
//! how many days after its enrollment ended.
//!
//! # Assignment
//!
//! A lead not in any model enters the eligible model of highest priority
//! ([`choose`]). Eligible means: the entry matches, no exit condition holds,
//! the goal does not already hold, the lead is not in the model now, and if
//! it was before, re-entry is allowed and `after_days` have passed since
//! that enrollment ended. A model's entry is checked again on every
//! evaluation ([`assign`]); goal and exit take precedence: while either
//! holds the lead stays, and [`advance`] ends the enrollment with that
//! outcome. Otherwise, when the current model's entry no longer matches and
//! another model is eligible, the answer is *switch* (the current enrollment
//! ends as exited `switched`). A lead whose entry still matches stays even
//! if a model of higher priority has become eligible.
//!
//! # Idempotency
//!
//! Every message has the key `nurture:{person}:{model}:{revision}:{seq}:{step}`
//! (`seq` numbers the person's enrollments from 1). Advancing twice at the
//! same time gives the same [`Decision::Send`] with the same key until the
//! host records it; a step recorded as sent or skipped is never sent again
//! in that enrollment.
//!
//! # Time zones
//!
//! Local time is the lead's fixed offset from UTC in minutes
//! ([`LeadFacts::utc_offset_minutes`]); no time-zone database is available
//! to the pure core, so the host passes the offset in force at the time
//! (daylight saving included). Windows and quiet hours are in that local
//! time.
//!
//! # The nurture policy format (version 1)
//!
//! ```json
//! { "version": 1,
//!   "quiet_hours": { "from": "20:00", "to": "08:00" },
//!   "caps": [ { "max": 2, "per_days": 7 },
//!             { "max": 1, "per_days": 2, "channel": "email" } ],
//!   "consent_defaults": { "marketing": true, "events": false },
//!   "fallback": ["email", "portal", "events", "social"] }
//! ```
//!
//! - `version` (required): must be `1`. Every other field is optional;
//!   unknown fields are refused.
//! - `quiet_hours`: `from` / `to` (`HH:MM`, different; `from` after `to`
//!   crosses midnight) in the lead's local time. A message due in quiet
//!   hours is rescheduled to their end. Absent: no quiet hours.
//! - `caps`: at most `max` (≥ 1) messages per `per_days` (> 0) days, a
//!   sliding window over every nurturing message sent to the person; with
//!   `channel`, only messages on that channel count and only sends on it are
//!   held. A capped message is rescheduled to the exact time the oldest
//!   counted message leaves the window. Absent: no caps.
//! - `consent_defaults`: purpose → allowed when the person never said.
//!   **`marketing` is allowed by default, unless the person withdrew it**
//!   (B2B soft opt-in); a tenant that needs opt-in sets `"marketing": false`.
//!   Purposes not listed are not allowed until granted.
//! - `fallback`: the channels to fall back to, in order, when the preferred
//!   one cannot reach the person (default `email, portal, events, social`).
//!   Delivery channels only: `email`, `portal`, `events`, `social`,
//!   `eservices`.
//!
//! Consent is per purpose and channel: the latest [`ConsentSignal`] for the
//! purpose on that channel or on every channel wins. Unsubscribed and
//! do-not-contact people are skipped. Every skip and reschedule carries a
//! [`Reason`] with a name for reports: `no-consent`, `unsubscribed`,
//! `do-not-contact`, `quiet-hours`, `frequency-cap`, `no-reachable-channel`.
//!
//! The preferred channel is learned from engagement: see [`channel`].
//!
//! [`ConsentSignal`]: crate::touchpoint::ConsentSignal

mod assign;
pub mod channel;
mod config;
mod json;
pub(crate) use json::delivery_channel;
pub(crate) mod local;
mod model;
mod plan;
mod policy;
mod steps;
#[cfg(test)]
mod tests;

pub use assign::{
    Assignment, Ineligible, LeadFacts, assign, choose, eligible, exit_reason, goal_reached,
};
pub use channel::{
    DEFAULT_FALLBACK, DELIVERY_CHANNELS, delivery_order, explicit_channel, learned_channel,
    preferred_channel,
};
pub use config::{NurtureConfig, NurtureConfigError};
pub use local::{QuietHours, TimeOfDay, Weekday, WeeklyWindow, minute_of_day, weekday};
pub use model::{
    Action, Branch, CARE_MODEL_VERSION, CareModel, CareModelError, Condition, Entry, Exit, Goal,
    MAX_STEPS, Reentry, ScoreRange, SendStep, Step,
};
pub use plan::{
    Decision, Engagement, Enrollment, ExitReason, Outcome, Outgoing, SentRecord, SkippedRecord,
    Status, Visit, advance, idempotency_key, next_seq,
};
pub use policy::{
    ConsentRecord, FrequencyCap, NurturePolicy, POLICY_VERSION, PolicyError, Reason, Recipient,
    Refusal, choose_channel, consent_given, earliest_send, may_send,
};
