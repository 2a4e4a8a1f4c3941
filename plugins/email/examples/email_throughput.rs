//! How fast the connector maps SendGrid batches, natively, without the host:
//! `cargo run --release -p leadhost-plugin-email --example email_throughput`.
//!
//! The body is `tests/fixtures/sendgrid/events.json` repeated to 1,100
//! events with distinct ids. Signature checking is the host's work (through
//! the secret handle) and is answered here by the SDK's mock, so the number
//! includes one ECDSA verification per batch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use leadhost_plugin_email::Email;
    use leadhost_sdk::prelude::*;
    use leadhost_sdk::testing::MockHost;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::{Signature, SigningKey};
    use std::time::Instant;

    const EVENTS: &str = include_str!("../../../tests/fixtures/sendgrid/events.json");
    const PEM: &str = include_str!("../../../tests/fixtures/sendgrid/verification-key.pem");
    const PRIVATE: &str = "837426bb6f9b735bdf08a8523b1f367b732145e3b26545e485846941f7b04a26";

    let events: Vec<serde_json::Value> = serde_json::from_str(EVENTS).unwrap();
    let mut batch = Vec::new();
    for round in 0..100 {
        for event in &events {
            let mut event = event.clone();
            let id = format!("{}-{round}", event["sg_event_id"].as_str().unwrap());
            event["sg_event_id"] = id.into();
            batch.push(event);
        }
    }
    let body = serde_json::to_vec(&batch).unwrap();
    let private: Vec<u8> = (0..PRIVATE.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&PRIVATE[i..i + 2], 16).unwrap())
        .collect();
    let key = SigningKey::from_slice(&private).unwrap();
    let timestamp = "1714566720";
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(&body);
    let signature: Signature = key.sign(&message);
    use base64::Engine;
    let signature = base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes());
    let request = Request::new("POST", "/sendgrid")
        .with_header("x-twilio-email-event-webhook-signature", &signature)
        .with_header("x-twilio-email-event-webhook-timestamp", timestamp)
        .with_body(body.clone());

    let mut host = MockHost::new().secret("sendgrid-verification-key", PEM);
    let rounds = 200;
    let start = Instant::now();
    let mut total = 0;
    for _ in 0..rounds {
        total += host
            .ingest::<Email>(request.clone())
            .unwrap()
            .touchpoints
            .len();
    }
    let elapsed = start.elapsed();
    println!(
        "{total} touchpoints from {rounds} batches of {} events ({} KB) in {:.2?}: {:.0} touchpoints/s",
        batch.len(),
        body.len() / 1024,
        elapsed,
        total as f64 / elapsed.as_secs_f64()
    );
}

#[cfg(target_arch = "wasm32")]
fn main() {}
