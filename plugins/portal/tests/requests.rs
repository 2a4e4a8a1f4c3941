//! The HTTP side: the route, the signature, limits, malformed bodies, manifest.

// MockHost answers host calls natively; on wasm the tests have no host.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_portal::Portal;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

const LOGIN: &str = include_str!("../../../tests/fixtures/portal/login.json");
const BATCH: &str = include_str!("../../../tests/fixtures/portal/batch.json");

fn unauthorized(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::Unauthorized(message)) => message,
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

fn malformed(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::Malformed(message)) => message,
        other => panic!("expected malformed, got {other:?}"),
    }
}

fn too_large(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::TooLarge(message)) => message,
        other => panic!("expected too large, got {other:?}"),
    }
}

/// A login event with this id, padded with `pad` bytes of an ignored field.
fn login(id: usize, pad: usize) -> String {
    format!(
        r#"{{"specversion":"1.0","type":"com.portal.user.login","source":"/p","id":"e-{id}","time":"2024-05-07T06:30:00Z","pad":"{}","data":{{"user":{{"id":"u-{id}"}}}}}}"#,
        "x".repeat(pad)
    )
}

fn batch_of(n: usize, pad: usize) -> String {
    let events: Vec<String> = (0..n).map(|i| login(i, pad)).collect();
    format!("[{}]", events.join(","))
}

// --- the route ------------------------------------------------------------

#[test]
fn events_are_posted_to_slash_events() {
    assert_eq!(accepted(post(LOGIN)).len(), 1);
    let request = Request::new("POST", "/events/")
        .with_header("x-portal-signature", &signature(KEY, LOGIN.as_bytes()))
        .with_body(LOGIN);
    assert_eq!(accepted(request).len(), 1);
}

#[test]
fn other_paths_and_methods_are_not_found() {
    for path in ["/", "/event", "/v1/events", "/events/x"] {
        let request = Request::new("POST", path)
            .with_header("x-portal-signature", &signature(KEY, LOGIN.as_bytes()))
            .with_body(LOGIN);
        match ingest(request) {
            Err(IngestError::NotFound(m)) => assert!(m.contains("POST /events"), "{m}"),
            other => panic!("{path}: {other:?}"),
        }
    }
    for method in ["GET", "PUT", "DELETE"] {
        match ingest(Request::new(method, "/events")) {
            Err(IngestError::NotFound(m)) => assert!(m.contains("POST is required"), "{m}"),
            other => panic!("{method}: {other:?}"),
        }
    }
}

// --- the signature ----------------------------------------------------------

#[test]
fn a_correct_signature_is_accepted_in_either_hex_case() {
    assert_eq!(accepted(post(LOGIN)).len(), 1);
    let upper = signature(KEY, LOGIN.as_bytes()).to_ascii_uppercase();
    let request = unsigned(LOGIN, "application/json").with_header("x-portal-signature", &upper);
    assert_eq!(accepted(request).len(), 1);
}

#[test]
fn a_wrong_signature_is_unauthorized() {
    let request = unsigned(LOGIN, "application/json").with_header(
        "x-portal-signature",
        &signature("another-key", LOGIN.as_bytes()),
    );
    assert!(unauthorized(ingest(request)).contains("does not match"));
    // The right key over other bytes: the body was changed on the way.
    let tampered = LOGIN.replace("u-20931", "u-20932");
    let request = unsigned(&tampered, "application/json")
        .with_header("x-portal-signature", &signature(KEY, LOGIN.as_bytes()));
    assert!(unauthorized(ingest(request)).contains("does not match"));
}

#[test]
fn a_missing_signature_is_unauthorized() {
    let message = unauthorized(ingest(unsigned(LOGIN, "application/json")));
    assert!(message.contains("X-Portal-Signature"), "{message}");
}

#[test]
fn a_malformed_signature_is_unauthorized() {
    let good = signature(KEY, LOGIN.as_bytes());
    let hex = good.strip_prefix("sha256=").unwrap();
    for header in [
        hex.to_string(),
        format!("sha1={hex}"),
        "sha256=".to_string(),
        "sha256=zz".to_string(),
        format!("sha256={}", &hex[..40]),
        format!("sha256={hex}00"),
        String::new(),
    ] {
        let request =
            unsigned(LOGIN, "application/json").with_header("x-portal-signature", &header);
        let message = unauthorized(ingest(request));
        assert!(!message.is_empty(), "{header}");
    }
}

#[test]
fn a_missing_signing_key_is_misconfigured() {
    let mut host = MockHost::new();
    match host.ingest::<Portal>(post(LOGIN)) {
        Err(IngestError::Misconfigured(m)) => assert!(m.contains("signing-key"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// --- limits -----------------------------------------------------------------

#[test]
fn an_oversized_body_is_too_large() {
    let body = batch_of(20, 60 * 1024);
    assert!(body.len() > 1024 * 1024);
    let message = too_large(ingest(post(&body)));
    assert!(message.contains("1048576"), "{message}");
    // Under the limit is fine.
    assert_eq!(accepted(post(&batch_of(15, 60 * 1024))).len(), 15);
}

#[test]
fn too_many_events_are_too_large() {
    let message = too_large(ingest(post(&batch_of(1001, 0))));
    assert!(
        message.contains("1001") && message.contains("1000"),
        "{message}"
    );
    assert_eq!(accepted(post(&batch_of(1000, 0))).len(), 1000);
}

#[test]
fn limits_follow_the_configuration() {
    let mut strict = host().config("max-body-bytes", "500");
    too_large(strict.ingest::<Portal>(post(LOGIN)));

    let mut few = host().config("max-events", "3");
    let message = too_large(few.ingest::<Portal>(post(BATCH)));
    assert!(message.contains("at most 3"), "{message}");

    let mut broken = host().config("max-events", "lots");
    match broken.ingest::<Portal>(post(BATCH)) {
        Err(IngestError::Misconfigured(m)) => assert!(m.contains("max-events"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// --- bodies -----------------------------------------------------------------

#[test]
fn an_empty_batch_is_accepted_with_nothing_to_store() {
    assert!(accepted(post("[]")).is_empty());
    assert!(accepted(signed(" [ ]\n", "application/cloudevents-batch+json")).is_empty());
}

#[test]
fn malformed_and_truncated_bodies_are_malformed() {
    for body in [
        "not json",
        "",
        "42",
        r#""an event""#,
        &LOGIN[..LOGIN.len() / 2],
        &BATCH[..BATCH.len() - 3],
        r#"{"specversion":"1.0","id":"e1","#,
    ] {
        malformed(ingest(post(body)));
    }
    let mut latin1 = LOGIN
        .replace("Mikko Lahti", "Mikko L\u{e4}hti")
        .into_bytes();
    let at = latin1.windows(2).position(|w| w == "ä".as_bytes()).unwrap();
    latin1.splice(at..at + 2, [0xe4]);
    let body = latin1.clone();
    let request = Request::new("POST", "/events")
        .with_header("x-portal-signature", &{
            let mac = leadhost_sdk::testing::mac(Algorithm::HmacSha256, KEY.as_bytes(), &body);
            format!(
                "sha256={}",
                mac.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )
        })
        .with_body(latin1);
    assert!(malformed(ingest(request)).contains("UTF-8"));
}

#[test]
fn events_missing_what_the_format_requires_are_malformed() {
    let event = |fields: &str| {
        format!(
            r#"{{"specversion":"1.0","source":"/p","id":"e1","time":"2024-05-07T06:30:00Z",{fields}}}"#
        )
    };
    let cases = [
        (event(r#""type":"com.portal.user.login""#), "`data.user`"),
        (event(r#""type":"com.portal.document.downloaded","data":{}"#), "`data.document`"),
        (
            event(r#""type":"com.portal.document.downloaded","data":{"document":{"title":"x"}}"#),
            "`data.document.id`",
        ),
        (
            event(r#""type":"com.portal.document.downloaded","data":{"document":{"id":"d","stage":"later"}}"#),
            "stage",
        ),
        (event(r#""type":"com.portal.equipment.registered","data":{"equipment":{}}"#), "`data.equipment.serial`"),
        (event(r#""type":"com.portal.ticket.opened","data":{"ticket":{"subject":"x"}}"#), "`data.ticket.id`"),
        (event(r#""type":"com.machine.usage.alert","data":{}"#), "`data.alert`"),
        (event(r#""type":"com.example.thing.happened""#), "unknown type"),
        (event(r#""data":{}"#), "`type`"),
        (
            r#"{"specversion":"0.3","type":"com.portal.x","source":"/p","id":"e1","time":"2024-05-07T06:30:00Z"}"#.to_string(),
            "CloudEvents 1.0",
        ),
        (
            r#"{"type":"com.portal.x","source":"/p","id":"e1","time":"2024-05-07T06:30:00Z"}"#.to_string(),
            "`specversion`",
        ),
        (
            r#"{"specversion":"1.0","type":"com.portal.x","source":"/p","time":"2024-05-07T06:30:00Z"}"#.to_string(),
            "`id`",
        ),
        (
            r#"{"specversion":"1.0","type":"com.portal.x","id":"e1","time":"2024-05-07T06:30:00Z"}"#.to_string(),
            "`source`",
        ),
        (
            r#"{"specversion":"1.0","type":"com.portal.x","source":"/p","id":"e1"}"#.to_string(),
            "`time`",
        ),
        (
            r#"{"specversion":"1.0","type":"com.portal.x","source":"/p","id":"e1","time":"yesterday"}"#.to_string(),
            "RFC 3339",
        ),
        (
            event(r#""type":"com.portal.x","datacontenttype":"application/xml","data":"<x/>""#),
            "datacontenttype",
        ),
        (
            event(r#""type":"com.portal.x","datacontenttype":"application/octet-stream","data_base64":"AAEC""#),
            "datacontenttype",
        ),
        (event(r#""type":"com.portal.x","data_base64":"AAEC""#), "data_base64"),
        (event(r#""type":"com.portal.x","data":"text""#), "`data`"),
        (event(r#""type":"com.portal.x","data":{"user":"u-1"}"#), "person"),
    ];
    for (body, needle) in cases {
        let message = malformed(ingest(post(&body)));
        assert!(message.contains(needle), "{body}: {message}");
    }
}

#[test]
fn a_bad_event_in_a_batch_refuses_the_whole_batch_and_names_it() {
    // The fourth event loses its `id`: nothing of the batch may be stored.
    let body = BATCH.replacen(r#""id": "evt_01HX4A3K4L5M6N7P8Q9R0S1T2U","#, "", 1);
    assert_ne!(body, BATCH);
    let message = malformed(ingest(post(&body)));
    assert!(message.contains("event [3]"), "{message}");
    assert!(message.contains("`id`"), "{message}");

    // The sixth event is of a type outside the format.
    let body = BATCH.replacen("com.machine.usage.alert", "com.acme.usage.alert", 1);
    let message = malformed(ingest(post(&body)));
    assert!(message.contains("event [5]"), "{message}");
    assert!(message.contains("com.acme.usage.alert"), "{message}");

    // An element that is not an event at all.
    let body = format!("[{LOGIN}, 17]");
    let message = malformed(ingest(post(&body)));
    assert!(message.contains("event [1]"), "{message}");
}

#[test]
fn content_types_are_checked_against_the_body() {
    assert_eq!(
        accepted(signed(LOGIN, "application/cloudevents+json")).len(),
        1
    );
    assert_eq!(
        accepted(signed(LOGIN, "application/json; charset=utf-8")).len(),
        1
    );
    assert_eq!(accepted(signed(BATCH, "application/json")).len(), 8);
    // Without a content type the body decides.
    let request = Request::new("POST", "/events")
        .with_header("x-portal-signature", &signature(KEY, BATCH.as_bytes()))
        .with_body(BATCH);
    assert_eq!(accepted(request).len(), 8);

    let message = malformed(ingest(signed(LOGIN, "application/cloudevents-batch+json")));
    assert!(message.contains("array"), "{message}");
    let message = malformed(ingest(signed(BATCH, "application/cloudevents+json")));
    assert!(message.contains("cloudevents-batch+json"), "{message}");
    let message = malformed(ingest(signed(LOGIN, "text/plain")));
    assert!(message.contains("text/plain"), "{message}");
    let request = post(LOGIN).with_header("content-encoding", "gzip");
    assert!(malformed(ingest(request)).contains("gzip"));
}

#[test]
fn escaped_strings_and_unknown_fields_are_read() {
    let body = r#"{"specversion":"1.0","type":"com.portal.document.downloaded","source":"/p","id":"e\u0031","time":"2024-05-07T06:30:00Z","ext":{"a":[1,{"b":null}]},"data":{"user":{"id":7,"email":" JANE@Acme.Example "},"document":{"id":"d1","title":"Caf\u00e9 \"Guide\"","kind":"Manual","stage":"closing"},"future":{"x":1}}}"#;
    let tp = &accepted(post(body))[0];
    assert_eq!(tp.external_id, "/p#e1");
    assert_eq!(tp.identities.user_id.as_deref(), Some("7"));
    assert_eq!(tp.identities.email.as_deref(), Some("jane@acme.example"));
    assert_eq!(tp.properties.title.as_deref(), Some("Café \"Guide\""));
    // An explicit stage wins over the kind's.
    assert_eq!(tp.properties.content_stage, Some(ContentStage::Closing));
}

// --- the manifest -------------------------------------------------------------

#[test]
fn the_manifest_describes_a_portal_connector_that_ingests_and_delivers() {
    let manifest = MockHost::new().describe::<Portal>();
    assert_eq!(manifest.name, "portal");
    assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
    assert!(!manifest.description.is_empty() && !manifest.description.contains('\n'));
    assert_eq!(manifest.channels, [Channel::Portal]);
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
        .map(|c| {
            (
                c.name.as_str(),
                c.value_type,
                c.required,
                c.default_value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        config,
        [
            (
                "base-url",
                ConfigType::Url,
                false,
                Some("https://portal.example.com")
            ),
            (
                "max-body-bytes",
                ConfigType::Integer,
                false,
                Some("1048576")
            ),
            ("max-events", ConfigType::Integer, false, Some("1000")),
        ]
    );
    assert!(manifest.config.iter().all(|c| !c.description.is_empty()));
    let secrets: Vec<_> = manifest
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.required))
        .collect();
    assert_eq!(secrets, [("signing-key", true), ("api-key", false)]);
    assert_eq!(
        manifest.capabilities,
        Capabilities {
            outbound_hosts: vec!["{config:base-url}".into()],
            state: true,
        }
    );
}
