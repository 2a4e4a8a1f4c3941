//! The funnel: where leads are, how far they got, how long they stay.

use super::scope::{MS_PER_DAY, Path, Scope, Select, percentile, ratio, year_month};
use super::table::{Table, count, days, rate};
use super::{MAIN_PATH, ReportQuery};
use crate::leads::{Engine, Lead};
use crate::lifecycle::Stage;
use crate::touchpoint::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The funnel of the leads created in the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelReport {
    /// The range's start (inclusive), on the lead's creation time.
    pub from: Option<Timestamp>,
    /// The range's end (exclusive).
    pub to: Option<Timestamp>,
    /// The time stuck leads are measured to.
    pub now: Timestamp,
    /// Days in one stage after which a lead counts as stuck.
    pub stuck_days: u32,
    /// Leads created in the range that the filters select.
    pub leads: u64,
    /// Every stage, in [`Stage::ALL`] order.
    pub stages: Vec<StageRow>,
    /// From each main-path stage to the next.
    pub conversions: Vec<Conversion>,
    /// By the UTC month the lead was created, oldest first.
    pub cohorts: Vec<Cohort>,
}

/// One stage of the funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRow {
    /// The stage.
    pub stage: Stage,
    /// Leads in it now. These add up to the report's `leads`.
    pub current: u64,
    /// Main-path stages: leads that were ever at it or further along the
    /// main path. Recycled and disqualified: leads that ever entered it.
    pub reached: u64,
    /// Completed stays in the stage (entered, then left for another stage);
    /// the times below are over these only, so leads still in the stage do
    /// not shorten them. An SLA escalation does not end a sales-ready stay.
    pub stays: u64,
    /// The median completed stay, in milliseconds (nearest rank).
    pub median_ms: Option<i64>,
    /// The 90th percentile of completed stays, in milliseconds (nearest rank).
    pub p90_ms: Option<i64>,
    /// Leads in it now for longer than the stuck threshold. Customers,
    /// advocates and disqualified leads are where they belong and are
    /// never stuck.
    pub stuck: u64,
}

/// The conversion between two consecutive main-path stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversion {
    /// The earlier stage.
    pub from: Stage,
    /// The next stage.
    pub to: Stage,
    /// `reached(to) / reached(from)`; `None` when nobody reached `from`.
    pub rate: Option<f64>,
}

/// The leads created in one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// `YYYY-MM`, in UTC.
    pub month: String,
    /// Leads created in it.
    pub leads: u64,
    /// Of them, how many reached each main-path stage ([`MAIN_PATH`] order).
    pub reached: Vec<u64>,
}

fn stage_index(s: Stage) -> usize {
    Stage::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

/// Where a stage never counts as stuck.
fn can_be_stuck(s: Stage) -> bool {
    !matches!(s, Stage::Customer | Stage::Advocate | Stage::Disqualified)
}

/// The counts of one part of the leads.
#[derive(Default)]
struct Tally {
    leads: u64,
    current: [u64; STAGES],
    reached: [u64; STAGES],
    stuck: [u64; STAGES],
    stays: [Vec<i64>; STAGES],
    /// By (year, month): leads, and how many reached each main-path stage.
    cohorts: BTreeMap<(i64, u32), (u64, [u64; 8])>,
}

const STAGES: usize = Stage::ALL.len();

impl Tally {
    fn add(&mut self, lead: &Lead, now: Timestamp, stuck_ms: i64) {
        self.leads += 1;
        let mut since = lead.created_at;
        let (mut recycled, mut disqualified) = (false, false);
        for t in &lead.lifecycle.history {
            if t.to == t.from {
                continue; // an SLA escalation: the stay goes on
            }
            self.stays[stage_index(t.from)].push((t.at - since).max(0));
            since = t.at;
            recycled |= t.to == Stage::Recycled;
            disqualified |= t.to == Stage::Disqualified;
        }
        let stage = lead.lifecycle.stage;
        self.current[stage_index(stage)] += 1;
        if can_be_stuck(stage) && now - since > stuck_ms {
            self.stuck[stage_index(stage)] += 1;
        }
        let path = Path::of(lead);
        for (i, s) in MAIN_PATH.iter().enumerate() {
            if path.reached(i) {
                self.reached[stage_index(*s)] += 1;
            }
        }
        self.reached[stage_index(Stage::Recycled)] += u64::from(recycled);
        self.reached[stage_index(Stage::Disqualified)] += u64::from(disqualified);
        let cohort = self.cohorts.entry(year_month(lead.created_at)).or_default();
        cohort.0 += 1;
        for r in cohort.1.iter_mut().take(path.furthest + 1) {
            *r += 1;
        }
    }

    fn merge(&mut self, other: Tally) {
        self.leads += other.leads;
        for i in 0..STAGES {
            self.current[i] += other.current[i];
            self.reached[i] += other.reached[i];
            self.stuck[i] += other.stuck[i];
        }
        for (mine, theirs) in self.stays.iter_mut().zip(other.stays) {
            mine.extend(theirs);
        }
        for (month, (leads, reached)) in other.cohorts {
            let c = self.cohorts.entry(month).or_default();
            c.0 += leads;
            for (a, b) in c.1.iter_mut().zip(reached) {
                *a += b;
            }
        }
    }
}

/// The funnel of the leads created in `[from, to)` that the filters select.
pub fn funnel(engine: &Engine, q: &ReportQuery) -> FunnelReport {
    let scope = Scope::new(engine, q);
    let stuck_ms = i64::from(q.stuck_days()).saturating_mul(MS_PER_DAY);
    let select = Select {
        in_range: true,
        first_touch: false,
    };
    let Tally {
        leads,
        current,
        reached,
        stuck,
        mut stays,
        cohorts,
    } = scope.fold(
        select,
        Tally::default,
        |t, lead, _| t.add(lead, scope.now, stuck_ms),
        Tally::merge,
    );

    let stages = Stage::ALL
        .iter()
        .enumerate()
        .map(|(i, stage)| StageRow {
            stage: *stage,
            current: current[i],
            reached: reached[i],
            stays: stays[i].len() as u64,
            median_ms: percentile(&mut stays[i], 50),
            p90_ms: percentile(&mut stays[i], 90),
            stuck: stuck[i],
        })
        .collect();
    let conversions = MAIN_PATH
        .windows(2)
        .map(|w| Conversion {
            from: w[0],
            to: w[1],
            rate: ratio(
                reached[stage_index(w[1])] as f64,
                reached[stage_index(w[0])] as f64,
            ),
        })
        .collect();
    FunnelReport {
        from: q.from,
        to: q.to,
        now: scope.now,
        stuck_days: q.stuck_days(),
        leads,
        stages,
        conversions,
        cohorts: cohorts
            .into_iter()
            .map(|((y, m), (leads, reached))| Cohort {
                month: format!("{y:04}-{m:02}"),
                leads,
                reached: reached.to_vec(),
            })
            .collect(),
    }
}

impl FunnelReport {
    /// The stages and the cohorts as tables. A stage's conversion is to the
    /// next main-path stage.
    pub fn tables(&self) -> Vec<Table> {
        let conversion = |s: Stage| {
            self.conversions
                .iter()
                .find(|c| c.from == s)
                .map_or(String::new(), |c| rate(c.rate))
        };
        let stages = Table {
            title: format!("Funnel: {} leads", self.leads),
            headers: [
                "stage",
                "current",
                "reached",
                "to next",
                "stays",
                "median days",
                "p90 days",
                "stuck",
            ]
            .map(String::from)
            .to_vec(),
            rows: self
                .stages
                .iter()
                .map(|r| {
                    vec![
                        r.stage.name().to_string(),
                        count(r.current),
                        count(r.reached),
                        conversion(r.stage),
                        count(r.stays),
                        days(r.median_ms),
                        days(r.p90_ms),
                        count(r.stuck),
                    ]
                })
                .collect(),
        };
        let mut headers = vec!["month".to_string(), "leads".to_string()];
        headers.extend(MAIN_PATH.iter().map(|s| s.name().to_string()));
        let cohorts = Table {
            title: "Cohorts by month created (leads that reached each stage)".into(),
            headers,
            rows: self
                .cohorts
                .iter()
                .map(|c| {
                    let mut row = vec![c.month.clone(), count(c.leads)];
                    row.extend(c.reached.iter().map(|n| count(*n)));
                    row
                })
                .collect(),
        };
        vec![stages, cohorts]
    }
}
