//! How fast the connector maps portal batches, natively, without the host:
//! `cargo run --release -p leadhost-plugin-portal --example portal_throughput`.
//!
//! The body is `tests/fixtures/portal/batch.json` repeated to 1000 events
//! (the default `max-events`) with distinct ids, signed as the portal signs
//! it. The host's own benchmark measures the same through the component.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use leadhost_plugin_portal::Portal;
    use leadhost_sdk::prelude::*;
    use leadhost_sdk::testing::{MockHost, mac};
    use std::time::Instant;

    const BATCH: &str = include_str!("../../../tests/fixtures/portal/batch.json");
    let value: serde_json::Value = serde_json::from_str(BATCH).unwrap();
    let events = value.as_array().unwrap();
    let mut batch = Vec::new();
    for round in 0..125 {
        for event in events {
            let mut event = event.clone();
            let id = format!("{}-{round}", event["id"].as_str().unwrap());
            event["id"] = id.into();
            batch.push(event);
        }
    }
    let body = serde_json::to_vec(&batch).unwrap();
    let key = "signing-key-for-the-benchmark";
    let signature: String = mac(Algorithm::HmacSha256, key.as_bytes(), &body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let request = Request::new("POST", "/events")
        .with_header("content-type", "application/cloudevents-batch+json")
        .with_header("x-portal-signature", &format!("sha256={signature}"))
        .with_body(body.clone());

    let mut host = MockHost::new().secret("signing-key", key);
    let rounds = 200;
    let start = Instant::now();
    let mut mapped = 0;
    for _ in 0..rounds {
        let out = host.ingest::<Portal>(request.clone()).expect("accepted");
        mapped += out.touchpoints.len();
    }
    let elapsed = start.elapsed();
    println!(
        "{rounds} batches of {} events ({} bytes): {mapped} events in {elapsed:.2?}, {:.0} events/s on one core",
        batch.len(),
        body.len(),
        mapped as f64 / elapsed.as_secs_f64()
    );
}

#[cfg(target_arch = "wasm32")]
fn main() {}
