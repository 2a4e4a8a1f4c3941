//! Read-only views of the engine for the API and the CLI.

use super::engine::{Lead, index, round2};
use super::signal::Signal;
use super::{AccountState, Equipment, Handoff, Order, RecordedTransition};
use crate::identity::{AccountId, Identity, MergeRecord, PersonId};
use crate::lifecycle::Stage;
use crate::scoring::{self, Counted, Grade, Section};
use crate::touchpoint::{Channel, Timestamp, TouchpointKind, Traits};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::Engine;

/// The predictive model's features, in order. Counts are `ln(1 + n)`.
pub const FEATURES: [&str; 16] = [
    "fit",
    "engagement",
    "touchpoints",
    "web",
    "email",
    "social",
    "eservices",
    "portal",
    "events",
    "forms",
    "downloads",
    "email_clicks",
    "events_attended",
    "quotes",
    "closing_content",
    "active_days",
];

const MS_PER_DAY: f64 = 86_400_000.0;

/// Which leads to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LeadFilter {
    /// Only this stage.
    pub stage: Option<Stage>,
    /// Only this grade.
    pub grade: Option<Grade>,
    /// Only leads whose current hand-off is to this user.
    pub owner: Option<String>,
    /// Only leads with a score at least this.
    pub min_score: Option<f64>,
    /// Only leads of this account.
    pub account: Option<u64>,
    /// Skip this many (after sorting by score, highest first).
    pub offset: usize,
    /// At most this many (default 50, at most 1000).
    pub limit: Option<usize>,
}

/// One page of leads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadPage {
    /// Leads matching the filter, in all.
    pub total: usize,
    /// This page, highest score first.
    pub items: Vec<LeadSummary>,
}

/// A lead in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadSummary {
    /// The lead's (canonical person's) id.
    pub id: u64,
    /// Its stage.
    pub stage: Stage,
    /// Its grade.
    pub grade: Option<Grade>,
    /// Its score at its last evaluation.
    pub score: f64,
    /// The predictive model's probability of converting, when a model is
    /// trained.
    pub predicted: Option<f64>,
    /// Its first e-mail address.
    pub email: Option<String>,
    /// First and last name.
    pub name: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Company as reported.
    pub company: Option<String>,
    /// Its account's id.
    pub account: Option<u64>,
    /// Its account's domain.
    pub account_domain: Option<String>,
    /// The owner of its current hand-off.
    pub owner: Option<String>,
    /// The status of its current hand-off.
    pub handoff: Option<&'static str>,
    /// When first seen.
    pub created_at: Timestamp,
    /// When last seen.
    pub last_seen: Timestamp,
    /// Touchpoints counted for it.
    pub touchpoints: usize,
}

/// One line of a score's explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedDelta {
    /// `fit` or `engagement`.
    pub section: &'static str,
    /// The rule's name.
    pub rule: String,
    /// The touchpoint's external id (engagement rules).
    pub touchpoint: Option<String>,
    /// Its kind.
    pub kind: Option<String>,
    /// When it happened.
    pub occurred_at: Option<Timestamp>,
    /// The rule's points.
    pub points: f64,
    /// After decay.
    pub decayed: f64,
    /// After the cap: what it adds.
    pub applied: f64,
}

/// A touchpoint as shown with its lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TouchpointLine {
    /// The channel's id of it.
    pub external_id: String,
    /// When.
    pub at: Option<Timestamp>,
    /// The channel.
    pub channel: Channel,
    /// What happened.
    pub kind: String,
    /// The URL, if any.
    pub url: Option<String>,
    /// The content topic, if any.
    pub topic: Option<String>,
    /// The campaign, if any.
    pub campaign: Option<String>,
}

/// Everything about one lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadView {
    /// The summary.
    #[serde(flatten)]
    pub summary: LeadSummary,
    /// The id asked for, when it was merged into this lead.
    pub requested: Option<u64>,
    /// Its identities.
    pub identities: Vec<Identity>,
    /// The people merged into it.
    pub merged_from: Vec<u64>,
    /// Reported traits.
    pub traits: Traits,
    /// Products and topics it showed buying interest in.
    pub products: Vec<String>,
    /// Fit part of the score.
    pub fit: f64,
    /// Engagement part of the score.
    pub engagement: f64,
    /// The score compared with the thresholds (requalification).
    pub qualifying: f64,
    /// The time the score was computed at.
    pub scored_at: Timestamp,
    /// Every contribution to the score at `scored_at`.
    pub explanation: Vec<ExplainedDelta>,
    /// The predictive model's largest contributions (feature, logit).
    pub predicted_because: Vec<(String, f64)>,
    /// Stage history, oldest first.
    pub history: Vec<RecordedTransition>,
    /// Hand-offs, oldest first.
    pub handoffs: Vec<Handoff>,
    /// Merges it took part in.
    pub merges: Vec<MergeRecord>,
    /// Its touchpoints, newest first (at most 200).
    pub recent_touchpoints: Vec<TouchpointLine>,
    /// Touchpoints dropped beyond the per-person limit.
    pub dropped_touchpoints: u64,
    /// Its care-model enrollments, oldest first: model, step, what was sent
    /// on which channel, what was skipped and why, how each ended.
    pub journey: Vec<crate::nurture::Enrollment>,
}

/// An account with its people, purchases and buying-group coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountView {
    /// Its id.
    pub id: u64,
    /// Its domain.
    pub domain: Option<String>,
    /// Explicit account ids.
    pub account_ids: Vec<String>,
    /// Its sales owner.
    pub owner: Option<String>,
    /// Its people (canonical leads), highest score first.
    pub people: Vec<LeadSummary>,
    /// The sum of its people's engagement scores.
    pub engagement: f64,
    /// The highest stage any of its people reached now.
    pub best_stage: Option<Stage>,
    /// Buying-group roles and who fills them.
    pub buying_group: BTreeMap<String, Vec<u64>>,
    /// Share of the policy's roles with at least one person (0 to 1).
    pub coverage: f64,
    /// Orders placed.
    pub orders: u32,
    /// Revenue by currency.
    pub revenue: BTreeMap<String, f64>,
    /// The latest orders.
    pub recent_orders: Vec<Order>,
    /// Installed equipment by serial.
    pub installed_base: BTreeMap<String, Equipment>,
}

/// How many leads are in each stage and grade.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct StageCounts {
    /// By stage name, in funnel order (every stage present).
    pub stages: Vec<(Stage, usize)>,
    /// By grade.
    pub grades: BTreeMap<String, usize>,
    /// Canonical leads.
    pub leads: usize,
    /// Accounts.
    pub accounts: usize,
    /// Touchpoints applied.
    pub touchpoints: u64,
    /// Merges made (undone ones included).
    pub merges: usize,
}

impl Engine {
    /// A page of leads matching `filter`, highest score first.
    pub fn leads(&self, filter: &LeadFilter) -> LeadPage {
        let mut matching: Vec<&Lead> = self
            .leads
            .iter()
            .filter(|l| !l.members.is_empty())
            .filter(|l| filter.stage.is_none_or(|s| l.lifecycle.stage == s))
            .filter(|l| filter.grade.is_none_or(|g| l.grade == Some(g)))
            .filter(|l| filter.min_score.is_none_or(|m| l.score.total >= m))
            .filter(|l| {
                filter.owner.as_ref().is_none_or(|o| {
                    l.handoffs
                        .last()
                        .is_some_and(|h| h.owner.as_ref() == Some(o))
                })
            })
            .filter(|l| {
                filter
                    .account
                    .is_none_or(|a| self.account_of_lead(l.person) == Some(AccountId(a)))
            })
            .collect();
        matching.sort_by(|a, b| {
            b.score
                .total
                .total_cmp(&a.score.total)
                .then(a.person.cmp(&b.person))
        });
        let limit = filter.limit.unwrap_or(50).min(1000);
        LeadPage {
            total: matching.len(),
            items: matching
                .iter()
                .skip(filter.offset)
                .take(limit)
                .map(|l| self.summary(l))
                .collect(),
        }
    }

    /// Everything about the lead `id` (an id merged into another shows that
    /// one, with `requested` set).
    pub fn lead(&self, id: u64) -> Option<LeadView> {
        self.graph.person(PersonId(id))?;
        let person = self.graph.canonical(PersonId(id));
        let lead = self.leads.get(index(person.0))?;
        let rules = self.config.rules();
        let mut signals = self.member_signals(lead);
        signals.sort_by(|a, b| Signal::order(a, b));
        let counted: Vec<Counted<'_>> = signals.iter().map(|s| s.counted()).collect();
        let score = scoring::score_matched(rules, &lead.traits, &counted, lead.score.at, true);
        let kinds: BTreeMap<&str, String> = signals
            .iter()
            .map(|t| (&*t.external_id, t.kind.name().into_owned()))
            .collect();
        let explanation = score
            .ledger
            .iter()
            .map(|d| ExplainedDelta {
                section: match d.section {
                    Section::Fit => "fit",
                    Section::Engagement => "engagement",
                },
                rule: d.rule_name.clone(),
                kind: d.touchpoint.as_deref().and_then(|t| kinds.get(t)).cloned(),
                touchpoint: d.touchpoint.clone(),
                occurred_at: d.occurred_at,
                points: d.points,
                decayed: round2(d.decayed),
                applied: round2(d.applied),
            })
            .collect();
        let recent: Vec<&Signal> = signals.iter().rev().copied().collect();
        let members: Vec<u64> = lead
            .members
            .iter()
            .filter(|m| **m != person)
            .map(|m| m.0)
            .collect();
        let merges = self
            .graph
            .merges()
            .iter()
            .filter(|m| lead.members.contains(&m.survivor) || lead.members.contains(&m.absorbed))
            .cloned()
            .collect();
        let history = lead
            .lifecycle
            .history
            .iter()
            .enumerate()
            .map(|(seq, t)| RecordedTransition {
                person,
                seq: seq as u32,
                transition: t.clone(),
            })
            .collect();
        let predicted_because = self
            .model
            .as_ref()
            .map(|m| {
                let mut c = m.contributions(&self.features(lead, None));
                c.truncate(5);
                c
            })
            .unwrap_or_default();
        Some(LeadView {
            summary: self.summary(lead),
            requested: (person.0 != id).then_some(id),
            identities: self
                .graph
                .person(person)
                .map(|p| p.identities.iter().cloned().collect())
                .unwrap_or_default(),
            merged_from: members,
            traits: lead.traits.clone(),
            products: lead.products.iter().cloned().collect(),
            fit: round2(lead.score.fit),
            engagement: round2(lead.score.engagement),
            qualifying: round2(lead.score.qualifying),
            scored_at: lead.score.at,
            explanation,
            predicted_because,
            history,
            handoffs: lead.handoffs.clone(),
            merges,
            recent_touchpoints: recent
                .iter()
                .take(200)
                .map(|t| TouchpointLine {
                    external_id: t.external_id.to_string(),
                    at: Some(t.at),
                    channel: t.channel,
                    kind: t.kind.name().into_owned(),
                    url: t.url.as_deref().map(str::to_string),
                    topic: t.topic.as_deref().map(str::to_string),
                    campaign: t.campaign.as_deref().map(str::to_string),
                })
                .collect(),
            dropped_touchpoints: lead
                .members
                .iter()
                .map(|m| self.leads[index(m.0)].dropped)
                .sum(),
            journey: lead.nurturing.enrollments.clone(),
        })
    }

    /// An account with its people and purchases.
    pub fn account(&self, id: u64) -> Option<AccountView> {
        let account = self.graph.account(AccountId(id))?;
        let state = self
            .accounts
            .get(index(id))
            .cloned()
            .unwrap_or_else(|| AccountState {
                id: AccountId(id),
                ..AccountState::default()
            });
        let mut people: Vec<&Lead> = state
            .members
            .iter()
            .map(|m| self.graph.canonical(*m))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|p| self.account_of_lead(*p) == Some(AccountId(id)))
            .filter_map(|p| self.leads.get(index(p.0)))
            .collect();
        people.sort_by(|a, b| b.score.total.total_cmp(&a.score.total));
        let mut buying_group: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (role, patterns) in &self.config.policy.buying_roles {
            let fillers = people
                .iter()
                .filter(|l| {
                    l.traits
                        .job_title
                        .as_deref()
                        .is_some_and(|t| patterns.iter().any(|p| scoring::pattern_matches(p, t)))
                })
                .map(|l| l.person.0)
                .collect();
            buying_group.insert(role.clone(), fillers);
        }
        let roles = buying_group.len();
        let covered = buying_group.values().filter(|v| !v.is_empty()).count();
        Some(AccountView {
            id,
            domain: account.domain.clone(),
            account_ids: account.account_ids.iter().cloned().collect(),
            owner: state.owner.clone(),
            engagement: round2(people.iter().map(|l| l.score.engagement).sum()),
            best_stage: people
                .iter()
                .map(|l| l.lifecycle.stage)
                .max_by_key(|s| s.rank()),
            people: people.iter().map(|l| self.summary(l)).collect(),
            buying_group,
            coverage: if roles == 0 {
                0.0
            } else {
                covered as f64 / roles as f64
            },
            orders: state.orders,
            revenue: state.revenue.clone(),
            recent_orders: state.recent_orders.clone(),
            installed_base: state.installed_base.clone(),
        })
    }

    /// Accounts by engagement, highest first, with at most `limit`.
    pub fn accounts(&self, limit: usize) -> Vec<AccountView> {
        let mut all: Vec<AccountView> = (1..=self.graph.accounts().len() as u64)
            .filter_map(|id| self.account(id))
            .collect();
        all.sort_by(|a, b| b.engagement.total_cmp(&a.engagement).then(a.id.cmp(&b.id)));
        all.truncate(limit);
        all
    }

    /// Counts by stage and grade.
    pub fn counts(&self) -> StageCounts {
        let mut stages: BTreeMap<Stage, usize> = Stage::ALL.iter().map(|s| (*s, 0)).collect();
        let mut grades = BTreeMap::new();
        let mut leads = 0;
        for lead in self.leads.iter().filter(|l| !l.members.is_empty()) {
            leads += 1;
            *stages.entry(lead.lifecycle.stage).or_insert(0) += 1;
            if let Some(g) = lead.grade {
                *grades.entry(g.name().to_string()).or_insert(0) += 1;
            }
        }
        StageCounts {
            stages: Stage::ALL
                .iter()
                .map(|s| (*s, stages.get(s).copied().unwrap_or(0)))
                .collect(),
            grades,
            leads,
            accounts: self.graph.accounts().len(),
            touchpoints: self.applied,
            merges: self.graph.merges().len(),
        }
    }

    fn summary(&self, lead: &Lead) -> LeadSummary {
        let person = self.graph.person(lead.person);
        let email = person.and_then(|p| {
            p.identities.iter().find_map(|i| match i {
                Identity::Email(e) => Some(e.clone()),
                _ => None,
            })
        });
        let name = match (&lead.traits.first_name, &lead.traits.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        };
        let account = self.account_of_lead(lead.person);
        let handoff = lead.handoffs.last();
        LeadSummary {
            id: lead.person.0,
            stage: lead.lifecycle.stage,
            grade: lead.grade,
            score: round2(lead.score.total),
            predicted: self
                .model
                .as_ref()
                .map(|m| (m.predict(&self.features(lead, None)) * 10_000.0).round() / 10_000.0),
            email,
            name,
            job_title: lead.traits.job_title.clone(),
            company: lead.traits.company.clone(),
            account: account.map(|a| a.0),
            account_domain: account
                .and_then(|a| self.graph.account(a))
                .and_then(|a| a.domain.clone()),
            owner: handoff.and_then(|h| h.owner.clone()),
            handoff: handoff.map(|h| h.status.name()),
            created_at: lead.created_at,
            last_seen: person.map_or(lead.created_at, |p| p.last_seen),
            touchpoints: lead
                .members
                .iter()
                .map(|m| self.leads[index(m.0)].signals.len())
                .sum(),
        }
    }

    fn member_signals<'a>(&'a self, lead: &'a Lead) -> Vec<&'a Signal> {
        lead.members
            .iter()
            .flat_map(|m| self.leads[index(m.0)].signals.iter())
            .collect()
    }
}

/// The model's features of a lead from its touchpoints before `cut` (all
/// when `None`), scored at `cut` or else at the engine's clock: a converted
/// lead as it was when it converted, any other as it is now.
pub(crate) fn features(engine: &Engine, lead: &Lead, cut: Option<Timestamp>) -> Vec<f64> {
    let rules = engine.config.rules();
    let mut signals: Vec<&Signal> = Vec::new();
    for member in &lead.members {
        let m = &engine.leads[index(member.0)];
        signals.extend(m.signals.iter().filter(|t| cut.is_none_or(|c| t.at < c)));
    }
    signals.sort_by(|a, b| Signal::order(a, b));
    let counted: Vec<Counted<'_>> = signals.iter().map(|s| s.counted()).collect();
    let now = cut.unwrap_or(engine.clock);
    let score = scoring::score_matched(rules, &lead.traits, &counted, now, false);
    let count = |f: &dyn Fn(&Signal) -> bool| {
        let n = signals.iter().filter(|t| f(t)).count();
        (n as f64).ln_1p()
    };
    let channel = |c: Channel| count(&|t: &Signal| t.channel == c);
    let kind = |ks: &[TouchpointKind]| count(&|t: &Signal| ks.contains(&t.kind));
    let first = signals.first().map(|t| t.at);
    let last = signals.last().map(|t| t.at);
    let active_days = match (first, last) {
        (Some(f), Some(l)) => ((l - f).max(0) as f64 / MS_PER_DAY).ln_1p(),
        _ => 0.0,
    };
    use TouchpointKind::*;
    vec![
        score.fit,
        score.engagement,
        (signals.len() as f64).ln_1p(),
        channel(Channel::Web),
        channel(Channel::Email),
        channel(Channel::Social),
        channel(Channel::Eservices),
        channel(Channel::Portal),
        channel(Channel::Events),
        kind(&[FormSubmitted, SocialLeadForm]),
        kind(&[Download]),
        kind(&[EmailClicked]),
        kind(&[EventAttended, BadgeScanned]),
        kind(&[QuoteRequested]),
        count(&|t: &Signal| t.stage == Some(crate::touchpoint::ContentStage::Closing)),
        active_days,
    ]
}
