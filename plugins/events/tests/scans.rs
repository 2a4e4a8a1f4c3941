//! Badge-scan and no-show CSV uploads.

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_events::Events;
use leadhost_plugin_events::util::fnv1a64;
use leadhost_sdk::prelude::*;

const SCANS: &str = include_str!("../../../tests/fixtures/badge-scans/scans.csv");
const NO_SHOWS: &str = include_str!("../../../tests/fixtures/badge-scans/no-shows.csv");
const BAD_ROW: &str = include_str!("../../../tests/fixtures/badge-scans/bad-row.csv");

fn scans(body: &str) -> Vec<Touchpoint> {
    accepted(&mut host(), csv("/scans", body)).0
}

fn scan_id(parts: &[&str]) -> String {
    format!("scan:{:016x}", fnv1a64(parts))
}

#[test]
fn the_fixture_is_crlf_terminated_with_quoted_commas_and_line_breaks() {
    assert!(SCANS.contains("\r\n"));
    assert!(SCANS.contains("\"Engineer, Production\""));
    assert!(SCANS.contains("\"\"asap\"\""));
}

#[test]
fn badge_scans_map_to_touchpoints() {
    let (touchpoints, reply) = accepted(&mut host(), csv("/scans", SCANS));
    assert_eq!(reply.body, br#"{"accepted":3}"#);
    assert_eq!(touchpoints.len(), 3);

    let jane = &touchpoints[0];
    assert_eq!(jane.kind, TouchpointKind::BadgeScanned);
    assert_eq!(jane.channel, Channel::Events);
    assert_eq!(jane.occurred_at, Some(at("2024-05-14T09:31:12Z")));
    assert_eq!(
        jane.external_id,
        scan_id(&[
            "pulp-expo-2024",
            "B-20417",
            &at("2024-05-14T09:31:12Z").to_string(),
            "H2-114",
            ""
        ])
    );
    assert_eq!(
        jane.identities,
        Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            phone: Some("+358401234567".into()),
            company_domain: Some("pohjola-paper.example".into()),
            ..Identities::default()
        }
    );
    assert_eq!(jane.traits.first_name.as_deref(), Some("Jane"));
    assert_eq!(jane.traits.last_name.as_deref(), Some("Koski"));
    assert_eq!(jane.traits.company.as_deref(), Some("Pohjola Paper Oy"));
    assert_eq!(jane.traits.job_title.as_deref(), Some("Mill Manager"));
    let p = &jane.properties;
    assert_eq!(p.content_id.as_deref(), Some("pulp-expo-2024"));
    assert_eq!(p.source.as_deref(), Some("lead-retrieval"));
    // Known columns first, then the extra columns under their normalised names.
    assert_eq!(
        names(&p.other),
        [
            "event_id",
            "booth",
            "badge_id",
            "rating",
            "notes",
            "product_interest",
            "follow_up"
        ]
    );
    assert_eq!(attr(&p.other, "rating"), Some("hot"));
    assert_eq!(
        attr(&p.other, "notes"),
        Some("Wants a quote for the PM3 rebuild, \"asap\" before Q3")
    );
    assert_eq!(attr(&p.other, "follow_up"), Some("call within 48h"));

    let pekka = &touchpoints[1];
    assert_eq!(pekka.kind, TouchpointKind::BadgeScanned);
    // +03:00 is taken into account.
    assert_eq!(pekka.occurred_at, Some(at("2024-05-14T07:05:00Z")));
    assert_eq!(
        pekka.traits.job_title.as_deref(),
        Some("Engineer, Production")
    );
    assert_eq!(pekka.identities.phone, None);
    // A line break inside quotes stays in the value, CRLF and all.
    assert_eq!(
        attr(&pekka.properties.other, "notes"),
        Some("Two-line note:\r\nsend the brochure")
    );
    // Empty cells leave no attribute.
    assert_eq!(attr(&pekka.properties.other, "follow_up"), None);

    // A session and no booth: attendance of that session.
    let mikko = &touchpoints[2];
    assert_eq!(mikko.kind, TouchpointKind::EventAttended);
    assert_eq!(mikko.properties.content_id.as_deref(), Some("S-07"));
    assert_eq!(attr(&mikko.properties.other, "session_id"), Some("S-07"));
    assert_eq!(mikko.identities.company_domain, None);
    assert_eq!(mikko.traits.company, None);
    assert_eq!(
        mikko.external_id,
        scan_id(&[
            "pulp-expo-2024",
            "B-30011",
            &at("2024-05-14T11:00:00Z").to_string(),
            "",
            "S-07"
        ])
    );
}

#[test]
fn columns_may_come_in_any_order_and_case() {
    let body = "BOOTH,email,SCANNED_AT,badge_id,Event_ID\nH1-1,x@acme.example,2024-05-14T09:00:00Z,B-9,expo\n";
    let tp = &scans(body)[0];
    assert_eq!(tp.kind, TouchpointKind::BadgeScanned);
    assert_eq!(tp.identities.email.as_deref(), Some("x@acme.example"));
    assert_eq!(attr(&tp.properties.other, "booth"), Some("H1-1"));
    assert_eq!(tp.occurred_at, Some(at("2024-05-14T09:00:00Z")));
}

#[test]
fn a_row_with_the_wrong_column_count_names_its_line() {
    let message = malformed(host().ingest::<Events>(csv("/scans", BAD_ROW)));
    assert!(message.starts_with("line 4:"), "{message}");
    assert!(message.contains("4 fields"), "{message}");
}

#[test]
fn a_bad_timestamp_names_its_line() {
    let body = "scanned_at,badge_id\n2024-05-14T09:00:00Z,B-1\n14.5.2024 09:00,B-2\n";
    let message = malformed(host().ingest::<Events>(csv("/scans", body)));
    assert!(message.starts_with("line 3:"), "{message}");
    assert!(message.contains("14.5.2024 09:00"), "{message}");
    let body = "scanned_at,badge_id\n,B-1\n";
    let message = malformed(host().ingest::<Events>(csv("/scans", body)));
    assert!(message.starts_with("line 2:"), "{message}");
}

#[test]
fn the_time_column_is_required_in_the_header() {
    let body = "badge_id,email\nB-1,a@b.example\n";
    let message = malformed(host().ingest::<Events>(csv("/scans", body)));
    assert!(message.contains("scanned_at"), "{message}");
    let message = malformed(host().ingest::<Events>(csv("/no-shows", body)));
    assert!(message.contains("registered_at"), "{message}");
    let body = "scanned_at,Email,email\n2024-05-14T09:00:00Z,a,b\n";
    assert!(malformed(host().ingest::<Events>(csv("/scans", body))).contains("twice"));
}

#[test]
fn truncated_and_broken_uploads_are_malformed() {
    // Cut inside a quoted field.
    let cut = SCANS.find("asap").unwrap();
    let message = malformed(host().ingest::<Events>(csv("/scans", &SCANS[..cut])));
    assert!(message.starts_with("line 2:"), "{message}");
    // Cut in the middle of a row.
    let cut = SCANS.find("Board machines").unwrap();
    malformed(host().ingest::<Events>(csv("/scans", &SCANS[..cut])));
    // Text after a closing quote.
    let body = "scanned_at,notes\n2024-05-14T09:00:00Z,\"a\"b\n";
    malformed(host().ingest::<Events>(csv("/scans", body)));
    // Not UTF-8.
    let request = Request::new("POST", &format!("/scans?token={TOKEN}"))
        .with_header("content-type", "text/csv")
        .with_body(vec![b's', 0xff, 0xfe, b'\n']);
    malformed(host().ingest::<Events>(request));
    // Not a CSV upload.
    let request = post("/scans", "application/json", "{}");
    assert!(malformed(host().ingest::<Events>(request)).contains("text/csv"));
}

#[test]
fn empty_uploads_are_empty_batches() {
    for body in [
        "",
        "scanned_at,badge_id,email\r\n",
        "scanned_at,badge_id\n\n\n",
    ] {
        let (touchpoints, reply) = accepted(&mut host(), csv("/scans", body));
        assert!(touchpoints.is_empty(), "{body:?}");
        assert_eq!(reply.body, br#"{"accepted":0}"#);
    }
}

#[test]
fn blank_lines_between_rows_are_skipped() {
    let body = "scanned_at,badge_id\n2024-05-14T09:00:00Z,B-1\n\n2024-05-14T09:01:00Z,B-2\n";
    assert_eq!(scans(body).len(), 2);
}

#[test]
fn limits_refuse_large_uploads() {
    let mut host = host().config("max-rows", "2");
    let message = too_large(host.ingest::<Events>(csv("/scans", SCANS)));
    assert!(message.contains("max-rows"), "{message}");
    let mut host = common::host().config("max-body-bytes", "64");
    let message = too_large(host.ingest::<Events>(csv("/scans", SCANS)));
    assert!(message.contains("max-body-bytes"), "{message}");
    let mut host = common::host().config("max-rows", "lots");
    misconfigured(host.ingest::<Events>(csv("/scans", SCANS)));
}

#[test]
fn the_token_guards_uploads() {
    let mut host = host();
    let request = Request::new("POST", "/scans")
        .with_header("content-type", "text/csv")
        .with_body(SCANS);
    unauthorized(host.ingest::<Events>(request));
    let request = Request::new("POST", "/no-shows?token=nope").with_body(NO_SHOWS);
    unauthorized(host.ingest::<Events>(request));
}

#[test]
fn redelivered_uploads_give_identical_touchpoints() {
    let first = scans(SCANS);
    let second = scans(SCANS);
    assert_eq!(first, second);
    // And every row has its own id.
    let mut ids: Vec<_> = first.iter().map(|t| t.external_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[test]
fn the_same_moment_written_differently_is_the_same_scan() {
    let a = scans("scanned_at,badge_id,event_id\n2024-05-14T10:05:00+03:00,B-1,expo\n");
    let b = scans("scanned_at,badge_id,event_id\n2024-05-14T07:05:00Z,B-1,expo\n");
    assert_eq!(a[0].external_id, b[0].external_id);
}

#[test]
fn no_shows_map_to_touchpoints() {
    let (touchpoints, _) = accepted(&mut host(), csv("/no-shows", NO_SHOWS));
    assert_eq!(touchpoints.len(), 2);
    let mikko = &touchpoints[0];
    assert_eq!(mikko.kind, TouchpointKind::EventNoShow);
    assert_eq!(mikko.occurred_at, Some(at("2024-04-20T10:00:00Z")));
    assert_eq!(
        mikko.external_id,
        format!(
            "noshow:{:016x}",
            fnv1a64(&[
                "pulp-expo-2024",
                "B-30012",
                &at("2024-04-20T10:00:00Z").to_string(),
                "",
                ""
            ])
        )
    );
    assert_eq!(
        mikko.identities.email.as_deref(),
        Some("mikko.lahti@gmail.com")
    );
    assert_eq!(mikko.properties.source.as_deref(), Some("no-show-list"));
    assert_eq!(
        names(&mikko.properties.other),
        ["event_id", "badge_id", "ticket_type"]
    );
    let anna = &touchpoints[1];
    assert_eq!(anna.traits.company.as_deref(), Some("Kymi Board, Ltd"));
    assert_eq!(anna.traits.job_title.as_deref(), Some("CTO"));
    assert_eq!(
        anna.identities.company_domain.as_deref(),
        Some("kymi-board.example")
    );
    assert_eq!(attr(&anna.properties.other, "ticket_type"), Some("VIP"));
}

#[test]
fn a_no_show_list_keeps_scan_only_columns_as_attributes() {
    let body = "registered_at,email,booth,scanned_at\n2024-04-20T10:00:00Z,a@b.example,H1,2024-05-14T09:00:00Z\n";
    let tp = &accepted(&mut host(), csv("/no-shows", body)).0[0];
    assert_eq!(tp.kind, TouchpointKind::EventNoShow);
    assert_eq!(tp.occurred_at, Some(at("2024-04-20T10:00:00Z")));
    assert_eq!(names(&tp.properties.other), ["booth", "scanned_at"]);
}
