//! Attribution: which channels and campaigns the opportunities and the
//! revenue owe to, by four models over each lead's touches.

use super::ReportQuery;
use super::channels::{CampaignKey, campaign_name};
use super::scope::{
    NO_TOUCH_INDEX, Path, Revenue, Scope, Select, add_to, channel_index, channel_name,
};
use super::table::{Table, money, share};
use crate::leads::{Engine, Lead, Signal};
use crate::touchpoint::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How credit is spread over a lead's touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttributionModel {
    /// All to the first touch.
    FirstTouch,
    /// All to the last touch.
    LastTouch,
    /// Evenly over every touch.
    Linear,
    /// 40% to the first, 40% to the last, 20% evenly over those between
    /// (one touch: all of it; two: half each).
    PositionBased,
}

impl AttributionModel {
    /// Every model, in the order reports list them.
    pub const ALL: [AttributionModel; 4] = [
        AttributionModel::FirstTouch,
        AttributionModel::LastTouch,
        AttributionModel::Linear,
        AttributionModel::PositionBased,
    ];

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            AttributionModel::FirstTouch => "first-touch",
            AttributionModel::LastTouch => "last-touch",
            AttributionModel::Linear => "linear",
            AttributionModel::PositionBased => "position-based",
        }
    }
}

/// Opportunities and revenue of the leads created in the range, credited to
/// the channels and campaigns of their touches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionReport {
    /// The range's start (inclusive), on the lead's creation time.
    pub from: Option<Timestamp>,
    /// The range's end (exclusive).
    pub to: Option<Timestamp>,
    /// The currency of `revenue`.
    pub currency: String,
    /// Leads in the range that reached opportunity (or further): each is one
    /// opportunity to credit. Every model's credits add up to this.
    pub opportunities: u64,
    /// Their revenue in the report currency. Every model's credits add up
    /// to this.
    pub revenue: f64,
    /// By channel (`(no touch)`: a lead without a touch before the moment
    /// credited), in channel order.
    pub by_channel: Vec<CreditRow>,
    /// By campaign (`(none)`: touches without one), by name.
    pub by_campaign: Vec<CreditRow>,
    /// Their revenue in other currencies, by currency: not credited.
    pub other_currency_revenue: BTreeMap<String, f64>,
}

/// What one channel or campaign is credited with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditRow {
    /// The channel or campaign.
    pub key: String,
    /// Opportunities (fractions of them), per model.
    pub opportunities: ModelCredit,
    /// Revenue, per model.
    pub revenue: ModelCredit,
}

/// One credit under each model.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelCredit {
    /// Under [`AttributionModel::FirstTouch`].
    pub first_touch: f64,
    /// Under [`AttributionModel::LastTouch`].
    pub last_touch: f64,
    /// Under [`AttributionModel::Linear`].
    pub linear: f64,
    /// Under [`AttributionModel::PositionBased`].
    pub position_based: f64,
}

impl ModelCredit {
    /// The credit under `model`.
    pub fn get(&self, model: AttributionModel) -> f64 {
        match model {
            AttributionModel::FirstTouch => self.first_touch,
            AttributionModel::LastTouch => self.last_touch,
            AttributionModel::Linear => self.linear,
            AttributionModel::PositionBased => self.position_based,
        }
    }

    fn add(&mut self, model: AttributionModel, x: f64) {
        match model {
            AttributionModel::FirstTouch => self.first_touch += x,
            AttributionModel::LastTouch => self.last_touch += x,
            AttributionModel::Linear => self.linear += x,
            AttributionModel::PositionBased => self.position_based += x,
        }
    }
}

/// Where one touch's credit goes: its channel and its campaign's slot.
#[derive(Clone, Copy)]
struct Slot {
    channel: usize,
    campaign: usize,
}

#[derive(Default, Clone, Copy)]
struct Credit {
    opportunities: ModelCredit,
    revenue: ModelCredit,
}

impl Credit {
    fn merge(&mut self, o: &Credit) {
        for m in AttributionModel::ALL {
            self.opportunities.add(m, o.opportunities.get(m));
            self.revenue.add(m, o.revenue.get(m));
        }
    }
}

#[derive(Clone, Copy)]
enum Measure {
    Opportunities,
    Revenue,
}

/// The credits of one part of the leads, with the buffers it reuses.
struct Ledger<'a> {
    opportunities: u64,
    revenue: f64,
    other_currency_revenue: BTreeMap<String, f64>,
    channels: [Option<Credit>; NO_TOUCH_INDEX + 1],
    /// In the order first credited.
    campaigns: Vec<(CampaignKey<'a>, Credit)>,
    slots: HashMap<CampaignKey<'a>, usize>,
    touches: Vec<&'a Signal>,
    touch_slots: Vec<Slot>,
    /// The campaigns of the lead at hand and their slots: a lead has few,
    /// so most touches find theirs here without hashing.
    lead_campaigns: Vec<(Option<&'a str>, usize)>,
}

impl<'a> Ledger<'a> {
    fn new() -> Ledger<'a> {
        Ledger {
            opportunities: 0,
            revenue: 0.0,
            other_currency_revenue: BTreeMap::new(),
            channels: [None; NO_TOUCH_INDEX + 1],
            campaigns: Vec::new(),
            slots: HashMap::new(),
            touches: Vec::new(),
            touch_slots: Vec::new(),
            lead_campaigns: Vec::new(),
        }
    }

    fn campaign(&mut self, key: CampaignKey<'a>) -> usize {
        *self.slots.entry(key).or_insert_with(|| {
            self.campaigns.push((key, Credit::default()));
            self.campaigns.len() - 1
        })
    }

    /// Credits one lead, if it reached opportunity.
    fn add(&mut self, scope: &Scope<'a>, revenue: &Revenue<'_>, lead: &'a Lead) {
        let path = Path::of(lead);
        let Some(opportunity_at) = path.opportunity_at else {
            return;
        };
        self.opportunities += 1;
        let r = revenue.of(lead, &mut self.other_currency_revenue);
        self.revenue += r.amount;
        let revenue_at = path.customer_at.or(r.first_at);

        let mut touches = std::mem::take(&mut self.touches);
        let mut slots = std::mem::take(&mut self.touch_slots);
        let mut campaigns = std::mem::take(&mut self.lead_campaigns);
        scope.touches(lead, &mut touches);
        let until = |at: Timestamp| touches.partition_point(|t| t.at <= at);
        let n_opportunity = until(opportunity_at);
        let n_revenue = revenue_at.map_or(0, until);
        slots.clear();
        campaigns.clear();
        for t in &touches[..n_opportunity.max(n_revenue)] {
            let key = t.campaign.as_deref();
            let campaign = match campaigns.iter().find(|(k, _)| *k == key) {
                Some((_, slot)) => *slot,
                None => {
                    let slot = self.campaign(Some(key));
                    campaigns.push((key, slot));
                    slot
                }
            };
            slots.push(Slot {
                channel: channel_index(t.channel),
                campaign,
            });
        }
        self.spread(&slots[..n_opportunity], 1.0, Measure::Opportunities);
        if r.amount != 0.0 {
            self.spread(&slots[..n_revenue], r.amount, Measure::Revenue);
        }
        self.touches = touches;
        self.touch_slots = slots;
        self.lead_campaigns = campaigns;
    }

    fn merge(&mut self, other: Ledger<'a>) {
        self.opportunities += other.opportunities;
        self.revenue += other.revenue;
        for (currency, amount) in other.other_currency_revenue {
            add_to(&mut self.other_currency_revenue, currency, amount);
        }
        for (mine, theirs) in self.channels.iter_mut().zip(other.channels) {
            if let Some(c) = theirs {
                mine.get_or_insert_with(Credit::default).merge(&c);
            }
        }
        for (key, c) in other.campaigns {
            let slot = self.campaign(key);
            self.campaigns[slot].1.merge(&c);
        }
    }

    fn credit(&mut self, slot: Slot, measure: Measure, model: AttributionModel, x: f64) {
        let add = |c: &mut Credit| match measure {
            Measure::Opportunities => c.opportunities.add(model, x),
            Measure::Revenue => c.revenue.add(model, x),
        };
        add(self.channels[slot.channel].get_or_insert_with(Credit::default));
        add(&mut self.campaigns[slot.campaign].1);
    }

    /// Spreads `amount` over `touches` (oldest first) under every model;
    /// with no touch, all of it goes to `(no touch)`.
    fn spread(&mut self, touches: &[Slot], amount: f64, measure: Measure) {
        use AttributionModel::*;
        let n = touches.len();
        let (Some(first), Some(last)) = (touches.first(), touches.last()) else {
            let none = Slot {
                channel: NO_TOUCH_INDEX,
                campaign: self.campaign(None),
            };
            for model in AttributionModel::ALL {
                self.credit(none, measure, model, amount);
            }
            return;
        };
        self.credit(*first, measure, FirstTouch, amount);
        self.credit(*last, measure, LastTouch, amount);
        let each = amount / n as f64;
        for t in touches {
            self.credit(*t, measure, Linear, each);
        }
        match n {
            1 => self.credit(*first, measure, PositionBased, amount),
            2 => {
                self.credit(*first, measure, PositionBased, amount / 2.0);
                self.credit(*last, measure, PositionBased, amount / 2.0);
            }
            _ => {
                self.credit(*first, measure, PositionBased, amount * 0.4);
                self.credit(*last, measure, PositionBased, amount * 0.4);
                let middle = amount * 0.2 / (n - 2) as f64;
                for t in &touches[1..n - 1] {
                    self.credit(*t, measure, PositionBased, middle);
                }
            }
        }
    }
}

/// Credits the opportunities and revenue of the leads created in
/// `[from, to)` that reached opportunity (or further) to the channels and
/// campaigns of their touches, under every [`AttributionModel`].
///
/// A lead's opportunity (one) is spread over its touches up to and
/// including the moment it first reached opportunity or a later stage; its
/// revenue (all its orders in the report currency, as in the channel
/// report) over its touches up to the moment it first became a customer,
/// or, if it never did, its first order. Touches are those of the lead and
/// the people merged into it (see the module documentation for which
/// touchpoints count). Under every model the credits of one lead add up to
/// its opportunity and its revenue.
pub fn attribution(engine: &Engine, q: &ReportQuery) -> AttributionReport {
    let scope = Scope::new(engine, q);
    let revenue = Revenue::new(engine, q);
    let select = Select {
        in_range: true,
        first_touch: false,
    };
    let ledger = scope.fold(
        select,
        Ledger::new,
        |ledger, lead, _| ledger.add(&scope, &revenue, lead),
        Ledger::merge,
    );

    let row = |key: String, c: &Credit| CreditRow {
        key,
        opportunities: c.opportunities,
        revenue: c.revenue,
    };
    let by_channel = ledger
        .channels
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_ref().map(|c| row(channel_name(i).to_string(), c)))
        .collect();
    let mut by_campaign: Vec<CreditRow> = ledger
        .campaigns
        .iter()
        .map(|(k, c)| row(campaign_name(*k), c))
        .collect();
    // Slots are numbered in the order of the leads, so this is
    // deterministic even for two campaigns shown with the same name.
    by_campaign.sort_by(|a, b| a.key.cmp(&b.key));
    AttributionReport {
        from: q.from,
        to: q.to,
        currency: revenue.currency.clone(),
        opportunities: ledger.opportunities,
        revenue: ledger.revenue,
        by_channel,
        by_campaign,
        other_currency_revenue: ledger.other_currency_revenue,
    }
}

impl AttributionReport {
    /// Credits by channel and by campaign, one column per model and measure.
    pub fn tables(&self) -> Vec<Table> {
        let headers = |first: &str| {
            let mut h = vec![first.to_string()];
            for measure in ["opportunities", "revenue"] {
                for m in AttributionModel::ALL {
                    h.push(format!("{measure} {}", m.name()));
                }
            }
            h
        };
        let row = |r: &CreditRow| {
            let mut cells = vec![r.key.clone()];
            cells.extend(AttributionModel::ALL.map(|m| share(r.opportunities.get(m))));
            cells.extend(AttributionModel::ALL.map(|m| money(r.revenue.get(m))));
            cells
        };
        let title = |by: &str| {
            format!(
                "Attribution by {by}: {} opportunities, {} {} revenue",
                self.opportunities,
                money(self.revenue),
                self.currency
            )
        };
        vec![
            Table {
                title: title("channel"),
                headers: headers("channel"),
                rows: self.by_channel.iter().map(row).collect(),
            },
            Table {
                title: title("campaign"),
                headers: headers("campaign"),
                rows: self.by_campaign.iter().map(row).collect(),
            },
        ]
    }
}
