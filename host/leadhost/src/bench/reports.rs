//! `bench reports`: every report over a large tenant. A synthetic
//! population is applied to one engine (1,000,000 people and 10,000,000
//! touchpoints by default), sales accepts half of the sales-ready leads and
//! wins a third of those, spend is entered per channel, then each report is
//! timed over the whole history and over one month of one channel.

use std::time::{Duration, Instant};

use anyhow::bail;
use leadhost_core::identity::PersonId;
use leadhost_core::leads::{Command, LeadFilter};
use leadhost_core::lifecycle::Stage;
use leadhost_core::reports::{self, ReportKind, ReportQuery, Spend};
use leadhost_core::touchpoint::Channel;

use super::leads::{build, peak_rss_kib};
use crate::population::{START, Synthetic};

/// Runs of each report; the best and the first are shown.
const RUNS: usize = 3;

fn time(kind: ReportKind, run: impl Fn() -> reports::Report) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let report = run();
        times.push(started.elapsed());
        assert_eq!(report.kind(), kind);
    }
    let best = times.iter().min().copied().unwrap_or_default();
    (times[0], best)
}

pub fn run(leads: usize, per_lead: f64, seed: u64) -> anyhow::Result<()> {
    if leads == 0 {
        bail!("--leads must be at least 1");
    }
    let synthetic = Synthetic::new(leads, per_lead, seed);
    let expected = (leads as f64 * per_lead) as usize;
    println!("bench reports: a tenant of {leads} people with about {per_lead} touchpoints each…");
    let built = build(&synthetic, expected);
    let mut engine = built.engine;
    println!(
        "  built:           {} leads from {} touchpoints in {:.1} s",
        engine.counts().leads,
        built.applied,
        built.applying.as_secs_f64()
    );

    // Sales answers: half of the sales-ready leads accepted, a third of
    // those won, so the opportunity, customer and revenue columns fill.
    let at = engine.clock();
    let mut ready = Vec::new();
    loop {
        let page = engine.leads(&LeadFilter {
            stage: Some(Stage::SalesReady),
            offset: ready.len(),
            ..LeadFilter::default()
        });
        if page.items.is_empty() {
            break;
        }
        ready.extend(page.items.into_iter().map(|l| l.id));
    }
    let (mut accepted, mut won) = (0, 0);
    for (i, &id) in ready.iter().enumerate() {
        if i % 2 != 0 {
            continue;
        }
        let person = PersonId(id);
        let by = "bench".to_string();
        if engine.command(&Command::Accept { person, by }, at).is_ok() {
            accepted += 1;
            if accepted % 3 == 0 {
                let amount = Some(1000.0 + (id % 50) as f64 * 100.0);
                let currency = Some("EUR".to_string());
                let deal = Command::Won {
                    person,
                    amount,
                    currency,
                };
                if engine.command(&deal, at).is_ok() {
                    won += 1;
                }
            }
        }
    }
    println!(
        "  sales:           {} sales-ready, {accepted} accepted, {won} won",
        ready.len()
    );

    let (start, end) = (START, engine.clock() + 1);
    let spend: Vec<Spend> = [
        (Channel::Web, 40_000.0),
        (Channel::Social, 25_000.0),
        (Channel::Email, 5_000.0),
        (Channel::Events, 30_000.0),
    ]
    .into_iter()
    .map(|(channel, amount)| Spend {
        channel: Some(channel),
        campaign: None,
        from: start,
        to: end,
        amount,
        currency: "EUR".into(),
    })
    .collect();

    let all = ReportQuery::default();
    let month = ReportQuery {
        from: Some(start),
        to: Some(start + 30 * 86_400_000),
        channel: Some(Channel::Web),
        ..ReportQuery::default()
    };
    println!(
        "  {:<12} {:>12} {:>12} {:>22}",
        "report", "first run", "best of 3", "one month, web only"
    );
    let mut slowest = Duration::ZERO;
    for kind in ReportKind::ALL {
        let (first, best) = time(kind, || reports::run(kind, &engine, &all, &spend));
        let (_, filtered) = time(kind, || reports::run(kind, &engine, &month, &spend));
        slowest = slowest.max(first);
        println!(
            "  {:<12} {:>10.3} s {:>10.3} s {:>20.3} s",
            kind.name(),
            first.as_secs_f64(),
            best.as_secs_f64(),
            filtered.as_secs_f64()
        );
    }
    println!(
        "  slowest first run: {:.3} s; peak RSS {:.1} GB",
        slowest.as_secs_f64(),
        peak_rss_kib().unwrap_or(0) as f64 / (1 << 20) as f64
    );
    Ok(())
}
