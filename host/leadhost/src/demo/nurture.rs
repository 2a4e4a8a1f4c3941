//! The demo's nurturing part: four weeks of care models run on a copy of the
//! tenant's lead engine with a simulated clock. Every hour of simulated time
//! a tick plans what is due; the people react to what they get (opens and
//! clicks, carrying the message's key, some of them visiting the pricing
//! page afterwards) as seeded chance says; the reactions go back into the
//! engine as touchpoints, drive the branches and the score.
//!
//! Nothing is sent: the copy's outbox calls are counted, not dispatched.
//! The running server delivers the same calls through the connectors (see
//! the e2e tests in `tests/e2e/nurture.rs`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use leadhost_core::leads::{Command, Engine, OutboundKind};
use leadhost_core::lifecycle::Stage;
use leadhost_core::touchpoint::{
    Attribute, Channel, Identities, Properties, Touchpoint, TouchpointKind, Traits,
};

use crate::traffic::Seeded;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// The demo tenant's nurturing: two care models, quiet hours and a cap.
pub const NURTURE: &str = r#"{
  "policy": { "version": 1, "quiet_hours": { "from": "20:00", "to": "07:00" },
              "caps": [ { "max": 2, "per_days": 7 } ] },
  "channels": { "email": "newsletter", "portal": "portal" },
  "models": [
    { "version": 1, "name": "prospects", "priority": 10,
      "entry": { "stage": ["suspect", "prospect", "lead"] },
      "steps": [
        { "id": "hello", "send": { "content": "wp-energy", "stage": "connecting",
          "subject": "Energy in drying: the whitepaper", "text": "Here it is." } },
        { "id": "pause", "wait": { "days": 3 } },
        { "id": "check", "branch": { "if": { "clicked": "hello" }, "then": "closing", "else": "educate" } },
        { "id": "educate", "send": { "content": "case-nordic-mill", "stage": "educating",
          "subject": "How a Nordic mill saved 12 %", "text": "A case." } },
        { "id": "later", "wait_until": { "weekdays": ["tue", "wed", "thu"], "from": "09:00", "to": "11:00" } },
        { "id": "closing", "send": { "content": "pricing-guide", "stage": "closing",
          "subject": "Service plans and prices", "text": "Prices." } }
      ],
      "goal": { "stage": ["sales-ready", "opportunity", "customer"] } },
    { "version": 1, "name": "recycled",
      "entry": { "stage": ["recycled"] },
      "steps": [
        { "id": "breather", "wait": { "days": 14 } },
        { "id": "check-in", "send": { "content": "whats-new", "stage": "educating",
          "subject": "What is new this quarter", "text": "News." } }
      ],
      "goal": { "stage": ["sales-ready"] },
      "reentry": { "allowed": true, "after_days": 90 } }
  ]
}"#;

/// How many leads a step made sales-ready.
fn newly_sales_ready(fx: &leadhost_core::leads::Effects) -> usize {
    fx.transitions
        .iter()
        .filter(|t| t.transition.to == Stage::SalesReady && t.transition.from != Stage::SalesReady)
        .count()
}

/// A reaction due at a simulated time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Reaction {
    at: i64,
    email: String,
    kind: &'static str,
    key: String,
}

/// Runs `weeks` of nurturing on `engine` from `start` and prints what
/// happened.
pub fn simulate(mut engine: Engine, start: i64, weeks: i64, seed: u64) -> anyhow::Result<()> {
    let config = engine.config().clone().with_nurture(NURTURE)?;
    engine.command(
        &Command::Configure {
            config: Box::new(config),
        },
        start,
    )?;
    let ready_before = engine.counts().stages[4].1;
    let mut rng = Seeded::new(seed);
    let mut reactions: BinaryHeap<Reverse<Reaction>> = BinaryHeap::new();
    let mut by_channel: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_step: BTreeMap<String, usize> = BTreeMap::new();
    let (mut opens, mut clicks, mut visits, mut ready) = (0, 0, 0, 0);
    let mut n = 0_u64;
    let end = start + weeks * 7 * DAY;
    let mut now = start;
    while now <= end {
        // The people's reactions up to now go in first.
        while reactions.peek().is_some_and(|Reverse(r)| r.at <= now) {
            let Some(Reverse(r)) = reactions.pop() else {
                break;
            };
            n += 1;
            let kind = match r.kind {
                "open" => {
                    opens += 1;
                    TouchpointKind::EmailOpened
                }
                "click" => {
                    clicks += 1;
                    TouchpointKind::EmailClicked
                }
                _ => {
                    visits += 1;
                    TouchpointKind::PageView
                }
            };
            let t = Touchpoint {
                external_id: format!("sim-{n}"),
                occurred_at: Some(r.at),
                channel: if kind == TouchpointKind::PageView {
                    Channel::Web
                } else {
                    Channel::Email
                },
                kind,
                identities: Identities {
                    email: Some(r.email),
                    ..Identities::default()
                },
                traits: Traits::default(),
                properties: Properties {
                    url: (r.kind == "visit")
                        .then(|| "https://www.example-drying.com/pricing".into()),
                    other: vec![Attribute {
                        name: "idempotency_key".into(),
                        value: r.key,
                    }],
                    ..Properties::default()
                },
                consent: vec![],
            };
            ready += newly_sales_ready(&engine.apply(&t, r.at));
        }
        let fx = engine.command(&Command::Tick, now)?;
        for call in fx.outbox.iter().filter(|o| o.kind == OutboundKind::Nurture) {
            let channel = call.payload["channel"].as_str().unwrap_or("?").to_string();
            *by_channel.entry(channel).or_default() += 1;
            let step = format!(
                "{} / {}",
                call.payload["model"].as_str().unwrap_or("?"),
                call.payload["step"].as_str().unwrap_or("?")
            );
            *by_step.entry(step).or_default() += 1;
            let Some(email) = call.payload["message"]["recipient"]["email"].as_str() else {
                continue;
            };
            // About half open within two days; a third of those click; half
            // of the clickers look at the prices.
            if rng.below(100) < 50 {
                let at = now + 1 + rng.below(48) as i64 * HOUR;
                reactions.push(Reverse(Reaction {
                    at,
                    email: email.to_string(),
                    kind: "open",
                    key: call.key.clone(),
                }));
                if rng.below(100) < 33 {
                    let click = at + rng.below(60) as i64 * 60_000;
                    reactions.push(Reverse(Reaction {
                        at: click,
                        email: email.to_string(),
                        kind: "click",
                        key: call.key.clone(),
                    }));
                    if rng.below(2) == 0 {
                        reactions.push(Reverse(Reaction {
                            at: click + 60_000,
                            email: email.to_string(),
                            kind: "visit",
                            key: call.key.clone(),
                        }));
                    }
                }
            }
        }
        ready += newly_sales_ready(&fx);
        now += HOUR;
    }

    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let page = engine.leads(&leadhost_core::leads::LeadFilter {
        limit: Some(1000),
        ..Default::default()
    });
    let mut offset = 0;
    let mut total = page.total;
    while offset < total {
        let page = engine.leads(&leadhost_core::leads::LeadFilter {
            limit: Some(1000),
            offset,
            ..Default::default()
        });
        total = page.total;
        for summary in &page.items {
            if let Some(view) = engine.lead(summary.id) {
                for e in &view.journey {
                    for s in &e.skipped {
                        *skipped.entry(s.reason.clone()).or_default() += 1;
                    }
                    let outcome = match &e.status {
                        leadhost_core::nurture::Status::Active => "still active".to_string(),
                        leadhost_core::nurture::Status::Finished { outcome, .. } => {
                            outcome.name().to_string()
                        }
                    };
                    *outcomes
                        .entry(format!("{}: {outcome}", e.model))
                        .or_default() += 1;
                }
            }
        }
        offset += 1000;
    }

    println!(
        "\nNurturing, {weeks} simulated weeks on a copy of the tenant's leads (a tick every simulated hour):"
    );
    let sent: usize = by_channel.values().sum();
    let channels: Vec<String> = by_channel.iter().map(|(c, n)| format!("{c} {n}")).collect();
    println!("  {sent} messages planned: {}", channels.join(", "));
    for (step, count) in &by_step {
        println!("    {step:<28} {count:>5}");
    }
    let skips: Vec<String> = skipped.iter().map(|(r, n)| format!("{r} {n}")).collect();
    println!(
        "  skipped: {}",
        if skips.is_empty() {
            "none".to_string()
        } else {
            skips.join(", ")
        }
    );
    println!(
        "  reactions flowing back: {opens} opens, {clicks} clicks, {visits} pricing-page visits"
    );
    println!(
        "  {ready} leads became sales-ready during nurturing (there were {ready_before} before)"
    );
    for (outcome, count) in &outcomes {
        println!("    {outcome:<34} {count:>5}");
    }
    Ok(())
}
