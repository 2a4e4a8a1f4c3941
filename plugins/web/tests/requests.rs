//! The HTTP side: routes, the write key, limits, malformed bodies, manifest.

// MockHost answers host calls natively; on wasm the tests have no host.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use leadhost_plugin_web::Web;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

const TRACK: &str = include_str!("../../../tests/fixtures/segment/track.json");
const BATCH: &str = include_str!("../../../tests/fixtures/segment/batch.json");

/// The batch fixture with `writeKey` added at its top level.
fn batch_with_key(key: &str) -> String {
    let rest = BATCH.trim_start().strip_prefix('{').unwrap();
    format!(r#"{{"writeKey":"{key}",{rest}"#)
}

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

/// A batch of `n` tracks, each padded with `pad` bytes of property.
fn big_batch(n: usize, pad: usize) -> String {
    let padding = "x".repeat(pad);
    let calls: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"track","event":"Page Scrolled","messageId":"m-{i}","anonymousId":"a-{i}","properties":{{"pad":"{padding}"}}}}"#
            )
        })
        .collect();
    format!(r#"{{"batch":[{}]}}"#, calls.join(","))
}

/// A track call of about `size` bytes.
fn big_track(size: usize) -> String {
    format!(
        r#"{{"userId":"u1","event":"Page Scrolled","properties":{{"pad":"{}"}}}}"#,
        "x".repeat(size)
    )
}

// --- routes ---------------------------------------------------------------

#[test]
fn every_segment_endpoint_is_served() {
    let body = r#"{"userId":"u1","event":"Signed Up","groupId":"g1","previousId":"p1"}"#;
    for (path, kind) in [
        ("/v1/identify", TouchpointKind::Identified),
        ("/v1/track", TouchpointKind::FormSubmitted),
        ("/v1/page", TouchpointKind::PageView),
        ("/v1/screen", TouchpointKind::ScreenView),
        ("/v1/group", TouchpointKind::AccountLinked),
        ("/v1/alias", TouchpointKind::Alias),
        // The short paths analytics.js posts to.
        ("/v1/t", TouchpointKind::FormSubmitted),
        ("/v1/p", TouchpointKind::PageView),
    ] {
        let tps = accepted(post(path, body));
        assert_eq!(tps.len(), 1, "{path}");
        assert_eq!(tps[0].kind, kind, "{path}");
    }
}

#[test]
fn unknown_paths_and_other_methods_are_not_found() {
    match ingest(post("/v2/track", TRACK)) {
        Err(IngestError::NotFound(m)) => assert!(m.contains("/v1/batch"), "{m}"),
        other => panic!("{other:?}"),
    }
    match ingest(post("/", TRACK)) {
        Err(IngestError::NotFound(_)) => {}
        other => panic!("{other:?}"),
    }
    for method in ["GET", "PUT", "DELETE"] {
        let request = Request::new(method, "/v1/track").with_header("authorization", &basic(KEY));
        match ingest(request) {
            Err(IngestError::NotFound(m)) => assert!(m.contains("POST is required"), "{m}"),
            other => panic!("{method}: {other:?}"),
        }
    }
}

// --- the write key --------------------------------------------------------

#[test]
fn the_right_key_in_basic_auth_is_accepted() {
    assert_eq!(accepted(post("/v1/track", TRACK)).len(), 1);
    // Without the colon, as Segment still accepts.
    let request = unauthenticated("/v1/track", TRACK).with_header(
        "authorization",
        &format!("Basic {}", base64(KEY.as_bytes())),
    );
    assert_eq!(accepted(request).len(), 1);
}

#[test]
fn the_right_key_in_the_body_is_accepted() {
    let tps = accepted(unauthenticated("/v1/batch", &batch_with_key(KEY)));
    assert_eq!(tps.len(), 8);
    // analytics.js sends single calls with the key in the body.
    let body = format!(r#"{{"writeKey":"{KEY}","anonymousId":"a1","event":"Download"}}"#);
    let tps = accepted(unauthenticated("/v1/t", &body));
    assert_eq!(tps[0].kind, TouchpointKind::Download);
}

#[test]
fn a_wrong_key_is_unauthorized() {
    let request =
        unauthenticated("/v1/track", TRACK).with_header("authorization", &basic("wk_wrong"));
    assert!(unauthorized(ingest(request)).contains("not valid"));
    let message = unauthorized(ingest(unauthenticated(
        "/v1/batch",
        &batch_with_key("wk_wrong"),
    )));
    assert!(message.contains("`writeKey`"), "{message}");
    // A header that is present decides, whatever the body says.
    let request = unauthenticated("/v1/batch", &batch_with_key(KEY))
        .with_header("authorization", &basic("wk_wrong"));
    unauthorized(ingest(request));
}

#[test]
fn no_key_is_unauthorized() {
    let message = unauthorized(ingest(unauthenticated("/v1/track", TRACK)));
    assert!(message.contains("no write key"), "{message}");
    assert!(message.contains("basic auth"), "{message}");
    unauthorized(ingest(unauthenticated("/v1/batch", BATCH)));
    let message = unauthorized(ingest(unauthenticated("/v1/batch", &batch_with_key(""))));
    assert!(message.contains("no write key"), "{message}");
}

#[test]
fn a_malformed_authorization_header_is_unauthorized() {
    for header in [
        "Basic !!!not-base64",
        "Basic",
        "Bearer wk_3fA9c2LqZ7",
        "Basic Og==",
        "wk_3fA9c2LqZ7",
    ] {
        let request = unauthenticated("/v1/track", TRACK).with_header("authorization", header);
        let message = unauthorized(ingest(request));
        assert!(!message.is_empty(), "{header}");
    }
}

#[test]
fn a_missing_secret_is_misconfigured() {
    let mut host = MockHost::new();
    match host.ingest::<Web>(post("/v1/track", TRACK)) {
        Err(IngestError::Misconfigured(m)) => assert!(m.contains("write-key"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// --- limits ---------------------------------------------------------------

#[test]
fn an_oversized_single_call_is_too_large() {
    let message = too_large(ingest(post("/v1/track", &big_track(33 * 1024))));
    assert!(message.contains("32768"), "{message}");
    // Just under the limit is fine.
    assert_eq!(
        accepted(post("/v1/track", &big_track(32 * 1024 - 100))).len(),
        1
    );
}

#[test]
fn an_oversized_batch_is_too_large() {
    // 300 calls of about 2 KB: 600 KB.
    let body = big_batch(300, 2000);
    assert!(body.len() > 500 * 1024);
    let message = too_large(ingest(post("/v1/batch", &body)));
    assert!(message.contains("512000"), "{message}");
    // 200 of them fit.
    assert_eq!(
        accepted(post("/v1/batch", &big_batch(200, 2000))).len(),
        200
    );
}

#[test]
fn an_oversized_call_inside_a_batch_is_too_large() {
    let small = big_batch(3, 10);
    let big = big_batch(1, 40 * 1024);
    let body = format!(
        "{},{}",
        small.strip_suffix("]}").unwrap(),
        big.strip_prefix(r#"{"batch":["#).unwrap()
    );
    let message = too_large(ingest(post("/v1/batch", &body)));
    assert!(message.contains("batch[3]"), "{message}");
}

#[test]
fn too_many_calls_in_a_batch_are_too_large() {
    let message = too_large(ingest(post("/v1/batch", &big_batch(2501, 0))));
    assert!(message.contains("2501"), "{message}");
    assert_eq!(accepted(post("/v1/batch", &big_batch(2500, 0))).len(), 2500);
}

#[test]
fn limits_follow_the_configuration() {
    let mut strict = host().config("max-event-bytes", "1000");
    too_large(strict.ingest::<Web>(post("/v1/track", TRACK)));

    let mut generous = host().config("max-event-bytes", "100000");
    let out = generous.ingest::<Web>(post("/v1/track", &big_track(40 * 1024)));
    assert_eq!(out.map(|o| o.touchpoints.len()), Ok(1));

    let mut few = host().config("max-batch-events", "3");
    let message = too_large(few.ingest::<Web>(post("/v1/batch", BATCH)));
    assert!(message.contains("at most 3"), "{message}");

    let mut small = host().config("max-batch-bytes", "4096");
    too_large(small.ingest::<Web>(post("/v1/batch", BATCH)));

    let mut broken = host().config("max-batch-bytes", "lots");
    match broken.ingest::<Web>(post("/v1/batch", BATCH)) {
        Err(IngestError::Misconfigured(m)) => assert!(m.contains("max-batch-bytes"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// --- malformed bodies -----------------------------------------------------

#[test]
fn bad_json_is_malformed() {
    let message = malformed(ingest(post("/v1/track", r#"{"userId": "u1", "event": "#)));
    assert!(message.contains("track"), "{message}");
    malformed(ingest(post("/v1/batch", "not json")));
    malformed(ingest(post("/v1/track", r#"["a list"]"#)));
    malformed(ingest(post(
        "/v1/track",
        r#"{"userId":"u1","event":"x","traits":"not an object"}"#,
    )));
    let mut latin1 = br#"{"userId":"u1","event":"Caf"#.to_vec();
    latin1.extend([0xe9, b'"', b'}']);
    let request = Request::new("POST", "/v1/track")
        .with_header("authorization", &basic(KEY))
        .with_body(latin1);
    assert!(malformed(ingest(request)).contains("UTF-8"));
}

#[test]
fn compressed_bodies_are_refused_clearly() {
    let request = post("/v1/batch", BATCH).with_header("content-encoding", "gzip");
    assert!(malformed(ingest(request)).contains("gzip"));
    let request = post("/v1/batch", BATCH).with_header("content-encoding", "identity");
    assert_eq!(accepted(request).len(), 8);
}

#[test]
fn a_batch_without_a_batch_array_is_malformed() {
    let message = malformed(ingest(post("/v1/batch", r#"{"calls":[]}"#)));
    assert!(message.contains("`batch`"), "{message}");
    malformed(ingest(post("/v1/batch", r#"{"batch":{"type":"track"}}"#)));
}

#[test]
fn an_empty_batch_is_accepted_with_nothing_to_store() {
    assert!(accepted(post("/v1/batch", r#"{"batch":[]}"#)).is_empty());
}

#[test]
fn calls_missing_what_segment_requires_are_malformed() {
    let cases = [
        ("/v1/track", r#"{"userId":"u1"}"#, "`event`"),
        ("/v1/track", r#"{"userId":"u1","event":"  "}"#, "`event`"),
        (
            "/v1/identify",
            r#"{"traits":{"email":"a@b.example"}}"#,
            "`userId` or `anonymousId`",
        ),
        (
            "/v1/track",
            r#"{"event":"Signed Up","userId":""}"#,
            "`userId` or `anonymousId`",
        ),
        (
            "/v1/page",
            r#"{"name":"Home"}"#,
            "`userId` or `anonymousId`",
        ),
        ("/v1/group", r#"{"userId":"u1"}"#, "`groupId`"),
        ("/v1/alias", r#"{"userId":"u1"}"#, "`previousId`"),
        (
            "/v1/alias",
            r#"{"previousId":"p1","anonymousId":"a1"}"#,
            "`userId`",
        ),
    ];
    for (path, body, needle) in cases {
        let message = malformed(ingest(post(path, body)));
        assert!(message.contains(needle), "{path} {body}: {message}");
    }
}

#[test]
fn a_bad_call_in_a_batch_refuses_the_whole_batch_and_names_it() {
    // Replace the fifth call's type: nothing of the batch may be stored.
    let body = BATCH.replacen(
        r#""type": "track",
      "event": "Quote Requested""#,
        r#""type": "purchase",
      "event": "Quote Requested""#,
        1,
    );
    assert_ne!(body, BATCH);
    let message = malformed(ingest(post("/v1/batch", &body)));
    assert!(message.contains("batch[4]"), "{message}");
    assert!(message.contains("unknown type \"purchase\""), "{message}");

    let body = BATCH.replacen(r#""type": "screen","#, "", 1);
    let message = malformed(ingest(post("/v1/batch", &body)));
    assert!(message.contains("batch[5]"), "{message}");
    assert!(message.contains("no `type`"), "{message}");

    let body = BATCH.replacen(r#""event": "File Downloaded","#, "", 1);
    let message = malformed(ingest(post("/v1/batch", &body)));
    assert!(
        message.contains("batch[3]") && message.contains("`event`"),
        "{message}"
    );

    let body = BATCH.replacen(
        r#""properties": {
        "orders_shown": 12
      }"#,
        r#""properties": 12"#,
        1,
    );
    let message = malformed(ingest(post("/v1/batch", &body)));
    assert!(message.contains("batch[5]"), "{message}");
}

// --- mapping details not covered by the fixtures ---------------------------

#[test]
fn batch_context_applies_to_calls_without_their_own() {
    let body = r#"{
        "batch": [
            {"type": "page", "anonymousId": "a1", "properties": {"url": "https://nordmill.example/"}},
            {"type": "page", "anonymousId": "a1", "context": {"campaign": {"name": "own", "medium": "organic"}}}
        ],
        "context": {"campaign": {"name": "shared", "source": "bing", "medium": "ppc"}, "groupId": "acct-1"}
    }"#;
    let tps = accepted(post("/v1/batch", body));
    assert_eq!(tps[0].properties.campaign.as_deref(), Some("shared"));
    assert_eq!(tps[0].properties.medium, Some(Acquisition::Paid));
    assert_eq!(tps[0].identities.account_id.as_deref(), Some("acct-1"));
    assert_eq!(tps[1].properties.campaign.as_deref(), Some("own"));
    assert_eq!(tps[1].properties.medium, Some(Acquisition::Organic));
    assert_eq!(tps[1].properties.source, None);
}

#[test]
fn unparsable_or_missing_times_fall_through() {
    let body = r#"{"anonymousId":"a1","timestamp":"yesterday","originalTimestamp":"","sentAt":"2024-05-02T00:00:00Z"}"#;
    let tps = accepted(post("/v1/page", body));
    assert_eq!(tps[0].occurred_at, Some(1_714_608_000_000));
    let tps = accepted(post(
        "/v1/page",
        r#"{"anonymousId":"a1","timestamp":"soon"}"#,
    ));
    assert_eq!(tps[0].occurred_at, None);
}

#[test]
fn numeric_ids_and_free_mail_are_handled() {
    let body = r#"{"userId":42,"traits":{"email":"jane@GMAIL.com","name":"Jane van Dijk","employees":"51-200"}}"#;
    let tp = &accepted(post("/v1/identify", body))[0];
    assert_eq!(tp.identities.user_id.as_deref(), Some("42"));
    assert_eq!(tp.identities.email.as_deref(), Some("jane@gmail.com"));
    assert_eq!(tp.identities.company_domain, None);
    assert_eq!(tp.traits.first_name.as_deref(), Some("Jane"));
    assert_eq!(tp.traits.last_name.as_deref(), Some("van Dijk"));
    assert_eq!(tp.traits.company_size, None);
    assert_eq!(attr(&tp.traits.other, "employees"), Some("51-200"));
}

#[test]
fn an_alias_from_an_old_user_id_keeps_it_as_an_attribute() {
    let body = r#"{"previousId":"crm-7781","userId":"u-1","anonymousId":"0f8fad5b-d9cb-469f-a165-70867728950e"}"#;
    let tp = &accepted(post("/v1/alias", body))[0];
    assert_eq!(tp.identities.user_id.as_deref(), Some("u-1"));
    assert_eq!(
        tp.identities.anonymous_id.as_deref(),
        Some("0f8fad5b-d9cb-469f-a165-70867728950e")
    );
    assert_eq!(attr(&tp.properties.other, "previousId"), Some("crm-7781"));
}

#[test]
fn escaped_strings_are_read_exactly() {
    let body = r#"{"anonymousId":"a\u0031","event":"Caf\u00e9 \"Visited\"","properties":{"title":"Line\nbreak"}}"#;
    let tp = &accepted(post("/v1/track", body))[0];
    assert_eq!(tp.identities.anonymous_id.as_deref(), Some("a1"));
    assert_eq!(tp.kind, TouchpointKind::Custom("Café \"Visited\"".into()));
    assert_eq!(tp.properties.title.as_deref(), Some("Line\nbreak"));
}

// --- manifest -------------------------------------------------------------

#[test]
fn the_manifest_describes_an_ingest_only_web_connector() {
    let manifest = MockHost::new().describe::<Web>();
    assert_eq!(manifest.name, "web");
    assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
    assert!(!manifest.description.is_empty() && !manifest.description.contains('\n'));
    assert_eq!(manifest.channels, [Channel::Web]);
    assert_eq!(
        manifest.operations,
        Operations {
            ingest: true,
            poll: false,
            deliver: false
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
            ("max-event-bytes", ConfigType::Integer, false, Some("32768")),
            (
                "max-batch-bytes",
                ConfigType::Integer,
                false,
                Some("512000")
            ),
            ("max-batch-events", ConfigType::Integer, false, Some("2500")),
        ]
    );
    assert!(manifest.config.iter().all(|c| !c.description.is_empty()));
    assert_eq!(
        manifest.secrets,
        [SecretField {
            name: "write-key".into(),
            description: "the Segment write key clients send".into(),
            required: true,
        }]
    );
    assert_eq!(manifest.capabilities, Capabilities::default());
}
