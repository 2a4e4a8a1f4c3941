//! The pure lead engine under load: one tenant, one thread, no store.
//!
//! `bench leads` streams a [synthetic population](crate::population) through
//! [`Engine::apply`] and reports touchpoints resolved, scored and staged per
//! second (generating them is timed apart and left out), then how well the
//! scores rank the people who really buy. `bench rescore` builds a large
//! tenant and times the configuration change that rescores every lead.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use leadhost_core::identity::{Identity, IdentityGraph, PersonId};
use leadhost_core::leads::{
    Command, DEFAULT_RULES, Effects, Engine, LeadFilter, TenantConfig, Versions,
};
use leadhost_core::lifecycle::Stage;
use leadhost_core::predict::{auc, top_decile_lift};
use leadhost_core::scoring;
use leadhost_core::touchpoint::{Timestamp, Touchpoint};

use crate::population::{PersonTruth, Synthetic};

/// Touchpoints generated ahead of applying them, so generation stays out of
/// the timed part.
const BATCH: usize = 65_536;

/// What the applied touchpoints' effects added up to.
#[derive(Default)]
struct Tally {
    transitions: usize,
    handoffs: usize,
    outbox: usize,
    merges: usize,
    conflicts: usize,
}

impl Tally {
    fn add(&mut self, fx: &Effects) {
        self.transitions += fx.transitions.len();
        self.handoffs += fx.handoffs.len();
        self.outbox += fx.outbox.len();
        self.merges += fx.merges.len();
        self.conflicts += fx.conflicts.len();
    }
}

/// A population applied to a fresh engine.
pub(super) struct Built {
    pub(super) engine: Engine,
    pub(super) applied: usize,
    pub(super) applying: Duration,
    generating: Duration,
    tally: Tally,
}

/// Streams the population into a default engine behind a progress bar.
pub(super) fn build(synthetic: &Synthetic, expected: usize) -> Built {
    let bar = ProgressBar::new(expected as u64);
    bar.set_style(
        ProgressStyle::with_template("  {bar:40} {pos}/{len} touchpoints {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut engine = Engine::default();
    let mut stream = synthetic.touchpoints();
    let mut batch: Vec<(Touchpoint, Timestamp)> = Vec::with_capacity(BATCH);
    let (mut applied, mut applying, mut generating) = (0, Duration::ZERO, Duration::ZERO);
    let mut tally = Tally::default();
    loop {
        let started = Instant::now();
        batch.clear();
        batch.extend(stream.by_ref().take(BATCH));
        generating += started.elapsed();
        if batch.is_empty() {
            break;
        }
        let started = Instant::now();
        for (touchpoint, received_at) in &batch {
            let fx = engine.apply(touchpoint, *received_at);
            tally.add(&fx);
        }
        applying += started.elapsed();
        applied += batch.len();
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    Built {
        engine,
        applied,
        applying,
        generating,
        tally,
    }
}

/// `bench leads`.
pub fn leads(people: usize, touchpoints: usize, seed: u64, phases: bool) -> anyhow::Result<()> {
    if people == 0 {
        bail!("--people must be at least 1");
    }
    let per_person = touchpoints as f64 / people as f64;
    let synthetic = Synthetic::new(people, per_person, seed);
    println!(
        "lead engine: {people} synthetic people, about {touchpoints} touchpoints over {} days, \
         seed {seed}, one tenant, one thread",
        crate::population::WINDOW_DAYS
    );
    let Built {
        mut engine,
        applied,
        applying,
        generating,
        tally,
    } = build(&synthetic, touchpoints);
    let counts = engine.counts();
    let secs = applying.as_secs_f64();
    println!(
        "  touchpoints/s:   {:.0}  ({applied} in {secs:.2} s, {:.2} µs each; generating them took {:.2} s, not counted)",
        applied as f64 / secs,
        secs * 1e6 / applied as f64,
        generating.as_secs_f64()
    );
    let identified = counts
        .stages
        .iter()
        .filter(|(s, _)| *s != Stage::Visitor)
        .map(|(_, n)| n)
        .sum::<usize>();
    println!(
        "  leads:           {} ({identified} identified), {} accounts",
        counts.leads, counts.accounts
    );
    let stages: Vec<String> = counts
        .stages
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{} {n}", s.name()))
        .collect();
    println!("  stages:          {}", stages.join(", "));
    let grades: Vec<String> = counts
        .grades
        .iter()
        .map(|(g, n)| format!("{g} {n}"))
        .collect();
    println!("  grades:          {}", grades.join(", "));
    println!(
        "  merges:          {}; transitions {}, hand-offs {}, outbox calls {}, identity conflicts {}",
        tally.merges, tally.transitions, tally.handoffs, tally.outbox, tally.conflicts
    );
    if let Some(kib) = peak_rss_kib() {
        println!(
            "  peak RSS:        {:.0} MiB (generator and engine)",
            kib as f64 / 1024.0
        );
    }

    quality(&mut engine, &synthetic.truth(), synthetic.window_end())?;
    if phases {
        phase_breakdown(&synthetic, applied, applying)?;
    }
    Ok(())
}

/// Rescores everyone at the end of the window and compares the scores with
/// who buys; then records the purchases and trains the predictive model.
fn quality(
    engine: &mut Engine,
    truth: &[PersonTruth],
    window_end: Timestamp,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let refresh = Command::Configure {
        config: Box::new(engine.config().clone()),
    };
    engine.command(&refresh, window_end)?;
    let evaluate = started.elapsed();
    // Scores by lead, read straight from the views a page at a time, stage
    // by stage (each page sorts its whole stage: visitors would dominate).
    let mut scores = std::collections::HashMap::new();
    for stage in Stage::ALL.into_iter().filter(|s| *s != Stage::Visitor) {
        let mut offset = 0;
        loop {
            let page = engine.leads(&LeadFilter {
                stage: Some(stage),
                offset,
                limit: Some(1000),
                ..LeadFilter::default()
            });
            if page.items.is_empty() {
                break;
            }
            offset += page.items.len();
            scores.extend(page.items.into_iter().map(|l| (l.id, l.score)));
            if offset >= page.total {
                break;
            }
        }
    }
    let mut known = Vec::new();
    for t in truth {
        let Some(p) = engine.graph().person_of(&Identity::Email(t.email.clone())) else {
            continue;
        };
        let lead = engine.graph().canonical(p);
        if let Some(&score) = scores.get(&lead.0) {
            known.push((t, lead, score));
        }
    }
    let rules: Vec<(f64, bool)> = known.iter().map(|(t, _, s)| (*s, t.converts)).collect();
    let oracle: Vec<(f64, bool)> = known
        .iter()
        .map(|(t, _, _)| (t.propensity, t.converts))
        .collect();
    let buyers = rules.iter().filter(|(_, c)| *c).count();
    println!(
        "  re-evaluating every lead at the window's end: {:.2} s",
        evaluate.as_secs_f64()
    );
    match (auc(&rules), top_decile_lift(&rules), auc(&oracle)) {
        (Some(a), Some(l), Some(o)) => println!(
            "  rules score:     AUC {a:.3}, top-decile lift {l:.2} over {} identified leads \
             ({buyers} buy; the true propensity's AUC is {o:.3})",
            known.len()
        ),
        _ => println!("  rules score:     no buyers among the identified leads to judge by"),
    }

    let mut wins: Vec<_> = known.iter().filter(|(t, _, _)| t.converts).collect();
    wins.sort_by_key(|(t, lead, _)| (t.converts_at, lead.0));
    let mut last = window_end;
    for (t, lead, _) in wins {
        let won = Command::Won {
            person: PersonId(lead.0),
            amount: None,
            currency: None,
        };
        engine
            .command(&won, t.converts_at)
            .with_context(|| format!("recording lead {} as won", lead.0))?;
        last = last.max(t.converts_at);
    }
    let started = Instant::now();
    match engine.command(&Command::Train, last) {
        Ok(_) => {
            if let Some(model) = engine.model() {
                println!(
                    "  predictive:      AUC {:.3}, top-decile lift {:.2} on the latest {} leads \
                     (trained on {} in {:.2} s)",
                    model.auc,
                    model.lift_top_decile,
                    model.tested_on,
                    model.trained_on,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Err(e) => println!("  predictive:      not trained: {e}"),
    }
    Ok(())
}

/// Replays the same touchpoints through the engine's parts one at a time
/// (the identity graph, rule matching, the slim copy) to show where the time
/// goes; the rest of [`Engine::apply`] is rescoring, the lifecycle and effects.
fn phase_breakdown(synthetic: &Synthetic, applied: usize, total: Duration) -> anyhow::Result<()> {
    let rules = TenantConfig::default().rules().clone();
    let mut graph = IdentityGraph::new();
    let (mut cloning, mut resolving, mut matching) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut stream = synthetic.touchpoints();
    let mut batch: Vec<(Touchpoint, Timestamp)> = Vec::with_capacity(BATCH);
    let mut sink = 0usize;
    loop {
        batch.clear();
        batch.extend(stream.by_ref().take(BATCH));
        if batch.is_empty() {
            break;
        }
        let started = Instant::now();
        let copies: Vec<Touchpoint> = batch.iter().map(|(t, _)| t.clone()).collect();
        cloning += started.elapsed();
        let started = Instant::now();
        for t in &copies {
            sink += graph.resolve(t).merged.len();
        }
        resolving += started.elapsed();
        let started = Instant::now();
        for t in &copies {
            sink += scoring::matching_rules(&rules, t).len();
        }
        matching += started.elapsed();
        drop(copies);
    }
    std::hint::black_box(sink);
    let per = |d: Duration| d.as_secs_f64() * 1e6 / applied as f64;
    let rest = total.saturating_sub(cloning + resolving + matching);
    println!("  where the time goes (µs per touchpoint, measured apart):");
    println!("    copying the touchpoint:   {:.3}", per(cloning));
    println!("    identity resolution:      {:.3}", per(resolving));
    println!("    matching the rules:       {:.3}", per(matching));
    println!(
        "    the rest (rescore, lifecycle, effects, storing the signal): {:.3}",
        per(rest)
    );
    Ok(())
}

/// `bench rescore`.
pub fn rescore(leads: usize, per_lead: f64, seed: u64) -> anyhow::Result<()> {
    if leads == 0 {
        bail!("--leads must be at least 1");
    }
    let synthetic = Synthetic::new(leads, per_lead, seed);
    let expected = (leads as f64 * per_lead) as usize;
    println!(
        "rescore: building a tenant of {leads} people with about {per_lead} touchpoints each…"
    );
    let built = build(&synthetic, expected);
    let mut engine = built.engine;
    let counts = engine.counts();
    println!(
        "  built:           {} leads from {} touchpoints in {:.1} s ({:.0} touchpoints/s)",
        counts.leads,
        built.applied,
        built.applying.as_secs_f64(),
        built.applied as f64 / built.applying.as_secs_f64()
    );

    let at = engine.clock();
    // A policy-only change re-evaluates every lead without rematching: the
    // difference to the rules change below is the rematch.
    let same = Command::Configure {
        config: Box::new(engine.config().clone()),
    };
    let started = Instant::now();
    engine.command(&same, at)?;
    let evaluate = started.elapsed();

    let changed = DEFAULT_RULES.replace(
        r#""name": "quote request", "points": 30"#,
        r#""name": "quote request", "points": 35"#,
    );
    if changed == DEFAULT_RULES {
        bail!("the default rules no longer have the quote-request rule this bench changes");
    }
    let current = engine.config();
    let config = TenantConfig::new(
        &changed,
        current.policy.clone(),
        current.routing.clone(),
        Versions {
            scoring: current.versions.scoring + 1,
            ..current.versions
        },
    )?;
    let started = Instant::now();
    let fx = engine.command(
        &Command::Configure {
            config: Box::new(config),
        },
        at,
    )?;
    let elapsed = started.elapsed();
    let secs = elapsed.as_secs_f64();
    println!(
        "  rules change:    {secs:.2} s for {} leads ({:.0} leads/s, {:.0} touchpoints rematched/s); \
         {} stage changes",
        counts.leads,
        counts.leads as f64 / secs,
        built.applied as f64 / secs,
        fx.transitions.len()
    );
    println!(
        "    of which re-evaluating every lead (measured alone, as a policy change does): {:.2} s",
        evaluate.as_secs_f64()
    );
    if let Some(kib) = peak_rss_kib() {
        println!("  peak RSS:        {:.0} MiB", kib as f64 / 1024.0);
    }
    Ok(())
}

/// The process's peak resident set (Linux `VmHWM`), in KiB.
pub(super) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
