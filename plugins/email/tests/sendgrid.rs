//! SendGrid's Event Webhook: the fixture batch maps to the touchpoints it
//! should, and only correctly signed, well-formed batches are accepted.

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_sdk::prelude::*;

/// 2024-05-01T12:30:00Z in epoch milliseconds.
const T0: i64 = 1_714_566_600_000;
const SECOND: i64 = 1000;
const JANE: &str = "jane.koski@pohjola-paper.example";
const CAMPAIGN: &str = "pm-rebuild-2024";
const MESSAGE: &str = "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

fn batch() -> Vec<Touchpoint> {
    let touchpoints = accepted(sendgrid_post(SENDGRID_EVENTS));
    assert_eq!(touchpoints.len(), 11);
    touchpoints
}

#[test]
fn every_event_type_maps_to_its_kind_id_and_time() {
    let got: Vec<_> = batch()
        .into_iter()
        .map(|tp| (tp.kind, tp.external_id, tp.occurred_at.unwrap(), tp.channel))
        .collect();
    let custom = |s: &str| TouchpointKind::Custom(s.into());
    let expected = [
        (custom("email-processed"), "rbtnWrG1DVDGGGFHFyun0A", T0),
        (
            custom("email-deferred"),
            "t7LEShmowp86DTdUW8M-GQ",
            T0 + 5 * SECOND,
        ),
        (
            TouchpointKind::EmailDelivered,
            "rWVYmVk90MjZJ9iohOBa3w",
            T0 + 60 * SECOND,
        ),
        (
            TouchpointKind::EmailOpened,
            "FOTFFO0ecsBE-zxFXfs6WA",
            T0 + 3600 * SECOND,
        ),
        (
            TouchpointKind::EmailClicked,
            "kCAi1KttyQdEKHhdC-nuEA",
            T0 + 3660 * SECOND,
        ),
        (
            TouchpointKind::EmailBounced,
            "6g4ZI7SA-xmRDv57GoPIPw",
            T0 + 100 * SECOND,
        ),
        (
            TouchpointKind::EmailBounced,
            "zmzJhfJgAfUSOW80yEbPyw",
            T0 + 110 * SECOND,
        ),
        (
            TouchpointKind::EmailComplained,
            "37nvH5QBz858KGVYCM5cRg",
            T0 + 7200 * SECOND,
        ),
        (
            TouchpointKind::Unsubscribed,
            "zz_BjPgU_5pS-J8vlfB1sg",
            T0 + 10800 * SECOND,
        ),
        (
            TouchpointKind::Unsubscribed,
            "ahSCB7xYcXFb-hEaawsPRw",
            T0 + 10860 * SECOND,
        ),
        (
            custom("email-resubscribed"),
            "H_6ILw-0TBRVIbhJ4t9Bjg",
            T0 + 14400 * SECOND,
        ),
    ];
    for (i, (kind, id, at)) in expected.into_iter().enumerate() {
        assert_eq!(
            got[i],
            (kind, id.to_string(), at, Channel::Email),
            "events[{i}]"
        );
    }
}

#[test]
fn the_recipient_is_the_identity_and_nothing_else_is_guessed() {
    let emails: Vec<_> = batch()
        .into_iter()
        .map(|tp| {
            assert_eq!(tp.traits, Traits::default());
            let email = tp.identities.email.clone().unwrap();
            assert_eq!(
                tp.identities,
                Identities {
                    email: Some(email.clone()),
                    ..Identities::default()
                }
            );
            email
        })
        .collect();
    assert_eq!(&emails[..5], [JANE; 5]);
    assert_eq!(emails[5], "matti.virtanen@kemi-board.example");
    assert_eq!(emails[10], "timo.heikkinen@vaasa-paper.example");
}

#[test]
fn processed_keeps_categories_and_custom_arguments() {
    let tp = &batch()[0];
    let p = &tp.properties;
    assert_eq!(p.campaign.as_deref(), Some(CAMPAIGN));
    assert_eq!(p.content_id.as_deref(), Some("whitepaper-pm-rebuild"));
    assert_eq!(p.medium, Some(Acquisition::Email));
    assert_eq!(p.url, None);
    assert_eq!(
        names(&p.other),
        [
            "provider",
            "event",
            "message_id",
            "categories",
            "idempotency_key"
        ]
    );
    assert_eq!(attr(&p.other, "provider"), Some("sendgrid"));
    assert_eq!(attr(&p.other, "event"), Some("processed"));
    assert_eq!(attr(&p.other, "message_id"), Some(MESSAGE));
    assert_eq!(
        attr(&p.other, "categories"),
        Some("pm-rebuild-2024,newsletter")
    );
    assert_eq!(
        attr(&p.other, "idempotency_key"),
        Some("nurture-7731-step-2")
    );
    assert!(tp.consent.is_empty());
}

#[test]
fn deferred_and_delivered_keep_the_smtp_response() {
    let tps = batch();
    let deferred = &tps[1].properties.other;
    assert_eq!(attr(deferred, "response"), Some("400 try again later"));
    assert_eq!(attr(deferred, "attempt"), Some("5"));
    assert_eq!(attr(deferred, "ip"), Some("168.1.1.1"));
    let delivered = &tps[2].properties.other;
    assert_eq!(attr(delivered, "response"), Some("250 OK"));
    // `smtp-id` and `tls` are transport detail, not kept.
    assert_eq!(attr(delivered, "smtp-id"), None);
    assert_eq!(attr(delivered, "tls"), None);
}

#[test]
fn open_and_click_carry_client_and_url() {
    let tps = batch();
    let open = &tps[3].properties;
    assert_eq!(attr(&open.other, "user_agent"), Some(CHROME));
    assert_eq!(attr(&open.other, "ip"), Some("255.255.255.255"));
    assert_eq!(attr(&open.other, "machine_open"), None);
    assert_eq!(open.url, None);
    let click = &tps[4].properties;
    assert_eq!(
        click.url.as_deref(),
        Some(
            "https://www.nordmill.example/whitepapers/pm-rebuild?utm_source=newsletter&utm_medium=email"
        )
    );
    assert_eq!(click.content_id.as_deref(), Some("whitepaper-pm-rebuild"));
    assert_eq!(attr(&click.other, "url_offset"), None);
}

#[test]
fn bounces_and_drops_carry_reason_type_and_severity() {
    let tps = batch();
    let bounce = &tps[5].properties;
    assert_eq!(bounce.campaign.as_deref(), Some(CAMPAIGN));
    assert_eq!(
        names(&bounce.other),
        [
            "provider",
            "event",
            "message_id",
            "reason",
            "bounce_type",
            "severity",
            "status",
            "bounce_classification",
            "categories"
        ]
    );
    assert_eq!(
        attr(&bounce.other, "reason"),
        Some("550 5.1.1 The email account that you tried to reach does not exist.")
    );
    assert_eq!(attr(&bounce.other, "bounce_type"), Some("bounce"));
    assert_eq!(attr(&bounce.other, "severity"), Some("permanent"));
    assert_eq!(attr(&bounce.other, "status"), Some("5.1.1"));
    assert_eq!(
        attr(&bounce.other, "bounce_classification"),
        Some("Invalid Address")
    );

    let dropped = &tps[6].properties.other;
    assert_eq!(attr(dropped, "reason"), Some("Bounced Address"));
    assert_eq!(attr(dropped, "bounce_type"), Some("dropped"));
    assert_eq!(attr(dropped, "severity"), Some("permanent"));
}

#[test]
fn blocked_is_hard_and_other_bounce_types_are_not() {
    let body = r#"[
      {"email":"a@x.example","timestamp":1714566600,"event":"bounce","type":"blocked","sg_event_id":"b1"},
      {"email":"a@x.example","timestamp":1714566600,"event":"bounce","type":"expired","sg_event_id":"b2"}
    ]"#;
    let tps = accepted(sendgrid_post(body));
    assert_eq!(
        attr(&tps[0].properties.other, "severity"),
        Some("permanent")
    );
    assert_eq!(
        attr(&tps[0].properties.other, "bounce_type"),
        Some("blocked")
    );
    assert_eq!(
        attr(&tps[1].properties.other, "severity"),
        Some("temporary")
    );
    assert!(tps.iter().all(|tp| tp.kind == TouchpointKind::EmailBounced));
}

#[test]
fn unsubscribes_withdraw_consent_and_resubscribes_give_it() {
    let tps = batch();
    assert!(
        tps[7].consent.is_empty(),
        "a spam report is a complaint only"
    );
    assert_eq!(tps[8].consent, [email_consent("marketing", false)]);
    assert_eq!(tps[9].consent, [email_consent("group:10", false)]);
    assert_eq!(attr(&tps[9].properties.other, "asm_group_id"), Some("10"));
    assert_eq!(tps[10].consent, [email_consent("group:10", true)]);
}

#[test]
fn a_group_event_without_its_group_is_refused() {
    let body = r#"[{"email":"a@x.example","timestamp":1714566600,"event":"group_unsubscribe","sg_event_id":"g"}]"#;
    let m = malformed(ingest(sendgrid_post(body)));
    assert!(m.contains("events[0]") && m.contains("asm_group_id"), "{m}");
}

#[test]
fn the_recorded_fixture_signature_verifies() {
    // events.json.signature holds the headers of a real signing of the file,
    // so the host's end-to-end tests can replay it without a private key.
    let header = |name: &str| {
        SENDGRID_RECORDED_SIGNATURE
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let request = Request::new("POST", "/sendgrid")
        .with_header(
            "X-Twilio-Email-Event-Webhook-Signature",
            &header("X-Twilio-Email-Event-Webhook-Signature:"),
        )
        .with_header(
            "X-Twilio-Email-Event-Webhook-Timestamp",
            &header("X-Twilio-Email-Event-Webhook-Timestamp:"),
        )
        .with_body(SENDGRID_EVENTS);
    assert_eq!(accepted(request).len(), 11);
}

#[test]
fn the_fixture_public_key_is_the_test_key() {
    assert_eq!(public_pem(&sendgrid_key()), SENDGRID_KEY_PEM);
}

#[test]
fn redelivery_gives_identical_touchpoints() {
    assert_eq!(batch(), batch());
}

#[test]
fn events_without_an_id_get_a_stable_derived_one() {
    let body = r#"[
      {"email":"a@x.example","timestamp":1714566600,"event":"open","sg_message_id":"m1"},
      {"email":"a@x.example","timestamp":1714566601,"event":"open","sg_message_id":"m1"}
    ]"#;
    let first = accepted(sendgrid_post(body));
    let again = accepted(sendgrid_post(body));
    assert_eq!(first[0].external_id, again[0].external_id);
    assert!(first[0].external_id.starts_with("sendgrid:h:"));
    assert_ne!(first[0].external_id, first[1].external_id);
}

#[test]
fn custom_arguments_of_any_type_become_attributes() {
    let body = r#"[{"email":"a@x.example","timestamp":1714566600,"event":"delivered","sg_event_id":"c",
      "tier":"gold","score":42,"vip":true,"nested":{"k":"v"},"none":null,"quoted":"say \"hi\""}]"#;
    let tp = &accepted(sendgrid_post(body))[0];
    let o = &tp.properties.other;
    assert_eq!(attr(o, "tier"), Some("gold"));
    assert_eq!(attr(o, "score"), Some("42"));
    assert_eq!(attr(o, "vip"), Some("true"));
    assert_eq!(attr(o, "nested"), Some(r#"{"k":"v"}"#));
    assert_eq!(attr(o, "none"), None);
    assert_eq!(attr(o, "quoted"), Some(r#"say "hi""#));
}

#[test]
fn unknown_events_become_custom_kinds() {
    let body = r#"[{"email":"a@x.example","timestamp":1714566600,"event":"account_status_change","sg_event_id":"u"}]"#;
    let tp = &accepted(sendgrid_post(body))[0];
    assert_eq!(
        tp.kind,
        TouchpointKind::Custom("email-account-status-change".into())
    );
}

#[test]
fn an_empty_batch_is_accepted_with_nothing() {
    assert!(accepted(sendgrid_post("[]")).is_empty());
}

// --- signatures ----------------------------------------------------------

#[test]
fn a_signature_over_another_body_is_refused() {
    let signature = sendgrid_signature(&sendgrid_key(), SG_TIMESTAMP, b"[]");
    let request = sendgrid_post(SENDGRID_EVENTS);
    let request = Request {
        headers: request
            .headers
            .into_iter()
            .map(|(n, v)| {
                if n == "x-twilio-email-event-webhook-signature" {
                    (n, signature.clone())
                } else {
                    (n, v)
                }
            })
            .collect(),
        ..request
    };
    let m = unauthorized(ingest(request));
    assert!(m.contains("does not match"), "{m}");
}

#[test]
fn a_tampered_body_or_timestamp_is_refused() {
    let mut request = sendgrid_post(SENDGRID_EVENTS);
    request.body = SENDGRID_EVENTS
        .replace("\"open\"", "\"click\"")
        .into_bytes();
    unauthorized(ingest(request));

    let mut request = sendgrid_post(SENDGRID_EVENTS);
    for (n, v) in &mut request.headers {
        if n == "x-twilio-email-event-webhook-timestamp" {
            *v = "1714566721".into();
        }
    }
    unauthorized(ingest(request));
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let other = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let signature = sendgrid_signature(&other, SG_TIMESTAMP, SENDGRID_EVENTS.as_bytes());
    let request = Request::new("POST", "/sendgrid")
        .with_header("x-twilio-email-event-webhook-signature", &signature)
        .with_header("x-twilio-email-event-webhook-timestamp", SG_TIMESTAMP)
        .with_body(SENDGRID_EVENTS);
    unauthorized(ingest(request));
    // ...and accepted once that key is the configured one.
    let mut host = host().secret("sendgrid-verification-key", public_pem(&other));
    let request = Request::new("POST", "/sendgrid")
        .with_header("x-twilio-email-event-webhook-signature", &signature)
        .with_header("x-twilio-email-event-webhook-timestamp", SG_TIMESTAMP)
        .with_body(SENDGRID_EVENTS);
    assert_eq!(accepted_on(&mut host, request).len(), 11);
}

#[test]
fn missing_signature_headers_are_refused() {
    let body = SENDGRID_EVENTS;
    let signature = sendgrid_signature(&sendgrid_key(), SG_TIMESTAMP, body.as_bytes());
    let no_signature = Request::new("POST", "/sendgrid")
        .with_header("x-twilio-email-event-webhook-timestamp", SG_TIMESTAMP)
        .with_body(body);
    let m = unauthorized(ingest(no_signature));
    assert!(m.contains("Signature"), "{m}");
    let no_timestamp = Request::new("POST", "/sendgrid")
        .with_header("x-twilio-email-event-webhook-signature", &signature)
        .with_body(body);
    let m = unauthorized(ingest(no_timestamp));
    assert!(m.contains("Timestamp"), "{m}");
}

#[test]
fn malformed_signatures_are_refused() {
    for bad in ["not base64 at all!", "", "AAAA", &b64(&[0x30, 0x02, 0x01])] {
        let request = Request::new("POST", "/sendgrid")
            .with_header("x-twilio-email-event-webhook-signature", bad)
            .with_header("x-twilio-email-event-webhook-timestamp", SG_TIMESTAMP)
            .with_body(SENDGRID_EVENTS);
        unauthorized(ingest(request));
    }
}

#[test]
fn a_missing_verification_key_is_misconfiguration() {
    let mut host =
        leadhost_sdk::testing::MockHost::new().secret("mailgun-signing-key", MAILGUN_KEY);
    let m =
        misconfigured(host.ingest::<leadhost_plugin_email::Email>(sendgrid_post(SENDGRID_EVENTS)));
    assert!(m.contains("sendgrid-verification-key"), "{m}");
}

// --- bodies --------------------------------------------------------------

#[test]
fn bodies_that_are_not_event_arrays_are_malformed() {
    for body in [
        "",
        "not json",
        r#"{"event":"open"}"#,
        "[1]",
        &SENDGRID_EVENTS[..SENDGRID_EVENTS.len() / 2],
    ] {
        malformed(ingest(sendgrid_post(body)));
    }
}

#[test]
fn a_bad_event_names_its_index_and_refuses_the_batch() {
    let body = r#"[
      {"email":"a@x.example","timestamp":1714566600,"event":"open","sg_event_id":"ok"},
      {"email":"a@x.example","timestamp":1714566600,"sg_event_id":"no-event"}
    ]"#;
    let m = malformed(ingest(sendgrid_post(body)));
    assert!(m.contains("events[1]") && m.contains("event"), "{m}");
    let body = r#"[{"email":"a@x.example","event":"open","sg_event_id":"no-time"}]"#;
    let m = malformed(ingest(sendgrid_post(body)));
    assert!(m.contains("events[0]") && m.contains("timestamp"), "{m}");
    let body = r#"[{"email":"a@x.example","timestamp":"yesterday","event":"open"}]"#;
    let m = malformed(ingest(sendgrid_post(body)));
    assert!(m.contains("events[0]"), "{m}");
}

#[test]
fn a_body_over_the_limit_is_too_large() {
    let mut host = host().config("max-body-bytes", "1000");
    let m = too_large(host.ingest::<leadhost_plugin_email::Email>(sendgrid_post(SENDGRID_EVENTS)));
    assert!(m.contains("max-body-bytes"), "{m}");
    // The default limit takes the fixture.
    assert_eq!(accepted(sendgrid_post(SENDGRID_EVENTS)).len(), 11);
}
