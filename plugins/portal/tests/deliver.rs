//! Nurturing messages as in-portal notifications.

// MockHost answers host calls natively; on wasm the tests have no host.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leadhost_plugin_portal::Portal;
use leadhost_sdk::http::OutboundResponse;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

const BASE: &str = "http://127.0.0.1:9";
const ENDPOINT: &str = "http://127.0.0.1:9/api/v1/notifications";
const API_KEY: &str = "pk_live_7Hq2xV9mN4";

fn message() -> Message {
    Message {
        idempotency_key: "nurture-7f3a-step-2".into(),
        recipient: Identities {
            user_id: Some("u-20931".into()),
            email: Some("mikko.lahti@kaskinen-board.example".into()),
            ..Identities::default()
        },
        recipient_name: Some("Mikko Lahti".into()),
        subject: Some("Your RollMaster 800: bearing care guide".into()),
        text: "Five checks that keep drive-side bearings quiet after a grade change.".into(),
        html: Some("<p>Five checks that keep <b>drive-side bearings</b> quiet.</p>".into()),
        content_id: Some("DOC-GUIDE-0112".into()),
        campaign: Some("winder-care-2024".into()),
        other: vec![Attribute::new(
            "link",
            "https://portal.nordmill.example/eu/documents/DOC-GUIDE-0112",
        )],
    }
}

fn response(status: u16, body: &str) -> OutboundResponse {
    OutboundResponse::new(status, body)
}

fn host(answer: OutboundResponse) -> MockHost {
    MockHost::new()
        .secret("api-key", API_KEY)
        .grant_host("127.0.0.1:9")
        .config("base-url", BASE)
        .respond(ENDPOINT, answer)
}

fn rejected(delivery: Delivery) -> Rejection {
    match delivery {
        Delivery::Rejected(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_created_notification_is_accepted_with_the_portal_s_id() {
    let mut host = host(response(201, r#"{"id":"ntf_8c2d41","status":"queued"}"#));
    let delivery = host.deliver::<Portal>(message());
    assert_eq!(delivery, Delivery::Accepted("ntf_8c2d41".into()));

    let requests = host.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.url, ENDPOINT);
    let header = |name: &str| {
        sent.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    // The host filled the secret in.
    assert_eq!(header("authorization"), Some("Bearer pk_live_7Hq2xV9mN4"));
    assert_eq!(header("idempotency-key"), Some("nurture-7f3a-step-2"));
    assert_eq!(header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "recipient": {"user_id": "u-20931", "email": "mikko.lahti@kaskinen-board.example"},
            "title": "Your RollMaster 800: bearing care guide",
            "body": "Five checks that keep drive-side bearings quiet after a grade change.",
            "html": "<p>Five checks that keep <b>drive-side bearings</b> quiet.</p>",
            "link": "https://portal.nordmill.example/eu/documents/DOC-GUIDE-0112",
            "campaign": "winder-care-2024",
            "content_id": "DOC-GUIDE-0112"
        })
    );
}

#[test]
fn a_200_is_accepted_too_and_absent_fields_are_left_out() {
    let mut host = host(response(200, r#"{"id": 90412}"#));
    let mut m = message();
    m.recipient = Identities {
        email: Some("anna.berg@sundsvik-tissue.example".into()),
        ..Identities::default()
    };
    m.subject = None;
    m.html = None;
    m.campaign = None;
    m.content_id = None;
    m.other.clear();
    assert_eq!(
        host.deliver::<Portal>(m),
        Delivery::Accepted("90412".into())
    );
    let body: serde_json::Value = serde_json::from_slice(&host.requests()[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "recipient": {"email": "anna.berg@sundsvik-tissue.example"},
            "body": "Five checks that keep drive-side bearings quiet after a grade change."
        })
    );
}

#[test]
fn a_trailing_slash_in_the_base_url_is_ignored() {
    let mut host = host(response(201, r#"{"id":"n1"}"#)).config("base-url", "http://127.0.0.1:9/");
    assert_eq!(
        host.deliver::<Portal>(message()),
        Delivery::Accepted("n1".into())
    );
    assert_eq!(host.requests()[0].url, ENDPOINT);
}

#[test]
fn too_many_requests_waits_as_the_portal_asks() {
    let mut answer = response(429, r#"{"error":"rate_limited"}"#);
    answer.headers.push(("retry-after".into(), "120".into()));
    assert_eq!(
        host(answer).deliver::<Portal>(message()),
        Delivery::RetryAfter(120)
    );
    // Without Retry-After: a minute.
    let answer = response(429, "");
    assert_eq!(
        host(answer).deliver::<Portal>(message()),
        Delivery::RetryAfter(60)
    );
}

#[test]
fn server_errors_and_failed_connections_are_retried() {
    for status in [500, 502, 503] {
        let delivery = host(response(status, "upstream down")).deliver::<Portal>(message());
        assert_eq!(delivery, Delivery::RetryAfter(30), "{status}");
    }
    // No answer at all: the mock fails the request like a refused connection.
    let mut silent = MockHost::new()
        .secret("api-key", API_KEY)
        .grant_host("127.0.0.1:9")
        .config("base-url", BASE);
    assert_eq!(
        silent.deliver::<Portal>(message()),
        Delivery::RetryAfter(30)
    );
}

#[test]
fn a_bad_request_is_rejected_as_refused_content() {
    let answer = response(400, r#"{"error":"title too long"}"#);
    let rejection = rejected(host(answer).deliver::<Portal>(message()));
    assert_eq!(rejection.reason, RejectionReason::ContentRefused);
    assert!(rejection.message.contains("400"), "{}", rejection.message);
    assert!(
        rejection.message.contains("title too long"),
        "{}",
        rejection.message
    );
    let rejection = rejected(host(response(422, "")).deliver::<Portal>(message()));
    assert_eq!(rejection.reason, RejectionReason::ContentRefused);
}

#[test]
fn an_unknown_recipient_is_unreachable() {
    let answer = response(404, r#"{"error":"no such user"}"#);
    let rejection = rejected(host(answer).deliver::<Portal>(message()));
    assert_eq!(rejection.reason, RejectionReason::UnreachableRecipient);
}

#[test]
fn a_refused_api_key_is_misconfigured() {
    for status in [401, 403] {
        let rejection = rejected(host(response(status, "")).deliver::<Portal>(message()));
        assert_eq!(rejection.reason, RejectionReason::Misconfigured, "{status}");
        assert!(
            rejection.message.contains("api-key"),
            "{}",
            rejection.message
        );
    }
}

#[test]
fn a_message_without_a_usable_recipient_is_unreachable_and_sends_nothing() {
    let mut host = host(response(201, r#"{"id":"n1"}"#));
    let mut m = message();
    m.recipient = Identities {
        phone: Some("+358401112233".into()),
        email: Some("not an address".into()),
        user_id: Some("  ".into()),
        ..Identities::default()
    };
    let rejection = rejected(host.deliver::<Portal>(m));
    assert_eq!(rejection.reason, RejectionReason::UnreachableRecipient);
    assert!(host.requests().is_empty());
}

#[test]
fn with_state_a_key_already_delivered_is_not_sent_again() {
    let mut host = host(response(201, r#"{"id":"ntf_8c2d41"}"#)).grant_state();
    assert_eq!(
        host.deliver::<Portal>(message()),
        Delivery::Accepted("ntf_8c2d41".into())
    );
    assert_eq!(
        host.state()
            .get("delivered:nurture-7f3a-step-2")
            .map(Vec::as_slice),
        Some(b"ntf_8c2d41".as_slice())
    );
    assert_eq!(
        host.deliver::<Portal>(message()),
        Delivery::Accepted("ntf_8c2d41".into())
    );
    assert_eq!(host.requests().len(), 1);

    // Another key is another message.
    let mut other = message();
    other.idempotency_key = "nurture-7f3a-step-3".into();
    host.deliver::<Portal>(other);
    assert_eq!(host.requests().len(), 2);
}

#[test]
fn without_state_every_call_sends_with_the_same_idempotency_key() {
    let mut host = host(response(201, r#"{"id":"ntf_8c2d41"}"#));
    host.deliver::<Portal>(message());
    host.deliver::<Portal>(message());
    let keys: Vec<_> = host
        .requests()
        .iter()
        .map(|r| {
            r.headers
                .iter()
                .find(|(n, _)| n == "idempotency-key")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(
        keys,
        [
            Some("nurture-7f3a-step-2".to_string()),
            Some("nurture-7f3a-step-2".to_string())
        ]
    );
    assert!(host.state().is_empty());
}

#[test]
fn without_a_granted_host_nothing_is_accepted() {
    let mut host = MockHost::new()
        .secret("api-key", API_KEY)
        .config("base-url", BASE)
        .respond(ENDPOINT, response(201, r#"{"id":"n1"}"#));
    let rejection = rejected(host.deliver::<Portal>(message()));
    assert_eq!(rejection.reason, RejectionReason::Misconfigured);
    assert!(rejection.message.contains("grant"), "{}", rejection.message);
    assert!(host.requests().is_empty());
}

#[test]
fn without_an_api_key_nothing_is_sent() {
    let mut host = MockHost::new()
        .grant_host("127.0.0.1:9")
        .config("base-url", BASE)
        .respond(ENDPOINT, response(201, r#"{"id":"n1"}"#));
    let rejection = rejected(host.deliver::<Portal>(message()));
    assert_eq!(rejection.reason, RejectionReason::Misconfigured);
    assert!(
        rejection.message.contains("api-key"),
        "{}",
        rejection.message
    );
    assert!(host.requests().is_empty());
}

#[test]
fn an_id_in_a_header_or_none_at_all_still_accepts() {
    let mut answer = response(202, "");
    answer
        .headers
        .push(("x-notification-id".into(), "ntf_hdr".into()));
    assert_eq!(
        host(answer).deliver::<Portal>(message()),
        Delivery::Accepted("ntf_hdr".into())
    );
    assert_eq!(
        host(response(204, "")).deliver::<Portal>(message()),
        Delivery::Accepted("nurture-7f3a-step-2".into())
    );
}

#[test]
fn the_default_base_url_is_the_placeholder_portal() {
    let mut host = MockHost::new()
        .secret("api-key", API_KEY)
        .grant_host("portal.example.com")
        .respond(
            "https://portal.example.com/api/v1/notifications",
            response(201, r#"{"id":"n1"}"#),
        );
    assert_eq!(
        host.deliver::<Portal>(message()),
        Delivery::Accepted("n1".into())
    );
}
