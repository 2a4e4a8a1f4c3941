//! The shared conformance suite, run on the web connector.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{basic, host, post, unauthenticated};
use leadhost_plugin_web::Web;
use leadhost_sdk::conformance::Conformance;

const TRACK: &str = include_str!("../../../tests/fixtures/segment/track.json");
const BATCH: &str = include_str!("../../../tests/fixtures/segment/batch.json");

#[test]
fn the_web_connector_conforms() {
    Conformance {
        host: host(),
        valid: vec![post("/v1/track", TRACK), post("/v1/batch", BATCH)],
        wrongly_signed: vec![
            unauthenticated("/v1/track", TRACK),
            unauthenticated("/v1/track", TRACK).with_header("authorization", &basic("not-the-key")),
            unauthenticated("/v1/batch", BATCH).with_header("authorization", "Bearer x"),
        ],
        empty_batch: Some(post("/v1/batch", r#"{"batch": []}"#)),
        message: None,
    }
    .run::<Web>();
}
