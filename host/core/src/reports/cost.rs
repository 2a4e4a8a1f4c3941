//! Cost per lead and ROI, from the spend operators enter.

use super::channels::{Counts, tally};
use super::scope::{CHANNELS, Scope, add_to, channel_index, channel_name, ratio};
use super::table::{Table, count, money, money_or_dash, rate};
use super::{MAIN_PATH, ReportQuery};
use crate::leads::Engine;
use crate::lifecycle::Stage;
use crate::touchpoint::{Channel, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Money spent on a channel and/or a campaign over a period, as an
/// operator enters it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spend {
    /// The channel it was spent on; `None`: not on one channel.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// The campaign (as touchpoints name it); `None`: not on one campaign.
    #[serde(default)]
    pub campaign: Option<String>,
    /// The period's start (inclusive, ms since the epoch).
    pub from: Timestamp,
    /// The period's end (exclusive). An empty period (`to <= from`) is a
    /// one-off payment on `from`.
    pub to: Timestamp,
    /// How much.
    pub amount: f64,
    /// In what.
    pub currency: String,
}

impl Spend {
    /// The part of the amount that falls in `[from, to)`: in proportion to
    /// the time the two periods share (all of it for a one-off payment in
    /// the range, none outside).
    pub fn in_range(&self, from: Option<Timestamp>, to: Option<Timestamp>) -> f64 {
        let lo = from.map_or(i128::MIN, i128::from);
        let hi = to.map_or(i128::MAX, i128::from);
        let (a, b) = (i128::from(self.from), i128::from(self.to));
        if b <= a {
            return if a >= lo && a < hi { self.amount } else { 0.0 };
        }
        let shared = (b.min(hi) - a.max(lo)).max(0);
        if shared == b - a {
            self.amount
        } else {
            self.amount * (shared as f64 / (b - a) as f64)
        }
    }
}

/// Cost per lead, per stage reached, and ROI of the leads created in the
/// range against the spend that falls in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// The range's start (inclusive): leads by creation time, spend prorated.
    pub from: Option<Timestamp>,
    /// The range's end (exclusive).
    pub to: Option<Timestamp>,
    /// The currency of every amount below but the `other_*` maps.
    pub currency: String,
    /// Everything: all spend in the report currency, all leads in range.
    pub totals: CostRow,
    /// By channel: spend naming the channel, leads whose first touch came
    /// through it (`(no touch)`: leads without a touch, no spend). Channels
    /// with spend or leads, most spend first.
    pub by_channel: Vec<CostRow>,
    /// By campaign, for the campaigns spend names: that spend (whatever
    /// its channel), leads whose first touch had the campaign.
    pub by_campaign: Vec<CostRow>,
    /// Cost per lead reaching each main-path stage, over everything.
    pub steps: Vec<StepCost>,
    /// Spend naming neither a channel nor a campaign (agency fees, tools):
    /// in the totals only.
    pub unassigned_spend: f64,
    /// Spend in other currencies, prorated, by currency: left out.
    pub other_currency_spend: BTreeMap<String, f64>,
    /// Revenue in other currencies, by currency: left out.
    pub other_currency_revenue: BTreeMap<String, f64>,
}

/// Spend against what the leads of one group did. A cost is spend divided
/// by the count, `None` when the count is 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostRow {
    /// The channel, the campaign, or `total`.
    pub key: String,
    /// Spend falling in the range, in the report currency.
    pub spend: f64,
    /// Leads created in the range.
    pub leads: u64,
    /// Of them, that reached `lead` (MQL).
    pub mqls: u64,
    /// That reached `sales-ready`.
    pub sales_ready: u64,
    /// That reached `opportunity`.
    pub opportunities: u64,
    /// That reached `customer`.
    pub customers: u64,
    /// Their revenue in the report currency (all their orders).
    pub revenue: f64,
    /// `spend / leads`.
    pub cost_per_lead: Option<f64>,
    /// `spend / mqls`.
    pub cost_per_mql: Option<f64>,
    /// `spend / sales_ready`.
    pub cost_per_sales_ready: Option<f64>,
    /// `spend / opportunities`.
    pub cost_per_opportunity: Option<f64>,
    /// `spend / customers`.
    pub cost_per_customer: Option<f64>,
    /// `(revenue - spend) / spend`; `None` when nothing was spent.
    pub roi: Option<f64>,
}

/// The cost of one main-path stage, over all spend and all leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepCost {
    /// The stage.
    pub stage: Stage,
    /// Leads in the range that reached it (or further).
    pub reached: u64,
    /// `spend / reached`.
    pub cost_per: Option<f64>,
    /// `reached / reached of the stage before`; `None` for the first.
    pub conversion: Option<f64>,
}

fn cost_row(key: String, spend: f64, c: &Counts) -> CostRow {
    let per = |n: u64| ratio(spend, n as f64);
    CostRow {
        key,
        spend,
        leads: c.leads,
        mqls: c.mqls,
        sales_ready: c.sales_ready,
        opportunities: c.opportunities,
        customers: c.customers,
        revenue: c.revenue,
        cost_per_lead: per(c.leads),
        cost_per_mql: per(c.mqls),
        cost_per_sales_ready: per(c.sales_ready),
        cost_per_opportunity: per(c.opportunities),
        cost_per_customer: per(c.customers),
        roi: ratio(c.revenue - spend, spend),
    }
}

/// Most spend first, then by name.
fn ordered(mut rows: Vec<CostRow>) -> Vec<CostRow> {
    rows.sort_by(|a, b| b.spend.total_cmp(&a.spend).then_with(|| a.key.cmp(&b.key)));
    rows
}

/// Cost per lead, MQL, sales-ready lead, opportunity and customer, and ROI,
/// per channel, per campaign and in total, for the leads created in
/// `[from, to)` and the part of each spend row's period that falls in it.
///
/// The channel and campaign filters also select spend (a row must name
/// that channel or campaign); the other filters (source, medium, segment,
/// care model) narrow the leads only, since spend is not entered by them.
/// Spend in another currency than the report's is left out and summed in
/// `other_currency_spend`.
pub fn cost(engine: &Engine, q: &ReportQuery, spend: &[Spend]) -> CostReport {
    let scope = Scope::new(engine, q);
    let t = tally(&scope);
    let mut by_channel = [0.0f64; CHANNELS.len()];
    let mut has_spend = [false; CHANNELS.len()];
    let mut by_campaign: BTreeMap<&str, f64> = BTreeMap::new();
    let (mut total, mut unassigned) = (0.0, 0.0);
    let mut other = BTreeMap::new();
    for row in spend {
        if q.channel.is_some_and(|c| row.channel != Some(c))
            || q.campaign
                .as_deref()
                .is_some_and(|c| row.campaign.as_deref() != Some(c))
        {
            continue;
        }
        let amount = row.in_range(q.from, q.to);
        if amount == 0.0 {
            continue; // outside the range
        }
        if !row.currency.trim().eq_ignore_ascii_case(&t.currency) {
            add_to(&mut other, row.currency.trim().to_uppercase(), amount);
            continue;
        }
        total += amount;
        if let Some(c) = row.channel {
            by_channel[channel_index(c)] += amount;
            has_spend[channel_index(c)] = true;
        }
        if let Some(c) = row.campaign.as_deref() {
            *by_campaign.entry(c).or_insert(0.0) += amount;
        }
        if row.channel.is_none() && row.campaign.is_none() {
            unassigned += amount;
        }
    }
    // Leads without a touch (index `CHANNELS.len()`) have a row of their
    // own, without spend, so the rows add up to the totals' leads.
    let channels = (0..=CHANNELS.len())
        .filter(|i| has_spend.get(*i).is_some_and(|s| *s) || t.channels[*i].leads > 0)
        .map(|i| {
            let spent = by_channel.get(i).copied().unwrap_or(0.0);
            cost_row(channel_name(i).to_string(), spent, &t.channels[i])
        })
        .collect();
    let campaigns = by_campaign
        .iter()
        .map(|(name, amount)| {
            let counts = t
                .campaigns
                .get(&Some(Some(*name)))
                .copied()
                .unwrap_or_default();
            cost_row(name.to_string(), *amount, &counts)
        })
        .collect();
    let steps = MAIN_PATH
        .iter()
        .enumerate()
        .map(|(i, stage)| StepCost {
            stage: *stage,
            reached: t.reached[i],
            cost_per: ratio(total, t.reached[i] as f64),
            conversion: i
                .checked_sub(1)
                .and_then(|p| ratio(t.reached[i] as f64, t.reached[p] as f64)),
        })
        .collect();
    CostReport {
        from: q.from,
        to: q.to,
        currency: t.currency.clone(),
        totals: cost_row("total".into(), total, &t.totals),
        by_channel: ordered(channels),
        by_campaign: ordered(campaigns),
        steps,
        unassigned_spend: unassigned,
        other_currency_spend: other,
        other_currency_revenue: t.other_currency_revenue,
    }
}

impl CostReport {
    /// Cost by channel (with the total), by campaign, and per funnel step.
    pub fn tables(&self) -> Vec<Table> {
        let headers = |first: &str| {
            let mut h = vec![first.to_string(), format!("spend {}", self.currency)];
            h.extend(
                [
                    "leads",
                    "MQLs",
                    "sales-ready",
                    "opportunities",
                    "customers",
                    "revenue",
                    "per lead",
                    "per MQL",
                    "per sales-ready",
                    "per opportunity",
                    "per customer",
                    "ROI",
                ]
                .map(String::from),
            );
            h
        };
        let row = |r: &CostRow| {
            vec![
                r.key.clone(),
                money(r.spend),
                count(r.leads),
                count(r.mqls),
                count(r.sales_ready),
                count(r.opportunities),
                count(r.customers),
                money(r.revenue),
                money_or_dash(r.cost_per_lead),
                money_or_dash(r.cost_per_mql),
                money_or_dash(r.cost_per_sales_ready),
                money_or_dash(r.cost_per_opportunity),
                money_or_dash(r.cost_per_customer),
                rate(r.roi),
            ]
        };
        let mut channels: Vec<Vec<String>> = self.by_channel.iter().map(row).collect();
        channels.push(row(&self.totals));
        vec![
            Table {
                title: format!("Cost by channel ({})", self.currency),
                headers: headers("channel"),
                rows: channels,
            },
            Table {
                title: format!("Cost by campaign ({})", self.currency),
                headers: headers("campaign"),
                rows: self.by_campaign.iter().map(row).collect(),
            },
            Table {
                title: format!(
                    "Cost per funnel step ({} spent, {})",
                    money(self.totals.spend),
                    self.currency
                ),
                headers: ["stage", "reached", "cost per", "conversion"]
                    .map(String::from)
                    .to_vec(),
                rows: self
                    .steps
                    .iter()
                    .map(|s| {
                        vec![
                            s.stage.name().to_string(),
                            count(s.reached),
                            money_or_dash(s.cost_per),
                            rate(s.conversion),
                        ]
                    })
                    .collect(),
            },
        ]
    }
}
