//! Delivery through SendGrid's v3 Mail Send API against a stand-in server.

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leadhost_plugin_email::Email;
use leadhost_sdk::http::OutboundResponse;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

const BASE: &str = "http://127.0.0.1:9";
const SEND: &str = "http://127.0.0.1:9/v3/mail/send";
const API_KEY: &str = "SG.test-key.abc123";

fn host() -> MockHost {
    MockHost::new()
        .grant_host("127.0.0.1:9")
        .config("base-url", BASE)
        .config("from-email", "news@nordmill.example")
        .config("from-name", "Nordmill")
        .secret("sendgrid-api-key", API_KEY)
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> OutboundResponse {
    OutboundResponse {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).into(), (*v).into()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn accepted_202() -> OutboundResponse {
    answer(202, &[("x-message-id", "Ff2oQ9QcRWuUWZ0Ixsb8wQ")], "")
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
        html: Some("<p>Hello Jane, our <a href=\"https://www.nordmill.example/g\">rebuild guide</a> is ready.</p>".into()),
        content_id: Some("whitepaper-pm-rebuild".into()),
        campaign: Some("pm-rebuild-2024".into()),
        other: Vec::new(),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_202_is_accepted_with_sendgrid_s_message_id() {
    let mut host = host().respond(SEND, accepted_202());
    let outcome = host.deliver::<Email>(message());
    assert_eq!(outcome, Delivery::Accepted("Ff2oQ9QcRWuUWZ0Ixsb8wQ".into()));

    let requests = host.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.url, SEND);
    // The host filled in the secret.
    assert_eq!(
        header(&r.headers, "authorization"),
        Some("Bearer SG.test-key.abc123")
    );
    assert_eq!(header(&r.headers, "content-type"), Some("application/json"));
    assert_eq!(
        header(&r.headers, "idempotency-key"),
        Some("nurture-7731-step-2")
    );
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "personalizations": [{
                "to": [{"email": "jane.koski@pohjola-paper.example", "name": "Jane Koski"}],
                "custom_args": {
                    "idempotency_key": "nurture-7731-step-2",
                    "content_id": "whitepaper-pm-rebuild"
                }
            }],
            "from": {"email": "news@nordmill.example", "name": "Nordmill"},
            "subject": "Rebuild your paper machine, not your budget",
            "content": [
                {"type": "text/plain", "value": "Hello Jane, our rebuild guide is ready."},
                {"type": "text/html", "value": "<p>Hello Jane, our <a href=\"https://www.nordmill.example/g\">rebuild guide</a> is ready.</p>"}
            ],
            "categories": ["pm-rebuild-2024"]
        })
    );
}

#[test]
fn optional_parts_are_left_out() {
    let mut host = MockHost::new()
        .grant_host("127.0.0.1:9")
        .config("base-url", "http://127.0.0.1:9/")
        .config("from-email", "news@nordmill.example")
        .secret("sendgrid-api-key", API_KEY)
        .respond(SEND, accepted_202());
    let m = Message {
        recipient_name: None,
        html: None,
        content_id: None,
        campaign: None,
        ..message()
    };
    assert!(matches!(host.deliver::<Email>(m), Delivery::Accepted(_)));
    let r = &host.requests()[0];
    assert_eq!(r.url, SEND, "a trailing slash in base-url is not doubled");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body["from"],
        serde_json::json!({"email": "news@nordmill.example"})
    );
    assert_eq!(
        body["personalizations"][0],
        serde_json::json!({
            "to": [{"email": "jane.koski@pohjola-paper.example"}],
            "custom_args": {"idempotency_key": "nurture-7731-step-2"}
        })
    );
    assert_eq!(body["content"].as_array().unwrap().len(), 1);
    assert!(body.get("categories").is_none());
}

#[test]
fn with_state_a_key_is_sent_once() {
    let mut host = host().grant_state().respond(SEND, accepted_202());
    let first = host.deliver::<Email>(message());
    assert_eq!(first, Delivery::Accepted("Ff2oQ9QcRWuUWZ0Ixsb8wQ".into()));
    assert_eq!(
        host.state()
            .get("delivered:nurture-7731-step-2")
            .map(Vec::as_slice),
        Some(&b"Ff2oQ9QcRWuUWZ0Ixsb8wQ"[..])
    );
    let again = host.deliver::<Email>(message());
    assert_eq!(again, first);
    assert_eq!(host.requests().len(), 1, "the second deliver sent nothing");
    // Another key is sent.
    let other = Message {
        idempotency_key: "nurture-7731-step-3".into(),
        ..message()
    };
    assert!(matches!(
        host.deliver::<Email>(other),
        Delivery::Accepted(_)
    ));
    assert_eq!(host.requests().len(), 2);
}

#[test]
fn without_state_each_deliver_calls_sendgrid() {
    let mut sender = host().respond(SEND, accepted_202());
    sender.deliver::<Email>(message());
    sender.deliver::<Email>(message());
    assert_eq!(sender.requests().len(), 2);
}

#[test]
fn a_429_retries_after_what_sendgrid_says() {
    let mut limited = host().respond(SEND, answer(429, &[("retry-after", "17")], ""));
    assert_eq!(
        limited.deliver::<Email>(message()),
        Delivery::RetryAfter(17)
    );
    let body = r#"{"errors":[{"message":"too many requests"}]}"#;
    let mut limited = host().respond(SEND, answer(429, &[], body));
    assert_eq!(
        limited.deliver::<Email>(message()),
        Delivery::RetryAfter(60)
    );
}

#[test]
fn server_errors_and_network_failures_retry_in_30_seconds() {
    let mut down = host().respond(SEND, answer(503, &[], "unavailable"));
    assert_eq!(down.deliver::<Email>(message()), Delivery::RetryAfter(30));
    // No response at all (the stand-in has no route): a failed connection.
    let mut unreachable = host();
    assert_eq!(
        unreachable.deliver::<Email>(message()),
        Delivery::RetryAfter(30)
    );
}

fn rejection(outcome: Delivery) -> Rejection {
    match outcome {
        Delivery::Rejected(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_400_is_rejected_with_sendgrid_s_reason() {
    let body =
        r#"{"errors":[{"message":"The subject is too long.","field":"subject","help":null}]}"#;
    let mut refusing = host().respond(SEND, answer(400, &[], body));
    let r = rejection(refusing.deliver::<Email>(message()));
    assert_eq!(r.reason, RejectionReason::ContentRefused);
    assert!(
        r.message.contains("subject: The subject is too long."),
        "{}",
        r.message
    );

    let body = r#"{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email"}]}"#;
    let mut refusing = host().respond(SEND, answer(400, &[], body));
    let r = rejection(refusing.deliver::<Email>(message()));
    assert_eq!(r.reason, RejectionReason::UnreachableRecipient);
}

#[test]
fn a_refused_api_key_is_misconfiguration() {
    for status in [401, 403] {
        let body = r#"{"errors":[{"field":null,"message":"The provided authorization grant is invalid, expired, or revoked"}]}"#;
        let mut refusing = host().respond(SEND, answer(status, &[], body));
        let r = rejection(refusing.deliver::<Email>(message()));
        assert_eq!(r.reason, RejectionReason::Misconfigured);
        assert!(r.message.contains("revoked"), "{}", r.message);
    }
}

#[test]
fn without_a_granted_host_nothing_is_accepted() {
    let mut host = MockHost::new()
        .config("base-url", BASE)
        .config("from-email", "news@nordmill.example")
        .secret("sendgrid-api-key", API_KEY)
        .respond(SEND, accepted_202());
    let r = rejection(host.deliver::<Email>(message()));
    assert_eq!(r.reason, RejectionReason::Misconfigured);
    assert!(host.requests().is_empty());
}

#[test]
fn the_default_base_url_is_sendgrid() {
    let mut host = MockHost::new()
        .grant_host("api.sendgrid.com")
        .config("from-email", "news@nordmill.example")
        .secret("sendgrid-api-key", API_KEY)
        .respond("https://api.sendgrid.com/", accepted_202());
    assert!(matches!(
        host.deliver::<Email>(message()),
        Delivery::Accepted(_)
    ));
    assert_eq!(
        host.requests()[0].url,
        "https://api.sendgrid.com/v3/mail/send"
    );
}

#[test]
fn a_recipient_without_an_address_is_unreachable() {
    for email in [None, Some(""), Some("not an address"), Some("jane@")] {
        let mut sender = host().respond(SEND, accepted_202());
        let m = Message {
            recipient: Identities {
                email: email.map(Into::into),
                phone: Some("+358401234567".into()),
                ..Identities::default()
            },
            ..message()
        };
        let r = rejection(sender.deliver::<Email>(m));
        assert_eq!(r.reason, RejectionReason::UnreachableRecipient);
        assert!(sender.requests().is_empty());
    }
}

#[test]
fn content_sendgrid_would_refuse_is_refused_before_sending() {
    let no_subject = Message {
        subject: None,
        ..message()
    };
    let empty = Message {
        text: " ".into(),
        html: None,
        ..message()
    };
    for m in [no_subject, empty] {
        let mut sender = host().respond(SEND, accepted_202());
        assert_eq!(
            rejection(sender.deliver::<Email>(m)).reason,
            RejectionReason::ContentRefused
        );
        assert!(sender.requests().is_empty());
    }
}

#[test]
fn missing_sender_or_api_key_is_misconfiguration() {
    let mut no_from = MockHost::new()
        .grant_host("127.0.0.1:9")
        .config("base-url", BASE)
        .secret("sendgrid-api-key", API_KEY)
        .respond(SEND, accepted_202());
    let r = rejection(no_from.deliver::<Email>(message()));
    assert_eq!(r.reason, RejectionReason::Misconfigured);
    assert!(r.message.contains("from-email"), "{}", r.message);

    let mut no_key = MockHost::new()
        .grant_host("127.0.0.1:9")
        .config("base-url", BASE)
        .config("from-email", "news@nordmill.example")
        .respond(SEND, accepted_202());
    let r = rejection(no_key.deliver::<Email>(message()));
    assert_eq!(r.reason, RejectionReason::Misconfigured);
    assert!(r.message.contains("sendgrid-api-key"), "{}", r.message);
    assert!(no_key.requests().is_empty());
}

/// `message()` to `n`@mill, under key `k{n}`.
fn to(n: usize) -> Message {
    let mut m = message();
    m.idempotency_key = format!("k{n}");
    m.recipient.email = Some(format!("p{n}@mill.example"));
    m.recipient_name = None;
    m
}

fn keys_of(body: &serde_json::Value) -> Vec<String> {
    body["personalizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["custom_args"]["idempotency_key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn a_batch_shares_one_mail_send_per_content_and_answers_in_order() {
    let mut host = host().respond(SEND, accepted_202());
    let other = Message {
        subject: Some("Another subject".into()),
        ..to(2)
    };
    let unreachable = Message {
        recipient: Identities::default(),
        ..to(3)
    };
    let outcomes = host.deliver_batch::<Email>(vec![to(0), to(1), other, unreachable, to(4)]);
    assert_eq!(outcomes.len(), 5);
    let accepted = Delivery::Accepted("Ff2oQ9QcRWuUWZ0Ixsb8wQ".into());
    for i in [0, 1, 2, 4] {
        assert_eq!(outcomes[i], accepted, "message {i}");
    }
    assert_eq!(
        rejection(outcomes[3].clone()).reason,
        RejectionReason::UnreachableRecipient
    );

    let requests = host.requests();
    assert_eq!(requests.len(), 2, "one Mail Send per content");
    let first: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(keys_of(&first), ["k0", "k1", "k4"]);
    assert_eq!(
        first["personalizations"][2]["to"][0]["email"],
        "p4@mill.example"
    );
    assert_eq!(
        first["subject"],
        "Rebuild your paper machine, not your budget"
    );
    // A request of several recipients carries their keys only in custom_args.
    assert_eq!(header(&requests[0].headers, "idempotency-key"), None);
    let second: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(keys_of(&second), ["k2"]);
    assert_eq!(second["subject"], "Another subject");
    assert_eq!(header(&requests[1].headers, "idempotency-key"), Some("k2"));
}

#[test]
fn a_batch_over_sendgrid_s_limit_is_split() {
    let mut host = host().respond(SEND, accepted_202());
    let outcomes = host.deliver_batch::<Email>((0..1001).map(to).collect());
    assert!(outcomes.iter().all(|d| matches!(d, Delivery::Accepted(_))));
    let sizes: Vec<usize> = host
        .requests()
        .iter()
        .map(|r| keys_of(&serde_json::from_slice(&r.body).unwrap()).len())
        .collect();
    assert_eq!(sizes, [1000, 1]);
}

#[test]
fn a_refused_recipient_is_rejected_and_the_others_sent_again() {
    let body = r#"{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.1.to.0.email"}]}"#;
    let mut host = host()
        .respond_once(SEND, answer(400, &[], body))
        .respond(SEND, accepted_202());
    let outcomes = host.deliver_batch::<Email>(vec![to(0), to(1), to(2)]);
    assert!(matches!(outcomes[0], Delivery::Accepted(_)));
    let r = rejection(outcomes[1].clone());
    assert_eq!(r.reason, RejectionReason::UnreachableRecipient);
    assert!(r.message.contains("valid address"), "{}", r.message);
    assert!(matches!(outcomes[2], Delivery::Accepted(_)));
    let requests = host.requests();
    assert_eq!(requests.len(), 2);
    let again: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(keys_of(&again), ["k0", "k2"]);
}

#[test]
fn a_batch_refused_twice_or_as_a_whole_is_rejected_not_resent_forever() {
    let body = r#"{"errors":[{"message":"bad","field":"personalizations.0.to.0.email"}]}"#;
    let mut twice = host().respond(SEND, answer(400, &[], body));
    let outcomes = twice.deliver_batch::<Email>(vec![to(0), to(1), to(2)]);
    assert_eq!(twice.requests().len(), 2, "sent once more, then given up");
    assert_eq!(
        rejection(outcomes[0].clone()).reason,
        RejectionReason::UnreachableRecipient
    );
    // In the second request personalization 0 was k1: refused too; k2 was
    // not named but the request failed again.
    for o in &outcomes[1..] {
        assert!(matches!(o, Delivery::Rejected(_)), "{o:?}");
    }

    let body = r#"{"errors":[{"message":"The subject is too long.","field":"subject"}]}"#;
    let mut whole = host().respond(SEND, answer(400, &[], body));
    let outcomes = whole.deliver_batch::<Email>(vec![to(0), to(1)]);
    assert_eq!(whole.requests().len(), 1);
    for o in outcomes {
        assert_eq!(rejection(o).reason, RejectionReason::ContentRefused);
    }
}

#[test]
fn a_batch_waits_as_a_whole_on_429_and_skips_remembered_keys() {
    let mut limited = host().respond(SEND, answer(429, &[("retry-after", "12")], ""));
    assert_eq!(
        limited.deliver_batch::<Email>(vec![to(0), to(1)]),
        [Delivery::RetryAfter(12), Delivery::RetryAfter(12)]
    );

    let mut host = host().grant_state().respond(SEND, accepted_202());
    host.deliver_batch::<Email>(vec![to(0)]);
    let outcomes = host.deliver_batch::<Email>(vec![to(0), to(1)]);
    assert!(outcomes.iter().all(|d| matches!(d, Delivery::Accepted(_))));
    let last: serde_json::Value =
        serde_json::from_slice(&host.requests().last().unwrap().body).unwrap();
    assert_eq!(keys_of(&last), ["k1"], "k0 was remembered, not sent again");
}
