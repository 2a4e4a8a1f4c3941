//! `bench dispatch`: nurturing messages handed to a connector and through it
//! to a provider; with `--plan`, planned by the lead engine first. A real
//! server (its lead worker, outbox dispatcher and delivery log), the
//! real e-mail component, and a local SendGrid stand-in that answers 202 and
//! counts every idempotency key it sees (one per personalization of each Mail
//! Send), so the run also shows that each message arrived exactly once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::http::StatusCode;
use indicatif::{ProgressBar, ProgressStyle};
use leadhost_core::{Channel, Identities, Message, Touchpoint, TouchpointKind};
use leadhost_store::{LeadBatch, LeadProgress, NewOutboxItem};
use serde_json::json;

use crate::client::{ServerArgs, call};
use crate::now_ms;
use crate::server::{LocalServer, ServerConfig};

/// What the stand-in saw: each idempotency key with how often, and requests.
#[derive(Default)]
struct Seen {
    keys: HashMap<String, u32>,
    requests: u64,
    first: Option<Instant>,
}

type Shared = Arc<Mutex<Seen>>;

/// A SendGrid Mail Send stand-in on loopback: 202 with an `X-Message-Id`,
/// counting the `custom_args.idempotency_key` of every personalization.
async fn stand_in() -> anyhow::Result<(String, Shared)> {
    let seen: Shared = Arc::default();
    let counted = Arc::clone(&seen);
    let router = axum::Router::new().route(
        "/v3/mail/send",
        axum::routing::post(move |body: axum::body::Bytes| {
            let counted = Arc::clone(&counted);
            async move {
                let Ok(mail) = serde_json::from_slice::<serde_json::Value>(&body) else {
                    return (StatusCode::BAD_REQUEST, [("x-message-id", String::new())]);
                };
                let mut seen = counted.lock().unwrap_or_else(|p| p.into_inner());
                seen.requests += 1;
                seen.first.get_or_insert_with(Instant::now);
                let id = format!("sg-{}", seen.requests);
                for p in mail["personalizations"].as_array().into_iter().flatten() {
                    let key = p["custom_args"]["idempotency_key"].as_str().unwrap_or("");
                    *seen.keys.entry(key.to_string()).or_default() += 1;
                }
                (StatusCode::ACCEPTED, [("x-message-id", id)])
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let authority = listener.local_addr()?.to_string();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((authority, seen))
}

pub async fn run(
    messages: usize,
    state: bool,
    in_flight: u32,
    batch: u32,
    plan: bool,
) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let server = LocalServer::start(ServerConfig::new(temp.path().to_path_buf())).await?;
    let (sendgrid, seen) = stand_in().await?;
    let api = ServerArgs {
        server: server.url.clone(),
        key: Some(server.app.admin_key().to_string()),
    };
    call(
        &api,
        reqwest::Method::POST,
        "/v1/tenants",
        Some(json!({"name": "bench"})),
    )
    .await?;
    call(
        &api,
        reqwest::Method::PUT,
        "/v1/tenants/bench/connectors/mail",
        Some(json!({
            "plugin": "email",
            "config": {"base-url": format!("http://{sendgrid}"), "from-email": "news@bench.example"},
            "secrets": {"sendgrid-api-key": "SG.bench"},
            "grants": {"outbound_hosts": [sendgrid], "allow_private_networks": true,
                       "state": state, "timeout_ms": 10000, "in_flight": in_flight,
                       "batch": batch},
        })),
    )
    .await?;
    let store = server.app.store.clone();
    let tenant = store
        .tenant("bench")?
        .context("the tenant just created")?
        .id;

    println!(
        "bench dispatch: {messages} nurturing messages{} through the e-mail connector \
         ({in_flight} calls in flight, batches of at most {batch}, state {}) to a SendGrid \
         stand-in at {sendgrid}",
        if plan {
            ", planned by the lead engine,"
        } else {
            ""
        },
        if state { "granted" } else { "not granted" }
    );
    let started = if plan {
        enroll(&server, &api, tenant, messages).await?
    } else {
        queue(&store, tenant, messages).await?
    };

    let bar = ProgressBar::new(messages as u64);
    bar.set_style(
        ProgressStyle::with_template("  {bar:40} {pos}/{len} sent {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Progress is what the stand-in has seen (counting the outbox by status
    // would itself be a scan); the store is asked once they have all arrived.
    let arrived = || seen.lock().unwrap_or_else(|p| p.into_inner()).keys.len();
    let (mut last, mut last_change) = (0, Instant::now());
    let counts = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let arrived = arrived();
        bar.set_position(arrived as u64);
        if arrived >= messages {
            let counts = store.outbox_counts(tenant)?;
            if counts.pending == 0 {
                break counts;
            }
        }
        if arrived != last {
            (last, last_change) = (arrived, Instant::now());
        } else if last_change.elapsed() > Duration::from_secs(30) {
            bail!(
                "no progress for 30 s: {arrived} arrived, outbox {:?}",
                store.outbox_counts(tenant)?
            );
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let what = if plan { "planned and sent" } else { "sent" };
    let (distinct, repeats, requests, first) = {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        let repeats = seen.keys.values().map(|n| n - 1).sum::<u32>();
        (seen.keys.len(), repeats, seen.requests, seen.first)
    };
    println!(
        "  messages/s:      {:.0} {what} ({} sent, {} dead in {elapsed:.2} s)",
        counts.sent as f64 / elapsed,
        counts.sent,
        counts.dead
    );
    if let Some(first) = first {
        println!(
            "  the first request reached the stand-in after {:.2} s{}",
            first.duration_since(started).as_secs_f64(),
            if plan {
                " (the care model applied to every lead, the tick's plan committed)"
            } else {
                ""
            }
        );
    }
    println!(
        "  stand-in:        {distinct} distinct keys, {repeats} repeats, {requests} Mail Send \
         requests ({:.1} messages each)",
        distinct as f64 / requests.max(1) as f64
    );
    if counts.dead > 0 || distinct != messages || repeats > 0 {
        bail!(
            "expected {messages} messages sent once each, got {} sent, {} dead, \
             {distinct} distinct keys, {repeats} repeats",
            counts.sent,
            counts.dead,
        );
    }
    server.stop().await?;
    Ok(())
}

/// Commits `messages` due nurturing calls to the outbox at once, as a tick of
/// the lead worker would, and starts the clock.
async fn queue(
    store: &leadhost_store::Store,
    tenant: i64,
    messages: usize,
) -> anyhow::Result<Instant> {
    let now = now_ms();
    let items: Vec<NewOutboxItem> = (0..messages)
        .map(|i| {
            let key = format!("nurture:{}:bench:1:1:hello", i + 1);
            let message = Message {
                idempotency_key: key.clone(),
                recipient: Identities {
                    email: Some(format!("p{i}@bench.example")),
                    ..Identities::default()
                },
                recipient_name: Some(format!("Person {i}")),
                subject: Some(SUBJECT.into()),
                text: TEXT.into(),
                html: None,
                content_id: Some("intro".into()),
                campaign: Some("bench".into()),
                other: Vec::new(),
            };
            NewOutboxItem {
                tenant_id: tenant,
                key,
                kind: "nurture".into(),
                target: json!({"recipient": format!("p{i}@bench.example")}).to_string(),
                payload: json!({"connector": "mail", "channel": "email", "model": "bench",
                                "step": "hello", "message": message})
                .to_string(),
                next_at: now,
                created_at: now,
            }
        })
        .collect();
    let progress = store.lead_progress()?;
    let started = Instant::now();
    let batch = LeadBatch {
        progress: LeadProgress {
            cursor: progress.cursor,
            command_seq: progress.command_seq,
        },
        outbox: items,
        ..Default::default()
    };
    let writer = store.clone();
    tokio::task::spawn_blocking(move || writer.commit_lead_batch(&batch)).await??;
    println!(
        "  {messages} due items committed to the outbox in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Instant::now())
}

/// Stores an identify and a form submission for each of `people` people
/// (prospects once applied) and waits for the lead worker to apply them.
/// Then starts the clock and puts a care model every prospect enters: the
/// worker enrolls them all, its next tick plans a message each into the
/// outbox, and the dispatcher sends them.
async fn enroll(
    server: &LocalServer,
    api: &ServerArgs,
    tenant: i64,
    people: usize,
) -> anyhow::Result<Instant> {
    let store = &server.app.store;
    call(
        api,
        reqwest::Method::PUT,
        "/v1/tenants/bench/connectors/website",
        Some(json!({"plugin": "web", "secrets": {"write-key": "wk-bench"}})),
    )
    .await?;
    let connector = store
        .connector(tenant, "website")?
        .context("the connector just enabled")?
        .id;
    let started = Instant::now();
    let at = now_ms() - 60_000;
    let mut pending = Vec::new();
    let mut rows = Vec::with_capacity(1000);
    for i in 0..people {
        let identities = Identities {
            email: Some(format!("p{i}@bench.example")),
            anonymous_id: Some(format!("a{i}")),
            ..Identities::default()
        };
        for (n, kind) in [TouchpointKind::Identified, TouchpointKind::FormSubmitted]
            .into_iter()
            .enumerate()
        {
            let t = Touchpoint {
                external_id: format!("{i}-{n}"),
                occurred_at: Some(at + n as i64),
                channel: Channel::Web,
                kind,
                identities: identities.clone(),
                traits: Default::default(),
                properties: Default::default(),
                consent: Vec::new(),
            };
            rows.push(crate::touchpoint_row(&t)?);
        }
        if rows.len() >= 1000 || i + 1 == people {
            let batch = std::mem::replace(&mut rows, Vec::with_capacity(1000));
            pending.push(store.append(tenant, connector, now_ms(), batch)?);
        }
    }
    for receipt in pending {
        receipt.finish().await?;
    }
    anyhow::ensure!(
        server
            .app
            .leads
            .caught_up(store, Duration::from_secs(600))
            .await,
        "the lead worker did not apply the touchpoints within 10 minutes"
    );
    println!(
        "  {people} prospects stored and applied by the lead worker in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    call(
        api,
        reqwest::Method::PUT,
        "/v1/tenants/bench/lead-settings/nurture",
        Some(json!({
            "channels": {"email": "mail"},
            "models": [{"version": 1, "name": "bench", "entry": {"stage": ["prospect"]},
                "steps": [{"id": "hello", "send": {"content": "intro", "stage": "connecting",
                                                    "subject": SUBJECT, "text": TEXT}}]}]
        })),
    )
    .await?;
    Ok(started)
}

const SUBJECT: &str = "Predictive maintenance, in five minutes";
const TEXT: &str = "Hello — a short read on keeping dryers running.";
