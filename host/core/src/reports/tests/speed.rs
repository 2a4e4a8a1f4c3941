//! A rough timing of every report over many leads; not a benchmark (the
//! benchmark lives with the binary), so it is ignored by default:
//!
//! ```text
//! LEADS=1000000 cargo test --release -p leadhost-core reports::tests::speed -- --ignored --nocapture
//! ```
//!
//! It applies `BASE` (default 100,000) people's touchpoints through the
//! engine (ten each on average: page views, forms, downloads, quotes,
//! orders, e-mail opens and clicks; half of the sales-ready leads
//! accepted), then copies those leads (with new ids) up to `LEADS`. Copies
//! lie closer together in memory than leads grown touchpoint by
//! touchpoint; `BASE=1000000` builds them all through the engine (slower).

use super::super::*;
use super::{DAY, HOUR, T0, engine, touch, utm};
use crate::identity::PersonId;
use crate::leads::{Command, Engine};
use crate::touchpoint::{Acquisition, Channel, TouchpointKind as K};
use std::time::Instant;

const BASE: usize = 100_000;

fn from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn base_engine(people: usize) -> Engine {
    let mut e = engine();
    let channels = [
        Channel::Web,
        Channel::Email,
        Channel::Social,
        Channel::Events,
    ];
    let campaigns = [
        None,
        Some("spring"),
        Some("autumn"),
        Some("nl"),
        Some("fair"),
    ];
    // Sales-ready at the quote (1 + 1 + 10 + 1 + 30 + 1 + 50 = 94).
    let kinds = [
        K::PageView,
        K::PageView,
        K::Download,
        K::EmailClicked,
        K::PageView,
        K::FormSubmitted,
        K::PageView,
        K::EmailOpened,
        K::QuoteRequested,
        K::PageView,
        K::OrderPlaced,
        K::PageView,
    ];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for p in 0..people {
        let email = format!("p{p}@firm{}.com", p % 5000);
        let start = T0 + (next() % (60 * DAY as u64)) as i64;
        // Eight to twelve touches each, ten on average; some get as far
        // as an order.
        let depth = 8 + (next() % 5) as usize;
        for (i, kind) in kinds.iter().take(depth).enumerate() {
            let at = start + i as i64 * HOUR;
            let mut t = utm(
                touch(
                    &format!("{p}-{i}"),
                    &email,
                    channels[(p + i) % 4],
                    kind.clone(),
                    at,
                ),
                Some("google"),
                Some(Acquisition::Paid),
                campaigns[(p + i) % 5],
            );
            if *kind == K::OrderPlaced {
                t.properties.amount = Some(1000.0);
                t.properties.currency = Some("EUR".into());
            }
            if i == 0 && p % 3 == 0 {
                t.traits.industry = Some("paper".into());
            }
            e.apply(&t, at);
        }
        if depth >= 9 && p % 2 == 0 {
            let person = PersonId(p as u64 + 1);
            let at = start + 9 * HOUR + 1;
            let _ = e.command(
                &Command::Accept {
                    person,
                    by: "sam".into(),
                },
                at,
            );
        }
    }
    let _ = e.command(&Command::Tick, T0 + 61 * DAY);
    e
}

/// Copies the leads (and their accounts' orders) under new ids until there
/// are `leads` of them.
fn grow(e: &mut Engine, leads: usize) {
    let base = e.leads.len();
    let accounts = e.accounts.len();
    for k in 1..leads.div_ceil(base) {
        let shift = (k * base) as u64;
        for i in 0..base {
            let mut lead = e.leads[i].clone();
            lead.person.0 += shift;
            for m in &mut lead.members {
                m.0 += shift;
            }
            e.leads.push(lead);
        }
        for a in 0..accounts {
            let mut account = e.accounts[a].clone();
            for o in &mut account.recent_orders {
                o.person.0 += shift;
            }
            e.accounts.push(account);
        }
    }
}

#[test]
#[ignore = "a timing run: see the module documentation"]
fn every_report_over_many_leads() {
    let base = from_env("BASE", BASE);
    let leads = from_env("LEADS", base);
    let started = Instant::now();
    let mut e = base_engine(base);
    grow(&mut e, leads);
    let touches: usize = e.leads.iter().map(|l| l.signals.len()).sum();
    println!(
        "{} leads, {touches} touchpoints, built in {:.1?}",
        e.leads.len(),
        started.elapsed()
    );
    let spend = vec![Spend {
        channel: Some(Channel::Web),
        campaign: Some("spring".into()),
        from: T0,
        to: T0 + 30 * DAY,
        amount: 50_000.0,
        currency: "EUR".into(),
    }];
    let queries = [
        ("everything", ReportQuery::default()),
        (
            "a month, web",
            ReportQuery {
                from: Some(T0),
                to: Some(T0 + 30 * DAY),
                channel: Some(Channel::Web),
                ..ReportQuery::default()
            },
        ),
    ];
    println!("report       query               first     best of 3");
    for (name, q) in &queries {
        for kind in ReportKind::ALL {
            let times: Vec<_> = (0..3)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(run(kind, &e, q, &spend));
                    t.elapsed()
                })
                .collect();
            let best = times.iter().min().copied().unwrap_or_default();
            println!(
                "{:<12} {name:<14} {:>10.1?} {best:>10.1?}",
                kind.name(),
                times[0]
            );
        }
    }
}
