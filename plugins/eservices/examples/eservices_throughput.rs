//! How fast the connector maps Shopify webhooks, natively, without the host:
//! `cargo run --release -p leadhost-plugin-eservices --example eservices_throughput`.
//!
//! Each round delivers every fixture of `tests/fixtures/shopify/` once,
//! signed, through the SDK's `MockHost` (which computes the HMAC as the host
//! does). A webhook is one touchpoint, so deliveries per second is
//! touchpoints per second. The host's own benchmark measures the same
//! through the compiled component.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use base64::Engine as _;
    use leadhost_plugin_eservices::Eservices;
    use leadhost_sdk::prelude::*;
    use leadhost_sdk::testing::{MockHost, mac};
    use std::time::Instant;

    const FIXTURES: [(&str, &str); 8] = [
        (
            "orders/create",
            include_str!("../../../tests/fixtures/shopify/orders-create.json"),
        ),
        (
            "checkouts/create",
            include_str!("../../../tests/fixtures/shopify/checkouts-create.json"),
        ),
        (
            "carts/update",
            include_str!("../../../tests/fixtures/shopify/carts-update.json"),
        ),
        (
            "draft_orders/create",
            include_str!("../../../tests/fixtures/shopify/draft-orders-create.json"),
        ),
        (
            "customers/create",
            include_str!("../../../tests/fixtures/shopify/customers-create.json"),
        ),
        (
            "orders/cancelled",
            include_str!("../../../tests/fixtures/shopify/orders-cancelled.json"),
        ),
        (
            "refunds/create",
            include_str!("../../../tests/fixtures/shopify/refunds-create.json"),
        ),
        (
            "products/update",
            include_str!("../../../tests/fixtures/shopify/products-update.json"),
        ),
    ];
    let requests: Vec<Request> = FIXTURES
        .iter()
        .enumerate()
        .map(|(i, (topic, body))| {
            let signature = base64::engine::general_purpose::STANDARD.encode(mac(
                Algorithm::HmacSha256,
                b"secret",
                body.as_bytes(),
            ));
            Request::new("POST", "/webhooks")
                .with_header("x-shopify-topic", topic)
                .with_header("x-shopify-webhook-id", &format!("w-{i}"))
                .with_header("x-shopify-shop-domain", "shop.myshopify.com")
                .with_header("x-shopify-hmac-sha256", &signature)
                .with_body(*body)
        })
        .collect();
    let bytes: usize = requests.iter().map(|r| r.body.len()).sum();

    let mut host = MockHost::new().secret("webhook-secret", "secret");
    let rounds = 5_000;
    let start = Instant::now();
    let mut touchpoints = 0;
    for _ in 0..rounds {
        for request in &requests {
            let out = host.ingest::<Eservices>(request.clone()).expect("accepted");
            touchpoints += out.touchpoints.len();
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{rounds} rounds of {} webhooks ({bytes} bytes): {touchpoints} touchpoints in {elapsed:.2?}, {:.0} touchpoints/s on one core",
        requests.len(),
        touchpoints as f64 / elapsed.as_secs_f64()
    );
}

#[cfg(target_arch = "wasm32")]
fn main() {}
