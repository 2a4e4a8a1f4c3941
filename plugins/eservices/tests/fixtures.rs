//! Each Shopify fixture maps to the touchpoint it should.

// MockHost answers host calls natively; on wasm the tests have no host.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_sdk::prelude::*;

/// Instants of the fixtures in epoch milliseconds.
const ORDER_CREATED: i64 = 1_772_439_300_000; // 2026-03-02T10:15:00+02:00
const ORDER_UPDATED: i64 = ORDER_CREATED + 2_000;

fn marketing(granted: bool) -> ConsentSignal {
    ConsentSignal {
        purpose: "marketing".into(),
        channel: Some(Channel::Email),
        granted,
    }
}

#[test]
fn an_order_carries_purchase_history_and_installed_base_hints() {
    let tp = accepted(webhook(
        "orders/create",
        "b39d2c2f-2871-4f2e-9f8c-8d2e3f4a5b6c",
        ORDER,
    ));
    assert_eq!(tp.external_id, "b39d2c2f-2871-4f2e-9f8c-8d2e3f4a5b6c");
    assert_eq!(tp.occurred_at, Some(ORDER_CREATED));
    assert_eq!(tp.channel, Channel::Eservices);
    assert_eq!(tp.kind, TouchpointKind::OrderPlaced);
    assert_eq!(
        tp.identities,
        Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            phone: Some("+358401234567".into()),
            anonymous_id: Some("c1-7f3a9e0b2d4c4e1a9b8f".into()),
            user_id: Some("shopify:7420194242".into()),
            company_domain: Some("pohjola-paper.example".into()),
            // The customer's tag `account:PPO-4471`.
            account_id: Some("PPO-4471".into()),
            ..Identities::default()
        }
    );
    assert_eq!(
        tp.traits,
        Traits {
            first_name: Some("Jane".into()),
            last_name: Some("Koski".into()),
            company: Some("Pohjola Paper Oy".into()),
            country: Some("FI".into()),
            ..Traits::default()
        }
    );

    let p = &tp.properties;
    assert_eq!(p.content_id.as_deref(), Some("#1001"));
    assert_eq!(p.amount, Some(1304.60));
    assert_eq!(p.currency.as_deref(), Some("EUR"));
    assert_eq!(
        p.url.as_deref(),
        Some(
            "/collections/doctor-blades?utm_source=newsletter&utm_medium=email&utm_campaign=spring-maintenance-2026"
        )
    );
    assert_eq!(
        p.referrer.as_deref(),
        Some("https://mail.pohjola-paper.example/")
    );
    assert_eq!(p.source.as_deref(), Some("newsletter"));
    assert_eq!(p.medium, Some(Acquisition::Email));
    assert_eq!(p.campaign.as_deref(), Some("spring-maintenance-2026"));
    assert_eq!(
        names(&p.other),
        [
            "shop",
            "order_id",
            "items",
            "line:NM-DBH-2201",
            "line:NM-BRG-22312",
            "line:NM-SVC-INSP",
            "spare_parts",
            "reorder",
            "discount_codes",
            "financial_status",
        ]
    );
    assert_eq!(attr(&p.other, "shop"), Some(SHOP));
    assert_eq!(attr(&p.other, "order_id"), Some("5208334008572"));
    assert_eq!(attr(&p.other, "items"), Some("3"));
    assert_eq!(
        attr(&p.other, "line:NM-DBH-2201"),
        Some(
            r#"{"title":"Doctor blade holder seal kit","quantity":4,"price":"86.40","product_id":"7513594003771","variant_id":"42265490014523","spare_part":true}"#
        )
    );
    // Marked by the property value `spare-part` rather than its name.
    assert_eq!(
        attr(&p.other, "line:NM-BRG-22312"),
        Some(
            r#"{"title":"Spherical roller bearing 22312","quantity":2,"price":"412.00","product_id":"7513594036539","variant_id":"42265490047291","spare_part":true}"#
        )
    );
    assert_eq!(
        attr(&p.other, "line:NM-SVC-INSP"),
        Some(
            r#"{"title":"On-site inspection visit","quantity":1,"price":"120.00","product_id":"7513594069307","variant_id":"42265490080059"}"#
        )
    );
    assert_eq!(attr(&p.other, "spare_parts"), Some("2"));
    // orders_count 3: the customer has bought before.
    assert_eq!(attr(&p.other, "reorder"), Some("true"));
    assert_eq!(attr(&p.other, "discount_codes"), Some("SPRING10"));
    assert_eq!(attr(&p.other, "financial_status"), Some("pending"));
    // buyer_accepts_marketing and the customer's `subscribed` say the same once.
    assert_eq!(tp.consent, [marketing(true)]);
}

#[test]
fn a_paid_order_is_an_order_at_its_update_time() {
    let created = accepted(webhook("orders/create", "w-1", ORDER));
    let paid = accepted(webhook("orders/paid", "w-2", ORDER));
    assert_eq!(paid.kind, TouchpointKind::OrderPlaced);
    assert_eq!(paid.external_id, "w-2");
    assert_eq!(paid.occurred_at, Some(ORDER_UPDATED));
    assert_eq!(paid.identities, created.identities);
    assert_eq!(paid.properties, created.properties);
}

#[test]
fn a_checkout_is_a_cart_update_with_paid_search_attribution() {
    let tp = accepted(webhook("checkouts/create", "w-checkout", CHECKOUT));
    assert_eq!(tp.external_id, "w-checkout");
    assert_eq!(tp.occurred_at, Some(1_772_539_331_000));
    assert_eq!(tp.kind, TouchpointKind::CartUpdated);
    assert_eq!(
        tp.identities,
        Identities {
            email: Some("mikko.virtanen@gmail.com".into()),
            anonymous_id: Some("c1-9a1e33c0f6b54b0d8e21".into()),
            user_id: Some("shopify:7420194377".into()),
            // Free mail names no company; the billing company names the account.
            company_domain: None,
            account_id: Some("Savon Sellu Oy".into()),
            ..Identities::default()
        }
    );
    assert_eq!(tp.traits.company.as_deref(), Some("Savon Sellu Oy"));
    assert_eq!(tp.traits.country.as_deref(), Some("FI"));
    let p = &tp.properties;
    assert_eq!(p.content_id.as_deref(), Some("#30987345612"));
    assert_eq!(p.amount, Some(560.0));
    assert_eq!(p.currency.as_deref(), Some("EUR"));
    assert_eq!(p.source.as_deref(), Some("google"));
    assert_eq!(p.medium, Some(Acquisition::Paid));
    assert_eq!(p.campaign.as_deref(), Some("spares-search-fi"));
    assert_eq!(
        names(&p.other),
        ["shop", "checkout_token", "items", "line:NM-HSG-SNL517"]
    );
    assert_eq!(
        attr(&p.other, "checkout_token"),
        Some("b1946ac92492d2347c6235b4d2611184")
    );
    assert_eq!(
        attr(&p.other, "line:NM-HSG-SNL517"),
        Some(
            r#"{"title":"Felt guide roll bearing housing","quantity":1,"price":"560.00","product_id":"7513594102075","variant_id":"42265490113851"}"#
        )
    );
    assert!(tp.consent.is_empty());
}

#[test]
fn a_cart_links_through_its_token_and_sums_its_lines() {
    let tp = accepted(webhook("carts/update", "w-cart", CART));
    assert_eq!(tp.kind, TouchpointKind::CartUpdated);
    // updated_at for an update topic.
    assert_eq!(tp.occurred_at, Some(1_772_445_521_000));
    // The same token the order fixture carries as its cart_token.
    assert_eq!(
        tp.identities,
        Identities {
            anonymous_id: Some("c1-7f3a9e0b2d4c4e1a9b8f".into()),
            ..Identities::default()
        }
    );
    let p = &tp.properties;
    assert_eq!(p.content_id.as_deref(), Some("c1-7f3a9e0b2d4c4e1a9b8f"));
    assert!((p.amount.unwrap() - 1169.60).abs() < 1e-9);
    assert_eq!(p.currency, None);
    assert_eq!(
        names(&p.other),
        [
            "shop",
            "cart_token",
            "items",
            "line:NM-DBH-2201",
            "line:NM-BRG-22312",
            "spare_parts"
        ]
    );
    // The Ajax cart's properties are an object; `spare-part` is a name there.
    assert_eq!(
        attr(&p.other, "line:NM-DBH-2201"),
        Some(
            r#"{"title":"Doctor blade holder seal kit - PM3","quantity":4,"price":"86.40","product_id":"7513594003771","variant_id":"42265490014523","spare_part":true}"#
        )
    );
    assert_eq!(attr(&p.other, "spare_parts"), Some("1"));
}

#[test]
fn a_draft_order_is_a_spare_parts_quote_request() {
    let tp = accepted(webhook("draft_orders/create", "w-draft", DRAFT_ORDER));
    assert_eq!(tp.kind, TouchpointKind::QuoteRequested);
    assert_eq!(tp.occurred_at, Some(1_772_710_200_000));
    assert_eq!(
        tp.identities,
        Identities {
            email: Some("r.hughes@acme-board.example".into()),
            user_id: Some("shopify:7420194501".into()),
            company_domain: Some("acme-board.example".into()),
            // The note attribute `account` wins over the billing company.
            account_id: Some("ACME-123".into()),
            ..Identities::default()
        }
    );
    assert_eq!(
        tp.traits,
        Traits {
            first_name: Some("Rhys".into()),
            last_name: Some("Hughes".into()),
            company: Some("Acme Board Mills Ltd".into()),
            country: Some("GB".into()),
            ..Traits::default()
        }
    );
    let p = &tp.properties;
    assert_eq!(p.content_id.as_deref(), Some("#D52"));
    assert_eq!(p.amount, Some(3480.0));
    assert_eq!(p.currency.as_deref(), Some("GBP"));
    assert_eq!(p.source, None);
    assert_eq!(
        names(&p.other),
        [
            "shop",
            "draft_order_id",
            "items",
            "line:NM-SRS-6000",
            "line:#2",
            "spare_parts",
            "status"
        ]
    );
    assert_eq!(attr(&p.other, "draft_order_id"), Some("1098254716251"));
    assert_eq!(
        attr(&p.other, "line:#2"),
        Some(
            r#"{"title":"Installation supervision (per day)","quantity":2,"price":"600.00","product_id":null,"variant_id":null}"#
        )
    );
    assert_eq!(attr(&p.other, "spare_parts"), Some("1"));
    assert_eq!(attr(&p.other, "status"), Some("open"));
}

#[test]
fn a_new_customer_is_identified_with_their_account() {
    let tp = accepted(webhook("customers/create", "w-customer", CUSTOMER));
    assert_eq!(tp.kind, TouchpointKind::Identified);
    assert_eq!(tp.occurred_at, Some(1_772_607_600_000));
    assert_eq!(
        tp.identities,
        Identities {
            email: Some("anna.lindqvist@nordic-tissue.example".into()),
            phone: Some("+46701234567".into()),
            user_id: Some("shopify:7420194618".into()),
            company_domain: Some("nordic-tissue.example".into()),
            account_id: Some("NTA-0087".into()),
            ..Identities::default()
        }
    );
    assert_eq!(tp.traits.first_name.as_deref(), Some("Anna"));
    assert_eq!(tp.traits.last_name.as_deref(), Some("Lindqvist"));
    assert_eq!(tp.traits.company.as_deref(), Some("Nordic Tissue AB"));
    assert_eq!(tp.traits.country.as_deref(), Some("SE"));
    assert_eq!(names(&tp.traits.other), ["tags", "state"]);
    assert_eq!(
        attr(&tp.traits.other, "tags"),
        Some("account:NTA-0087,service-contract")
    );
    assert_eq!(names(&tp.properties.other), ["shop", "customer_id"]);
    assert_eq!(
        attr(&tp.properties.other, "customer_id"),
        Some("7420194618")
    );
    // `not_subscribed` is no decision either way.
    assert!(tp.consent.is_empty());
}

#[test]
fn a_cancelled_order_is_kept_as_a_custom_kind_at_its_cancel_time() {
    let tp = accepted(webhook("orders/cancelled", "w-cancel", CANCELLED));
    assert_eq!(tp.kind, TouchpointKind::Custom("order-cancelled".into()));
    assert_eq!(tp.occurred_at, Some(1_772_808_000_000));
    assert_eq!(tp.identities.account_id.as_deref(), Some("PPO-4471"));
    assert_eq!(tp.identities.anonymous_id, None);
    let p = &tp.properties;
    assert_eq!(p.content_id.as_deref(), Some("#1004"));
    assert_eq!(p.amount, Some(172.80));
    assert_eq!(p.source.as_deref(), Some("shopify_draft_order"));
    assert_eq!(attr(&p.other, "order_id"), Some("5208334139644"));
    assert_eq!(attr(&p.other, "cancel_reason"), Some("customer"));
    assert_eq!(attr(&p.other, "financial_status"), Some("voided"));
    assert_eq!(attr(&p.other, "reorder"), Some("true"));
    assert_eq!(attr(&p.other, "spare_parts"), None);
}

#[test]
fn a_refund_is_kept_as_a_custom_kind_linked_to_its_order() {
    let tp = accepted(webhook("refunds/create", "w-refund", REFUND));
    assert_eq!(tp.kind, TouchpointKind::Custom("refund-created".into()));
    assert_eq!(tp.occurred_at, Some(1_773_055_200_000));
    // A refund names no person; the order id links it.
    assert_eq!(tp.identities, Identities::default());
    let p = &tp.properties;
    assert_eq!(p.content_id.as_deref(), Some("929361464"));
    assert_eq!(p.amount, Some(86.40));
    assert_eq!(p.currency.as_deref(), Some("EUR"));
    assert_eq!(
        names(&p.other),
        ["shop", "refund_id", "order_id", "items", "line:NM-DBH-2201"]
    );
    assert_eq!(attr(&p.other, "order_id"), Some("5208334008572"));
    assert_eq!(
        attr(&p.other, "line:NM-DBH-2201"),
        Some(
            r#"{"title":"Doctor blade holder seal kit","quantity":1,"price":"86.40","product_id":"7513594003771","variant_id":"42265490014523"}"#
        )
    );
}

#[test]
fn an_unknown_topic_is_kept_as_a_custom_kind() {
    let tp = accepted(webhook("products/update", "w-product", PRODUCT));
    assert_eq!(tp.kind, TouchpointKind::Custom("products/update".into()));
    assert_eq!(tp.external_id, "w-product");
    assert_eq!(tp.occurred_at, Some(1_772_877_600_000));
    assert_eq!(tp.identities, Identities::default());
    assert_eq!(tp.properties.content_id.as_deref(), Some("7513594003771"));
    assert_eq!(names(&tp.properties.other), ["shop", "topic", "id"]);
    assert_eq!(attr(&tp.properties.other, "topic"), Some("products/update"));
}

#[test]
fn every_fixture_maps_the_same_twice() {
    for (topic, body) in [
        ("orders/create", ORDER),
        ("orders/paid", ORDER),
        ("checkouts/update", CHECKOUT),
        ("carts/create", CART),
        ("draft_orders/create", DRAFT_ORDER),
        ("customers/create", CUSTOMER),
        ("orders/cancelled", CANCELLED),
        ("refunds/create", REFUND),
        ("products/update", PRODUCT),
    ] {
        let first = accepted(webhook(topic, "same-delivery", body));
        let again = accepted(webhook(topic, "same-delivery", body));
        assert_eq!(first, again, "{topic}");
        assert_eq!(first.external_id, "same-delivery");
        assert!(first.occurred_at.is_some(), "{topic}");
    }
}
