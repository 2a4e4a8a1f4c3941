//! `bench dispatch`: nurturing messages handed to a connector and through it
//! to a provider. A real server (its outbox dispatcher and delivery log), the
//! real e-mail component, and a local SendGrid stand-in that answers 202 and
//! counts every idempotency key it sees (one per personalization of each Mail
//! Send), so the run also shows that each message arrived exactly once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::http::StatusCode;
use indicatif::{ProgressBar, ProgressStyle};
use leadhost_core::{Identities, Message};
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

pub async fn run(messages: usize, state: bool, in_flight: u32, batch: u32) -> anyhow::Result<()> {
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
        "bench dispatch: {messages} nurturing messages through the e-mail connector ({in_flight} \
         calls in flight, batches of at most {batch}, state {}) to a SendGrid stand-in at {sendgrid}",
        if state { "granted" } else { "not granted" }
    );
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
                subject: Some("Predictive maintenance, in five minutes".into()),
                text: "Hello — a short read on keeping dryers running.".into(),
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

    let bar = ProgressBar::new(messages as u64);
    bar.set_style(
        ProgressStyle::with_template("  {bar:40} {pos}/{len} sent {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Progress is what the stand-in has seen (counting the outbox by status
    // would itself be a scan); the store is asked once they have all arrived.
    let started = Instant::now();
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
    let (distinct, repeats, requests) = {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        let repeats = seen.keys.values().map(|n| n - 1).sum::<u32>();
        (seen.keys.len(), repeats, seen.requests)
    };
    println!(
        "  messages/s:      {:.0} ({} sent, {} dead in {elapsed:.2} s)",
        counts.sent as f64 / elapsed,
        counts.sent,
        counts.dead
    );
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
