//! What every test of the email connector needs: the fixtures, keys to sign
//! them with as SendGrid and Mailgun do, and a mocked host holding the keys.

#![allow(dead_code)]

use base64::Engine;
use leadhost_plugin_email::Email;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::{self, MockHost};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};

pub const SENDGRID_EVENTS: &str = include_str!("../../../../tests/fixtures/sendgrid/events.json");
pub const SENDGRID_KEY_PEM: &str =
    include_str!("../../../../tests/fixtures/sendgrid/verification-key.pem");
pub const SENDGRID_RECORDED_SIGNATURE: &str =
    include_str!("../../../../tests/fixtures/sendgrid/events.json.signature");

pub const MG_DELIVERED: &str = include_str!("../../../../tests/fixtures/mailgun/delivered.json");
pub const MG_OPENED: &str = include_str!("../../../../tests/fixtures/mailgun/opened.json");
pub const MG_CLICKED: &str = include_str!("../../../../tests/fixtures/mailgun/clicked.json");
pub const MG_FAILED_PERMANENT: &str =
    include_str!("../../../../tests/fixtures/mailgun/failed-permanent.json");
pub const MG_FAILED_TEMPORARY: &str =
    include_str!("../../../../tests/fixtures/mailgun/failed-temporary.json");
pub const MG_COMPLAINED: &str = include_str!("../../../../tests/fixtures/mailgun/complained.json");
pub const MG_UNSUBSCRIBED: &str =
    include_str!("../../../../tests/fixtures/mailgun/unsubscribed.json");

/// The private scalar of the fixture key pair: SHA-256 of
/// "leadhost sendgrid fixture key" (see tests/fixtures/sendgrid/README.md).
pub const SENDGRID_PRIVATE_HEX: &str =
    "837426bb6f9b735bdf08a8523b1f367b732145e3b26545e485846941f7b04a26";

/// The Mailgun signing key the fixtures are signed with.
pub const MAILGUN_KEY: &str = "mg-fixture-signing-key-3f9a7c2e";

/// The timestamp header the tests sign with.
pub const SG_TIMESTAMP: &str = "1714566720";

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// SendGrid's key pair for the fixtures.
pub fn sendgrid_key() -> SigningKey {
    SigningKey::from_slice(&unhex(SENDGRID_PRIVATE_HEX)).unwrap()
}

/// The public key of `key` as PEM, as SendGrid shows it (without the
/// armour lines SendGrid leaves out; the host reads both).
pub fn public_pem(key: &SigningKey) -> String {
    key.verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap()
}

/// The base64 DER signature SendGrid sends for `timestamp` + `body`.
pub fn sendgrid_signature(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    let signature: Signature = key.sign(&message);
    b64(signature.to_der().as_bytes())
}

/// A host with every ingest secret stored.
pub fn host() -> MockHost {
    MockHost::new()
        .secret("sendgrid-verification-key", SENDGRID_KEY_PEM)
        .secret("mailgun-signing-key", MAILGUN_KEY)
}

/// A SendGrid POST of `body` signed with the fixture key.
pub fn sendgrid_post(body: &str) -> Request {
    let signature = sendgrid_signature(&sendgrid_key(), SG_TIMESTAMP, body.as_bytes());
    Request::new("POST", "/sendgrid")
        .with_header("content-type", "application/json")
        .with_header("x-twilio-email-event-webhook-signature", &signature)
        .with_header("x-twilio-email-event-webhook-timestamp", SG_TIMESTAMP)
        .with_body(body)
}

/// A Mailgun POST of `body` as it is (the signature is inside).
pub fn mailgun_post(body: &str) -> Request {
    Request::new("POST", "/mailgun")
        .with_header("content-type", "application/json")
        .with_body(body)
}

/// The Mailgun signature block for `timestamp` and `token` under `key`.
pub fn mailgun_signature(key: &str, timestamp: &str, token: &str) -> String {
    let mac = testing::mac(
        Algorithm::HmacSha256,
        key.as_bytes(),
        format!("{timestamp}{token}").as_bytes(),
    );
    format!(
        r#"{{"timestamp":"{timestamp}","token":"{token}","signature":"{}"}}"#,
        hex(&mac)
    )
}

/// A Mailgun webhook with `event_data`, signed with the fixture key.
pub fn mailgun_body(event_data: &str) -> String {
    let token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
    format!(
        r#"{{"signature":{},"event-data":{event_data}}}"#,
        mailgun_signature(MAILGUN_KEY, "1714566661", token)
    )
}

/// Ingests on `host` a request that must succeed; checks the reply.
pub fn accepted_on(host: &mut MockHost, request: Request) -> Vec<Touchpoint> {
    match host.ingest::<Email>(request) {
        Ok(out) => {
            assert_eq!(out.reply.status, 200);
            assert_eq!(out.reply.header("content-type"), Some("application/json"));
            assert_eq!(
                String::from_utf8(out.reply.body).unwrap(),
                format!(r#"{{"accepted":{}}}"#, out.touchpoints.len())
            );
            out.touchpoints
        }
        Err(e) => panic!("refused: {e}"),
    }
}

/// Ingests on a fresh host with the keys.
pub fn accepted(request: Request) -> Vec<Touchpoint> {
    accepted_on(&mut host(), request)
}

pub fn ingest(request: Request) -> Result<Ingested, IngestError> {
    host().ingest::<Email>(request)
}

/// The value of a named attribute.
pub fn attr<'a>(list: &'a [Attribute], name: &str) -> Option<&'a str> {
    list.iter()
        .find(|a| a.name == name)
        .map(|a| a.value.as_str())
}

/// The names of the attributes, in order.
pub fn names(list: &[Attribute]) -> Vec<&str> {
    list.iter().map(|a| a.name.as_str()).collect()
}

pub fn email_consent(purpose: &str, granted: bool) -> ConsentSignal {
    ConsentSignal {
        purpose: purpose.into(),
        channel: Some(Channel::Email),
        granted,
    }
}

pub fn unauthorized(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::Unauthorized(m)) => m,
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

pub fn malformed(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::Malformed(m)) => m,
        other => panic!("expected malformed, got {other:?}"),
    }
}

pub fn misconfigured(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::Misconfigured(m)) => m,
        other => panic!("expected misconfigured, got {other:?}"),
    }
}

pub fn too_large(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::TooLarge(m)) => m,
        other => panic!("expected too large, got {other:?}"),
    }
}
