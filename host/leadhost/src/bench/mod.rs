//! `leadhost bench`: the figures the README quotes, measured here and printed.
//! Build with `--release` for meaningful numbers.

mod connectors;
mod dispatch;
mod leads;
mod nurture;
mod pipeline;
mod reports;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Subcommand;
use leadhost_runtime::{Binding, HttpRequest, Runtime, RuntimeConfig};
use leadhost_store::NewTouchpoint;
use serde_json::json;

use crate::client::{ServerArgs, call};
use crate::server::{LocalServer, ServerConfig};
use crate::traffic::{iso, post_segment};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Fresh-instance plugin calls: calls/s, median and p99 latency, page faults.
    Invoke {
        /// The component to call (default: the trivial test plugin, else the web plugin).
        #[arg(long)]
        component: Option<PathBuf>,
        /// Measured calls.
        #[arg(long, default_value_t = 20_000)]
        iterations: usize,
    },
    /// Each bundled connector's main inbound format through the runtime:
    /// touchpoints parsed per second, on one thread and on several.
    Connectors {
        /// Events per request (where the format batches).
        #[arg(long, default_value_t = 100)]
        events: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Threads for the parallel figure.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Segment /v1/batch requests over loopback HTTP, through the web plugin,
    /// committed to SQLite before each answer.
    Ingest {
        /// Events to send.
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        /// Events per request.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Touchpoints written into the store before measuring (judge on a full store).
        #[arg(long, default_value_t = 0)]
        prefill: usize,
        /// Keep the store here instead of a temporary directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The pure lead engine on a synthetic population: touchpoints resolved,
    /// scored and staged per second (one tenant, one thread, no store), then
    /// how well the scores rank the people who really buy.
    Leads {
        /// Synthetic people.
        #[arg(long, default_value_t = 200_000)]
        people: usize,
        /// Touchpoints they produce in all (about).
        #[arg(long, default_value_t = 2_000_000)]
        touchpoints: usize,
        /// The population's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also replay the stream through the engine's parts apart, to show where the time goes.
        #[arg(long)]
        phases: bool,
    },
    /// A scoring-rules change on a large tenant: every lead rematched and rescored.
    Rescore {
        /// Synthetic people (leads).
        #[arg(long, default_value_t = 1_000_000)]
        leads: usize,
        /// Touchpoints per lead on average.
        #[arg(long, default_value_t = 7.0)]
        per_lead: f64,
        /// The population's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The nurturing scheduler: leads in a care model, due sends planned per
    /// second, and what a tick with nothing due costs.
    Nurture {
        /// Leads enrolled.
        #[arg(long, default_value_t = 1_000_000)]
        leads: usize,
    },
    /// Nurturing messages handed to a connector and through it to a local
    /// SendGrid stand-in by the server's outbox dispatcher: messages/s, each
    /// checked to arrive exactly once.
    Dispatch {
        /// Messages to send.
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        /// Grant the connector its state (it then remembers each delivery too).
        #[arg(long)]
        state: bool,
        /// The connector's `in_flight` grant: calls into it at once.
        #[arg(long, default_value_t = 16)]
        in_flight: u32,
        /// The connector's `batch` grant: messages per `deliver-batch` call
        /// (1: a call per message, as a connector without batches gets).
        #[arg(long, default_value_t = 100)]
        batch: u32,
        /// Have the lead engine plan the messages: store the people as
        /// prospects first, then time from putting a care model they all
        /// enter to the last message at the stand-in.
        #[arg(long)]
        plan: bool,
    },
    /// Every report over a large tenant (1M leads, 10M touchpoints by
    /// default): the whole history and one month of one channel.
    Reports {
        /// Synthetic people (leads).
        #[arg(long, default_value_t = 1_000_000)]
        leads: usize,
        /// Touchpoints per lead on average.
        #[arg(long, default_value_t = 10.0)]
        per_lead: f64,
        /// The population's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The lead engine durable end to end: touchpoints committed through the
    /// ingest writer, folded into leads by the lead worker, outputs committed.
    Pipeline {
        /// Synthetic people.
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        /// Touchpoints to send.
        #[arg(long, default_value_t = 1_000_000)]
        touchpoints: usize,
        /// The population's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!(
            "note: this is a debug build; run with `cargo run --release -p leadhost -- bench …`"
        );
    }
    match cmd {
        BenchCommand::Invoke {
            component,
            iterations,
        } => tokio::task::spawn_blocking(move || invoke(component, iterations)).await?,
        BenchCommand::Connectors {
            events,
            seconds,
            threads,
        } => tokio::task::spawn_blocking(move || connectors::run(events, seconds, threads)).await?,
        BenchCommand::Ingest {
            events,
            batch,
            concurrency,
            prefill,
            data_dir,
        } => ingest(events, batch, concurrency, prefill, data_dir).await,
        BenchCommand::Leads {
            people,
            touchpoints,
            seed,
            phases,
        } => {
            tokio::task::spawn_blocking(move || leads::leads(people, touchpoints, seed, phases))
                .await?
        }
        BenchCommand::Rescore {
            leads,
            per_lead,
            seed,
        } => tokio::task::spawn_blocking(move || leads::rescore(leads, per_lead, seed)).await?,
        BenchCommand::Nurture { leads } => {
            tokio::task::spawn_blocking(move || nurture::run(leads)).await?
        }
        BenchCommand::Dispatch {
            messages,
            state,
            in_flight,
            batch,
            plan,
        } => dispatch::run(messages, state, in_flight, batch, plan).await,
        BenchCommand::Reports {
            leads,
            per_lead,
            seed,
        } => tokio::task::spawn_blocking(move || reports::run(leads, per_lead, seed)).await?,
        BenchCommand::Pipeline {
            people,
            touchpoints,
            seed,
        } => pipeline::run(people, touchpoints, seed).await,
    }
}

/// Minor page faults of this process so far (Linux), for faults per call.
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 10 (minflt), counted after the parenthesised command name.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(7)?.parse().ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn invoke(component: Option<PathBuf>, iterations: usize) -> anyhow::Result<()> {
    let trivial = PathBuf::from(leadhost_plugins::test_plugins::TRIVIAL);
    let (name, wasm) = match component {
        Some(path) => (path.display().to_string(), std::fs::read(&path)?),
        None if trivial.exists() => ("trivial test plugin".to_string(), std::fs::read(&trivial)?),
        None => (
            "bundled web plugin".to_string(),
            leadhost_plugins::BUNDLED[0].wasm.to_vec(),
        ),
    };
    let runtime = Runtime::new(RuntimeConfig::default())?;
    let plugin = runtime.load(&wasm)?;
    let binding = Arc::new(Binding::new("bench", "bench"));
    let request = HttpRequest {
        method: "POST".into(),
        path: "/".into(),
        ..HttpRequest::default()
    };
    println!(
        "fresh instance + ingest call of {name} ({} bytes)",
        wasm.len()
    );
    for _ in 0..iterations.min(2_000) {
        let _ = runtime.ingest(&plugin, &binding, request.clone())?;
    }
    let mut times = Vec::with_capacity(iterations);
    let faults_before = minor_faults();
    let started = Instant::now();
    for _ in 0..iterations {
        let req = request.clone();
        let t = Instant::now();
        let answer = runtime.ingest(&plugin, &binding, req)?;
        times.push(t.elapsed());
        std::hint::black_box(answer.ok());
    }
    let total = started.elapsed();
    let faults = faults_before.zip(minor_faults()).map(|(a, b)| b - a);
    times.sort();
    println!("  calls:          {iterations}");
    println!(
        "  calls/s:        {:.0}",
        iterations as f64 / total.as_secs_f64()
    );
    println!(
        "  median:         {:.2} µs",
        percentile(&times, 0.5).as_secs_f64() * 1e6
    );
    println!(
        "  p99:            {:.2} µs",
        percentile(&times, 0.99).as_secs_f64() * 1e6
    );
    if let Some(f) = faults {
        println!(
            "  page faults:    {:.3} per call",
            f as f64 / iterations as f64
        );
    }
    Ok(())
}

fn track_event(i: usize, t: i64) -> String {
    json!({
        "type": "track",
        "event": "Whitepaper Downloaded",
        "messageId": format!("bench-{i:010}"),
        "anonymousId": format!("anon-{:06}", i % 50_000),
        "userId": format!("user-{:06}", i % 20_000),
        "properties": {"asset_id": "wp-energy-2026", "topic": "energy efficiency", "content_stage": "educating", "url": "https://www.example-drying.com/resources/energy"},
        "context": {"campaign": {"name": "pulp-line-upgrade", "source": "google", "medium": "cpc"}, "page": {"url": "https://www.example-drying.com/resources/energy?utm_source=google", "title": "Energy whitepaper"}, "ip": "203.0.113.7"},
        "timestamp": iso(t),
    })
    .to_string()
}

async fn ingest(
    events: usize,
    batch: usize,
    concurrency: usize,
    prefill: usize,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = data_dir.unwrap_or_else(|| temp.path().to_path_buf());
    let server = LocalServer::start(ServerConfig::new(dir.clone())).await?;
    let api = ServerArgs {
        server: server.url.clone(),
        key: Some(server.app.admin_key().to_string()),
    };
    let tenant = format!("bench-{}", std::process::id());
    call(
        &api,
        reqwest::Method::POST,
        "/v1/tenants",
        Some(json!({"name": tenant})),
    )
    .await?;
    call(
        &api,
        reqwest::Method::PUT,
        &format!("/v1/tenants/{tenant}/connectors/web"),
        Some(json!({"plugin": "web", "secrets": {"write-key": "bench"}, "grants": {"timeout_ms": 10000}})),
    )
    .await?;
    let store = server.app.store.clone();
    let ids = store.tenant(&tenant)?.context("the tenant just created")?;
    let connector = store
        .connector(ids.id, "web")?
        .context("the connector just created")?;

    let base = 1_767_225_600_000i64;
    if prefill > 0 {
        println!("prefilling {prefill} touchpoints…");
        let store = store.clone();
        let (tid, cid) = (ids.id, connector.id);
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let doc = r#"{"external_id":"x","channel":"web","kind":"page-view","properties":{"url":"https://www.example-drying.com/","title":"Home"},"identities":{"anonymous_id":"anon-prefill"}}"#;
            for start in (0..prefill).step_by(10_000) {
                let rows = (start..(start + 10_000).min(prefill))
                    .map(|i| NewTouchpoint {
                        external_id: format!("prefill-{i:010}"),
                        occurred_at: Some(base - 86_400_000 * 30 + i as i64),
                        channel: "web".into(),
                        kind: "page-view".into(),
                        document: doc.into(),
                    })
                    .collect();
                store.append_blocking(tid, cid, base, rows)?;
            }
            Ok(())
        })
        .await??;
    }

    let bodies: Vec<String> = (0..events)
        .collect::<Vec<_>>()
        .chunks(batch.max(1))
        .map(|chunk| {
            let items: Vec<String> = chunk
                .iter()
                .map(|&i| track_event(i, base + i as i64 * 10))
                .collect();
            format!(
                r#"{{"batch":[{}],"sentAt":"{}"}}"#,
                items.join(","),
                iso(base)
            )
        })
        .collect();
    let bytes: usize = bodies.iter().map(String::len).sum();
    println!(
        "sending {events} events in {} requests of {batch} ({:.1} MiB) with {concurrency} in flight to {}",
        bodies.len(),
        bytes as f64 / (1 << 20) as f64,
        server.url
    );
    let url = format!("{}/ingest/{tenant}/web/v1/batch", server.url);
    let client = crate::http_client().build()?;
    let queue = Arc::new(std::sync::Mutex::new(bodies.into_iter()));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::<anyhow::Result<_>>::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, queue) = (client.clone(), url.clone(), queue.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                let Some(body) = next else { break };
                let t = Instant::now();
                post_segment(&client, &url, "bench", body).await?;
                latencies.push(t.elapsed());
            }
            Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let stored = store.count_touchpoints(ids.id, Some(connector.id))?;
    let expected = (events + prefill) as u64;
    println!(
        "  events/s:        {:.0}",
        events as f64 / elapsed.as_secs_f64()
    );
    println!("  elapsed:         {:.2} s", elapsed.as_secs_f64());
    println!(
        "  request latency: median {:.2} ms, p99 {:.2} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    println!("  stored:          {stored} (expected {expected}; every answer came after COMMIT)");
    if stored != expected {
        bail!("stored {stored} touchpoints, expected {expected}");
    }
    server.stop().await?;
    Ok(())
}
