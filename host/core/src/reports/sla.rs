//! Hand-offs to sales: how fast they are accepted, why they are rejected,
//! and whether recycled leads come back.

use super::ReportQuery;
use super::scope::{OPPORTUNITY, Scope, Select, path_index, percentile, ratio};
use super::table::{Table, count, hours, rate};
use crate::leads::{Engine, Handoff, HandoffStatus, Lead};
use crate::lifecycle::{Cause, Stage};
use crate::touchpoint::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The hand-offs assigned in the range and what became of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaReport {
    /// The range's start (inclusive): hand-offs by the time they were
    /// assigned; recycles and lost deals by the time they happened.
    pub from: Option<Timestamp>,
    /// The range's end (exclusive).
    pub to: Option<Timestamp>,
    /// The time open hand-offs are measured to.
    pub now: Timestamp,
    /// Hand-offs assigned in the range (a reassignment is a new one).
    pub handoffs: u64,
    /// Of them, accepted by sales.
    pub accepted: u64,
    /// Rejected by sales (the lead was recycled).
    pub rejected: u64,
    /// Still waiting for an answer (open, escalated or unassigned).
    pub open: u64,
    /// Passed to another owner when the SLA ran out.
    pub reassigned: u64,
    /// Ended another way: the lead bought, was disqualified or moved.
    pub closed: u64,
    /// Not answered by their due time: escalated or reassigned, answered
    /// or closed after it, or still waiting at `now` at or past it.
    pub expired: u64,
    /// Accepted at or before their due time.
    pub accepted_within_sla: u64,
    /// `accepted_within_sla / handoffs`.
    pub within_sla_share: Option<f64>,
    /// The median time from assignment (the lead turning sales-ready) to
    /// acceptance, in milliseconds (nearest rank), over accepted hand-offs.
    pub accept_median_ms: Option<i64>,
    /// The 90th percentile of that time (nearest rank).
    pub accept_p90_ms: Option<i64>,
    /// The reasons sales gave for the rejected hand-offs, most frequent first.
    pub rejection_reasons: Vec<ReasonCount>,
    /// The reasons the CRM gave for opportunities lost in the range.
    pub lost_reasons: Vec<ReasonCount>,
    /// Leads recycled in the range (rejected, lost, or sent back by hand).
    pub recycled: u64,
    /// Of them, leads that reached opportunity or customer after being
    /// recycled in the range.
    pub recycled_converted: u64,
    /// `recycled_converted / recycled`.
    pub recycled_conversion: Option<f64>,
}

/// A reason and how often it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    /// The reason, as given.
    pub reason: String,
    /// How many times.
    pub count: u64,
}

/// Most frequent first, then by reason.
pub(super) fn reason_counts<K: AsRef<str>>(map: BTreeMap<K, u64>) -> Vec<ReasonCount> {
    let mut list: Vec<ReasonCount> = map
        .into_iter()
        .map(|(reason, count)| ReasonCount {
            reason: reason.as_ref().to_string(),
            count,
        })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    list
}

/// Whether the hand-off was not answered by its due time (see
/// [`SlaReport::expired`]).
fn expired(h: &Handoff, now: Timestamp) -> bool {
    match &h.status {
        HandoffStatus::Escalated { .. } | HandoffStatus::Reassigned => true,
        HandoffStatus::Accepted { .. } | HandoffStatus::Rejected { .. } | HandoffStatus::Closed => {
            h.updated_at > h.due_at
        }
        HandoffStatus::Open | HandoffStatus::Unassigned { .. } => now >= h.due_at,
    }
}

/// The hand-offs of the selected leads assigned in `[from, to)`: counts by
/// outcome, time to acceptance, the SLA, rejection and loss reasons, and
/// how many leads recycled in the range came back to opportunity or
/// customer. Only leads' own hand-offs count (a person merged into another
/// keeps its old hand-offs, which no longer count).
pub fn sla(engine: &Engine, q: &ReportQuery) -> SlaReport {
    let scope = Scope::new(engine, q);
    let select = Select {
        in_range: false,
        first_touch: false,
    };
    let t = scope.fold(
        select,
        Tally::default,
        |t, lead, _| t.add(&scope, lead),
        Tally::merge,
    );
    let Tally {
        handoffs,
        accepted,
        rejected,
        open,
        reassigned,
        closed,
        expired,
        accepted_within_sla,
        mut to_accept,
        rejections,
        losses,
        recycled,
        recycled_converted,
    } = t;
    SlaReport {
        from: q.from,
        to: q.to,
        now: scope.now,
        handoffs,
        accepted,
        rejected,
        open,
        reassigned,
        closed,
        expired,
        accepted_within_sla,
        within_sla_share: ratio(accepted_within_sla as f64, handoffs as f64),
        accept_median_ms: percentile(&mut to_accept, 50),
        accept_p90_ms: percentile(&mut to_accept, 90),
        rejection_reasons: reason_counts(rejections),
        lost_reasons: reason_counts(losses),
        recycled,
        recycled_converted,
        recycled_conversion: ratio(recycled_converted as f64, recycled as f64),
    }
}

/// The counts of one part of the leads.
#[derive(Default)]
struct Tally<'a> {
    handoffs: u64,
    accepted: u64,
    rejected: u64,
    open: u64,
    reassigned: u64,
    closed: u64,
    expired: u64,
    accepted_within_sla: u64,
    to_accept: Vec<i64>,
    rejections: BTreeMap<&'a str, u64>,
    losses: BTreeMap<&'a str, u64>,
    recycled: u64,
    recycled_converted: u64,
}

impl<'a> Tally<'a> {
    fn add(&mut self, scope: &Scope<'a>, lead: &'a Lead) {
        for h in lead
            .handoffs
            .iter()
            .filter(|h| scope.in_range(h.assigned_at))
        {
            self.handoffs += 1;
            self.expired += u64::from(expired(h, scope.now));
            match &h.status {
                HandoffStatus::Accepted { .. } => {
                    self.accepted += 1;
                    self.to_accept.push((h.updated_at - h.assigned_at).max(0));
                    self.accepted_within_sla += u64::from(h.updated_at <= h.due_at);
                }
                HandoffStatus::Rejected { reason, .. } => {
                    self.rejected += 1;
                    *self.rejections.entry(reason.as_str()).or_insert(0) += 1;
                }
                HandoffStatus::Reassigned => self.reassigned += 1,
                HandoffStatus::Closed => self.closed += 1,
                HandoffStatus::Open
                | HandoffStatus::Escalated { .. }
                | HandoffStatus::Unassigned { .. } => self.open += 1,
            }
        }
        // Recycles and losses in the range, and a return after the first
        // recycle in it.
        let mut recycled_at: Option<Timestamp> = None;
        let mut converted = false;
        for t in &lead.lifecycle.history {
            if t.to == Stage::Recycled && t.from != t.to && scope.in_range(t.at) {
                recycled_at.get_or_insert(t.at);
                if let (Stage::Opportunity, Cause::SalesRejected { reason }) = (t.from, &t.cause) {
                    *self.losses.entry(reason.as_str()).or_insert(0) += 1;
                }
            } else if recycled_at.is_some() && path_index(t.to).is_some_and(|i| i >= OPPORTUNITY) {
                converted = true;
            }
        }
        if recycled_at.is_some() {
            self.recycled += 1;
            self.recycled_converted += u64::from(converted);
        }
    }

    fn merge(&mut self, o: Tally<'a>) {
        self.handoffs += o.handoffs;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.open += o.open;
        self.reassigned += o.reassigned;
        self.closed += o.closed;
        self.expired += o.expired;
        self.accepted_within_sla += o.accepted_within_sla;
        self.to_accept.extend(o.to_accept);
        for (reason, n) in o.rejections {
            *self.rejections.entry(reason).or_insert(0) += n;
        }
        for (reason, n) in o.losses {
            *self.losses.entry(reason).or_insert(0) += n;
        }
        self.recycled += o.recycled;
        self.recycled_converted += o.recycled_converted;
    }
}

impl SlaReport {
    /// One table of figures, one per list of reasons.
    pub fn tables(&self) -> Vec<Table> {
        let figures = [
            ("hand-offs", count(self.handoffs)),
            ("accepted", count(self.accepted)),
            ("rejected", count(self.rejected)),
            ("open", count(self.open)),
            ("reassigned", count(self.reassigned)),
            ("closed", count(self.closed)),
            ("expired", count(self.expired)),
            ("accepted within SLA", count(self.accepted_within_sla)),
            ("share within SLA", rate(self.within_sla_share)),
            ("hours to accept, median", hours(self.accept_median_ms)),
            ("hours to accept, p90", hours(self.accept_p90_ms)),
            ("recycled", count(self.recycled)),
            ("recycled, then converted", count(self.recycled_converted)),
            ("recycled conversion", rate(self.recycled_conversion)),
        ];
        let list = |title: &str, list: &[ReasonCount]| Table {
            title: title.to_string(),
            headers: vec!["reason".into(), "count".into()],
            rows: list
                .iter()
                .map(|r| vec![r.reason.clone(), count(r.count)])
                .collect(),
        };
        vec![
            Table {
                title: "Hand-offs and SLA".into(),
                headers: vec!["measure".into(), "value".into()],
                rows: figures
                    .into_iter()
                    .map(|(k, v)| vec![k.to_string(), v])
                    .collect(),
            },
            list("Rejection reasons", &self.rejection_reasons),
            list("Lost reasons", &self.lost_reasons),
        ]
    }
}
