//! The shared conformance suite, run on the portal connector: signed
//! CloudEvents in (one event or a batch), notifications out.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_portal::Portal;
use leadhost_sdk::conformance::Conformance;
use leadhost_sdk::http::OutboundResponse;
use leadhost_sdk::prelude::*;

const LOGIN: &str = include_str!("../../../tests/fixtures/portal/login.json");
const DOWNLOAD: &str = include_str!("../../../tests/fixtures/portal/document-downloaded.json");
const EQUIPMENT: &str = include_str!("../../../tests/fixtures/portal/equipment-registered.json");
const SERVICE: &str = include_str!("../../../tests/fixtures/portal/service-request-opened.json");
const USAGE: &str = include_str!("../../../tests/fixtures/portal/usage-alert.json");
const BATCH: &str = include_str!("../../../tests/fixtures/portal/batch.json");

const BASE: &str = "http://127.0.0.1:9";
const ENDPOINT: &str = "http://127.0.0.1:9/api/v1/notifications";

fn message() -> Message {
    Message {
        idempotency_key: "nurture-7f3a-step-2".into(),
        recipient: Identities {
            user_id: Some("u-20931".into()),
            email: Some("mikko.lahti@kaskinen-board.example".into()),
            ..Identities::default()
        },
        recipient_name: Some("Mikko Lahti".into()),
        subject: Some("Your RollMaster 800: bearing care guide".into()),
        text: "Five checks that keep drive-side bearings quiet after a grade change.".into(),
        html: None,
        content_id: Some("DOC-GUIDE-0112".into()),
        campaign: Some("winder-care-2024".into()),
        other: Vec::new(),
    }
}

#[test]
fn the_portal_connector_conforms() {
    let batch = "application/cloudevents-batch+json";
    Conformance {
        host: host()
            .secret("api-key", "pk_live_7Hq2xV9mN4")
            .config("base-url", BASE)
            .grant_host("127.0.0.1:9")
            .respond(
                ENDPOINT,
                OutboundResponse::new(201, r#"{"id":"ntf_8c2d41","status":"queued"}"#),
            ),
        valid: vec![
            post(LOGIN),
            signed(LOGIN, "application/cloudevents+json"),
            post(DOWNLOAD),
            post(EQUIPMENT),
            post(SERVICE),
            post(USAGE),
            signed(BATCH, batch),
        ],
        wrongly_signed: vec![
            unsigned(LOGIN, "application/json"),
            unsigned(BATCH, batch),
            unsigned(LOGIN, "application/json").with_header(
                "x-portal-signature",
                &signature("whsec_not_the_key", LOGIN.as_bytes()),
            ),
            unsigned(BATCH, batch)
                .with_header("x-portal-signature", &signature(KEY, LOGIN.as_bytes())),
        ],
        empty_batch: Some(signed("[]", batch)),
        message: Some(message()),
    }
    .run::<Portal>();
}
