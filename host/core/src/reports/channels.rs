//! Channel, source/medium and campaign performance, by the lead's first
//! touch.

use super::ReportQuery;
use super::scope::{
    CHANNELS, CUSTOMER, LEAD, NO_TOUCH, NO_TOUCH_INDEX, NONE, OPPORTUNITY, Path, Revenue,
    SALES_READY, Scope, Select, add_to, channel_index, channel_name,
};
use super::table::{Table, count, money};
use crate::leads::{Engine, Lead, Signal};
use crate::touchpoint::{Acquisition, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How the leads created in the range did, grouped three ways by their
/// first touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelsReport {
    /// The range's start (inclusive), on the lead's creation time.
    pub from: Option<Timestamp>,
    /// The range's end (exclusive).
    pub to: Option<Timestamp>,
    /// The currency of `revenue`.
    pub currency: String,
    /// Every lead in the range (`key`: `total`).
    pub totals: Performance,
    /// By the first touch's channel (`(no touch)`: leads without a touch),
    /// most leads first, then by name.
    pub by_channel: Vec<Performance>,
    /// By the first touch's `source / medium` (`(none)` for a missing one).
    pub by_source_medium: Vec<Performance>,
    /// By the first touch's campaign (`(none)`: a touch without one).
    pub by_campaign: Vec<Performance>,
    /// Revenue of these leads in other currencies, by currency; not in any
    /// `revenue` above.
    pub other_currency_revenue: BTreeMap<String, f64>,
}

/// What one group of leads did. Each count is of leads that reached the
/// stage (or one further along the main path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// The group.
    pub key: String,
    /// New leads: created in the range.
    pub leads: u64,
    /// That reached `lead` (marketing-qualified).
    pub mqls: u64,
    /// That reached `sales-ready`.
    pub sales_ready: u64,
    /// That reached `opportunity`.
    pub opportunities: u64,
    /// That reached `customer`.
    pub customers: u64,
    /// Their revenue in the report currency, all orders whenever placed.
    pub revenue: f64,
}

/// The counts behind a [`Performance`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counts {
    pub(super) leads: u64,
    pub(super) mqls: u64,
    pub(super) sales_ready: u64,
    pub(super) opportunities: u64,
    pub(super) customers: u64,
    pub(super) revenue: f64,
}

impl Counts {
    fn add(&mut self, path: &Path, revenue: f64) {
        self.leads += 1;
        self.mqls += u64::from(path.reached(LEAD));
        self.sales_ready += u64::from(path.reached(SALES_READY));
        self.opportunities += u64::from(path.reached(OPPORTUNITY));
        self.customers += u64::from(path.reached(CUSTOMER));
        self.revenue += revenue;
    }

    fn merge(&mut self, o: &Counts) {
        self.leads += o.leads;
        self.mqls += o.mqls;
        self.sales_ready += o.sales_ready;
        self.opportunities += o.opportunities;
        self.customers += o.customers;
        self.revenue += o.revenue;
    }

    pub(super) fn performance(&self, key: String) -> Performance {
        Performance {
            key,
            leads: self.leads,
            mqls: self.mqls,
            sales_ready: self.sales_ready,
            opportunities: self.opportunities,
            customers: self.customers,
            revenue: self.revenue,
        }
    }
}

/// A first touch's campaign: `None` for a lead without a touch.
pub(super) type CampaignKey<'a> = Option<Option<&'a str>>;
type SourceMediumKey<'a> = Option<(Option<&'a str>, Option<Acquisition>)>;

/// The leads in range, counted by every grouping at once.
pub(super) struct Tally<'a> {
    pub(super) currency: String,
    pub(super) totals: Counts,
    /// By [`channel_index`].
    pub(super) channels: [Counts; NO_TOUCH_INDEX + 1],
    pub(super) source_medium: HashMap<SourceMediumKey<'a>, Counts>,
    pub(super) campaigns: HashMap<CampaignKey<'a>, Counts>,
    /// Leads that reached each main-path stage.
    pub(super) reached: [u64; 8],
    pub(super) other_currency_revenue: BTreeMap<String, f64>,
}

impl<'a> Tally<'a> {
    fn new(revenue: &Revenue<'_>) -> Tally<'a> {
        Tally {
            currency: revenue.currency.clone(),
            totals: Counts::default(),
            channels: [Counts::default(); NO_TOUCH_INDEX + 1],
            source_medium: HashMap::new(),
            campaigns: HashMap::new(),
            reached: [0; 8],
            other_currency_revenue: BTreeMap::new(),
        }
    }

    fn add(&mut self, lead: &Lead, first: Option<&'a Signal>, revenue: &Revenue<'_>) {
        let path = Path::of(lead);
        let amount = revenue.of(lead, &mut self.other_currency_revenue).amount;
        self.totals.add(&path, amount);
        for r in self.reached.iter_mut().take(path.furthest + 1) {
            *r += 1;
        }
        let channel = first.map_or(NO_TOUCH_INDEX, |f| channel_index(f.channel));
        self.channels[channel].add(&path, amount);
        let sm = first.map(|f| (f.source.as_deref(), f.medium));
        self.source_medium.entry(sm).or_default().add(&path, amount);
        let campaign = first.map(|f| f.campaign.as_deref());
        self.campaigns
            .entry(campaign)
            .or_default()
            .add(&path, amount);
    }

    fn merge(&mut self, other: Tally<'a>) {
        self.totals.merge(&other.totals);
        for (mine, theirs) in self.channels.iter_mut().zip(&other.channels) {
            mine.merge(theirs);
        }
        for (k, c) in other.source_medium {
            self.source_medium.entry(k).or_default().merge(&c);
        }
        for (k, c) in other.campaigns {
            self.campaigns.entry(k).or_default().merge(&c);
        }
        for (a, b) in self.reached.iter_mut().zip(other.reached) {
            *a += b;
        }
        for (currency, amount) in other.other_currency_revenue {
            add_to(&mut self.other_currency_revenue, currency, amount);
        }
    }
}

/// The leads created in the range, counted every way at once.
pub(super) fn tally<'a>(scope: &Scope<'a>) -> Tally<'a> {
    let revenue = Revenue::new(scope.engine, scope.q);
    let select = Select {
        in_range: true,
        first_touch: true,
    };
    scope.fold(
        select,
        || Tally::new(&revenue),
        |t, lead, first| t.add(lead, first, &revenue),
        Tally::merge,
    )
}

/// The name of a campaign key.
pub(super) fn campaign_name(key: CampaignKey<'_>) -> String {
    match key {
        None => NO_TOUCH.to_string(),
        Some(c) => c.unwrap_or(NONE).to_string(),
    }
}

fn source_medium_name(key: SourceMediumKey<'_>) -> String {
    match key {
        None => NO_TOUCH.to_string(),
        Some((source, medium)) => format!(
            "{} / {}",
            source.unwrap_or(NONE),
            medium.map_or(NONE, Acquisition::as_str)
        ),
    }
}

/// Most leads first, then by name. (Two groups may show the same name,
/// a campaign literally called `(none)` and no campaign: the other fields
/// order them, so the order never depends on hashing.)
fn ordered(mut rows: Vec<Performance>) -> Vec<Performance> {
    rows.sort_by(|a, b| {
        b.leads
            .cmp(&a.leads)
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| {
                let counts =
                    |p: &Performance| (p.mqls, p.sales_ready, p.opportunities, p.customers);
                counts(a).cmp(&counts(b))
            })
            .then_with(|| a.revenue.total_cmp(&b.revenue))
    });
    rows
}

/// New leads, MQLs, sales-ready leads, opportunities, customers and
/// revenue of the leads created in `[from, to)`, by the channel,
/// source/medium and campaign of their first touch.
pub fn channels(engine: &Engine, q: &ReportQuery) -> ChannelsReport {
    let scope = Scope::new(engine, q);
    let t = tally(&scope);
    let by_channel = (0..=CHANNELS.len())
        .filter(|i| t.channels[*i].leads > 0)
        .map(|i| t.channels[i].performance(channel_name(i).to_string()))
        .collect();
    ChannelsReport {
        from: q.from,
        to: q.to,
        currency: t.currency.clone(),
        totals: t.totals.performance("total".into()),
        by_channel: ordered(by_channel),
        by_source_medium: ordered(
            t.source_medium
                .iter()
                .map(|(k, c)| c.performance(source_medium_name(*k)))
                .collect(),
        ),
        by_campaign: ordered(
            t.campaigns
                .iter()
                .map(|(k, c)| c.performance(campaign_name(*k)))
                .collect(),
        ),
        other_currency_revenue: t.other_currency_revenue,
    }
}

impl ChannelsReport {
    /// One table per grouping; the channel table ends with the total.
    pub fn tables(&self) -> Vec<Table> {
        let table = |title: &str, first: &str, rows: &[Performance], total: bool| {
            let mut rows: Vec<Vec<String>> = rows.iter().map(|p| self.row(p)).collect();
            if total {
                rows.push(self.row(&self.totals));
            }
            let mut headers = vec![first.to_string()];
            headers.extend(
                ["leads", "MQLs", "sales-ready", "opportunities", "customers"].map(String::from),
            );
            headers.push(format!("revenue {}", self.currency));
            Table {
                title: title.to_string(),
                headers,
                rows,
            }
        };
        vec![
            table(
                "Performance by first-touch channel",
                "channel",
                &self.by_channel,
                true,
            ),
            table(
                "Performance by first-touch source / medium",
                "source / medium",
                &self.by_source_medium,
                false,
            ),
            table(
                "Performance by first-touch campaign",
                "campaign",
                &self.by_campaign,
                false,
            ),
        ]
    }

    fn row(&self, p: &Performance) -> Vec<String> {
        vec![
            p.key.clone(),
            count(p.leads),
            count(p.mqls),
            count(p.sales_ready),
            count(p.opportunities),
            count(p.customers),
            money(p.revenue),
        ]
    }
}
