//! How fast the connector maps badge-scan uploads, natively, without the
//! host: `cargo run --release -p leadhost-plugin-events --example events_throughput`.
//!
//! The body is `tests/fixtures/badge-scans/scans.csv`'s rows repeated to
//! 9,999 rows (under the default `max-rows` of 10,000) with distinct badge ids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use leadhost_plugin_events::Events;
    use leadhost_sdk::prelude::*;
    use leadhost_sdk::testing::MockHost;
    use std::time::Instant;

    const SCANS: &str = include_str!("../../../tests/fixtures/badge-scans/scans.csv");
    let (header, rows) = SCANS.split_once("\r\n").unwrap();
    // Every record starts with its 2024 timestamp; the fixture's second row
    // holds a quoted line break, so split on record starts, not on lines.
    let records: Vec<String> = format!("\r\n{rows}")
        .split("\r\n2024-")
        .filter(|r| !r.is_empty())
        .map(|r| r.trim_end_matches("\r\n").to_owned())
        .collect();
    let mut body = format!("{header}\r\n");
    for round in 0..3333 {
        for record in &records {
            body.push_str("2024-");
            body.push_str(&record.replace(",B-", &format!(",B{round}-")));
            body.push_str("\r\n");
        }
    }
    let request = Request::new("POST", "/scans?token=t")
        .with_header("content-type", "text/csv")
        .with_body(body.clone());

    let mut host = MockHost::new().secret("webhook-token", "t");
    let rounds = 50;
    let start = Instant::now();
    let mut rows = 0;
    for _ in 0..rounds {
        let out = host.ingest::<Events>(request.clone()).expect("accepted");
        rows += out.touchpoints.len();
    }
    let elapsed = start.elapsed();
    println!(
        "{rounds} uploads of {} bytes: {rows} touchpoints in {elapsed:.2?}, {:.0} touchpoints/s on one core",
        body.len(),
        rows as f64 / elapsed.as_secs_f64()
    );
}

#[cfg(target_arch = "wasm32")]
fn main() {}
