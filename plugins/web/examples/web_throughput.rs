//! How fast the connector maps Segment batches, natively, without the host:
//! `cargo run --release -p leadhost-plugin-web --example web_throughput`.
//!
//! The body is `tests/fixtures/segment/batch.json` repeated to 496 calls
//! (about 300 KB, under Segment's 500 KB batch limit) with distinct message ids.
//! The host's own benchmark measures the same through the compiled component.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use leadhost_plugin_web::Web;
    use leadhost_sdk::prelude::*;
    use leadhost_sdk::testing::MockHost;
    use std::time::Instant;

    const BATCH: &str = include_str!("../../../tests/fixtures/segment/batch.json");
    let value: serde_json::Value = serde_json::from_str(BATCH).unwrap();
    let calls = value["batch"].as_array().unwrap();
    let mut batch = Vec::new();
    for round in 0..62 {
        for call in calls {
            let mut call = call.clone();
            if let Some(id) = call.get_mut("messageId") {
                *id = format!("{}-{round}", id.as_str().unwrap()).into();
            }
            batch.push(call);
        }
    }
    let body = serde_json::to_vec(&serde_json::json!({ "batch": batch })).unwrap();
    let request = Request::new("POST", "/v1/batch")
        .with_header("authorization", "Basic a2V5Og==")
        .with_body(body.clone());

    let mut host = MockHost::new().secret("write-key", "key");
    let rounds = 200;
    let start = Instant::now();
    let mut events = 0;
    for _ in 0..rounds {
        let out = host.ingest::<Web>(request.clone()).expect("accepted");
        events += out.touchpoints.len();
    }
    let elapsed = start.elapsed();
    println!(
        "{rounds} batches of {} calls ({} bytes): {events} events in {elapsed:.2?}, {:.0} events/s on one core",
        batch.len(),
        body.len(),
        events as f64 / elapsed.as_secs_f64()
    );
}

#[cfg(target_arch = "wasm32")]
fn main() {}
