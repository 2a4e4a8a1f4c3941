//! Mailgun's webhooks: each fixture maps to the touchpoint it should, and
//! only correctly signed, well-formed webhooks are accepted.

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_email::Email;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

const JANE: &str = "jane.koski@pohjola-paper.example";
const MESSAGE_ID: &str = "20240501123000.1.6C3D2E1F0A9B8C7D@mg.nordmill.example";
const SUBJECT: &str = "Rebuild your paper machine, not your budget";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

fn one(body: &str) -> Touchpoint {
    let mut tps = accepted(mailgun_post(body));
    assert_eq!(tps.len(), 1);
    tps.remove(0)
}

fn only_email(tp: &Touchpoint, email: &str) {
    assert_eq!(
        tp.identities,
        Identities {
            email: Some(email.into()),
            ..Identities::default()
        }
    );
    assert_eq!(tp.channel, Channel::Email);
}

#[test]
fn delivered_maps_message_campaign_and_variables() {
    let tp = one(MG_DELIVERED);
    assert_eq!(tp.kind, TouchpointKind::EmailDelivered);
    assert_eq!(tp.external_id, "CPgfbmQMTCKtHW6uIWtuVe");
    // 1714566660.908181 s, to the millisecond.
    assert_eq!(tp.occurred_at, Some(1_714_566_660_908));
    only_email(&tp, JANE);
    let p = &tp.properties;
    assert_eq!(p.title.as_deref(), Some(SUBJECT));
    assert_eq!(p.campaign.as_deref(), Some("pm-rebuild-2024"));
    assert_eq!(p.content_id.as_deref(), Some("whitepaper-pm-rebuild"));
    assert_eq!(p.medium, Some(Acquisition::Email));
    assert_eq!(p.url, None);
    assert_eq!(
        names(&p.other),
        [
            "provider",
            "event",
            "message_id",
            "status",
            "response",
            "tags",
            "idempotency_key"
        ]
    );
    assert_eq!(attr(&p.other, "provider"), Some("mailgun"));
    assert_eq!(attr(&p.other, "event"), Some("delivered"));
    assert_eq!(attr(&p.other, "message_id"), Some(MESSAGE_ID));
    assert_eq!(attr(&p.other, "status"), Some("250"));
    assert_eq!(attr(&p.other, "response"), Some("OK"));
    assert_eq!(attr(&p.other, "tags"), Some("pm-rebuild-2024,newsletter"));
    assert_eq!(
        attr(&p.other, "idempotency_key"),
        Some("nurture-7731-step-2")
    );
    assert!(tp.consent.is_empty());
    assert_eq!(tp.traits, Traits::default());
}

#[test]
fn opened_keeps_the_client() {
    let tp = one(MG_OPENED);
    assert_eq!(tp.kind, TouchpointKind::EmailOpened);
    assert_eq!(tp.external_id, "Ase7i2zsRYeDXztHGENqRA");
    assert_eq!(tp.occurred_at, Some(1_714_570_200_125));
    only_email(&tp, JANE);
    assert_eq!(attr(&tp.properties.other, "user_agent"), Some(CHROME));
    assert_eq!(attr(&tp.properties.other, "ip"), Some("50.56.129.169"));
}

#[test]
fn clicked_keeps_the_url() {
    let tp = one(MG_CLICKED);
    assert_eq!(tp.kind, TouchpointKind::EmailClicked);
    assert_eq!(tp.external_id, "Ase7i2zsRYeDXztHGENqRB");
    assert_eq!(tp.occurred_at, Some(1_714_570_260_500));
    assert_eq!(
        tp.properties.url.as_deref(),
        Some(
            "https://www.nordmill.example/whitepapers/pm-rebuild?utm_source=newsletter&utm_medium=email"
        )
    );
}

#[test]
fn a_permanent_failure_is_a_bounce() {
    let tp = one(MG_FAILED_PERMANENT);
    assert_eq!(tp.kind, TouchpointKind::EmailBounced);
    assert_eq!(tp.external_id, "G9Bn5sl1TC6nu79C8C0bwg");
    assert_eq!(tp.occurred_at, Some(1_714_566_700_085));
    only_email(&tp, "matti.virtanen@kemi-board.example");
    let o = &tp.properties.other;
    assert_eq!(
        names(o),
        [
            "provider",
            "event",
            "message_id",
            "reason",
            "bounce_type",
            "severity",
            "status",
            "response",
            "tags",
            "idempotency_key"
        ]
    );
    assert_eq!(attr(o, "reason"), Some("bounce"));
    assert_eq!(attr(o, "bounce_type"), Some("hard"));
    assert_eq!(attr(o, "severity"), Some("permanent"));
    assert_eq!(attr(o, "status"), Some("5.1.1"));
    assert_eq!(
        attr(o, "response"),
        Some("550 5.1.1 The email account that you tried to reach does not exist.")
    );
}

#[test]
fn a_temporary_failure_is_a_deferral() {
    let tp = one(MG_FAILED_TEMPORARY);
    assert_eq!(tp.kind, TouchpointKind::Custom("email-deferred".into()));
    assert_eq!(tp.external_id, "Fs7-5t81S2ibanIbI7dE4w");
    assert_eq!(tp.occurred_at, Some(1_714_566_605_500));
    let o = &tp.properties.other;
    assert_eq!(attr(o, "severity"), Some("temporary"));
    assert_eq!(attr(o, "reason"), Some("generic"));
    assert_eq!(attr(o, "status"), Some("4.2.2"));
    assert_eq!(
        attr(o, "response"),
        Some("4.2.2 The email account that you tried to reach is over quota.")
    );
}

#[test]
fn a_complaint_is_a_complaint() {
    let tp = one(MG_COMPLAINED);
    assert_eq!(tp.kind, TouchpointKind::EmailComplained);
    assert_eq!(tp.external_id, "ncV2XwymRUKbPek_MIM-Gw");
    assert_eq!(tp.occurred_at, Some(1_714_573_800_000));
    only_email(&tp, "pekka.laine@oulu-mills.example");
    assert!(tp.consent.is_empty());
    // `user-variables` is an empty list here, as Mailgun sends it.
    assert_eq!(tp.properties.content_id, None);
    assert_eq!(attr(&tp.properties.other, "idempotency_key"), None);
}

#[test]
fn an_unsubscribe_withdraws_marketing_consent() {
    let tp = one(MG_UNSUBSCRIBED);
    assert_eq!(tp.kind, TouchpointKind::Unsubscribed);
    assert_eq!(tp.external_id, "W3X4JOhFT-OZidZGKKr9iA");
    assert_eq!(tp.occurred_at, Some(1_714_577_400_750));
    only_email(&tp, "anna.salo@lappi-fibre.example");
    assert_eq!(tp.consent, [email_consent("marketing", false)]);
}

#[test]
fn redelivery_gives_identical_touchpoints() {
    for body in [
        MG_DELIVERED,
        MG_CLICKED,
        MG_FAILED_PERMANENT,
        MG_UNSUBSCRIBED,
    ] {
        assert_eq!(one(body), one(body));
    }
}

#[test]
fn other_events_become_custom_kinds_and_missing_ids_are_derived() {
    let body =
        mailgun_body(r#"{"event":"accepted","timestamp":1714566600.5,"recipient":"a@x.example"}"#);
    let tp = one(&body);
    assert_eq!(tp.kind, TouchpointKind::Custom("email-accepted".into()));
    assert!(tp.external_id.starts_with("mailgun:h:"));
    assert_eq!(tp.external_id, one(&body).external_id);
}

// --- signatures ----------------------------------------------------------

fn with_signature(body: &str, signature: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    format!(
        r#"{{"signature":{signature},"event-data":{}}}"#,
        v["event-data"]
    )
}

#[test]
fn a_wrong_signature_is_refused() {
    // Signed with another key.
    let sig = mailgun_signature(
        "another-key",
        "1714566661",
        "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
    );
    let m = unauthorized(ingest(mailgun_post(&with_signature(MG_DELIVERED, &sig))));
    assert!(m.contains("does not match"), "{m}");
    // The fixture's signature with another token.
    let tampered = MG_DELIVERED.replace(
        "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
        "b8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
    );
    unauthorized(ingest(mailgun_post(&tampered)));
    // ...or another timestamp.
    let tampered = MG_DELIVERED.replace(
        r#""timestamp": "1714566661""#,
        r#""timestamp": "1714566662""#,
    );
    assert_ne!(tampered, MG_DELIVERED);
    unauthorized(ingest(mailgun_post(&tampered)));
}

#[test]
fn a_missing_signature_is_refused() {
    let v: serde_json::Value = serde_json::from_str(MG_DELIVERED).unwrap();
    let body = format!(r#"{{"event-data":{}}}"#, v["event-data"]);
    let m = unauthorized(ingest(mailgun_post(&body)));
    assert!(m.contains("signature"), "{m}");
    let sig = r#"{"timestamp":"1714566661","token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"}"#;
    unauthorized(ingest(mailgun_post(&with_signature(MG_DELIVERED, sig))));
}

#[test]
fn a_malformed_signature_is_refused() {
    for signature in ["zz", "abc", "", "6ef5cfb2 082deea9"] {
        let sig = format!(
            r#"{{"timestamp":"1714566661","token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0","signature":"{signature}"}}"#
        );
        unauthorized(ingest(mailgun_post(&with_signature(MG_DELIVERED, &sig))));
    }
}

#[test]
fn a_missing_signing_key_is_misconfiguration() {
    let mut host = MockHost::new().secret("sendgrid-verification-key", SENDGRID_KEY_PEM);
    let m = misconfigured(host.ingest::<Email>(mailgun_post(MG_DELIVERED)));
    assert!(m.contains("mailgun-signing-key"), "{m}");
}

// --- bodies --------------------------------------------------------------

#[test]
fn bodies_that_are_not_webhooks_are_malformed() {
    for body in [
        "",
        "[]",
        "not json",
        &MG_DELIVERED[..MG_DELIVERED.len() / 2],
    ] {
        malformed(ingest(mailgun_post(body)));
    }
    // Signed, but without the event.
    let body = format!(
        r#"{{"signature":{}}}"#,
        mailgun_signature(MAILGUN_KEY, "1", "t")
    );
    let m = malformed(ingest(mailgun_post(&body)));
    assert!(m.contains("event-data"), "{m}");
    // Signed, but the event has no name or no time.
    let m = malformed(ingest(mailgun_post(&mailgun_body(
        r#"{"timestamp":1,"id":"x"}"#,
    ))));
    assert!(m.contains("event"), "{m}");
    let m = malformed(ingest(mailgun_post(&mailgun_body(
        r#"{"event":"opened","id":"x"}"#,
    ))));
    assert!(m.contains("timestamp"), "{m}");
}

#[test]
fn a_body_over_the_limit_is_too_large() {
    let mut host = host().config("max-body-bytes", "512");
    let m = too_large(host.ingest::<Email>(mailgun_post(MG_DELIVERED)));
    assert!(m.contains("512"), "{m}");
}
