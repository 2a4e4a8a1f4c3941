//! The shared conformance suite, run on the events connector: Eventbrite
//! webhooks (the object each points at read from the API), badge-scan and
//! no-show CSV uploads, and invitations through Eventbrite.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_events::Events;
use leadhost_sdk::conformance::Conformance;
use leadhost_sdk::prelude::*;

const ORDER_PLACED: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-order-placed.json");
const ATTENDEE_UPDATED: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-attendee-updated.json");
const NOT_ATTENDING_HOOK: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-attendee-not-attending.json");
const BARCODE_CHECKED_IN: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-barcode-checked-in.json");
const ATTENDEE_CHECKED_IN: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-attendee-checked-in.json");
const EVENT_PUBLISHED: &str =
    include_str!("../../../tests/fixtures/eventbrite/webhook-event-published.json");
const PING: &str = include_str!("../../../tests/fixtures/eventbrite/webhook-ping.json");
const ATTENDING: &str = include_str!("../../../tests/fixtures/eventbrite/attendee-attending.json");
const NOT_ATTENDING: &str =
    include_str!("../../../tests/fixtures/eventbrite/attendee-not-attending.json");
const ORDER: &str = include_str!("../../../tests/fixtures/eventbrite/order-placed.json");
const SCANS: &str = include_str!("../../../tests/fixtures/badge-scans/scans.csv");
const NO_SHOWS: &str = include_str!("../../../tests/fixtures/badge-scans/no-shows.csv");

const JANE_URL: &str = "http://127.0.0.1:9/v3/events/735511950087/attendees/10522000101/";
const MIKKO_URL: &str = "http://127.0.0.1:9/v3/events/735511950087/attendees/10522000202/";
const ORDER_URL: &str = "http://127.0.0.1:9/v3/orders/8812345001/";
const INVITE_URL: &str = "http://127.0.0.1:9/v3/events/735511950087/invitations/";

/// `request` with its `?token=` replaced by `token` (or dropped).
fn with_token(path: &str, content_type: &str, body: &str, token: Option<&str>) -> Request {
    let target = match token {
        Some(t) => format!("{path}?token={t}"),
        None => path.to_string(),
    };
    Request::new("POST", &target)
        .with_header("content-type", content_type)
        .with_body(body)
}

fn message() -> Message {
    Message {
        idempotency_key: "nurture-seminar-step-1".into(),
        recipient: Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            ..Identities::default()
        },
        recipient_name: Some("Jane Koski".into()),
        subject: Some("Join us at the board machine seminar".into()),
        text: "Hello Jane, we saved you a seat.".into(),
        html: None,
        content_id: Some("seminar-invite".into()),
        campaign: Some("mill-managers".into()),
        other: vec![Attribute::new("event_id", "735511950087")],
    }
}

#[test]
fn the_events_connector_conforms() {
    Conformance {
        host: host()
            .respond(JANE_URL, json(200, ATTENDING))
            .respond(MIKKO_URL, json(200, NOT_ATTENDING))
            .respond(ORDER_URL, json(200, ORDER))
            .respond(
                INVITE_URL,
                json(201, r#"{"id":"inv_70021","status":"sent"}"#),
            ),
        valid: vec![
            webhook(ORDER_PLACED),
            webhook(ATTENDEE_UPDATED),
            webhook(NOT_ATTENDING_HOOK),
            webhook(BARCODE_CHECKED_IN),
            webhook(ATTENDEE_CHECKED_IN),
            webhook(EVENT_PUBLISHED),
            webhook(PING),
            csv("/scans", SCANS),
            csv("/no-shows", NO_SHOWS),
        ],
        wrongly_signed: vec![
            with_token("/eventbrite", "application/json", ORDER_PLACED, None),
            with_token("/eventbrite", "application/json", ORDER_PLACED, Some("")),
            with_token(
                "/eventbrite",
                "application/json",
                ATTENDEE_UPDATED,
                Some("tok_not_the_token"),
            ),
            with_token("/scans", "text/csv", SCANS, None),
            with_token("/no-shows", "text/csv", NO_SHOWS, Some("tok_9Qw2")),
        ],
        // Eventbrite sends one action per webhook; uploads are the batches.
        empty_batch: Some(csv("/scans", "Scanned At,Badge ID,Email\n")),
        message: Some(message()),
    }
    .run::<Events>();
}
