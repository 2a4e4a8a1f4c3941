//! What every report shares: the leads a query selects, a lead's touches,
//! how far it went along the funnel, its revenue, and small statistics.

use super::{DEFAULT_CURRENCY, MAIN_PATH, ReportQuery, Segment};
use crate::identity::PersonId;
use crate::leads::{Engine, Lead, Order, Signal};
use crate::lifecycle::Stage;
use crate::touchpoint::{Channel, Timestamp, TouchpointKind};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(super) const MS_PER_DAY: i64 = 86_400_000;

/// Shown for a lead without any touch, in every grouping.
pub(super) const NO_TOUCH: &str = "(no touch)";
/// Shown for a touch without a campaign or source.
pub(super) const NONE: &str = "(none)";
/// Shown for an order amount without a currency.
pub(super) const UNKNOWN_CURRENCY: &str = "(unknown)";

/// Every channel, in the order reports list them; a lead without a touch
/// comes after them, at index [`NO_TOUCH_INDEX`].
pub(super) const CHANNELS: [Channel; 7] = Channel::ALL;
pub(super) const NO_TOUCH_INDEX: usize = CHANNELS.len();

/// A channel's place in [`CHANNELS`]: [`Channel::ALL`] lists the channels
/// in their declaration order (a test checks it).
pub(super) fn channel_index(c: Channel) -> usize {
    c as usize
}

/// The name of a channel index (a channel or [`NO_TOUCH`]).
pub(super) fn channel_name(i: usize) -> &'static str {
    CHANNELS.get(i).map_or(NO_TOUCH, |c| c.as_str())
}

/// Whether a touchpoint is a step the person took (see the module
/// documentation): not one that only happened to it.
pub(super) fn is_touch(s: &Signal) -> bool {
    !matches!(
        s.kind,
        TouchpointKind::EmailDelivered
            | TouchpointKind::EmailBounced
            | TouchpointKind::EmailComplained
            | TouchpointKind::Unsubscribed
            | TouchpointKind::EventNoShow
    )
}

/// A stage's place on the main path; `None` off it.
pub(super) fn path_index(stage: Stage) -> Option<usize> {
    MAIN_PATH.iter().position(|s| *s == stage)
}

pub(super) const LEAD: usize = 3;
pub(super) const SALES_READY: usize = 4;
pub(super) const OPPORTUNITY: usize = 5;
pub(super) const CUSTOMER: usize = 6;

/// The lead record of a person.
pub(super) fn lead_of(engine: &Engine, person: PersonId) -> Option<&Lead> {
    engine.leads.get((person.0 as usize).wrapping_sub(1))
}

/// Leads per part of [`Scope::fold`]: fixed, so the parts do not depend on
/// the machine.
const PART: usize = 1 << 15;

#[cfg(not(test))]
fn part_size() -> usize {
    PART
}

#[cfg(test)]
thread_local! {
    /// Tests cut small histories into many parts to fold them in parallel.
    pub(super) static PART_SIZE: std::cell::Cell<usize> = const { std::cell::Cell::new(PART) };
}

#[cfg(test)]
fn part_size() -> usize {
    PART_SIZE.with(std::cell::Cell::get)
}

/// Which leads a fold visits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Select {
    /// Only leads created in the query's range.
    pub(super) in_range: bool,
    /// Give each lead's first touch.
    pub(super) first_touch: bool,
}

/// A query applied to one engine.
pub(super) struct Scope<'a> {
    pub(super) engine: &'a Engine,
    pub(super) q: &'a ReportQuery,
    /// The time open durations are measured to.
    pub(super) now: Timestamp,
}

impl<'a> Scope<'a> {
    pub(super) fn new(engine: &'a Engine, q: &'a ReportQuery) -> Scope<'a> {
        Scope {
            engine,
            q,
            now: q.now.unwrap_or_else(|| engine.clock().max(engine.wall())),
        }
    }

    /// Whether `at` is in the query's range `[from, to)`.
    pub(super) fn in_range(&self, at: Timestamp) -> bool {
        self.q.from.is_none_or(|f| at >= f) && self.q.to.is_none_or(|t| at < t)
    }

    /// Folds `step` over the canonical leads the query selects, with their
    /// first touch when `select.first_touch` or a filter needs it (else
    /// `None`), and returns the merged result.
    ///
    /// The leads are cut into parts of a fixed size, folded on up to as
    /// many threads as the machine has, and the parts' results merged in
    /// order: amounts are added in the same order on every machine, so the
    /// numbers are the same to the bit whatever the number of cores.
    pub(super) fn fold<T, I, S, M>(&self, select: Select, init: I, step: S, merge: M) -> T
    where
        T: Send,
        I: Fn() -> T + Sync,
        S: Fn(&mut T, &'a Lead, Option<&'a Signal>) + Sync,
        M: Fn(&mut T, T),
    {
        let parts: Vec<&'a [Lead]> = self.engine.leads.chunks(part_size()).collect();
        let fold_part = |part: &'a [Lead]| {
            let mut acc = init();
            for lead in part {
                if let Some(first) = self.select(lead, select) {
                    step(&mut acc, lead, first);
                }
            }
            acc
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(parts.len());
        let results: Vec<T> = if threads <= 1 {
            parts.iter().map(|p| fold_part(p)).collect()
        } else {
            let next = AtomicUsize::new(0);
            let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut out = Vec::new();
                            loop {
                                let i = next.fetch_add(1, Ordering::Relaxed);
                                let Some(part) = parts.get(i) else { break };
                                out.push((i, fold_part(part)));
                            }
                            out
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            });
            done.sort_by_key(|(i, _)| *i);
            done.into_iter().map(|(_, t)| t).collect()
        };
        let mut results = results.into_iter();
        let mut acc = results.next().unwrap_or_else(&init);
        for part in results {
            merge(&mut acc, part);
        }
        acc
    }

    /// Whether the query selects the lead: `Some` with its first touch (when
    /// asked for or needed), `None` when not.
    fn select(&self, lead: &'a Lead, select: Select) -> Option<Option<&'a Signal>> {
        if lead.members.is_empty() || (select.in_range && !self.in_range(lead.created_at)) {
            return None;
        }
        let q = self.q;
        let by_touch =
            q.channel.is_some() || q.medium.is_some() || q.source.is_some() || q.campaign.is_some();
        let first = if select.first_touch || by_touch {
            first_touch(self.engine, lead)
        } else {
            None
        };
        self.admits(lead, first).then_some(first)
    }

    fn admits(&self, lead: &Lead, first: Option<&Signal>) -> bool {
        let q = self.q;
        let text = |want: &Option<String>, got: fn(&Signal) -> Option<&str>| {
            want.as_deref()
                .is_none_or(|w| first.and_then(got) == Some(w))
        };
        q.channel
            .is_none_or(|c| first.is_some_and(|f| f.channel == c))
            && q.medium
                .is_none_or(|m| first.is_some_and(|f| f.medium == Some(m)))
            && text(&q.source, |f| f.source.as_deref())
            && text(&q.campaign, |f| f.campaign.as_deref())
            && q.segment.as_ref().is_none_or(|s| in_segment(lead, s))
            && q.care_model.as_deref().is_none_or(|m| {
                self.members(lead)
                    .any(|l| l.nurturing.enrollments.iter().any(|e| e.model == m))
            })
    }

    /// The lead itself and the people merged into it.
    pub(super) fn members(&self, lead: &'a Lead) -> impl Iterator<Item = &'a Lead> + 'a {
        let engine = self.engine;
        lead.members.iter().filter_map(move |m| lead_of(engine, *m))
    }

    /// Puts the lead's touches into `buf`, oldest first.
    pub(super) fn touches(&self, lead: &'a Lead, buf: &mut Vec<&'a Signal>) {
        buf.clear();
        for member in self.members(lead) {
            buf.extend(member.signals.iter().filter(|s| is_touch(s)));
        }
        if lead.members.len() > 1 {
            buf.sort_by(|a, b| Signal::order(a, b));
        }
    }
}

/// The earliest touch of the lead and the people merged into it.
pub(super) fn first_touch<'a>(engine: &'a Engine, lead: &'a Lead) -> Option<&'a Signal> {
    lead.members
        .iter()
        .filter_map(|m| lead_of(engine, *m))
        .filter_map(|l| l.signals.iter().find(|s| is_touch(s)))
        .min_by(|a, b| Signal::order(a, b))
}

fn in_segment(lead: &Lead, segment: &Segment) -> bool {
    let is = |value: Option<&str>, want: &str| {
        value.is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
    };
    let t = &lead.traits;
    match segment {
        Segment::Industry(want) => is(t.industry.as_deref(), want),
        Segment::Country(want) => is(t.country.as_deref(), want),
        Segment::Tier(want) => is(
            t.other
                .iter()
                .rfind(|a| a.name == "account_tier")
                .map(|a| a.value.as_str()),
            want,
        ),
    }
}

/// How far a lead went, from its stage history.
#[derive(Debug, Clone, Copy)]
pub(super) struct Path {
    /// The furthest main-path stage it reached (an index of [`MAIN_PATH`]).
    pub(super) furthest: usize,
    /// When it first reached opportunity or a stage beyond.
    pub(super) opportunity_at: Option<Timestamp>,
    /// When it first reached customer or a stage beyond.
    pub(super) customer_at: Option<Timestamp>,
}

impl Path {
    pub(super) fn of(lead: &Lead) -> Path {
        let mut path = Path {
            furthest: path_index(lead.lifecycle.stage).unwrap_or(0),
            opportunity_at: None,
            customer_at: None,
        };
        for t in &lead.lifecycle.history {
            let Some(i) = path_index(t.to) else { continue };
            path.furthest = path.furthest.max(i);
            if i >= OPPORTUNITY && path.opportunity_at.is_none() {
                path.opportunity_at = Some(t.at);
            }
            if i >= CUSTOMER && path.customer_at.is_none() {
                path.customer_at = Some(t.at);
            }
        }
        path
    }

    /// Whether it reached the main-path stage at index `i`.
    pub(super) fn reached(&self, i: usize) -> bool {
        self.furthest >= i
    }
}

/// The orders of every person, as their leads keep them, and the report
/// currency.
pub(super) struct Revenue<'a> {
    /// The report currency, upper-case.
    pub(super) currency: String,
    engine: &'a Engine,
}

/// One lead's revenue.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LeadRevenue {
    /// In the report currency.
    pub(super) amount: f64,
    /// When its first order in the report currency was placed.
    pub(super) first_at: Option<Timestamp>,
}

impl<'a> Revenue<'a> {
    pub(super) fn new(engine: &'a Engine, q: &ReportQuery) -> Revenue<'a> {
        let currency = match &q.currency {
            Some(c) => c.trim().to_uppercase(),
            None => {
                let mut currencies: Vec<(String, u64)> = Vec::new();
                let ordered = engine.leads.iter().flat_map(|l| &l.orders);
                for c in ordered
                    .filter(|o| o.amount.is_some())
                    .filter_map(|o| o.currency.as_deref())
                {
                    let c = c.trim().to_uppercase();
                    match currencies.iter_mut().find(|(k, _)| *k == c) {
                        Some((_, n)) => *n += 1,
                        None => currencies.push((c, 1)),
                    }
                }
                // The most common; a tie goes to the first in the alphabet.
                currencies
                    .into_iter()
                    .fold(None::<(String, u64)>, |best, (c, n)| match best {
                        Some((b, m)) if m > n || (m == n && b <= c) => Some((b, m)),
                        _ => Some((c, n)),
                    })
                    .map_or_else(|| DEFAULT_CURRENCY.to_string(), |(c, _)| c)
            }
        };
        Revenue { currency, engine }
    }

    fn of_person(&self, person: PersonId) -> &'a [Order] {
        let i = (person.0 as usize).wrapping_sub(1);
        self.engine
            .leads
            .get(i)
            .map_or(&[], |l| l.orders.as_slice())
    }

    /// The revenue of the lead and the people merged into it; amounts in
    /// other currencies go to `other`.
    pub(super) fn of(&self, lead: &Lead, other: &mut BTreeMap<String, f64>) -> LeadRevenue {
        let mut r = LeadRevenue::default();
        for member in &lead.members {
            for o in self.of_person(*member) {
                let Some(amount) = o.amount else { continue };
                match o.currency.as_deref() {
                    Some(c) if c.trim().eq_ignore_ascii_case(&self.currency) => {
                        r.amount += amount;
                        r.first_at = Some(r.first_at.map_or(o.at, |f| f.min(o.at)));
                    }
                    c => add_to(
                        other,
                        c.map_or(UNKNOWN_CURRENCY.to_string(), |c| c.trim().to_uppercase()),
                        amount,
                    ),
                }
            }
        }
        r
    }
}

/// Adds `amount` to `map[key]`.
pub(super) fn add_to(map: &mut BTreeMap<String, f64>, key: String, amount: f64) {
    *map.entry(key).or_insert(0.0) += amount;
}

/// The nearest-rank percentile `pct` (0–100) of `values`: the smallest
/// value with at least `pct`% of the values at or below it. Reorders
/// `values`; `None` when empty.
pub(super) fn percentile(values: &mut [i64], pct: usize) -> Option<i64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let rank = (pct * n).div_ceil(100).clamp(1, n);
    let (_, v, _) = values.select_nth_unstable(rank - 1);
    Some(*v)
}

/// `part / whole`, `None` when `whole` is 0.
pub(super) fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole != 0.0).then(|| part / whole)
}

/// The UTC year and month of a time.
pub(super) fn year_month(at: Timestamp) -> (i64, u32) {
    // Howard Hinnant's days-to-civil.
    let z = at.div_euclid(MS_PER_DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}
