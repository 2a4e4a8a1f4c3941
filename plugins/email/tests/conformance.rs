//! The shared conformance suite, run on the email connector: SendGrid
//! batches and Mailgun webhooks in, SendGrid Mail Send out.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_email::Email;
use leadhost_sdk::conformance::Conformance;
use leadhost_sdk::http::OutboundResponse;
use leadhost_sdk::prelude::*;
use p256::ecdsa::SigningKey;

const BASE: &str = "http://127.0.0.1:9";
const SEND: &str = "http://127.0.0.1:9/v3/mail/send";

/// Mailgun's delivered fixture with its signature block made under `key`.
fn mailgun_signed_with(key: &str) -> String {
    let event: serde_json::Value = serde_json::from_str(MG_DELIVERED).unwrap();
    let token = event["signature"]["token"].as_str().unwrap();
    let timestamp = event["signature"]["timestamp"].as_str().unwrap();
    format!(
        r#"{{"signature":{},"event-data":{}}}"#,
        mailgun_signature(key, timestamp, token),
        event["event-data"]
    )
}

/// Mailgun's delivered fixture without its signature block.
fn mailgun_unsigned() -> String {
    let event: serde_json::Value = serde_json::from_str(MG_DELIVERED).unwrap();
    format!(r#"{{"event-data":{}}}"#, event["event-data"])
}

/// A SendGrid POST of `body` signed with another key pair than the stored one.
fn sendgrid_post_wrong_key(body: &str) -> Request {
    let other = SigningKey::from_slice(&[7u8; 32]).unwrap();
    let signature = sendgrid_signature(&other, SG_TIMESTAMP, body.as_bytes());
    Request::new("POST", "/sendgrid")
        .with_header("content-type", "application/json")
        .with_header("x-twilio-email-event-webhook-signature", &signature)
        .with_header("x-twilio-email-event-webhook-timestamp", SG_TIMESTAMP)
        .with_body(body)
}

/// A SendGrid POST of `body` without the signature headers.
fn sendgrid_unsigned(body: &str) -> Request {
    Request::new("POST", "/sendgrid")
        .with_header("content-type", "application/json")
        .with_body(body)
}

/// The recorded signing of the SendGrid fixture, headers as stored.
fn sendgrid_recorded() -> Request {
    let mut request = Request::new("POST", "/sendgrid")
        .with_header("content-type", "application/json")
        .with_body(SENDGRID_EVENTS);
    for line in SENDGRID_RECORDED_SIGNATURE.lines() {
        let (name, value) = line.split_once(':').unwrap();
        request = request.with_header(&name.trim().to_ascii_lowercase(), value.trim());
    }
    request
}

fn message() -> Message {
    Message {
        idempotency_key: "nurture-7731-step-2".into(),
        recipient: Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            ..Identities::default()
        },
        recipient_name: Some("Jane Koski".into()),
        subject: Some("Rebuild your paper machine, not your budget".into()),
        text: "Hello Jane, our rebuild guide is ready.".into(),
        html: None,
        content_id: Some("whitepaper-pm-rebuild".into()),
        campaign: Some("pm-rebuild-2024".into()),
        other: Vec::new(),
    }
}

#[test]
fn the_email_connector_conforms() {
    let accepted = OutboundResponse {
        status: 202,
        headers: vec![("x-message-id".into(), "Ff2oQ9QcRWuUWZ0Ixsb8wQ".into())],
        body: Vec::new(),
    };
    Conformance {
        host: host()
            .config("base-url", BASE)
            .config("from-email", "news@nordmill.example")
            .config("from-name", "Nordmill")
            .secret("sendgrid-api-key", "SG.test-key.abc123")
            .grant_host("127.0.0.1:9")
            .respond(SEND, accepted),
        valid: vec![
            sendgrid_post(SENDGRID_EVENTS),
            sendgrid_recorded(),
            mailgun_post(MG_DELIVERED),
            mailgun_post(MG_OPENED),
            mailgun_post(MG_CLICKED),
            mailgun_post(MG_FAILED_PERMANENT),
            mailgun_post(MG_FAILED_TEMPORARY),
            mailgun_post(MG_COMPLAINED),
            mailgun_post(MG_UNSUBSCRIBED),
        ],
        wrongly_signed: vec![
            sendgrid_unsigned(SENDGRID_EVENTS),
            sendgrid_post_wrong_key(SENDGRID_EVENTS),
            mailgun_post(&mailgun_unsigned()),
            mailgun_post(&mailgun_signed_with("not-the-signing-key")),
        ],
        empty_batch: Some(sendgrid_post("[]")),
        message: Some(message()),
    }
    .run::<Email>();
}
