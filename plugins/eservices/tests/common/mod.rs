//! What every test of the eservices connector needs: the fixtures, a mocked
//! host holding the webhook secret, and deliveries signed as Shopify signs them.

#![allow(dead_code)]

use base64::Engine as _;
use leadhost_plugin_eservices::Eservices;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::{MockHost, mac};

pub const ORDER: &str = include_str!("../../../../tests/fixtures/shopify/orders-create.json");
pub const CHECKOUT: &str = include_str!("../../../../tests/fixtures/shopify/checkouts-create.json");
pub const CART: &str = include_str!("../../../../tests/fixtures/shopify/carts-update.json");
pub const DRAFT_ORDER: &str =
    include_str!("../../../../tests/fixtures/shopify/draft-orders-create.json");
pub const CUSTOMER: &str = include_str!("../../../../tests/fixtures/shopify/customers-create.json");
pub const CANCELLED: &str =
    include_str!("../../../../tests/fixtures/shopify/orders-cancelled.json");
pub const REFUND: &str = include_str!("../../../../tests/fixtures/shopify/refunds-create.json");
pub const PRODUCT: &str = include_str!("../../../../tests/fixtures/shopify/products-update.json");

/// The webhook secret the mocked host stores.
pub const SECRET: &str = "shpss_7c1d0e9a4b2f63a8e5d1c0b9";

/// The shop the fixtures come from.
pub const SHOP: &str = "nordmill-spares.myshopify.com";

/// A host with the webhook secret configured.
pub fn host() -> MockHost {
    MockHost::new().secret("webhook-secret", SECRET)
}

/// `X-Shopify-Hmac-Sha256` of `body` under `key`, as Shopify computes it.
pub fn sign(key: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(
        Algorithm::HmacSha256,
        key.as_bytes(),
        body,
    ))
}

/// A delivery of `topic` with all of Shopify's headers, unsigned.
pub fn unsigned(topic: &str, webhook_id: &str, body: &str) -> Request {
    Request::new("POST", "/webhooks")
        .with_header("content-type", "application/json")
        .with_header("x-shopify-topic", topic)
        .with_header("x-shopify-shop-domain", SHOP)
        .with_header("x-shopify-api-version", "2026-07")
        .with_header("x-shopify-webhook-id", webhook_id)
        .with_header("x-shopify-triggered-at", "2026-03-10T08:00:00.000000Z")
        .with_header("x-shopify-event-id", "59d6d79c-595f-4e7e-bc6f-72f5c3d0c66f")
        .with_body(body)
}

/// A delivery signed with the right secret.
pub fn webhook(topic: &str, webhook_id: &str, body: &str) -> Request {
    unsigned(topic, webhook_id, body)
        .with_header("x-shopify-hmac-sha256", &sign(SECRET, body.as_bytes()))
}

/// Ingests on a fresh host with the secret.
pub fn ingest(request: Request) -> Result<Ingested, IngestError> {
    host().ingest::<Eservices>(request)
}

/// Ingests a delivery that must succeed and returns its one touchpoint.
pub fn accepted(request: Request) -> Touchpoint {
    match ingest(request) {
        Ok(mut out) => {
            assert_eq!(out.reply.status, 200);
            assert_eq!(out.touchpoints.len(), 1);
            out.touchpoints.remove(0)
        }
        Err(e) => panic!("refused: {e}"),
    }
}

/// The value of a named attribute.
pub fn attr<'a>(list: &'a [Attribute], name: &str) -> Option<&'a str> {
    list.iter()
        .find(|a| a.name == name)
        .map(|a| a.value.as_str())
}

/// The names of the attributes, in order.
pub fn names(list: &[Attribute]) -> Vec<&str> {
    list.iter().map(|a| a.name.as_str()).collect()
}
