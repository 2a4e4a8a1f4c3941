//! `bench pipeline`: the lead engine durable end to end. Synthetic
//! touchpoints are committed to a real SQLite store through the ingest
//! writer (group commit, as the HTTP ingest does after its plugin call), and
//! the lead worker folds them into leads and commits its outputs; the clock
//! stops when the worker has applied and committed the last one.

use crate::now_ms;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use leadhost_store::{ConnectorSpec, NewTouchpoint, Store, StoreOptions};

use crate::leads::worker::LeadService;
use crate::population::Synthetic;

/// Touchpoints per appended batch (like a Segment `/v1/batch` of 500).
const BATCH: usize = 500;
/// Batches in flight at once.
const IN_FLIGHT: usize = 8;

pub async fn run(people: usize, touchpoints: usize, seed: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("leadhost.db"), StoreOptions::default())?;
    let (tenant, _) = store.create_tenant("bench")?;
    let connector = store.put_connector(
        tenant.id,
        &ConnectorSpec {
            name: "website".into(),
            plugin: "web".into(),
            plugin_version: "bench".into(),
            config: Default::default(),
            secrets: Default::default(),
            grants: Default::default(),
            enabled: true,
        },
    )?;
    let leads = LeadService::start(store.clone())?;

    println!(
        "bench pipeline: {touchpoints} synthetic touchpoints of {people} people, committed in batches of {BATCH} ({IN_FLIGHT} in flight), folded into leads by the worker, outputs committed"
    );
    let per_person = touchpoints as f64 / people.max(1) as f64;
    let population = Synthetic::new(people, per_person, seed);
    // Serialize before the clock starts: the HTTP path's JSON work is
    // measured by `bench ingest`; this measures the store and the engine.
    let mut batches: Vec<Vec<NewTouchpoint>> = Vec::new();
    let mut current = Vec::with_capacity(BATCH);
    for (t, _) in population.touchpoints().take(touchpoints) {
        current.push(crate::touchpoint_row(&t)?);
        if current.len() == BATCH {
            batches.push(std::mem::replace(&mut current, Vec::with_capacity(BATCH)));
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    let total: usize = batches.iter().map(Vec::len).sum();

    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("  {bar:40} {pos}/{len} committed {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut pending = std::collections::VecDeque::new();
    let received_at = now_ms();
    for batch in batches {
        let n = batch.len();
        pending.push_back((n, store.append(tenant.id, connector.id, received_at, batch)));
        while pending.len() >= IN_FLIGHT {
            finish(&mut pending, &bar, &leads).await?;
        }
    }
    while !pending.is_empty() {
        finish(&mut pending, &bar, &leads).await?;
    }
    let ingested = started.elapsed();
    bar.finish_with_message("stored; waiting for the lead worker");
    let caught_up = leads.caught_up(&store, Duration::from_secs(3600)).await;
    let elapsed = started.elapsed();
    anyhow::ensure!(caught_up, "the lead worker did not catch up within an hour");

    let status = leads.status();
    let counts = leads.read(tenant.id, |e| e.counts());
    let secs = elapsed.as_secs_f64();
    println!(
        "  stored {total} touchpoints in {:.2} s ({:.0}/s committed)",
        ingested.as_secs_f64(),
        total as f64 / ingested.as_secs_f64()
    );
    println!(
        "  durable end to end (stored, resolved, scored, staged, outputs committed): {:.2} s, {:.0} touchpoints/s",
        secs,
        total as f64 / secs
    );
    println!(
        "  {} leads, {} accounts, {} merges; worker at touchpoint {} ({} applied)",
        counts.leads, counts.accounts, counts.merges, status.cursor, status.applied
    );
    let stages: Vec<String> = counts
        .stages
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    println!("  stages: {}", stages.join(" · "));
    let handoffs = store.lead_handoffs(tenant.id, None)?.len();
    let outbox = store.outbox_counts(tenant.id)?;
    println!(
        "  {handoffs} hand-offs; outbox {} pending (no dispatcher runs here)",
        outbox.pending
    );
    let snapshot = Instant::now();
    leads.stop();
    println!(
        "  final snapshot saved in {:.2} s",
        snapshot.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn finish(
    pending: &mut std::collections::VecDeque<(
        usize,
        Result<leadhost_store::Pending, leadhost_store::StoreError>,
    )>,
    bar: &ProgressBar,
    leads: &LeadService,
) -> anyhow::Result<()> {
    let Some((n, answer)) = pending.pop_front() else {
        return Ok(());
    };
    answer
        .context("queueing a batch")?
        .finish()
        .await
        .context("committing a batch")?;
    leads.notify();
    bar.inc(n as u64);
    Ok(())
}
