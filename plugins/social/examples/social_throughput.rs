//! How fast the connector maps social traffic, natively, without the host:
//! `cargo run --release -p leadhost-plugin-social --example social_throughput`.
//!
//! Two workloads: a signed Meta feed notification of 1000 engagement changes
//! (Meta's batch limit), and a LinkedIn Lead Sync page of 100 leads (the
//! default page size) answered by the mocked host. Graph API lead lookups are
//! network-bound and not measured here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use leadhost_plugin_social::Social;
    use leadhost_sdk::http::OutboundResponse;
    use leadhost_sdk::prelude::*;
    use leadhost_sdk::testing::{MockHost, mac};
    use std::time::Instant;

    const FEED: &str = include_str!("../../../tests/fixtures/meta/feed.json");
    const PAGE: &str =
        include_str!("../../../tests/fixtures/linkedin/lead-form-responses-page-1.json");

    // Meta: the fixture's comment repeated to 1000 changes with distinct ids.
    let feed: serde_json::Value = serde_json::from_str(FEED).unwrap();
    let comment = feed["entry"][0]["changes"][0].clone();
    let changes: Vec<_> = (0..1000)
        .map(|i| {
            let mut c = comment.clone();
            c["value"]["comment_id"] = format!("822233445566778_{i}").into();
            c
        })
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "page",
        "entry": [{ "id": "104729385316204", "time": 1714653000, "changes": changes }]
    }))
    .unwrap();
    let signature: String = mac(Algorithm::HmacSha256, b"secret", &body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let request = Request::new("POST", "/meta")
        .with_header("x-hub-signature-256", &format!("sha256={signature}"))
        .with_body(body.clone());
    let mut host = MockHost::new().secret("meta-app-secret", "secret");
    let rounds = 100;
    let start = Instant::now();
    let mut events = 0;
    for _ in 0..rounds {
        events += host
            .ingest::<Social>(request.clone())
            .unwrap()
            .touchpoints
            .len();
    }
    let elapsed = start.elapsed();
    println!(
        "meta feed: {rounds} notifications of 1000 changes ({} bytes): {events} events in {elapsed:.2?}, {:.0} events/s on one core",
        body.len(),
        events as f64 / elapsed.as_secs_f64()
    );

    // LinkedIn: the fixture's first lead repeated to a page of 100.
    let page: serde_json::Value = serde_json::from_str(PAGE).unwrap();
    let lead = page["elements"][0].clone();
    let elements: Vec<_> = (0..100)
        .map(|i| {
            let mut l = lead.clone();
            l["id"] = format!("lead-{i}").into();
            l
        })
        .collect();
    let answer = serde_json::to_vec(&serde_json::json!({
        "paging": { "start": 0, "count": 100, "total": 100 },
        "elements": elements
    }))
    .unwrap();
    let rounds = 200;
    let start = Instant::now();
    let mut events = 0;
    for _ in 0..rounds {
        // A fresh host per poll so recorded requests do not pile up.
        let mut host = MockHost::new()
            .secret("linkedin-token", "token")
            .grant_host("127.0.0.1:9")
            .config("linkedin-base-url", "http://127.0.0.1:9")
            .config("linkedin-organization", "5515715")
            .respond(
                "http://127.0.0.1:9",
                OutboundResponse::new(200, answer.clone()),
            );
        events += host.poll::<Social>(None).unwrap().touchpoints.len();
    }
    let elapsed = start.elapsed();
    println!(
        "linkedin poll: {rounds} pages of 100 leads ({} bytes): {events} events in {elapsed:.2?}, {:.0} events/s on one core",
        answer.len(),
        events as f64 / elapsed.as_secs_f64()
    );
}

#[cfg(target_arch = "wasm32")]
fn main() {}
