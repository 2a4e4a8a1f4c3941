//! Reports that answer the budget question: the funnel, channel
//! performance, cost per lead and ROI, attribution, the hand-off SLA and
//! nurturing.
//!
//! Every report is a pure function of an [`Engine`] and a [`ReportQuery`]
//! (and, for [`cost`], the operator's [`Spend`]). The engine is a
//! deterministic fold over the stored touchpoint and command logs, so a
//! report comes from the stored history, never from counters kept on the
//! side: a store rebuilt from its logs replays to the same engine and gives
//! the same numbers, to the bit.
//!
//! # Which leads
//!
//! A lead is one canonical person. People merged into another are not
//! leads of their own: the survivor counts their touchpoints, orders and
//! care-model enrollments as its own.
//!
//! The query's filters select leads, and apply to every report:
//!
//! - `channel`, `source`, `medium`, `campaign` match the lead's **first
//!   touch**, its acquisition: the earliest touchpoint of the lead and the
//!   people merged into it that the person made (see *Touches* below).
//!   `source` and `campaign` compare exactly, as recorded. A lead without
//!   any touch matches none of them.
//! - `segment` matches the lead's reported traits: `industry:<value>`,
//!   `tier:<value>` (the `account_tier` attribute, as care models read it)
//!   or `country:<value>`, case-insensitively.
//! - `care_model` keeps leads ever enrolled in that model (in the
//!   [`nurture`] report it also keeps only that model's enrollments).
//!
//! The date range `[from, to)` (either end open when absent, milliseconds
//! since the epoch) is on a different time per report:
//!
//! | report        | a row counts when …                                     |
//! |---------------|---------------------------------------------------------|
//! | `funnel`      | the lead was created in the range (`created_at`)        |
//! | `channels`    | the lead was created in the range                       |
//! | `cost`        | the lead was created in the range; spend is prorated to the range |
//! | `attribution` | the lead was created in the range                       |
//! | `sla`         | the hand-off was assigned in the range; a recycle or a lost deal happened in it |
//! | `nurture`     | the enrollment began in the range                       |
//!
//! Stages and outcomes are the lead's as the engine holds them now, so a
//! cohort keeps maturing: a lead created in March that became a customer in
//! May counts as a March customer. `now` (default: the latest time the
//! engine has seen, a touchpoint's or a command's) only measures how long
//! something has been open: leads stuck in a stage, hand-offs past due.
//!
//! # The funnel
//!
//! The main path is [`MAIN_PATH`]: visitor → suspect → prospect → lead
//! (MQL) → sales-ready (SQL) → opportunity → customer → advocate. A lead
//! *reached* a stage of it when it was ever at that stage **or further
//! along**, since leads skip stages (a score crossing the SQL threshold goes
//! straight to sales-ready, an eServices order makes a prospect a customer).
//! Recycled and disqualified are off the path and reach nothing: for them
//! *reached* counts leads that ever entered them. MQLs are leads that
//! reached `lead`, sales-ready leads reached `sales-ready`, and so on, in
//! every report.
//!
//! # Revenue
//!
//! Revenue is the amount of the orders the engine records: eServices
//! `order-placed` touchpoints and deals the CRM reports won
//! ([`crate::leads::Command::Won`]). A lead's revenue is that of every order
//! placed by it or by a person merged into it, whenever it was placed: the
//! revenue a cohort of leads brought. Only orders in the report currency
//! count; the rest is summed per currency in `other_currency_revenue` and
//! left out of every ratio. The report currency is the query's, else the
//! most common currency of the recorded orders, else `EUR`.
//!
//! Every lead keeps its own orders (its newest 1,000), whether or not it
//! belongs to an account: a deal won by a lead with a free-mail address
//! counts like any other.
//!
//! # Touches
//!
//! Channel grouping and attribution look at the touchpoints the person
//! made: every touchpoint except `email-delivered`, `email-bounced`,
//! `email-complained`, `unsubscribed` and `event-no-show`, which are things
//! that happened to the person, not steps it took towards buying.
//!
//! # Speed
//!
//! Each report is one pass over the leads (and one over the accounts'
//! orders, for revenue), folded in parts of a fixed number of leads on all
//! cores; the parts' results are merged in order, so amounts are added in
//! the same order on any machine and the numbers do not depend on the
//! number of cores. Nothing sorts the touchpoints as a whole: a lead's
//! touches are already in time order (only a merged lead's are sorted, in a
//! reused buffer), and percentiles select (`select_nth_unstable`) rather
//! than sort. A lead's first touch is only looked up by the reports and
//! filters that need it.

mod attribution;
mod channels;
mod cost;
mod funnel;
mod nurture;
mod scope;
mod sla;
mod table;
#[cfg(test)]
mod tests;

pub use attribution::{AttributionModel, AttributionReport, CreditRow, ModelCredit, attribution};
pub use channels::{ChannelsReport, Performance, channels};
pub use cost::{CostReport, CostRow, Spend, StepCost, cost};
pub use funnel::{Cohort, Conversion, FunnelReport, StageRow, funnel};
pub use nurture::{CareModelRow, NurtureReport, StepRow, nurture};
pub use sla::{ReasonCount, SlaReport, sla};
pub use table::{Table, tables_csv, tables_text};

use crate::leads::Engine;
use crate::lifecycle::Stage;
use crate::touchpoint::{Acquisition, Channel, Timestamp};
use serde::{Deserialize, Serialize};

/// The main path of the funnel, in order. Per-stage lists in the reports
/// that say "per main-path stage" follow this order.
pub const MAIN_PATH: [Stage; 8] = [
    Stage::Visitor,
    Stage::Suspect,
    Stage::Prospect,
    Stage::Lead,
    Stage::SalesReady,
    Stage::Opportunity,
    Stage::Customer,
    Stage::Advocate,
];

/// How many days in one stage make a lead stuck, unless the query says.
pub const DEFAULT_STUCK_DAYS: u32 = 30;

/// The report currency when the query names none and no order has one.
pub const DEFAULT_CURRENCY: &str = "EUR";

/// What a report covers: a date range and filters (see the [module
/// documentation](self) for which time each report filters on). Every field
/// is optional; unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportQuery {
    /// The start of the range, inclusive (ms since the epoch); `None`: no start.
    pub from: Option<Timestamp>,
    /// The end of the range, exclusive; `None`: no end.
    pub to: Option<Timestamp>,
    /// The time open durations are measured to; `None`: the latest time the
    /// engine has seen.
    pub now: Option<Timestamp>,
    /// Only leads whose first touch came through this channel.
    pub channel: Option<Channel>,
    /// Only leads whose first touch had this source (exact).
    pub source: Option<String>,
    /// Only leads whose first touch had this medium.
    pub medium: Option<Acquisition>,
    /// Only leads whose first touch had this campaign (exact). In the cost
    /// report it also keeps only spend that names the campaign.
    pub campaign: Option<String>,
    /// Only leads of this segment: `industry:…`, `tier:…` or `country:…`.
    pub segment: Option<Segment>,
    /// Only leads ever enrolled in this care model.
    pub care_model: Option<String>,
    /// Days in one stage after which a lead counts as stuck (default 30).
    pub stuck_days: Option<u32>,
    /// The report currency (default: the most common order currency, else
    /// `EUR`).
    pub currency: Option<String>,
}

impl ReportQuery {
    /// The stuck threshold in days.
    pub fn stuck_days(&self) -> u32 {
        self.stuck_days.unwrap_or(DEFAULT_STUCK_DAYS)
    }
}

/// A segment of leads, written `key:value`: `industry:software` (the
/// reported industry), `tier:enterprise` (the `account_tier` attribute;
/// `account_tier:` is accepted too) or `country:FI`. Values compare
/// case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Segment {
    /// The reported industry.
    Industry(String),
    /// The account's importance tier.
    Tier(String),
    /// The reported country.
    Country(String),
}

impl std::str::FromStr for Segment {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Segment, ReportError> {
        let bad = || ReportError::BadSegment(s.to_string());
        let (key, value) = s.split_once(':').ok_or_else(bad)?;
        let value = value.trim();
        if value.is_empty() {
            return Err(bad());
        }
        let value = value.to_string();
        match key.trim().to_ascii_lowercase().as_str() {
            "industry" => Ok(Segment::Industry(value)),
            "tier" | "account_tier" => Ok(Segment::Tier(value)),
            "country" => Ok(Segment::Country(value)),
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for Segment {
    type Error = ReportError;
    fn try_from(s: String) -> Result<Segment, ReportError> {
        s.parse()
    }
}

impl From<Segment> for String {
    fn from(s: Segment) -> String {
        s.to_string()
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Segment::Industry(v) => write!(f, "industry:{v}"),
            Segment::Tier(v) => write!(f, "tier:{v}"),
            Segment::Country(v) => write!(f, "country:{v}"),
        }
    }
}

/// A query or a report name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// No report has this name.
    #[error("unknown report {0:?} (reports: funnel, channels, cost, attribution, sla, nurture)")]
    UnknownReport(String),
    /// A segment that is not `industry:…`, `tier:…` or `country:…`.
    #[error("segment {0:?} must be `industry:<value>`, `tier:<value>` or `country:<value>`")]
    BadSegment(String),
}

/// A time as a report query writes it: milliseconds since the epoch, a UTC
/// date `2026-03-01` (its midnight), a month `2026-03` (its first day) or an
/// RFC 3339 instant `2026-03-01T12:00:00Z` (`±HH:MM` offsets too).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year = number(parts.next()?)?;
    let month = number(parts.next()?)?;
    let day = match parts.next() {
        Some(d) => number(d)?,
        None if time.is_none() => 1,
        None => return None,
    };
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = crate::nurture::local::days_from_civil(year, month, day);
    let mut ms = days.checked_mul(86_400_000)?;
    if let Some(time) = time {
        let (clock, offset_minutes) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else if let Some(at) = time.rfind(['+', '-']) {
            let (c, o) = time.split_at(at);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (h, m) = o[1..].split_once(':')?;
            (c, sign * (number(h)? * 60 + number(m)?))
        } else {
            return None;
        };
        let (clock, fraction) = match clock.split_once('.') {
            Some((c, f)) => (c, f),
            None => (clock, ""),
        };
        let mut hms = clock.split(':');
        let h = number(hms.next()?)?;
        let m = number(hms.next()?)?;
        let s = hms.next().map(number).unwrap_or(Some(0))?;
        if hms.next().is_some() || h > 23 || m > 59 || s > 60 {
            return None;
        }
        let millis = if fraction.is_empty() {
            0
        } else {
            let digits: String = fraction.chars().take(3).collect();
            number(&digits)? * 10_i64.pow(3 - digits.len() as u32)
        };
        ms += (h * 3600 + m * 60 + s) * 1000 + millis - offset_minutes * 60_000;
    }
    Some(ms)
}

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportKind {
    /// [`funnel`].
    Funnel,
    /// [`channels`].
    Channels,
    /// [`cost`].
    Cost,
    /// [`attribution`].
    Attribution,
    /// [`sla`].
    Sla,
    /// [`nurture`].
    Nurture,
}

impl ReportKind {
    /// Every report, in the order the documentation lists them.
    pub const ALL: [ReportKind; 6] = [
        ReportKind::Funnel,
        ReportKind::Channels,
        ReportKind::Cost,
        ReportKind::Attribution,
        ReportKind::Sla,
        ReportKind::Nurture,
    ];

    /// The name the API and the CLI use.
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Funnel => "funnel",
            ReportKind::Channels => "channels",
            ReportKind::Cost => "cost",
            ReportKind::Attribution => "attribution",
            ReportKind::Sla => "sla",
            ReportKind::Nurture => "nurture",
        }
    }
}

impl std::str::FromStr for ReportKind {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<ReportKind, ReportError> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| ReportError::UnknownReport(s.to_string()))
    }
}

/// Any report, tagged with its name (`{"report": "funnel", …}` in JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "kebab-case")]
pub enum Report {
    /// The funnel.
    Funnel(FunnelReport),
    /// Channel, source/medium and campaign performance.
    Channels(ChannelsReport),
    /// Cost per lead and ROI.
    Cost(CostReport),
    /// Attribution of opportunities and revenue.
    Attribution(AttributionReport),
    /// Hand-offs and their SLA.
    Sla(SlaReport),
    /// Nurturing per care model and step.
    Nurture(NurtureReport),
}

/// Runs the report `kind` (`spend` is read by the cost report only).
pub fn run(kind: ReportKind, engine: &Engine, q: &ReportQuery, spend: &[Spend]) -> Report {
    match kind {
        ReportKind::Funnel => Report::Funnel(funnel(engine, q)),
        ReportKind::Channels => Report::Channels(channels(engine, q)),
        ReportKind::Cost => Report::Cost(cost(engine, q, spend)),
        ReportKind::Attribution => Report::Attribution(attribution(engine, q)),
        ReportKind::Sla => Report::Sla(sla(engine, q)),
        ReportKind::Nurture => Report::Nurture(nurture(engine, q)),
    }
}

impl Report {
    /// Which report it is.
    pub fn kind(&self) -> ReportKind {
        match self {
            Report::Funnel(_) => ReportKind::Funnel,
            Report::Channels(_) => ReportKind::Channels,
            Report::Cost(_) => ReportKind::Cost,
            Report::Attribution(_) => ReportKind::Attribution,
            Report::Sla(_) => ReportKind::Sla,
            Report::Nurture(_) => ReportKind::Nurture,
        }
    }

    /// The report as titled tables of text, for a terminal or CSV.
    pub fn tables(&self) -> Vec<Table> {
        match self {
            Report::Funnel(r) => r.tables(),
            Report::Channels(r) => r.tables(),
            Report::Cost(r) => r.tables(),
            Report::Attribution(r) => r.tables(),
            Report::Sla(r) => r.tables(),
            Report::Nurture(r) => r.tables(),
        }
    }
}
