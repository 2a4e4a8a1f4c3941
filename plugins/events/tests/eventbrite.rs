//! Eventbrite webhooks: each action with the fetched object it points at,
//! the token guard, fetch failures, malformed deliveries and redelivery.

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_events::Events;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

const ORDER_PLACED: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-order-placed.json");
const ATTENDEE_UPDATED: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-attendee-updated.json");
const BARCODE_CHECKED_IN: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-barcode-checked-in.json");
const ATTENDEE_CHECKED_IN: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-attendee-checked-in.json");
const NOT_ATTENDING_HOOK: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-attendee-not-attending.json");
const PING: &str = include_str!("../../../tests/fixtures/eventbrite/webhook-ping.json");
const EVENT_PUBLISHED: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-event-published.json");

const ATTENDING: &str = include_str!("../../../tests/fixtures/eventbrite/attendee-attending.json");
const CHECKED_IN: &str =
    include_str!("../../../tests/fixtures/eventbrite/attendee-checked-in.json");
const NOT_ATTENDING: &str =
    include_str!("../../../tests/fixtures/eventbrite/attendee-not-attending.json");
const ORDER: &str = include_str!("../../../tests/fixtures/eventbrite/order-placed.json");

const JANE_URL: &str = "http://127.0.0.1:9/v3/events/735511950087/attendees/10522000101/";
const MIKKO_URL: &str = "http://127.0.0.1:9/v3/events/735511950087/attendees/10522000202/";
const ORDER_URL: &str = "http://127.0.0.1:9/v3/orders/8812345001/";

/// Delivers `hook` with `answer` as the fetched object; returns the one
/// touchpoint and the host (to look at its requests).
fn one(hook: &str, url: &str, answer: &str) -> (Touchpoint, MockHost) {
    let mut host = common::host().respond(url, json(200, answer));
    let (mut touchpoints, _) = accepted(&mut host, webhook(hook));
    assert_eq!(touchpoints.len(), 1);
    (touchpoints.remove(0), host)
}

/// The fetch went to the stand-in, by GET, with the bearer token filled in.
fn assert_fetched(host: &MockHost, url: &str) {
    let requests = host.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.url, url);
    let auth = r
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.as_str());
    assert_eq!(auth, Some(format!("Bearer {EVENTBRITE_TOKEN}").as_str()));
}

// --- actions ---------------------------------------------------------------

#[test]
fn attendee_updated_while_attending_is_a_registration() {
    let (tp, host) = one(ATTENDEE_UPDATED, JANE_URL, ATTENDING);
    assert_fetched(&host, JANE_URL);
    assert_eq!(
        tp.external_id,
        "eventbrite:10522000101:attendee.updated:2024-05-02T08:15:42Z"
    );
    // A registration happened when the attendee was created.
    assert_eq!(tp.occurred_at, Some(at("2024-04-18T13:04:10Z")));
    assert_eq!(tp.channel, Channel::Events);
    assert_eq!(tp.kind, TouchpointKind::EventRegistered);
    assert_eq!(
        tp.identities,
        Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            // The mobile number wins over the work number.
            phone: Some("+358401234567".into()),
            company_domain: Some("pohjola-paper.example".into()),
            ..Identities::default()
        }
    );
    let t = &tp.traits;
    assert_eq!(t.first_name.as_deref(), Some("Jane"));
    assert_eq!(t.last_name.as_deref(), Some("Koski"));
    assert_eq!(t.company.as_deref(), Some("Pohjola Paper Oy"));
    assert_eq!(t.job_title.as_deref(), Some("Mill Manager"));
    assert_eq!(t.country.as_deref(), Some("FI"));
    // Answered questions only.
    assert_eq!(
        t.other,
        [Attribute::new(
            "Which topic interests you most?",
            "Board machine rebuild"
        )]
    );
    let p = &tp.properties;
    assert_eq!(p.content_id.as_deref(), Some("735511950087"));
    assert_eq!(p.title.as_deref(), Some("Seminar pass"));
    assert_eq!(p.source.as_deref(), Some("eventbrite"));
    assert_eq!(
        names(&p.other),
        [
            "action",
            "attendee_id",
            "event_id",
            "order_id",
            "status",
            "barcode"
        ]
    );
    assert_eq!(attr(&p.other, "order_id"), Some("8812345001"));
    assert_eq!(attr(&p.other, "status"), Some("Attending"));
    assert_eq!(
        attr(&p.other, "barcode"),
        Some("105220001011052200010100001")
    );
    assert!(tp.consent.is_empty());
}

#[test]
fn barcode_checked_in_is_attendance_at_the_check_in_time() {
    let (tp, host) = one(BARCODE_CHECKED_IN, JANE_URL, CHECKED_IN);
    assert_fetched(&host, JANE_URL);
    assert_eq!(tp.kind, TouchpointKind::EventAttended);
    assert_eq!(
        tp.external_id,
        "eventbrite:10522000101:barcode.checked_in:2024-05-14T07:42:05Z"
    );
    assert_eq!(tp.occurred_at, Some(at("2024-05-14T07:42:05Z")));
    assert_eq!(
        tp.identities.email.as_deref(),
        Some("jane.koski@pohjola-paper.example")
    );
    assert_eq!(attr(&tp.properties.other, "status"), Some("Checked In"));
}

#[test]
fn attendee_checked_in_is_attendance_too() {
    let (tp, _) = one(ATTENDEE_CHECKED_IN, JANE_URL, CHECKED_IN);
    assert_eq!(tp.kind, TouchpointKind::EventAttended);
    assert_eq!(
        tp.external_id,
        "eventbrite:10522000101:attendee.checked_in:2024-05-14T07:42:05Z"
    );
}

#[test]
fn a_check_in_action_means_attendance_whatever_the_status_says() {
    // The scan happened; the attendee may have been checked out since.
    let (tp, _) = one(BARCODE_CHECKED_IN, JANE_URL, ATTENDING);
    assert_eq!(tp.kind, TouchpointKind::EventAttended);
    assert_eq!(tp.occurred_at, Some(at("2024-05-02T08:15:42Z")));
}

#[test]
fn attendee_updated_to_checked_in_is_attendance() {
    let (tp, _) = one(ATTENDEE_UPDATED, JANE_URL, CHECKED_IN);
    assert_eq!(tp.kind, TouchpointKind::EventAttended);
    assert_eq!(
        tp.external_id,
        "eventbrite:10522000101:attendee.updated:2024-05-14T07:42:05Z"
    );
}

#[test]
fn not_attending_is_a_no_show() {
    let (tp, host) = one(NOT_ATTENDING_HOOK, MIKKO_URL, NOT_ATTENDING);
    assert_fetched(&host, MIKKO_URL);
    assert_eq!(tp.kind, TouchpointKind::EventNoShow);
    assert_eq!(
        tp.external_id,
        "eventbrite:10522000202:attendee.updated:2024-05-15T18:00:00Z"
    );
    assert_eq!(tp.occurred_at, Some(at("2024-05-15T18:00:00Z")));
    assert_eq!(
        tp.identities.email.as_deref(),
        Some("mikko.lahti@gmail.com")
    );
    // A free-mail address says nothing about the company.
    assert_eq!(tp.identities.company_domain, None);
    assert_eq!(tp.identities.phone, None);
    assert_eq!(tp.traits.country, None);
    assert_eq!(tp.traits.job_title.as_deref(), Some("Maintenance Engineer"));
}

#[test]
fn a_cancelled_or_refunded_attendee_is_a_cancelled_registration() {
    for (field, value) in [("cancelled", "true"), ("refunded", "true")] {
        let answer = ATTENDING.replace(
            &format!("\"{field}\": false"),
            &format!("\"{field}\": {value}"),
        );
        assert_ne!(answer, ATTENDING);
        let (tp, _) = one(ATTENDEE_UPDATED, JANE_URL, &answer);
        assert_eq!(
            tp.kind,
            TouchpointKind::Custom("event-registration-cancelled".into())
        );
    }
}

#[test]
fn order_placed_registers_every_attendee_of_the_order() {
    let mut host = common::host().respond(ORDER_URL, json(200, ORDER));
    let (touchpoints, reply) = accepted(&mut host, webhook(ORDER_PLACED));
    assert_fetched(&host, &format!("{ORDER_URL}?expand=attendees"));
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["touchpoints"], 2);
    assert_eq!(touchpoints.len(), 2);
    let ids: Vec<_> = touchpoints.iter().map(|t| t.external_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "eventbrite:10522000101:order.placed:2024-04-18T13:04:10Z",
            "eventbrite:10522000102:order.placed:2024-04-18T13:04:11Z",
        ]
    );
    for tp in &touchpoints {
        assert_eq!(tp.kind, TouchpointKind::EventRegistered);
        assert_eq!(tp.occurred_at, Some(at("2024-04-18T13:04:10Z")));
        assert_eq!(
            tp.identities.company_domain.as_deref(),
            Some("pohjola-paper.example")
        );
        assert_eq!(attr(&tp.properties.other, "order_id"), Some("8812345001"));
    }
    assert_eq!(
        touchpoints[1].identities.email.as_deref(),
        Some("pekka.niemi@pohjola-paper.example")
    );
    assert_eq!(
        touchpoints[1].traits.job_title.as_deref(),
        Some("Production Engineer")
    );
}

#[test]
fn an_order_without_attendees_registers_the_buyer() {
    let mut order: serde_json::Value = serde_json::from_str(ORDER).unwrap();
    order.as_object_mut().unwrap().remove("attendees");
    order["first_name"] = serde_json::Value::Null;
    order["last_name"] = serde_json::Value::Null;
    let mut host = common::host().respond(ORDER_URL, json(200, &order.to_string()));
    let (touchpoints, _) = accepted(&mut host, webhook(ORDER_PLACED));
    assert_eq!(touchpoints.len(), 1);
    let tp = &touchpoints[0];
    assert_eq!(
        tp.external_id,
        "eventbrite:order-8812345001:order.placed:2024-04-18T13:04:12Z"
    );
    assert_eq!(tp.kind, TouchpointKind::EventRegistered);
    assert_eq!(tp.occurred_at, Some(at("2024-04-18T13:04:10Z")));
    assert_eq!(
        tp.identities.email.as_deref(),
        Some("jane.koski@pohjola-paper.example")
    );
    // Split from `name` when the parts are missing.
    assert_eq!(tp.traits.first_name.as_deref(), Some("Jane"));
    assert_eq!(tp.traits.last_name.as_deref(), Some("Koski"));
    assert_eq!(tp.properties.content_id.as_deref(), Some("735511950087"));
}

#[test]
fn ping_answers_200_and_stores_nothing() {
    let mut host = common::host();
    let (touchpoints, reply) = accepted(&mut host, webhook(PING));
    assert!(touchpoints.is_empty());
    assert_eq!(
        reply.body,
        br#"{"action":"ping","status":"ok","touchpoints":0}"#
    );
    assert!(host.requests().is_empty());
    // Eventbrite's dashboard test may name the action `test`.
    let (touchpoints, _) = accepted(&mut host, webhook(&PING.replace("\"ping\"", "\"test\"")));
    assert!(touchpoints.is_empty());
    assert!(host.requests().is_empty());
}

#[test]
fn actions_without_a_person_are_acknowledged_and_ignored() {
    let mut host = common::host();
    let (touchpoints, reply) = accepted(&mut host, webhook(EVENT_PUBLISHED));
    assert!(touchpoints.is_empty());
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["status"], "ignored");
    assert_eq!(body["action"], "event.published");
    assert!(host.requests().is_empty());
}

#[test]
fn redelivery_gives_identical_ids_and_times() {
    let (a, _) = one(BARCODE_CHECKED_IN, JANE_URL, CHECKED_IN);
    let (b, _) = one(BARCODE_CHECKED_IN, JANE_URL, CHECKED_IN);
    assert_eq!(a, b);
    let mut host = common::host().respond(ORDER_URL, json(200, ORDER));
    let (first, _) = accepted(&mut host, webhook(ORDER_PLACED));
    let (second, _) = accepted(&mut host, webhook(ORDER_PLACED));
    assert_eq!(first, second);
}

#[test]
fn the_default_base_url_is_eventbrite_s_api() {
    let mut host = MockHost::new()
        .secret("webhook-token", TOKEN)
        .secret("eventbrite-token", EVENTBRITE_TOKEN)
        .grant_host("www.eventbriteapi.com")
        .respond("https://www.eventbriteapi.com/", json(200, ATTENDING));
    let (touchpoints, _) = accepted(&mut host, webhook(ATTENDEE_UPDATED));
    assert_eq!(touchpoints.len(), 1);
    assert_fetched(
        &host,
        "https://www.eventbriteapi.com/v3/events/735511950087/attendees/10522000101/",
    );
}

#[test]
fn the_api_url_s_host_is_never_called() {
    // Whatever host the body names, the fetch goes to the configured base.
    let hook = ATTENDEE_UPDATED.replace("https://www.eventbriteapi.com", "https://evil.example");
    let (_, host) = one(&hook, JANE_URL, ATTENDING);
    assert_fetched(&host, JANE_URL);
}

// --- the token ---------------------------------------------------------------

#[test]
fn the_token_guards_the_webhook() {
    let mut host = common::host().respond(JANE_URL, json(200, ATTENDING));
    let no_token = Request::new("POST", "/eventbrite")
        .with_header("content-type", "application/json")
        .with_body(ATTENDEE_UPDATED);
    assert!(unauthorized(host.ingest::<Events>(no_token)).contains("token"));
    let wrong = Request::new("POST", "/eventbrite?token=tok_wrong").with_body(ATTENDEE_UPDATED);
    assert!(unauthorized(host.ingest::<Events>(wrong)).contains("not valid"));
    let empty = Request::new("POST", "/eventbrite?token=").with_body(ATTENDEE_UPDATED);
    unauthorized(host.ingest::<Events>(empty));
    // A refused delivery fetches nothing.
    assert!(host.requests().is_empty());
}

#[test]
fn a_missing_token_secret_is_misconfiguration() {
    let mut host = MockHost::new().grant_host("127.0.0.1:9");
    let message = misconfigured(host.ingest::<Events>(webhook(ATTENDEE_UPDATED)));
    assert!(message.contains("webhook-token"), "{message}");
}

#[test]
fn a_missing_eventbrite_token_is_misconfiguration() {
    let mut host = MockHost::new()
        .secret("webhook-token", TOKEN)
        .grant_host("127.0.0.1:9")
        .config("api-base-url", BASE)
        .respond(JANE_URL, json(200, ATTENDING));
    let message = misconfigured(host.ingest::<Events>(webhook(ATTENDEE_UPDATED)));
    assert!(message.contains("eventbrite-token"), "{message}");
    assert!(host.requests().is_empty());
    // A ping needs no Eventbrite token.
    accepted(&mut host, webhook(PING));
}

// --- fetch failures ------------------------------------------------------------

#[test]
fn a_failed_fetch_is_internal_so_eventbrite_retries() {
    // No answer at all (connection failure).
    let mut bare = common::host();
    let message = internal(bare.ingest::<Events>(webhook(ATTENDEE_UPDATED)));
    assert!(message.contains(JANE_URL), "{message}");
    // The API answers an error.
    let mut host = common::host().respond(JANE_URL, json(500, r#"{"error":"INTERNAL_ERROR"}"#));
    assert!(internal(host.ingest::<Events>(webhook(ATTENDEE_UPDATED))).contains("500"));
    let mut host = common::host().respond(JANE_URL, json(404, r#"{"error":"NOT_FOUND"}"#));
    internal(host.ingest::<Events>(webhook(ATTENDEE_UPDATED)));
    // The API answers something that is not an attendee.
    let mut host = common::host().respond(JANE_URL, json(200, "<html>maintenance</html>"));
    internal(host.ingest::<Events>(webhook(ATTENDEE_UPDATED)));
    let mut host = common::host().respond(JANE_URL, json(200, r#"{"status":"Attending"}"#));
    internal(host.ingest::<Events>(webhook(ATTENDEE_UPDATED)));
    // The stand-in is not granted.
    let mut host = MockHost::new()
        .secret("webhook-token", TOKEN)
        .secret("eventbrite-token", EVENTBRITE_TOKEN)
        .config("api-base-url", BASE)
        .respond(JANE_URL, json(200, ATTENDING));
    assert!(internal(host.ingest::<Events>(webhook(ATTENDEE_UPDATED))).contains("denied"));
}

#[test]
fn a_refused_eventbrite_token_is_misconfiguration() {
    let mut host = common::host().respond(JANE_URL, json(401, r#"{"error":"INVALID_AUTH"}"#));
    let message = misconfigured(host.ingest::<Events>(webhook(ATTENDEE_UPDATED)));
    assert!(message.contains("eventbrite-token"), "{message}");
}

#[test]
fn a_bad_base_url_is_misconfiguration() {
    let mut host = common::host().config("api-base-url", "www.eventbriteapi.com");
    misconfigured(host.ingest::<Events>(webhook(ATTENDEE_UPDATED)));
}

// --- malformed deliveries --------------------------------------------------------

#[test]
fn malformed_and_truncated_deliveries_are_refused() {
    let mut host = common::host().respond(JANE_URL, json(200, ATTENDING));
    for body in [
        "",
        "not json",
        "[]",
        &ATTENDEE_UPDATED[..ATTENDEE_UPDATED.len() / 2],
        r#"{"api_url": "https://www.eventbriteapi.com/v3/events/1/attendees/2/"}"#,
        r#"{"config": {"action": "attendee.updated"}}"#,
        r#"{"config": {"action": "attendee.updated"}, "api_url": "https://www.eventbriteapi.com/admin/"}"#,
        r#"{"config": {"action": "attendee.updated"}, "api_url": "https://www.eventbriteapi.com/v3/events/1/"}"#,
        r#"{"config": {"action": "attendee.updated"}, "api_url": "file:///etc/passwd"}"#,
        r#"{"config": {"action": {"name": "x"}}, "api_url": "https://www.eventbriteapi.com/v3/events/1/attendees/2/"}"#,
    ] {
        let result = host.ingest::<Events>(webhook(body));
        assert!(
            matches!(result, Err(IngestError::Malformed(_))),
            "{body:?}: {result:?}"
        );
    }
    assert!(host.requests().is_empty());
}

#[test]
fn an_oversized_delivery_is_too_large() {
    let mut host = common::host().config("max-body-bytes", "100");
    let message = too_large(host.ingest::<Events>(webhook(ATTENDEE_UPDATED)));
    assert!(message.contains("max-body-bytes"), "{message}");
}

#[test]
fn other_paths_and_methods_are_not_found() {
    let mut host = common::host();
    for request in [
        Request::new("POST", &format!("/v1/track?token={TOKEN}")),
        Request::new("GET", &format!("/eventbrite?token={TOKEN}")),
    ] {
        let result = host.ingest::<Events>(request);
        assert!(
            matches!(result, Err(IngestError::NotFound(_))),
            "{result:?}"
        );
    }
}
