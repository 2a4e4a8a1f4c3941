//! The shared conformance suite, run on the eservices connector: Shopify
//! webhooks, one event per signed delivery.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_eservices::Eservices;
use leadhost_sdk::conformance::Conformance;

#[test]
fn the_eservices_connector_conforms() {
    Conformance {
        // Shopify calls in; the connector calls nothing out, so the webhook
        // secret is all an operator sets.
        host: host(),
        valid: vec![
            webhook("orders/create", "w-order", ORDER),
            webhook("checkouts/create", "w-checkout", CHECKOUT),
            webhook("carts/update", "w-cart", CART),
            webhook("draft_orders/create", "w-draft", DRAFT_ORDER),
            webhook("customers/create", "w-customer", CUSTOMER),
            webhook("orders/cancelled", "w-cancel", CANCELLED),
            webhook("refunds/create", "w-refund", REFUND),
            webhook("products/update", "w-product", PRODUCT),
        ],
        wrongly_signed: vec![
            unsigned("orders/create", "w-order", ORDER),
            unsigned("orders/create", "w-order", ORDER).with_header(
                "x-shopify-hmac-sha256",
                &sign("shpss_not_the_secret", ORDER.as_bytes()),
            ),
            unsigned("checkouts/create", "w-checkout", CHECKOUT)
                .with_header("x-shopify-hmac-sha256", &sign(SECRET, ORDER.as_bytes())),
        ],
        // A Shopify delivery carries one event, never a batch.
        empty_batch: None,
        message: None,
    }
    .run::<Eservices>();
}
