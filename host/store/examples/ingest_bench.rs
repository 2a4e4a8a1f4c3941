//! Ingest throughput on a store that already holds many rows (an empty store flatters).
//!
//! `cargo run --release -p leadhost-store --example ingest_bench -- [prefill] [events] [batch] [threads] [path]`
//! Defaults: 1,000,000 rows already stored, 300,000 events measured, 100 per batch, 4 senders,
//! a temporary file. Every event is ~400 bytes and acknowledged only after its COMMIT.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::thread;
use std::time::Instant;

use leadhost_store::{NewTouchpoint, Store, StoreError, StoreOptions};

fn event(clock: &AtomicI64, n: u64) -> NewTouchpoint {
    // Roughly time-ordered arrivals, with a random-looking message id.
    let occurred_at = clock.fetch_add(1, Ordering::Relaxed);
    let external_id = format!("{:016x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let document = format!(
        r#"{{"type":"track","event":"Page Viewed","messageId":"{external_id}","anonymousId":"a-{n}","timestamp":"2025-01-01T00:00:00.000Z","properties":{{"path":"/pricing","referrer":"https://www.example.com/blog/some-article","title":"Pricing - Example","url":"https://example.com/pricing?utm_source=newsletter&utm_medium=email"}},"context":{{"ip":"203.0.113.7","userAgent":"Mozilla/5.0 (X11; Linux x86_64)"}}}}"#
    );
    NewTouchpoint {
        external_id,
        occurred_at: Some(occurred_at),
        channel: "web".to_string(),
        kind: "page_view".to_string(),
        document,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).map_or(default, |a| a.parse().unwrap());
    let (prefill, events, batch, threads) =
        (arg(0, 1_000_000), arg(1, 300_000), arg(2, 100), arg(3, 4));
    let dir = tempfile::tempdir().unwrap();
    let path = args
        .get(4)
        .map_or_else(|| dir.path().join("bench.db"), PathBuf::from);
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let tenant = match store.tenant("bench").unwrap() {
        Some(tenant) => tenant,
        None => store.create_tenant("bench").unwrap().0,
    };
    let spec = leadhost_store::ConnectorSpec {
        name: "web".to_string(),
        plugin: "web".to_string(),
        plugin_version: "1".to_string(),
        config: Default::default(),
        secrets: Default::default(),
        grants: Default::default(),
        enabled: true,
    };
    let connector = store.put_connector(tenant.id, &spec).unwrap();
    let clock = Arc::new(AtomicI64::new(
        1_700_000_000_000 + 1_000 * store.count_touchpoints(tenant.id, None).unwrap() as i64,
    ));
    let sequence = Arc::new(AtomicI64::new(
        store.count_touchpoints(tenant.id, None).unwrap() as i64,
    ));

    let run = |total: u64, label: &str| {
        let started = Instant::now();
        let per_thread = total / threads;
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (store, clock, sequence) =
                    (store.clone(), Arc::clone(&clock), Arc::clone(&sequence));
                let (tenant_id, connector_id) = (tenant.id, connector.id);
                thread::spawn(move || {
                    let mut busy = 0u64;
                    let mut in_flight = std::collections::VecDeque::new();
                    for _ in 0..per_thread / batch {
                        let events: Vec<_> = (0..batch)
                            .map(|_| event(&clock, sequence.fetch_add(1, Ordering::Relaxed) as u64))
                            .collect();
                        loop {
                            match store.append(tenant_id, connector_id, 0, events.clone()) {
                                Ok(pending) => break in_flight.push_back(pending),
                                Err(StoreError::Busy) => {
                                    busy += 1;
                                    if let Some(p) = in_flight.pop_front() {
                                        p.wait().unwrap();
                                    }
                                }
                                Err(e) => panic!("{e}"),
                            }
                        }
                        // Like an HTTP server with a few requests in flight per connection.
                        if in_flight.len() >= 16 {
                            in_flight.pop_front().unwrap().wait().unwrap();
                        }
                    }
                    for p in in_flight {
                        p.wait().unwrap();
                    }
                    busy
                })
            })
            .collect();
        let busy: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{label}: {total} events in {secs:.2}s = {:.0} events/s (busy answers: {busy})",
            total as f64 / secs
        );
    };
    let already = store.count_touchpoints(tenant.id, None).unwrap();
    if already < prefill {
        run(prefill - already, "prefill");
    }
    run(events, "measured");
    println!(
        "rows: {}",
        store.count_touchpoints(tenant.id, None).unwrap()
    );
    let wal = std::fs::metadata(path.with_extension("db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("wal size: {} MiB", wal / (1 << 20));
}
