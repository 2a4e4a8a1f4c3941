//! Properties over generated histories: merges, orders in two currencies,
//! sales answers, SLA expiries and nurturing, in many seeds.

use super::super::*;
use super::{DAY, HOUR, T0, engine, touch, utm};
use crate::identity::PersonId;
use crate::leads::{Command, Engine};
use crate::lifecycle::Actor;
use crate::touchpoint::{Acquisition, Attribute, Channel, Timestamp, TouchpointKind as K};

use crate::test_rng::XorShift as Rng;

/// About `events` touchpoints and commands over 60 days by 40 people,
/// some of them first anonymous and linked later (merges).
fn history(seed: u64, events: usize) -> Engine {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut e = engine();
    let mut now = T0 - 5 * DAY;
    let channels = [
        Channel::Web,
        Channel::Email,
        Channel::Social,
        Channel::Eservices,
        Channel::Events,
        Channel::Portal,
    ];
    let kinds = [
        K::PageView,
        K::PageView,
        K::FormSubmitted,
        K::Download,
        K::QuoteRequested,
        K::SocialLeadForm,
        K::EmailOpened,
        K::EmailClicked,
        K::EmailDelivered,
        K::Unsubscribed,
        K::OrderPlaced,
    ];
    let campaigns = [None, Some("spring"), Some("autumn"), Some("nl")];
    let sources = [None, Some("google"), Some("linkedin")];
    let media = [None, Some(Acquisition::Paid), Some(Acquisition::Organic)];
    for i in 0..events {
        now += rng.below(12 * HOUR as u64) as Timestamp;
        if rng.below(5) == 0 {
            let people = e.graph().people().len() as u64;
            if people == 0 {
                continue;
            }
            let person = PersonId(1 + rng.below(people));
            let command = match rng.below(8) {
                0 | 1 => Command::Accept {
                    person,
                    by: "sam".into(),
                },
                2 => Command::Reject {
                    person,
                    by: "sam".into(),
                    reason: rng.pick(&["no budget", "timing", "no fit"]).to_string(),
                },
                3 => Command::Won {
                    person,
                    amount: Some(100.0 * (1 + rng.below(50)) as f64),
                    currency: Some(rng.pick(&["EUR", "EUR", "USD"]).to_string()),
                },
                4 => Command::Lost {
                    person,
                    reason: "price".into(),
                },
                5 => Command::Disqualify {
                    person,
                    actor: Actor::System,
                    reason: "spam".into(),
                },
                6 => Command::SlaExpired { person, seq: 1 },
                _ => Command::Tick,
            };
            let _ = e.command(&command, now);
            continue;
        }
        let who = rng.below(40);
        let mut t = touch(
            &format!("t{i}"),
            &format!("p{who}@firm{}.com", who % 7),
            *rng.pick(&channels),
            rng.pick(&kinds).clone(),
            now,
        );
        // Some touchpoints are anonymous; some carry both ids (a merge
        // when the cookie already had a person).
        match rng.below(6) {
            0 => {
                t.identities.email = None;
                t.identities.anonymous_id = Some(format!("c{who}"));
            }
            1 => t.identities.anonymous_id = Some(format!("c{}", rng.below(40))),
            _ => {}
        }
        t = utm(
            t,
            *rng.pick(&sources),
            *rng.pick(&media),
            *rng.pick(&campaigns),
        );
        if rng.below(3) == 0 {
            t.traits.industry = Some(rng.pick(&["paper", "software"]).to_string());
        }
        if t.kind == K::OrderPlaced {
            t.properties.amount = Some(10.0 * (1 + rng.below(100)) as f64);
            t.properties.currency = Some(rng.pick(&["EUR", "EUR", "USD"]).to_string());
        }
        if matches!(t.kind, K::EmailOpened | K::EmailClicked) {
            t.properties.other = vec![Attribute {
                name: "idempotency_key".into(),
                value: format!("nurture:{}:welcome:1:1:hello", 1 + rng.below(40)),
            }];
        }
        e.apply(&t, now);
    }
    e
}

fn queries(rng: &mut Rng) -> Vec<ReportQuery> {
    let from = T0 + rng.below(30 * DAY as u64) as i64;
    vec![
        ReportQuery::default(),
        ReportQuery {
            from: Some(from),
            to: Some(from + (1 + rng.below(40)) as i64 * DAY),
            ..ReportQuery::default()
        },
        ReportQuery {
            campaign: Some("spring".into()),
            ..ReportQuery::default()
        },
        ReportQuery {
            segment: Some(Segment::Industry("paper".into())),
            channel: Some(Channel::Web),
            ..ReportQuery::default()
        },
        ReportQuery {
            care_model: Some("welcome".into()),
            currency: Some("USD".into()),
            ..ReportQuery::default()
        },
    ]
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

const SEEDS: u64 = 12;

#[test]
fn generated_histories_have_merges_outcomes_and_enrollments() {
    // The properties below are only worth something if the histories
    // reach far: check that they do, over all seeds together.
    let (mut merges, mut opportunities, mut revenue, mut enrolled) = (0, 0, 0.0, 0);
    for seed in 1..=SEEDS {
        let e = history(seed, 600);
        merges += e.graph().merges().len();
        let q = ReportQuery::default();
        let a = attribution(&e, &q);
        opportunities += a.opportunities;
        revenue += a.revenue;
        enrolled += nurture(&e, &q)
            .models
            .iter()
            .map(|m| m.enrolled)
            .sum::<u64>();
    }
    assert!(merges > 0 && opportunities > 10 && revenue > 0.0 && enrolled > 0);
}

#[test]
fn stage_counts_add_up_to_the_leads_in_range() {
    for seed in 1..=SEEDS {
        let e = history(seed, 600);
        let mut rng = Rng(seed);
        for q in queries(&mut rng) {
            let f = funnel(&e, &q);
            let current: u64 = f.stages.iter().map(|s| s.current).sum();
            assert_eq!(current, f.leads, "seed {seed}");
            assert_eq!(f.cohorts.iter().map(|c| c.leads).sum::<u64>(), f.leads);
            // Reached is at-or-past: it never grows along the main path,
            // and every lead was a visitor.
            let reached: Vec<u64> = f.stages[..MAIN_PATH.len()]
                .iter()
                .map(|s| s.reached)
                .collect();
            assert_eq!(reached[0], f.leads);
            assert!(
                reached.windows(2).all(|w| w[0] >= w[1]),
                "seed {seed}: {reached:?}"
            );
            assert!(
                f.conversions
                    .iter()
                    .all(|c| c.rate.is_none_or(|r| (0.0..=1.0).contains(&r)))
            );
            // The other lead reports see the same leads.
            let c = channels(&e, &q);
            assert_eq!(c.totals.leads, f.leads);
            for rows in [&c.by_channel, &c.by_source_medium, &c.by_campaign] {
                assert_eq!(rows.iter().map(|r| r.leads).sum::<u64>(), c.totals.leads);
                assert_eq!(
                    rows.iter().map(|r| r.customers).sum::<u64>(),
                    c.totals.customers
                );
                assert!(near(rows.iter().map(|r| r.revenue).sum(), c.totals.revenue));
            }
            assert_eq!(c.totals.mqls, f.stages[3].reached);
            assert_eq!(c.totals.opportunities, f.stages[5].reached);
        }
    }
}

#[test]
fn every_attribution_model_credits_all_opportunities_and_revenue() {
    for seed in 1..=SEEDS {
        let e = history(seed, 600);
        let mut rng = Rng(seed);
        for q in queries(&mut rng) {
            let a = attribution(&e, &q);
            assert_eq!(a.opportunities, channels(&e, &q).totals.opportunities);
            for m in AttributionModel::ALL {
                for rows in [&a.by_channel, &a.by_campaign] {
                    let opp: f64 = rows.iter().map(|r| r.opportunities.get(m)).sum();
                    let rev: f64 = rows.iter().map(|r| r.revenue.get(m)).sum();
                    assert!(
                        near(opp, a.opportunities as f64),
                        "seed {seed} {}: {opp}",
                        m.name()
                    );
                    assert!(
                        near(rev, a.revenue),
                        "seed {seed} {}: {rev} ≠ {}",
                        m.name(),
                        a.revenue
                    );
                }
            }
        }
    }
}

#[test]
fn a_restored_engine_gives_the_same_reports() {
    let spend = vec![Spend {
        channel: Some(Channel::Web),
        campaign: Some("spring".into()),
        from: T0,
        to: T0 + 30 * DAY,
        amount: 1000.0,
        currency: "EUR".into(),
    }];
    for seed in 1..=SEEDS {
        let e = history(seed, 600);
        let restored = Engine::from_json(&e.to_json().expect("json")).expect("restore");
        let mut rng = Rng(seed);
        for q in queries(&mut rng) {
            for kind in ReportKind::ALL {
                assert_eq!(
                    run(kind, &restored, &q, &spend),
                    run(kind, &e, &q, &spend),
                    "seed {seed}, {}",
                    kind.name()
                );
            }
        }
    }
}

#[test]
fn cost_shares_spend_and_counts_consistently() {
    let spend = vec![
        Spend {
            channel: Some(Channel::Web),
            campaign: None,
            from: T0,
            to: T0 + 60 * DAY,
            amount: 600.0,
            currency: "EUR".into(),
        },
        Spend {
            channel: None,
            campaign: Some("spring".into()),
            from: T0 + 10 * DAY,
            to: T0 + 20 * DAY,
            amount: 100.0,
            currency: "EUR".into(),
        },
    ];
    for seed in 1..=SEEDS {
        let e = history(seed, 400);
        let q = ReportQuery {
            from: Some(T0),
            to: Some(T0 + 30 * DAY),
            currency: Some("EUR".into()),
            ..ReportQuery::default()
        };
        let r = cost(&e, &q, &spend);
        // Web: 600 · 30/60; spring: all 100.
        assert!(near(r.totals.spend, 400.0));
        let c = channels(&e, &q);
        assert_eq!(r.totals.leads, c.totals.leads);
        assert_eq!(
            r.by_channel.iter().map(|x| x.leads).sum::<u64>(),
            c.totals.leads
        );
        assert!(near(r.by_channel.iter().map(|x| x.spend).sum(), 300.0));
        assert!(
            r.totals
                .roi
                .is_some_and(|roi| near(roi, (c.totals.revenue - 400.0) / 400.0))
        );
    }
}

/// Whether two JSON documents are equal, numbers within a relative 1e-9.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn folding_in_parallel_parts_gives_the_same_reports() {
    use super::super::scope::PART_SIZE;
    let spend = vec![Spend {
        channel: Some(Channel::Email),
        campaign: None,
        from: T0,
        to: T0 + 50 * DAY,
        amount: 250.0,
        currency: "EUR".into(),
    }];
    for seed in 1..=SEEDS {
        let e = history(seed, 600);
        let mut rng = Rng(seed);
        for q in queries(&mut rng) {
            for kind in ReportKind::ALL {
                let whole = run(kind, &e, &q, &spend);
                // Parts of 3 leads, folded on every core: the same report,
                // up to the order amounts were added in...
                PART_SIZE.with(|p| p.set(3));
                let parts = run(kind, &e, &q, &spend);
                // ... and exactly the same every time.
                let again = run(kind, &e, &q, &spend);
                PART_SIZE.with(|p| p.set(usize::MAX));
                assert_eq!(parts, again, "seed {seed}, {}", kind.name());
                let json = |r: &Report| serde_json::to_value(r).expect("json");
                assert!(
                    same_json(&json(&whole), &json(&parts)),
                    "seed {seed}, {}:\n{whole:?}\n{parts:?}",
                    kind.name()
                );
            }
        }
    }
}
