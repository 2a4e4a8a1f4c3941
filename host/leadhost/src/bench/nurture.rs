//! `bench nurture`: the nurturing scheduler in the pure engine. A tenant
//! whose every lead is in a care model; ticks plan the due sends into
//! outbox calls, and a tick with nothing due shows what idle leads cost.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use leadhost_core::leads::{Command, Engine, OutboundKind, TenantConfig};
use leadhost_core::touchpoint::{Channel, Identities, Touchpoint, TouchpointKind};

const DAY: i64 = 86_400_000;
/// 2026-01-05 10:00 UTC, a Monday morning.
const START: i64 = 1_767_607_200_000;

const NURTURE: &str = r#"{
  "policy": { "version": 1, "quiet_hours": { "from": "20:00", "to": "07:00" },
              "caps": [ { "max": 3, "per_days": 7 } ] },
  "channels": { "email": "newsletter", "portal": "portal" },
  "models": [ { "version": 1, "name": "prospects", "entry": { "stage": ["prospect", "lead"] },
    "steps": [
      { "id": "hello", "send": { "content": "intro", "stage": "connecting", "text": "Hello" } },
      { "id": "pause", "wait": { "days": 2 } },
      { "id": "check", "branch": { "if": { "clicked": "hello" }, "then": "closing", "else": "educate" } },
      { "id": "educate", "send": { "content": "case", "stage": "educating", "text": "A case" } },
      { "id": "later", "wait": { "days": 5 } },
      { "id": "closing", "send": { "content": "pricing", "stage": "closing", "text": "Prices" } }
    ] } ] }"#;

pub fn run(leads: usize) -> anyhow::Result<()> {
    let config = TenantConfig::default().with_nurture(NURTURE)?;
    let mut engine = Engine::new(config);
    println!("bench nurture: {leads} leads enrolled in one care model (one tenant, one thread)");
    let bar = ProgressBar::new(leads as u64);
    bar.set_style(
        ProgressStyle::with_template("  {bar:40} {pos}/{len} leads {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for i in 0..leads {
        let t = Touchpoint {
            external_id: format!("d{i}"),
            occurred_at: Some(START),
            channel: Channel::Web,
            kind: TouchpointKind::Download,
            identities: Identities {
                email: Some(format!("p{i}@co{}.example", i % 5000)),
                ..Identities::default()
            },
            traits: Default::default(),
            properties: Default::default(),
            consent: vec![],
        };
        engine.apply(&t, START);
        if i % 10_000 == 0 {
            bar.set_position(i as u64);
        }
    }
    bar.finish_and_clear();
    let enrolled = engine.leads(&Default::default()).total;
    println!("  {enrolled} leads, all enrolled; the schedule holds them by due time");

    // Ticks as the server's worker issues them: again at once while more is
    // due than one tick takes, until nothing is due.
    let mut report = |label: &str, at: i64| -> anyhow::Result<()> {
        let started = Instant::now();
        let (mut sends, mut ticks) = (0, 0);
        loop {
            let fx = engine.command(&Command::Tick, at)?;
            ticks += 1;
            sends += fx
                .outbox
                .iter()
                .filter(|o| o.kind == OutboundKind::Nurture)
                .count();
            // What is left after the bound, the worker's next tick takes.
            if engine.next_nurture_due().is_none_or(|due| due > at) || ticks >= 1000 {
                break;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        if sends > 0 {
            println!(
                "  {label:<34} {sends:>8} messages planned in {secs:.2} s ({:.0}/s, {ticks} ticks)",
                sends as f64 / secs
            );
        } else {
            println!(
                "  {label:<34} nothing due: {:.3} ms for {enrolled} enrolled leads",
                secs * 1000.0
            );
        }
        Ok(())
    };
    report("day 0, 10:00: the first step", START)?;
    report("day 1: everyone waits", START + DAY)?;
    report("day 1, again", START + DAY + 60_000)?;
    report("day 2: the branch and step two", START + 2 * DAY)?;
    report("day 7, 10:00: the last step", START + 7 * DAY)?;
    if let Some(kib) = super::leads::peak_rss_kib() {
        println!("  peak RSS {} MiB", kib / 1024);
    }
    Ok(())
}
