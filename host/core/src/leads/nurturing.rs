//! Nurturing inside the lead engine: enrolling leads in the tenant's care
//! models on every evaluation, and advancing the due enrollments on a
//! [`super::Command::Tick`], which turns their sends into outbox calls.
//!
//! Due enrollments are kept in a schedule ordered by time, so a tick costs
//! what is due, not what is enrolled: a million idle leads cost nothing.

use super::engine::index;
use super::{Effects, Engine, Outbound, OutboundKind};
use crate::identity::{Identity, PersonId};
use crate::lifecycle::{Cause, Stage};
use crate::nurture::{
    self, Assignment, ConsentRecord, Decision, Engagement, Enrollment, ExitReason, LeadFacts,
    Outcome, Recipient, Refusal, SentRecord,
};
use crate::touchpoint::{Channel, Identities, Timestamp, Touchpoint, TouchpointKind};
use serde_json::json;

/// Page views kept per person for `visited` conditions.
const MAX_VISITS: usize = 100;
/// Decisions one enrollment may make in one tick (sends and skips in a row).
const MAX_DECISIONS: usize = 32;
/// The most due enrollments one tick advances, the longest due first; the
/// rest stay due, and the server's lead worker issues the next tick at once.
/// This bounds what one tick plans (and holds until it is committed), and
/// lets sending start while the rest is being planned.
pub const MAX_TICK_ADVANCES: usize = 10_000;

/// What a lead keeps for nurturing.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Nurturing {
    /// Every enrollment, oldest first; at most one active.
    pub(crate) enrollments: Vec<Enrollment>,
    /// Consent given and withdrawn.
    pub(crate) consents: Vec<ConsentRecord>,
    /// Opens, clicks, replies, registrations, visits and attendance.
    pub(crate) engagement: Engagement,
    /// The person unsubscribed.
    pub(crate) unsubscribed: bool,
    /// Mail to the person bounced.
    pub(crate) hard_bounced: bool,
    /// When the lead is in the schedule.
    pub(crate) scheduled_at: Option<Timestamp>,
}

impl Nurturing {
    /// Records what a touchpoint says about nurturing.
    pub(crate) fn observe(&mut self, t: &Touchpoint) {
        self.consents.extend(ConsentRecord::from_touchpoints(&[t]));
        match t.kind {
            TouchpointKind::Unsubscribed => self.unsubscribed = true,
            TouchpointKind::EmailBounced => self.hard_bounced = true,
            _ => {}
        }
        self.take_engagement(Engagement::from_touchpoints(&[t]));
    }

    /// Adds engagement (of a touchpoint, or of a person merged in), keeping
    /// the latest [`MAX_VISITS`] page views.
    pub(crate) fn take_engagement(&mut self, seen: Engagement) {
        let e = &mut self.engagement;
        e.opened.extend(seen.opened);
        e.clicked.extend(seen.clicked);
        e.replied.extend(seen.replied);
        e.registered.extend(seen.registered);
        e.attended.extend(seen.attended);
        e.visits.extend(seen.visits);
        if e.visits.len() > MAX_VISITS {
            let extra = e.visits.len() - MAX_VISITS;
            e.visits.drain(..extra);
        }
    }

    fn active(&mut self) -> Option<&mut Enrollment> {
        self.enrollments.iter_mut().rev().find(|e| e.is_active())
    }

    fn sent(&self) -> Vec<SentRecord> {
        self.enrollments
            .iter()
            .flat_map(|e| e.sent.iter().cloned())
            .collect()
    }
}

impl Engine {
    /// Enters, switches or leaves care models for a canonical lead, and
    /// puts an active enrollment in the schedule at once so that the next
    /// tick sees what just changed (a goal reached, an exit, engagement).
    pub(crate) fn nurture_assign(&mut self, person: PersonId, now: Timestamp) {
        if self.config.nurture.models.is_empty() && !self.has_active(person) {
            return;
        }
        let facts = self.nurture_facts(person);
        let models = &self.config.nurture.models;
        let lead = &mut self.leads[index(person.0)];
        let history = &lead.nurturing.enrollments;
        match nurture::assign(models, &facts, history, now) {
            Assignment::Keep => {}
            Assignment::Enter { model } => {
                if let Some(m) = models.iter().find(|m| m.name() == model) {
                    let seq = nurture::next_seq(history);
                    lead.nurturing
                        .enrollments
                        .push(Enrollment::start(m, person, seq, now));
                }
            }
            Assignment::Switch { to, .. } => {
                if let Some(active) = lead.nurturing.active() {
                    active.finish(
                        Outcome::Exited(ExitReason::Switched { to: to.clone() }),
                        now,
                    );
                }
                if let Some(m) = models.iter().find(|m| m.name() == to) {
                    let seq = nurture::next_seq(&lead.nurturing.enrollments);
                    lead.nurturing
                        .enrollments
                        .push(Enrollment::start(m, person, seq, now));
                }
            }
            Assignment::Leave { .. } => {
                if let Some(active) = lead.nurturing.active() {
                    active.finish(Outcome::Exited(ExitReason::ModelRemoved), now);
                }
            }
        }
        if self.has_active(person) {
            self.schedule(person, now);
        }
    }

    /// The earliest time an enrollment is due, if any.
    pub fn next_nurture_due(&self) -> Option<Timestamp> {
        self.schedule.first().map(|(at, _)| *at)
    }

    /// Whether more enrollments are due at `now` than one tick advances: the
    /// host's timer then issues the next tick at once.
    pub fn nurture_backlog(&self, now: Timestamp) -> bool {
        self.nurture_due(now).nth(MAX_TICK_ADVANCES).is_some()
    }

    /// The schedule's entries due at `now`, the longest due first.
    fn nurture_due(&self, now: Timestamp) -> impl Iterator<Item = &(Timestamp, PersonId)> {
        self.schedule.range(..=(now, PersonId(u64::MAX)))
    }

    /// Advances the enrollments due at `now`, at most
    /// [`MAX_TICK_ADVANCES`], the longest due first.
    pub(crate) fn nurture_tick(&mut self, now: Timestamp, fx: &mut Effects) {
        let due: Vec<(Timestamp, PersonId)> = self
            .nurture_due(now)
            .take(MAX_TICK_ADVANCES)
            .copied()
            .collect();
        for entry in due {
            self.schedule.remove(&entry);
            let person = entry.1;
            self.leads[index(person.0)].nurturing.scheduled_at = None;
            // A person merged away since: its survivor carries on.
            if self.leads[index(person.0)].members.is_empty() {
                continue;
            }
            self.nurture_advance(person, now, fx);
        }
    }

    fn has_active(&self, person: PersonId) -> bool {
        self.leads[index(person.0)]
            .nurturing
            .enrollments
            .iter()
            .any(Enrollment::is_active)
    }

    fn schedule(&mut self, person: PersonId, at: Timestamp) {
        let nurturing = &mut self.leads[index(person.0)].nurturing;
        if let Some(old) = nurturing.scheduled_at.take() {
            self.schedule.remove(&(old, person));
        }
        nurturing.scheduled_at = Some(at);
        self.schedule.insert((at, person));
    }

    fn nurture_advance(&mut self, person: PersonId, now: Timestamp, fx: &mut Effects) {
        for _ in 0..MAX_DECISIONS {
            let facts = self.nurture_facts(person);
            let Some(name) = self.leads[index(person.0)]
                .nurturing
                .enrollments
                .iter()
                .rev()
                .find(|e| e.is_active())
                .map(|e| e.model.clone())
            else {
                return;
            };
            let Some(model) = self.config.nurture.model(&name).cloned() else {
                if let Some(active) = self.leads[index(person.0)].nurturing.active() {
                    active.finish(Outcome::Exited(ExitReason::ModelRemoved), now);
                }
                return;
            };
            let lead = &mut self.leads[index(person.0)];
            let engagement = lead.nurturing.engagement.clone();
            let Some(enrollment) = lead.nurturing.active() else {
                return;
            };
            let decision = nurture::advance(&model, enrollment, &facts, &engagement, now)
                .into_iter()
                .next();
            match decision {
                None | Some(Decision::Finished(_)) => return,
                Some(Decision::WaitUntil(at)) => {
                    // Never due again in the same tick.
                    self.schedule(person, at.max(now.saturating_add(1)));
                    return;
                }
                Some(Decision::Send(out)) => {
                    let order = self.delivery_order(person, now);
                    let lead = &self.leads[index(person.0)];
                    let sent = lead.nurturing.sent();
                    let to = Recipient {
                        facts: &facts,
                        consents: &lead.nurturing.consents,
                        sent: &sent,
                    };
                    let policy = &self.config.nurture.policy;
                    match nurture::choose_channel(policy, &to, &out.purpose, &order, now) {
                        Ok(channel) => {
                            let connector = self
                                .config
                                .nurture
                                .connector(channel)
                                .unwrap_or_default()
                                .to_string();
                            let message = out.message(self.recipient(person), model.name());
                            fx.outbox.push(Outbound {
                                key: out.key.clone(),
                                kind: OutboundKind::Nurture,
                                person,
                                recipient: None,
                                payload: json!({
                                    "connector": connector,
                                    "channel": channel,
                                    "model": model.name(),
                                    "step": out.step,
                                    "message": message,
                                }),
                            });
                            if let Some(active) = self.leads[index(person.0)].nurturing.active() {
                                active.record_sent(&out, channel, now);
                            }
                        }
                        Err(Refusal::Skip(reason)) => {
                            if let Some(active) = self.leads[index(person.0)].nurturing.active() {
                                active.record_skipped(&out, reason.name(), now);
                            }
                        }
                        Err(Refusal::Reschedule { at, .. }) => {
                            if let Some(active) = self.leads[index(person.0)].nurturing.active() {
                                active.postpone(at);
                            }
                            self.schedule(person, at.max(now.saturating_add(1)));
                            return;
                        }
                    }
                }
            }
        }
        // A model that keeps deciding: look again at the next tick.
        self.schedule(person, now.saturating_add(1000));
    }

    /// Channels that can reach the person (a connector is configured for it
    /// and the person has an address on it), preferred first.
    fn delivery_order(&self, person: PersonId, now: Timestamp) -> Vec<Channel> {
        let ids = self.recipient(person);
        let reachable: Vec<Channel> = self
            .config
            .nurture
            .channels
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| match c {
                Channel::Email | Channel::Events => ids.email.is_some(),
                Channel::Portal | Channel::Eservices => {
                    ids.user_id.is_some() || ids.email.is_some()
                }
                Channel::Social => ids.social_handle.is_some(),
                Channel::Web | Channel::Other => false,
            })
            .collect();
        let lead = &self.leads[index(person.0)];
        let explicit = lead
            .traits
            .other
            .iter()
            .rfind(|a| a.name == "preferred_channel")
            .and_then(|a| nurture::delivery_channel(a.value.trim()));
        let signals = lead
            .members
            .iter()
            .flat_map(|m| self.leads[index(m.0)].signals.iter());
        let learned =
            nurture::channel::learned_channel_of(signals.map(|s| (&s.kind, Some(s.at))), now);
        let preferred = explicit.or(learned);
        nurture::delivery_order(preferred, self.config.nurture.policy.fallback(), &reachable)
    }

    /// The addresses a message to the person goes to.
    fn recipient(&self, person: PersonId) -> Identities {
        let mut ids = Identities::default();
        if let Some(p) = self.graph.person(person) {
            for identity in &p.identities {
                match identity {
                    Identity::Email(e) => {
                        ids.email.get_or_insert_with(|| e.clone());
                    }
                    Identity::UserId(u) => {
                        ids.user_id.get_or_insert_with(|| u.clone());
                    }
                    Identity::CrmId(c) => {
                        ids.crm_id.get_or_insert_with(|| c.clone());
                    }
                    Identity::Phone(n) => {
                        ids.phone.get_or_insert_with(|| n.clone());
                    }
                    Identity::SocialHandle(h) => {
                        ids.social_handle.get_or_insert_with(|| h.clone());
                    }
                    Identity::AnonymousId(_) => {}
                }
            }
        }
        ids
    }

    /// What care models look at in a lead.
    pub(crate) fn nurture_facts(&self, person: PersonId) -> LeadFacts {
        let lead = &self.leads[index(person.0)];
        let mut facts = LeadFacts::new(person, lead.lifecycle.stage);
        facts.grade = lead.grade;
        facts.score = lead.score.total;
        facts.job_title = lead.traits.job_title.clone();
        facts.industry = lead.traits.industry.clone();
        let attribute = |name: &str| {
            lead.traits
                .other
                .iter()
                .rfind(|a| a.name == name)
                .map(|a| a.value.clone())
        };
        facts.account_tier = attribute("account_tier");
        facts.utc_offset_minutes = attribute("utc_offset_minutes")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        facts.recycled_reason = lead
            .lifecycle
            .history
            .iter()
            .rev()
            .find_map(|t| match &t.cause {
                Cause::SalesRejected { reason } => Some(reason.clone()),
                _ => None,
            });
        facts.last_purchase_at = lead
            .lifecycle
            .history
            .iter()
            .rev()
            .find(|t| matches!(t.cause, Cause::Purchase))
            .map(|t| t.at);
        if let Some(account) = self.account_of_lead(person)
            && let Some(state) = self.accounts.get(index(account.0))
        {
            facts.installed_products = state
                .installed_base
                .values()
                .filter_map(|e| e.model.clone().or_else(|| e.product_line.clone()))
                .collect();
        }
        let n = &lead.nurturing;
        facts.unsubscribed = n.unsubscribed;
        facts.hard_bounced = n.hard_bounced;
        facts.disqualified = lead.lifecycle.stage == Stage::Disqualified;
        facts
    }
}
