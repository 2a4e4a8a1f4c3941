//! The HTTP side: the route, the signature, limits, malformed bodies,
//! redelivery, configuration and the manifest.

// MockHost answers host calls natively; on wasm the tests have no host.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_eservices::Eservices;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

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

fn not_found(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::NotFound(message)) => message,
        other => panic!("expected not found, got {other:?}"),
    }
}

// --- routes ---------------------------------------------------------------

#[test]
fn only_post_webhooks_is_served() {
    let ok = ingest(webhook("orders/create", "w", ORDER)).unwrap();
    assert_eq!(ok.reply, Response::new(200));
    let mut trailing = webhook("orders/create", "w", ORDER);
    trailing.path = "/webhooks/".into();
    assert!(ingest(trailing).is_ok());

    let mut other_path = webhook("orders/create", "w", ORDER);
    other_path.path = "/orders".into();
    assert!(not_found(ingest(other_path)).contains("/webhooks"));
    let mut get = webhook("orders/create", "w", ORDER);
    get.method = "GET".into();
    assert!(not_found(ingest(get)).contains("POST"));
}

// --- signature ------------------------------------------------------------

#[test]
fn a_signature_with_another_secret_is_refused() {
    let request = unsigned("orders/create", "w", ORDER).with_header(
        "x-shopify-hmac-sha256",
        &sign("another-secret", ORDER.as_bytes()),
    );
    assert!(unauthorized(ingest(request)).contains("does not match"));
}

#[test]
fn a_signature_of_another_body_is_refused() {
    let tampered = ORDER.replace("\"1304.60\"", "\"1.00\"");
    assert_ne!(tampered, ORDER);
    let request = unsigned("orders/create", "w", &tampered)
        .with_header("x-shopify-hmac-sha256", &sign(SECRET, ORDER.as_bytes()));
    unauthorized(ingest(request));
}

#[test]
fn a_missing_signature_is_refused() {
    assert!(unauthorized(ingest(unsigned("orders/create", "w", ORDER))).contains("not signed"));
    let blank = unsigned("orders/create", "w", ORDER).with_header("x-shopify-hmac-sha256", "  ");
    assert!(unauthorized(ingest(blank)).contains("not signed"));
}

#[test]
fn a_signature_that_is_not_base64_is_refused() {
    let request =
        unsigned("orders/create", "w", ORDER).with_header("x-shopify-hmac-sha256", "not*base64!");
    assert!(unauthorized(ingest(request)).contains("base64"));
    // The hex digest, a common mistake, decodes to the wrong bytes.
    let hex: String = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        sign(SECRET, ORDER.as_bytes()),
    )
    .unwrap()
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect();
    let request = unsigned("orders/create", "w", ORDER).with_header("x-shopify-hmac-sha256", &hex);
    unauthorized(ingest(request));
}

#[test]
fn the_signature_header_name_is_case_insensitive() {
    let request = unsigned("orders/create", "w", ORDER)
        .with_header("X-Shopify-Hmac-SHA256", &sign(SECRET, ORDER.as_bytes()));
    assert!(ingest(request).is_ok());
}

#[test]
fn without_the_secret_the_connector_is_misconfigured() {
    let result = MockHost::new().ingest::<Eservices>(webhook("orders/create", "w", ORDER));
    match result {
        Err(IngestError::Misconfigured(message)) => assert!(message.contains("webhook-secret")),
        other => panic!("expected misconfigured, got {other:?}"),
    }
}

// --- bodies ---------------------------------------------------------------

#[test]
fn truncated_json_is_malformed() {
    let truncated = &ORDER[..ORDER.len() / 2];
    let message = malformed(ingest(webhook("orders/create", "w", truncated)));
    assert!(message.contains("orders/create"), "{message}");
}

#[test]
fn unsupported_payload_shapes_are_malformed() {
    for (topic, body, says) in [
        ("orders/create", "[1, 2]", "not a JSON object"),
        ("orders/create", "\"order\"", "not a JSON object"),
        ("orders/create", "", "not a JSON object"),
        ("orders/create", r##"{"name":"#1001"}"##, "no `id`"),
        (
            "orders/create",
            r#"{"id":1,"line_items":"three"}"#,
            "expected a sequence",
        ),
        (
            "orders/create",
            r#"{"id":1,"customer":"c-1"}"#,
            "expected a customer object",
        ),
        (
            "checkouts/update",
            r#"{"email":"a@b.example"}"#,
            "`token` or `id`",
        ),
        ("carts/create", r#"{"line_items":[]}"#, "`id` or `token`"),
        ("customers/create", r#"{"email":"a@b.example"}"#, "no `id`"),
        ("refunds/create", r#"{"id":5}"#, "`order_id`"),
        ("products/update", "[]", "not a JSON object"),
        ("products/update", r#"{"id":1"#, "not JSON"),
    ] {
        let message = malformed(ingest(webhook(topic, "w", body)));
        assert!(message.contains(says), "{topic} {body}: {message}");
    }
}

#[test]
fn a_body_that_is_not_utf8_is_malformed() {
    let body = b"{\"id\":\xff}".to_vec();
    let request = Request::new("POST", "/webhooks")
        .with_header("x-shopify-topic", "orders/create")
        .with_header("x-shopify-hmac-sha256", &sign(SECRET, &body))
        .with_body(body);
    assert!(malformed(ingest(request)).contains("UTF-8"));
}

#[test]
fn a_delivery_without_a_topic_is_malformed() {
    let request = Request::new("POST", "/webhooks")
        .with_header("x-shopify-hmac-sha256", &sign(SECRET, ORDER.as_bytes()))
        .with_body(ORDER);
    assert!(malformed(ingest(request)).contains("X-Shopify-Topic"));
}

#[test]
fn an_unknown_topic_with_an_empty_object_is_kept() {
    let tp = accepted(webhook("app/scopes_update", "w-scopes", "{}"));
    assert_eq!(tp.kind, TouchpointKind::Custom("app/scopes_update".into()));
    assert_eq!(tp.external_id, "w-scopes");
    // No time in the payload: when Shopify triggered the delivery.
    assert_eq!(tp.occurred_at, Some(1_773_129_600_000));
}

// --- redelivery -----------------------------------------------------------

#[test]
fn a_redelivered_webhook_keeps_its_external_id_and_time() {
    let first = accepted(webhook("orders/create", "b39d2c2f-retry", ORDER));
    // Shopify's retry: same webhook id, a later trigger time.
    let mut retry = webhook("orders/create", "b39d2c2f-retry", ORDER);
    retry.headers.retain(|(n, _)| n != "x-shopify-triggered-at");
    let retry = retry.with_header("x-shopify-triggered-at", "2026-03-10T09:30:00Z");
    let again = accepted(retry);
    assert_eq!(again.external_id, first.external_id);
    assert_eq!(again.occurred_at, first.occurred_at);
    assert_eq!(again, first);
}

#[test]
fn without_a_webhook_id_the_id_comes_from_the_resource() {
    let strip = |mut r: Request| {
        r.headers.retain(|(n, _)| n != "x-shopify-webhook-id");
        r
    };
    let first = accepted(strip(webhook("orders/create", "", ORDER)));
    assert_eq!(
        first.external_id,
        "orders/create:5208334008572@2026-03-02T10:15:02+02:00"
    );
    let again = accepted(strip(webhook("orders/create", "", ORDER)));
    assert_eq!(again, first);
    // Another topic about the same order is another touchpoint.
    let paid = accepted(strip(webhook("orders/paid", "", ORDER)));
    assert_ne!(paid.external_id, first.external_id);
}

#[test]
fn an_unknown_topic_without_ids_is_named_by_its_bytes() {
    let strip = |mut r: Request| {
        r.headers.retain(|(n, _)| n != "x-shopify-webhook-id");
        r
    };
    let body = r#"{"shop_id":954889,"shop_domain":"nordmill-spares.myshopify.com"}"#;
    let first = accepted(strip(webhook("shop/redact", "", body)));
    assert!(
        first.external_id.starts_with("shop/redact:h"),
        "{}",
        first.external_id
    );
    assert_eq!(accepted(strip(webhook("shop/redact", "", body))), first);
    let other = accepted(strip(webhook(
        "shop/redact",
        "",
        &body.replace("954889", "954890"),
    )));
    assert_ne!(other.external_id, first.external_id);
}

#[test]
fn topics_are_matched_without_case() {
    let tp = accepted(webhook("Orders/Create", "w", ORDER));
    assert_eq!(tp.kind, TouchpointKind::OrderPlaced);
}

// --- limits ---------------------------------------------------------------

#[test]
fn a_body_over_max_body_bytes_is_too_large() {
    let mut host = host().config("max-body-bytes", "1000");
    let message = too_large(host.ingest::<Eservices>(webhook("orders/create", "w", ORDER)));
    assert!(message.contains("max-body-bytes"), "{message}");
    // The size is checked before the signature: no HMAC over a huge body.
    too_large(host.ingest::<Eservices>(unsigned("orders/create", "w", ORDER)));
    // Exactly at the limit is fine.
    let mut host = host_with_limit(ORDER.len());
    assert!(
        host.ingest::<Eservices>(webhook("orders/create", "w", ORDER))
            .is_ok()
    );
}

fn host_with_limit(limit: usize) -> MockHost {
    host().config("max-body-bytes", &limit.to_string())
}

#[test]
fn the_default_limit_is_one_mebibyte() {
    let padding = "x".repeat(1024 * 1024);
    let body = format!(r#"{{"id":1,"note":"{padding}"}}"#);
    too_large(ingest(webhook("orders/create", "w", &body)));
}

#[test]
fn a_bad_limit_is_misconfigured() {
    let result = host()
        .config("max-body-bytes", "lots")
        .ingest::<Eservices>(webhook("orders/create", "w", ORDER));
    assert!(matches!(result, Err(IngestError::Misconfigured(m)) if m.contains("max-body-bytes")));
}

// --- configuration --------------------------------------------------------

#[test]
fn the_account_tag_prefix_is_configurable() {
    let body = r#"{"id":9,"email":"p@mill.example","customer":{"id":4,"tags":"vip, customer-no: 4711"},
        "note_attributes":[{"name":"customer-no","value":"ignored? no: note attributes come first"}]}"#;
    let mut host = host().config("account-tag-prefix", "customer-no:");
    let tp = host
        .ingest::<Eservices>(webhook("orders/create", "w", body))
        .unwrap()
        .touchpoints
        .remove(0);
    assert_eq!(
        tp.identities.account_id.as_deref(),
        Some("ignored? no: note attributes come first")
    );
    let body = r#"{"id":9,"customer":{"id":4,"tags":"vip, customer-no: 4711"}}"#;
    let tp = host
        .ingest::<Eservices>(webhook("orders/create", "w", body))
        .unwrap()
        .touchpoints
        .remove(0);
    assert_eq!(tp.identities.account_id.as_deref(), Some("4711"));
}

#[test]
fn the_spare_parts_tag_is_configurable() {
    let mut host = host().config("spare-parts-tag", "wear-part");
    let tp = host
        .ingest::<Eservices>(webhook("orders/create", "w", ORDER))
        .unwrap()
        .touchpoints
        .remove(0);
    assert_eq!(attr(&tp.properties.other, "spare_parts"), None);
    let body = r#"{"id":9,"line_items":[{"sku":"F-1","quantity":1,"product_tags":"felt, Wear-Part"},{"sku":"F-2"}]}"#;
    let tp = host
        .ingest::<Eservices>(webhook("orders/create", "w", body))
        .unwrap()
        .touchpoints
        .remove(0);
    assert_eq!(attr(&tp.properties.other, "spare_parts"), Some("1"));
    assert_eq!(attr(&tp.properties.other, "items"), Some("2"));
}

// --- manifest -------------------------------------------------------------

#[test]
fn the_manifest_says_what_the_connector_needs() {
    let m = MockHost::new().describe::<Eservices>();
    assert_eq!(m.name, "eservices");
    assert_eq!(m.channels, [Channel::Eservices]);
    assert_eq!(
        m.operations,
        Operations {
            ingest: true,
            poll: false,
            deliver: false
        }
    );
    let config: Vec<_> = m
        .config
        .iter()
        .map(|c| (c.name.as_str(), c.value_type, c.default_value.as_deref()))
        .collect();
    assert_eq!(
        config,
        [
            ("max-body-bytes", ConfigType::Integer, Some("1048576")),
            ("account-tag-prefix", ConfigType::Text, Some("account:")),
            ("spare-parts-tag", ConfigType::Text, Some("spare-part")),
        ]
    );
    assert_eq!(m.secrets.len(), 1);
    assert_eq!(m.secrets[0].name, "webhook-secret");
    assert!(m.secrets[0].required);
    assert_eq!(m.capabilities, Capabilities::default());
}

#[test]
fn deliver_is_not_supported() {
    let delivery = host().deliver::<Eservices>(Message::default());
    assert!(matches!(
        delivery,
        Delivery::Rejected(Rejection {
            reason: RejectionReason::Unsupported,
            ..
        })
    ));
}
