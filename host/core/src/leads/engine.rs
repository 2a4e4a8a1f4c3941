//! The engine: state and the fold over touchpoints and commands.

use super::nurturing::Nurturing;
use super::signal::Signal;
use super::{
    AccountState, Command, CommandError, Effects, Equipment, Handoff, HandoffStatus, MAX_SIGNALS,
    Order, Outbound, OutboundKind, RecordedTransition, ScoreState, TenantConfig,
};
use crate::identity::{AccountId, IdentityGraph, MergeRecord, PersonId};
use crate::lifecycle::{
    Actor, Cause, Event, LeadFacts, Lifecycle, RoundRobin, SlaAction, SlaTimer, Stage, Transition,
    route,
};
use crate::predict::{Model, Sample, TrainOptions};
use crate::scoring::{self, Counted, Grade};
use crate::touchpoint::{Timestamp, Touchpoint, TouchpointKind, Traits};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;

/// One person's lead record. Persons merged away keep theirs (frozen) so
/// an unmerge can give it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Lead {
    pub(crate) person: PersonId,
    pub(crate) created_at: Timestamp,
    pub(crate) traits: Traits,
    /// The time of the newest touchpoint whose traits were taken.
    traits_at: Timestamp,
    /// Compact copies of the touchpoints resolved to this person, sorted by
    /// [`Signal::order`].
    pub(crate) signals: Vec<Signal>,
    /// Signals dropped beyond [`MAX_SIGNALS`].
    pub(crate) dropped: u64,
    /// The people whose signals count for this lead: itself and everyone
    /// merged into it. Empty while it is merged away.
    pub(crate) members: Vec<PersonId>,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) score: ScoreState,
    pub(crate) grade: Option<Grade>,
    /// Requalification counts engagement from this time (see the module doc).
    pub(crate) qualify_since: Option<Timestamp>,
    pub(crate) handoffs: Vec<Handoff>,
    pub(crate) products: BTreeSet<String>,
    /// The account whose member list holds this person.
    #[serde(default)]
    account: Option<AccountId>,
    /// Care-model enrollments, consents and nurturing engagement.
    #[serde(default)]
    pub(crate) nurturing: Nurturing,
    /// Its orders (eServices orders and deals won), with or without an
    /// account, the newest [`MAX_LEAD_ORDERS`]: the revenue reports read.
    #[serde(default)]
    pub(crate) orders: Vec<Order>,
}

/// Orders a lead keeps; older ones go (accounts still count them).
pub(crate) const MAX_LEAD_ORDERS: usize = 1000;

impl Lead {
    fn add_order(&mut self, order: Order) {
        if self.orders.len() >= MAX_LEAD_ORDERS {
            self.orders.remove(0);
        }
        self.orders.push(order);
    }
}

impl Lead {
    fn new(person: PersonId, at: Timestamp) -> Lead {
        Lead {
            person,
            created_at: at,
            traits: Traits::default(),
            traits_at: Timestamp::MIN,
            signals: Vec::new(),
            dropped: 0,
            members: vec![person],
            lifecycle: Lifecycle::default(),
            score: ScoreState::default(),
            grade: None,
            qualify_since: None,
            handoffs: Vec::new(),
            products: BTreeSet::new(),
            account: None,
            nurturing: Nurturing::default(),
            orders: Vec::new(),
        }
    }
}

/// One tenant's leads: see the [module documentation](super).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Engine {
    pub(crate) config: TenantConfig,
    pub(crate) graph: IdentityGraph,
    /// By person: `PersonId(n)` at index `n - 1`, parallel to the graph.
    pub(crate) leads: Vec<Lead>,
    /// By account: `AccountId(n)` at index `n - 1`.
    pub(crate) accounts: Vec<AccountState>,
    round_robin: RoundRobin,
    pub(crate) clock: Timestamp,
    /// The latest time a touchpoint was received or a command ran: the
    /// clock of hand-offs and their SLA, which run in real time even when
    /// old touchpoints are loaded.
    #[serde(default)]
    wall: Timestamp,
    pub(crate) model: Option<Model>,
    /// Active enrollments by the time they are due.
    #[serde(default)]
    pub(crate) schedule: BTreeSet<(Timestamp, PersonId)>,
    /// Touchpoints applied.
    pub(crate) applied: u64,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(TenantConfig::default())
    }
}

impl Engine {
    /// An engine with no leads yet.
    pub fn new(config: TenantConfig) -> Engine {
        Engine {
            config,
            graph: IdentityGraph::new(),
            leads: Vec::new(),
            accounts: Vec::new(),
            round_robin: RoundRobin::default(),
            clock: Timestamp::MIN,
            wall: Timestamp::MIN,
            model: None,
            schedule: BTreeSet::new(),
            applied: 0,
        }
    }

    /// Restores an engine from its serialized form (JSON of [`Engine`]),
    /// rebuilding what is derived rather than stored.
    pub fn from_json(json: &[u8]) -> Result<Engine, serde_json::Error> {
        let mut engine: Engine = serde_json::from_slice(json)?;
        engine.rematch_all();
        // A snapshot from before leads kept their orders: give them what
        // their accounts kept (the logs after the snapshot add the rest).
        if engine.leads.iter().all(|l| l.orders.is_empty()) {
            let kept: Vec<Order> = engine
                .accounts
                .iter()
                .flat_map(|a| a.recent_orders.iter().cloned())
                .collect();
            for order in kept {
                if let Some(lead) = engine.leads.get_mut(index(order.person.0)) {
                    lead.add_order(order);
                }
            }
            for lead in &mut engine.leads {
                lead.orders.sort_by_key(|o| o.at);
            }
        }
        Ok(engine)
    }

    /// The serialized form [`Engine::from_json`] reads.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// The configuration in force.
    pub fn config(&self) -> &TenantConfig {
        &self.config
    }

    /// The identity graph.
    pub fn graph(&self) -> &IdentityGraph {
        &self.graph
    }

    /// The engine's clock: the latest time it has seen.
    pub fn clock(&self) -> Timestamp {
        self.clock
    }

    /// The latest time a touchpoint was received or a command ran (the
    /// hand-offs' clock).
    pub(crate) fn wall(&self) -> Timestamp {
        self.wall
    }

    /// How many touchpoints it has applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The trained predictive model, if any.
    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref()
    }

    /// Applies one touchpoint received at `received_at`.
    pub fn apply(&mut self, touchpoint: &Touchpoint, received_at: Timestamp) -> Effects {
        let mut fx = Effects::default();
        let at = touchpoint.occurred_at.unwrap_or(received_at);
        self.clock = self.clock.max(at);
        self.wall = self.wall.max(received_at);
        self.applied += 1;
        let resolution = self.graph.resolve_at(touchpoint, at);
        self.sync_people(at);
        fx.conflicts.extend(resolution.conflicts);
        for merge in &resolution.merged {
            let record = self.graph.merges()[index(merge.0)].clone();
            self.absorb(&record, &mut fx);
            fx.merges.push(record);
        }
        let person = resolution.person;
        let now = self.clock;

        // The account: membership, orders and installed base.
        self.sync_account(person);
        if let Some(account) = resolution.account {
            self.record_account_facts(account, person, touchpoint, at);
        }

        let mut signal = Signal::of(touchpoint, at);
        signal.matched = scoring::matching(self.config.rules(), &signal.facts());
        let lead = &mut self.leads[index(person.0)];
        if touchpoint.kind == TouchpointKind::OrderPlaced {
            lead.add_order(Order {
                reference: touchpoint.external_id.clone(),
                at,
                amount: touchpoint.properties.amount,
                currency: touchpoint.properties.currency.clone(),
                person,
            });
        }
        lead.nurturing.observe(touchpoint);
        take_traits(lead, &touchpoint.traits, at);
        if let Some(topic) = product_interest(touchpoint)
            && !lead.products.contains(topic)
        {
            lead.products.insert(topic.to_string());
        }
        insert_signal(lead, signal);

        let purchase = touchpoint.kind == TouchpointKind::OrderPlaced;
        self.evaluate(person, purchase, now, &mut fx);
        fx
    }

    /// Runs a command at time `at`.
    pub fn command(&mut self, command: &Command, at: Timestamp) -> Result<Effects, CommandError> {
        self.clock = self.clock.max(at);
        self.wall = self.wall.max(at);
        let now = self.clock;
        let mut fx = Effects::default();
        match command {
            Command::Accept { person, by } => {
                let p = self.open_handoff(*person)?;
                self.transition(p, Event::SalesAccepted { by: by.clone() }, now, &mut fx)?;
                if let Some(account) = self.account_of_lead(p) {
                    let state = self.account_mut(account);
                    state.owner.get_or_insert_with(|| by.clone());
                }
            }
            Command::Reject { person, by, reason } => {
                let p = self.open_handoff(*person)?;
                let event = Event::SalesRejected {
                    by: by.clone(),
                    reason: reason.clone(),
                };
                self.transition(p, event, now, &mut fx)?;
            }
            Command::Won {
                person,
                amount,
                currency,
            } => {
                let p = self.known(*person)?;
                self.transition(p, Event::Purchased, now, &mut fx)?;
                let order = Order {
                    reference: format!("won:{}", p.0),
                    at: now,
                    amount: *amount,
                    currency: currency.clone(),
                    person: p,
                };
                self.leads[index(p.0)].add_order(order.clone());
                if let Some(account) = self.account_of_lead(p) {
                    add_order(self.account_mut(account), order);
                }
            }
            Command::Lost { person, reason } => {
                let p = self.known(*person)?;
                let event = Event::SalesRejected {
                    by: "crm".into(),
                    reason: reason.clone(),
                };
                self.transition(p, event, now, &mut fx)?;
            }
            Command::Disqualify {
                person,
                actor,
                reason,
            } => {
                let p = self.known(*person)?;
                let event = Event::Disqualify {
                    actor: actor.clone(),
                    reason: reason.clone(),
                };
                self.transition(p, event, now, &mut fx)?;
            }
            Command::Move {
                person,
                to,
                actor,
                note,
            } => {
                let p = self.known(*person)?;
                let event = Event::Manual {
                    to: *to,
                    actor: actor.clone(),
                    note: note.clone(),
                };
                self.transition(p, event, now, &mut fx)?;
            }
            Command::Unmerge { merge } => {
                self.graph.unmerge(*merge)?;
                let record = self.graph.merges()[index(merge.0)].clone();
                self.split(&record);
                self.evaluate(record.survivor, false, now, &mut fx);
                self.evaluate(record.absorbed, false, now, &mut fx);
                fx.merges.push(record);
            }
            Command::SlaExpired { person, seq } => {
                let p = self.known(*person)?;
                self.sla_expired(p, *seq, now, &mut fx)?;
            }
            Command::Configure { config } => {
                let rescore = config.scoring_json() != self.config.scoring_json();
                self.config = (**config).clone();
                if rescore {
                    self.rematch_all();
                }
                for i in 0..self.leads.len() {
                    if !self.leads[i].members.is_empty() {
                        self.evaluate(self.leads[i].person, false, now, &mut fx);
                    }
                }
            }
            Command::Tick => self.nurture_tick(now, &mut fx),
            Command::Train => {
                let (names, samples) = self.training_samples();
                let model = Model::train(names, &samples, &TrainOptions::default())?;
                self.model = Some(model);
            }
        }
        Ok(fx)
    }

    /// The hand-offs whose SLA has run out at `now`, as `(lead, seq)`: the
    /// host issues a [`Command::SlaExpired`] for each.
    pub fn due_handoffs(&self, now: Timestamp) -> Vec<(PersonId, u32)> {
        self.leads
            .iter()
            .filter(|l| !l.members.is_empty() && l.lifecycle.stage == Stage::SalesReady)
            .filter_map(|l| {
                let h = l.handoffs.last()?;
                (h.status == HandoffStatus::Open && h.owner.is_some() && now >= h.due_at)
                    .then_some((l.person, h.seq))
            })
            .collect()
    }

    // ----- evaluation -----

    /// Rescores a canonical lead and moves it as its state says.
    fn evaluate(&mut self, person: PersonId, purchase: bool, now: Timestamp, fx: &mut Effects) {
        let identified = self
            .graph
            .person(person)
            .is_some_and(|p| p.identities.iter().any(|i| !i.is_anonymous()));
        self.rescore(person, now);
        let lead = &self.leads[index(person.0)];
        let engaged = lead.score.fit > 0.0 || lead.score.engagement > 0.0;
        if identified {
            let _ = self.transition(person, Event::Identified, now, fx);
        }
        if engaged {
            let _ = self.transition(person, Event::Engaged, now, fx);
        }
        if purchase {
            // A purchase by an anonymous visitor or a disqualified lead is
            // kept in the account's history but does not move the lead.
            let before = fx.transitions.len();
            let _ = self.transition(person, Event::Purchased, now, fx);
            if fx.transitions.len() > before {
                // A new customer requalifies from now on: score again.
                self.rescore(person, now);
            }
        }
        let qualifying = self.leads[index(person.0)].score.qualifying;
        let _ = self.transition(person, Event::Scored { score: qualifying }, now, fx);
        self.nurture_assign(person, now);
    }

    /// Recomputes the score and grade of a canonical lead at `now`.
    fn rescore(&mut self, person: PersonId, now: Timestamp) {
        let lead = &self.leads[index(person.0)];
        let rules = self.config.rules();
        let mut signals: Vec<Counted<'_>> = Vec::new();
        for member in &lead.members {
            let m = &self.leads[index(member.0)];
            signals.extend(m.signals.iter().map(Signal::counted));
        }
        if lead.members.len() > 1 {
            signals.sort_by(Counted::order);
        }
        let score = scoring::score_matched(rules, &lead.traits, &signals, now, false);
        let requalifying = matches!(
            lead.lifecycle.stage,
            Stage::Recycled | Stage::Customer | Stage::Advocate
        );
        let qualifying = match lead.qualify_since {
            Some(since) if requalifying => {
                signals.retain(|t| t.occurred_at.is_some_and(|at| at > since));
                if signals.is_empty() {
                    // Fit alone never brings it back: it needs new interest.
                    0.0
                } else {
                    scoring::score_matched(rules, &lead.traits, &signals, now, false).total
                }
            }
            _ => score.total,
        };
        let grade = scoring::grade(lead.grade, score.total, rules);
        let lead = &mut self.leads[index(person.0)];
        lead.score = ScoreState {
            total: score.total,
            fit: score.fit,
            engagement: score.engagement,
            qualifying,
            at: now,
        };
        lead.grade = Some(grade);
    }

    /// Applies a lifecycle event to a canonical lead and carries out what
    /// the move means: hand-offs on entering sales-ready, closing them on
    /// leaving it, the requalification time on entering recycled or customer.
    fn transition(
        &mut self,
        person: PersonId,
        event: Event,
        now: Timestamp,
        fx: &mut Effects,
    ) -> Result<(), CommandError> {
        let policy = &self.config.policy;
        let lead = &mut self.leads[index(person.0)];
        let Some(t) = lead.lifecycle.apply(event, policy, now)? else {
            return Ok(());
        };
        let seq = (lead.lifecycle.history.len() - 1) as u32;
        if matches!(t.to, Stage::Recycled | Stage::Customer) && t.from != t.to {
            lead.qualify_since = Some(now);
        }
        fx.transitions.push(RecordedTransition {
            person,
            seq,
            transition: t.clone(),
        });
        self.after_transition(person, &t, now, fx);
        Ok(())
    }

    fn after_transition(
        &mut self,
        person: PersonId,
        t: &Transition,
        now: Timestamp,
        fx: &mut Effects,
    ) {
        if t.from == Stage::SalesReady && t.to != Stage::SalesReady {
            let pending = self.leads[index(person.0)]
                .handoffs
                .last()
                .is_some_and(|h| h.status.is_pending());
            if pending {
                // The hand-off ends the way the lead left sales-ready.
                let by = match &t.actor {
                    Actor::Sales(u) | Actor::Operator(u) => u.clone(),
                    Actor::System => "leadhost".to_string(),
                };
                let status = match &t.cause {
                    Cause::SalesAccepted => HandoffStatus::Accepted { by },
                    Cause::SalesRejected { reason } => HandoffStatus::Rejected {
                        by,
                        reason: reason.clone(),
                    },
                    _ => HandoffStatus::Closed,
                };
                self.settle_handoff(person, status, now, fx);
            }
        }
        if t.to == Stage::SalesReady && t.from != Stage::SalesReady {
            self.start_handoff(person, None, now, fx);
        }
        // A new stage can mean a new care model (a lead sales sent back
        // enters the one for recycled leads at once, not at its next
        // touchpoint).
        self.nurture_assign(person, now);
    }

    /// Routes a sales-ready lead and records the hand-off with its calls.
    fn start_handoff(
        &mut self,
        person: PersonId,
        exclude: Option<String>,
        now: Timestamp,
        fx: &mut Effects,
    ) {
        let account = self.account_of_lead(person);
        let lead = &self.leads[index(person.0)];
        let facts = LeadFacts {
            country: lead.traits.country.clone(),
            territory: lead
                .traits
                .other
                .iter()
                .find(|a| a.name == "territory")
                .map(|a| a.value.clone()),
            industry: lead.traits.industry.clone(),
            product_interest: lead.products.iter().cloned().collect(),
            account_owner: account.and_then(|a| self.accounts[index(a.0)].owner.clone()),
            exclude,
        };
        let seq = lead.handoffs.len() as u32 + 1;
        // Hand-offs run in real time: loading last year's touchpoints today
        // starts today's SLA, not one that ran out months ago.
        let now = now.max(self.wall);
        let due_at = now.saturating_add(self.config.policy.sla_millis());
        let (team, owner, rule, status) = match &self.config.routing {
            None => (
                None,
                None,
                None,
                HandoffStatus::Unassigned {
                    note: "no routing rules are configured".into(),
                },
            ),
            Some(rules) => match route(&facts, rules, &mut self.round_robin) {
                Ok(a) => (
                    Some(a.team),
                    Some(a.owner),
                    a.rule
                        .and_then(|i| rules.rules.get(i))
                        .map(|r| r.name.clone()),
                    HandoffStatus::Open,
                ),
                Err(e) => (
                    None,
                    None,
                    None,
                    HandoffStatus::Unassigned {
                        note: e.to_string(),
                    },
                ),
            },
        };
        let handoff = Handoff {
            seq,
            team,
            owner: owner.clone(),
            rule,
            assigned_at: now,
            due_at,
            status,
            updated_at: now,
        };
        let payload = self.handoff_payload(person, &handoff);
        self.leads[index(person.0)].handoffs.push(handoff.clone());
        fx.outbox.push(Outbound {
            key: format!("crm-handoff:{}:{seq}", person.0),
            kind: OutboundKind::CrmHandoff,
            person,
            recipient: owner.clone(),
            payload: payload.clone(),
        });
        if owner.is_some() {
            fx.outbox.push(Outbound {
                key: format!("owner-alert:{}:{seq}", person.0),
                kind: OutboundKind::OwnerAlert,
                person,
                recipient: owner,
                payload,
            });
        }
        fx.handoffs.push((person, handoff));
    }

    /// The body of the CRM hand-off and the owner's alert.
    fn handoff_payload(&self, person: PersonId, handoff: &Handoff) -> serde_json::Value {
        let lead = &self.leads[index(person.0)];
        let identities: Vec<serde_json::Value> = self
            .graph
            .person(person)
            .map(|p| {
                p.identities
                    .iter()
                    .filter(|i| !i.is_anonymous())
                    .map(|i| json!(i))
                    .collect()
            })
            .unwrap_or_default();
        let account = self
            .account_of_lead(person)
            .and_then(|a| self.graph.account(a))
            .and_then(|a| a.domain.clone());
        json!({
            "lead": person.0,
            "handoff": handoff.seq,
            "stage": lead.lifecycle.stage.name(),
            "score": round2(lead.score.total),
            "grade": lead.grade.map(Grade::name),
            "identities": identities,
            "traits": lead.traits,
            "account": account,
            "products": lead.products,
            "team": handoff.team,
            "owner": handoff.owner,
            "assigned_at": handoff.assigned_at,
            "due_at": handoff.due_at,
        })
    }

    fn settle_handoff(
        &mut self,
        person: PersonId,
        status: HandoffStatus,
        now: Timestamp,
        fx: &mut Effects,
    ) {
        if let Some(h) = self.leads[index(person.0)].handoffs.last_mut() {
            h.status = status;
            h.updated_at = now;
            fx.handoffs.push((person, h.clone()));
        }
    }

    fn sla_expired(
        &mut self,
        person: PersonId,
        seq: u32,
        now: Timestamp,
        fx: &mut Effects,
    ) -> Result<(), CommandError> {
        let lead = &self.leads[index(person.0)];
        let Some(h) = lead.handoffs.last().filter(|h| h.seq == seq).cloned() else {
            // Already answered or replaced: nothing to do.
            return Ok(());
        };
        let Some(owner) = h.owner.clone() else {
            return Ok(());
        };
        if h.status != HandoffStatus::Open || lead.lifecycle.stage != Stage::SalesReady {
            return Ok(());
        }
        let timer = SlaTimer {
            lead: person,
            owner: owner.clone(),
            started_at: h.assigned_at,
            due_at: h.due_at,
        };
        let Some(action) = crate::lifecycle::sla_check(&[timer], now, &self.config.policy)
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        self.transition(person, Event::SlaExpired(action.clone()), now, fx)?;
        match action {
            SlaAction::Escalate { to, .. } => {
                self.settle_handoff(person, HandoffStatus::Escalated { to: to.clone() }, now, fx);
                let lead = &self.leads[index(person.0)];
                fx.outbox.push(Outbound {
                    key: format!("escalation:{}:{seq}", person.0),
                    kind: OutboundKind::Escalation,
                    person,
                    recipient: Some(to.clone()),
                    payload: json!({
                        "lead": person.0,
                        "handoff": seq,
                        "owner": owner,
                        "escalated_to": to,
                        "due_at": h.due_at,
                        "score": round2(lead.score.total),
                    }),
                });
            }
            SlaAction::Reassign { from, .. } => {
                self.settle_handoff(person, HandoffStatus::Reassigned, now, fx);
                self.start_handoff(person, Some(from), now, fx);
            }
        }
        Ok(())
    }

    // ----- identity -----

    /// Adds a lead for every person the graph created.
    fn sync_people(&mut self, at: Timestamp) {
        while self.leads.len() < self.graph.people().len() {
            let id = PersonId(self.leads.len() as u64 + 1);
            let created = self.graph.person(id).map_or(at, |p| p.first_seen);
            self.leads.push(Lead::new(id, created));
        }
        while self.accounts.len() < self.graph.accounts().len() {
            let id = AccountId(self.accounts.len() as u64 + 1);
            self.accounts.push(AccountState {
                id,
                ..AccountState::default()
            });
        }
    }

    /// Joins the absorbed lead into the survivor.
    fn absorb(&mut self, record: &MergeRecord, fx: &mut Effects) {
        let (s, a) = (index(record.survivor.0), index(record.absorbed.0));
        let members = std::mem::take(&mut self.leads[a].members);
        let absorbed = &self.leads[a];
        let (traits, traits_at, products, qualify_since, stage, created_at) = (
            absorbed.traits.clone(),
            absorbed.traits_at,
            absorbed.products.clone(),
            absorbed.qualify_since,
            absorbed.lifecycle.stage,
            absorbed.created_at,
        );
        let survivor = &mut self.leads[s];
        survivor.members.extend(members);
        survivor.members.sort();
        survivor.created_at = survivor.created_at.min(created_at);
        if traits_at > survivor.traits_at {
            let older = std::mem::replace(&mut survivor.traits, traits);
            fill_missing(&mut survivor.traits, &older);
            survivor.traits_at = traits_at;
        } else {
            fill_missing(&mut survivor.traits, &traits);
        }
        survivor.products.extend(products);
        let absorbed_nurturing = self.leads[a].nurturing.consents.clone();
        let (unsubscribed, bounced, engagement) = {
            let n = &self.leads[a].nurturing;
            (n.unsubscribed, n.hard_bounced, n.engagement.clone())
        };
        let survivor = &mut self.leads[s];
        let n = &mut survivor.nurturing;
        n.consents.extend(absorbed_nurturing);
        n.consents.sort_by_key(|c| c.at);
        n.unsubscribed |= unsubscribed;
        n.hard_bounced |= bounced;
        n.take_engagement(engagement);
        if survivor.qualify_since.is_none() {
            survivor.qualify_since = qualify_since;
        }
        let event = Event::Merged {
            stage,
            absorbed: record.absorbed.0,
        };
        let _ = self.transition(record.survivor, event, record.at, fx);
        self.sync_account(record.survivor);
        self.sync_account(record.absorbed);
    }

    /// Moves a person between account member lists to match the graph.
    fn sync_account(&mut self, person: PersonId) {
        let now = self.account_of_lead(person);
        let before = self.leads[index(person.0)].account;
        if before == now {
            return;
        }
        if let Some(old) = before {
            self.account_mut(old).members.remove(&person);
        }
        if let Some(new) = now {
            self.account_mut(new).members.insert(person);
        }
        self.leads[index(person.0)].account = now;
    }

    /// Gives an unmerged person its members back.
    fn split(&mut self, record: &MergeRecord) {
        let s = index(record.survivor.0);
        let members = std::mem::take(&mut self.leads[s].members);
        let (back, stay): (Vec<PersonId>, Vec<PersonId>) = members
            .into_iter()
            .partition(|m| self.graph.canonical(*m) == record.absorbed);
        self.leads[s].members = stay;
        self.leads[index(record.absorbed.0)].members = back;
        self.sync_account(record.survivor);
        self.sync_account(record.absorbed);
    }

    fn known(&self, person: PersonId) -> Result<PersonId, CommandError> {
        if self.graph.person(person).is_none() {
            return Err(CommandError::UnknownLead(person.0));
        }
        Ok(self.graph.canonical(person))
    }

    fn open_handoff(&self, person: PersonId) -> Result<PersonId, CommandError> {
        let p = self.known(person)?;
        let lead = &self.leads[index(p.0)];
        let pending = lead.handoffs.last().is_some_and(|h| h.status.is_pending());
        if lead.lifecycle.stage != Stage::SalesReady || !pending {
            return Err(CommandError::NoOpenHandoff {
                person: p.0,
                stage: lead.lifecycle.stage,
            });
        }
        Ok(p)
    }

    // ----- accounts -----

    pub(crate) fn account_of_lead(&self, person: PersonId) -> Option<AccountId> {
        self.graph.person(person).and_then(|p| p.account)
    }

    fn account_mut(&mut self, id: AccountId) -> &mut AccountState {
        while self.accounts.len() < id.0 as usize {
            let next = AccountId(self.accounts.len() as u64 + 1);
            self.accounts.push(AccountState {
                id: next,
                ..AccountState::default()
            });
        }
        &mut self.accounts[index(id.0)]
    }

    fn record_account_facts(
        &mut self,
        account: AccountId,
        person: PersonId,
        t: &Touchpoint,
        at: Timestamp,
    ) {
        match t.kind {
            TouchpointKind::OrderPlaced => {
                let order = Order {
                    reference: t.external_id.clone(),
                    at,
                    amount: t.properties.amount,
                    currency: t.properties.currency.clone(),
                    person,
                };
                add_order(self.account_mut(account), order);
            }
            TouchpointKind::EquipmentRegistered => {
                let attr = |name: &str| {
                    t.properties
                        .other
                        .iter()
                        .find(|a| a.name == name)
                        .map(|a| a.value.clone())
                };
                if let Some(serial) = attr("serial") {
                    let equipment = Equipment {
                        model: attr("model"),
                        product_line: attr("product_line").or_else(|| t.properties.topic.clone()),
                        registered_at: at,
                    };
                    self.account_mut(account)
                        .installed_base
                        .insert(serial, equipment);
                }
            }
            _ => {}
        }
    }

    // ----- rescoring and the model -----

    /// Matches every signal against the rules again (after a rules change
    /// or a restore), spread over the machine's cores.
    fn rematch_all(&mut self) {
        let rules = self.config.rules();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = self.leads.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for part in self.leads.chunks_mut(chunk) {
                scope.spawn(move || {
                    for lead in part {
                        for signal in &mut lead.signals {
                            signal.matched = scoring::matching(rules, &signal.facts());
                        }
                    }
                });
            }
        });
    }

    /// One sample per identified lead: features from what it did before it
    /// became an opportunity (or from everything, if it never did), and
    /// whether it ever did.
    fn training_samples(&self) -> (Vec<String>, Vec<Sample>) {
        let mut samples = Vec::new();
        for lead in &self.leads {
            if lead.members.is_empty() || lead.lifecycle.stage == Stage::Visitor {
                continue;
            }
            let converted_at = lead
                .lifecycle
                .history
                .iter()
                .find(|t| t.to.rank() >= Stage::Opportunity.rank())
                .map(|t| t.at);
            samples.push(Sample {
                features: self.features(lead, converted_at),
                converted: converted_at.is_some(),
                created_at: lead.created_at,
            });
        }
        (
            super::views::FEATURES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            samples,
        )
    }

    /// The model's features of a lead, from its signals before `cut`.
    pub(crate) fn features(&self, lead: &Lead, cut: Option<Timestamp>) -> Vec<f64> {
        super::views::features(self, lead, cut)
    }
}

/// Inserts a signal at its place in the order; drops the oldest beyond the
/// limit.
fn insert_signal(lead: &mut Lead, signal: Signal) {
    let at = lead
        .signals
        .iter()
        .rposition(|s| Signal::order(s, &signal).is_le())
        .map_or(0, |i| i + 1);
    lead.signals.insert(at, signal);
    if lead.signals.len() > MAX_SIGNALS {
        lead.signals.remove(0);
        lead.dropped += 1;
    }
}

/// Takes reported traits: a newer touchpoint's values replace, an older
/// one's only fill gaps.
fn take_traits(lead: &mut Lead, traits: &Traits, at: Timestamp) {
    if is_empty(traits) {
        return;
    }
    if at >= lead.traits_at {
        let older = std::mem::take(&mut lead.traits);
        lead.traits = traits.clone();
        fill_missing(&mut lead.traits, &older);
        lead.traits_at = at;
    } else {
        fill_missing(&mut lead.traits, traits);
    }
}

/// Whether a touchpoint reported no traits at all (most do not).
fn is_empty(t: &Traits) -> bool {
    t.first_name.is_none()
        && t.last_name.is_none()
        && t.job_title.is_none()
        && t.company.is_none()
        && t.industry.is_none()
        && t.company_size.is_none()
        && t.country.is_none()
        && t.other.is_empty()
}

fn fill_missing(into: &mut Traits, from: &Traits) {
    fn fill<T: Clone>(a: &mut Option<T>, b: &Option<T>) {
        if a.is_none() {
            a.clone_from(b);
        }
    }
    fill(&mut into.first_name, &from.first_name);
    fill(&mut into.last_name, &from.last_name);
    fill(&mut into.job_title, &from.job_title);
    fill(&mut into.company, &from.company);
    fill(&mut into.industry, &from.industry);
    fill(&mut into.company_size, &from.company_size);
    fill(&mut into.country, &from.country);
    for attribute in &from.other {
        if !into.other.iter().any(|a| a.name == attribute.name) {
            into.other.push(attribute.clone());
        }
    }
}

/// The product or topic a touchpoint shows buying interest in.
fn product_interest(t: &Touchpoint) -> Option<&str> {
    use TouchpointKind::*;
    match t.kind {
        QuoteRequested | OrderPlaced | CartUpdated | Download | FormSubmitted
        | EquipmentRegistered | SocialLeadForm => t.properties.topic.as_deref(),
        _ => None,
    }
}

fn add_order(account: &mut AccountState, order: Order) {
    account.orders += 1;
    if let (Some(amount), Some(currency)) = (order.amount, order.currency.as_ref()) {
        *account
            .revenue
            .entry(currency.to_uppercase())
            .or_insert(0.0) += amount;
    }
    account.recent_orders.push(order);
    if account.recent_orders.len() > 50 {
        account.recent_orders.remove(0);
    }
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The vector index of a dense, 1-based id.
pub(crate) fn index(id: u64) -> usize {
    id.saturating_sub(1) as usize
}
