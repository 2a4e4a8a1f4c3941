//! Invitations through the Eventbrite API, and the manifest.

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_events::Events;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

const INVITE_URL: &str = "http://127.0.0.1:9/v3/events/735511950087/invitations/";

fn message(key: &str) -> Message {
    Message {
        idempotency_key: key.into(),
        recipient: Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            ..Identities::default()
        },
        recipient_name: Some("Jane Koski".into()),
        subject: Some("Join us at the board machine seminar".into()),
        text: "Hello Jane, we saved you a seat.".into(),
        html: Some("<p>Hello Jane, we saved you a seat.</p>".into()),
        content_id: Some("seminar-invite".into()),
        campaign: Some("mill-managers".into()),
        other: vec![Attribute::new("event_id", "735511950087")],
    }
}

fn header<'a>(request: &'a leadhost_sdk::http::OutboundRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn rejection(delivery: Delivery) -> RejectionReason {
    match delivery {
        Delivery::Rejected(r) => r.reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn an_invitation_is_posted_and_accepted_with_eventbrite_s_id() {
    let mut host = host().respond(
        INVITE_URL,
        json(201, r#"{"id":"inv_70021","status":"sent"}"#),
    );
    let delivery = host.deliver::<Events>(message("msg-1"));
    assert_eq!(delivery, Delivery::Accepted("inv_70021".into()));

    let requests = host.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.url, INVITE_URL);
    assert_eq!(
        header(r, "authorization"),
        Some(format!("Bearer {EVENTBRITE_TOKEN}").as_str())
    );
    assert_eq!(header(r, "idempotency-key"), Some("msg-1"));
    assert_eq!(header(r, "content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "email": "jane.koski@pohjola-paper.example",
            "name": "Jane Koski",
            "subject": "Join us at the board machine seminar",
            "message": "Hello Jane, we saved you a seat.",
            "html": "<p>Hello Jane, we saved you a seat.</p>"
        })
    );
}

#[test]
fn a_200_without_an_id_is_accepted_under_the_idempotency_key() {
    let mut host = host().respond(INVITE_URL, json(200, "{}"));
    assert_eq!(
        host.deliver::<Events>(message("msg-2")),
        Delivery::Accepted("msg-2".into())
    );
}

#[test]
fn the_default_event_is_used_when_the_message_names_none() {
    let mut host = host()
        .config("default-event-id", "999000111")
        .respond("http://127.0.0.1:9/", json(201, r#"{"id":"inv_1"}"#));
    let mut m = message("msg-3");
    m.other.clear();
    m.html = None;
    m.recipient_name = None;
    assert_eq!(
        host.deliver::<Events>(m),
        Delivery::Accepted("inv_1".into())
    );
    let r = &host.requests()[0];
    assert_eq!(r.url, "http://127.0.0.1:9/v3/events/999000111/invitations/");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body.get("html"), None);
    assert_eq!(body.get("name"), None);
}

#[test]
fn no_event_at_all_is_misconfiguration() {
    let mut host = host().respond("http://127.0.0.1:9/", json(201, r#"{"id":"inv_1"}"#));
    let mut m = message("msg-4");
    m.other.clear();
    assert_eq!(
        rejection(host.deliver::<Events>(m)),
        RejectionReason::Misconfigured
    );
    let mut m = message("msg-4b");
    m.other = vec![Attribute::new("event_id", "../../users/me")];
    assert_eq!(
        rejection(host.deliver::<Events>(m)),
        RejectionReason::Misconfigured
    );
    assert!(host.requests().is_empty());
}

#[test]
fn no_email_means_an_unreachable_recipient() {
    let mut host = host().respond(INVITE_URL, json(201, r#"{"id":"inv_1"}"#));
    let mut m = message("msg-5");
    m.recipient = Identities {
        phone: Some("+358401234567".into()),
        ..Identities::default()
    };
    assert_eq!(
        rejection(host.deliver::<Events>(m)),
        RejectionReason::UnreachableRecipient
    );
    assert!(host.requests().is_empty());
}

#[test]
fn rate_limits_and_outages_ask_to_retry() {
    let mut limited = json(429, r#"{"error":"HIT_RATE_LIMIT"}"#);
    limited.headers.push(("retry-after".into(), "120".into()));
    let mut host = host().respond(INVITE_URL, limited);
    assert_eq!(
        host.deliver::<Events>(message("a")),
        Delivery::RetryAfter(120)
    );

    let mut host = common::host().respond(INVITE_URL, json(429, "{}"));
    assert_eq!(
        host.deliver::<Events>(message("b")),
        Delivery::RetryAfter(60)
    );

    let mut host = common::host().respond(INVITE_URL, json(503, "busy"));
    assert_eq!(
        host.deliver::<Events>(message("c")),
        Delivery::RetryAfter(30)
    );

    // No answer at all.
    let mut host = common::host();
    assert_eq!(
        host.deliver::<Events>(message("d")),
        Delivery::RetryAfter(30)
    );
}

#[test]
fn refusals_are_rejections() {
    let cases = [
        (
            json(
                400,
                r#"{"error":"ARGUMENTS_ERROR","error_description":"There are errors with your arguments: message - INVALID"}"#,
            ),
            RejectionReason::ContentRefused,
        ),
        (
            json(
                400,
                r#"{"error":"ARGUMENTS_ERROR","error_description":"email - INVALID"}"#,
            ),
            RejectionReason::UnreachableRecipient,
        ),
        (
            json(401, r#"{"error":"INVALID_AUTH"}"#),
            RejectionReason::Misconfigured,
        ),
        (
            json(403, r#"{"error":"NOT_AUTHORIZED"}"#),
            RejectionReason::Misconfigured,
        ),
        (
            json(404, r#"{"error":"NOT_FOUND"}"#),
            RejectionReason::Misconfigured,
        ),
    ];
    for (answer, reason) in cases {
        let status = answer.status;
        let mut host = host().respond(INVITE_URL, answer);
        assert_eq!(
            rejection(host.deliver::<Events>(message("k"))),
            reason,
            "{status}"
        );
    }
}

#[test]
fn a_key_already_delivered_is_not_sent_again() {
    let mut host = host()
        .grant_state()
        .respond(INVITE_URL, json(201, r#"{"id":"inv_555"}"#));
    assert_eq!(
        host.deliver::<Events>(message("once")),
        Delivery::Accepted("inv_555".into())
    );
    assert_eq!(host.state().get("delivered:once").unwrap(), b"inv_555");
    assert_eq!(
        host.deliver::<Events>(message("once")),
        Delivery::Accepted("inv_555".into())
    );
    assert_eq!(host.requests().len(), 1);
    // Another key is sent.
    host.deliver::<Events>(message("twice"));
    assert_eq!(host.requests().len(), 2);
}

#[test]
fn without_state_every_deliver_calls_eventbrite_with_the_same_key() {
    let mut host = host().respond(INVITE_URL, json(201, r#"{"id":"inv_555"}"#));
    host.deliver::<Events>(message("k1"));
    host.deliver::<Events>(message("k1"));
    let keys: Vec<_> = host
        .requests()
        .iter()
        .map(|r| header(r, "idempotency-key").unwrap())
        .collect();
    assert_eq!(keys, ["k1", "k1"]);
}

#[test]
fn without_a_granted_host_nothing_is_accepted() {
    let mut host = MockHost::new()
        .secret("webhook-token", TOKEN)
        .secret("eventbrite-token", EVENTBRITE_TOKEN)
        .config("api-base-url", BASE)
        .respond(INVITE_URL, json(201, r#"{"id":"inv_1"}"#));
    let delivery = host.deliver::<Events>(message("m"));
    assert!(!matches!(delivery, Delivery::Accepted(_)), "{delivery:?}");
    assert!(host.requests().is_empty());
}

#[test]
fn without_the_eventbrite_token_delivery_is_misconfigured() {
    let mut host = MockHost::new()
        .grant_host("127.0.0.1:9")
        .config("api-base-url", BASE)
        .respond(INVITE_URL, json(201, r#"{"id":"inv_1"}"#));
    assert_eq!(
        rejection(host.deliver::<Events>(message("m"))),
        RejectionReason::Misconfigured
    );
    assert!(host.requests().is_empty());
}

#[test]
fn the_manifest_declares_what_the_connector_needs() {
    let manifest = MockHost::new().describe::<Events>();
    assert_eq!(manifest.name, "events");
    assert_eq!(manifest.channels, [Channel::Events]);
    assert_eq!(
        manifest.operations,
        Operations {
            ingest: true,
            poll: false,
            deliver: true
        }
    );
    let config: Vec<_> = manifest
        .config
        .iter()
        .map(|c| (c.name.as_str(), c.value_type, c.default_value.as_deref()))
        .collect();
    assert_eq!(
        config,
        [
            (
                "api-base-url",
                ConfigType::Url,
                Some("https://www.eventbriteapi.com")
            ),
            ("default-event-id", ConfigType::Text, None),
            ("max-body-bytes", ConfigType::Integer, Some("5242880")),
            ("max-rows", ConfigType::Integer, Some("10000")),
        ]
    );
    let secrets: Vec<_> = manifest
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.required))
        .collect();
    assert_eq!(
        secrets,
        [("webhook-token", true), ("eventbrite-token", false)]
    );
    assert_eq!(
        manifest.capabilities,
        Capabilities {
            outbound_hosts: vec![
                "www.eventbriteapi.com".into(),
                "{config:api-base-url}".into()
            ],
            state: true,
        }
    );
}

#[test]
fn poll_is_unsupported() {
    assert_eq!(
        MockHost::new().poll::<Events>(None),
        Err(PollError::Unsupported)
    );
}
