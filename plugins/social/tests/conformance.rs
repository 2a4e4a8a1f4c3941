//! The shared conformance suite, run on the social connector: Meta Page
//! notifications (leads read from the Graph API) and LinkedIn webhooks
//! (leads read from the Lead Sync API).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_social::Social;
use leadhost_plugin_social::linkedin::LEAD_FIELDS;
use leadhost_sdk::conformance::Conformance;
use leadhost_sdk::prelude::*;

const LEAD_ID: &str = "7c1c5d32-5b0c-4f2a-9c1e-3a6c2f1b9e01-1";

/// `body` to `path` with `header` set to `value`.
fn post_with(path: &str, body: &str, header: Option<(&str, &str)>) -> Request {
    let request = Request::new("POST", path)
        .with_header("content-type", "application/json")
        .with_body(body);
    match header {
        Some((name, value)) => request.with_header(name, value),
        None => request,
    }
}

#[test]
fn the_social_connector_conforms() {
    let wrong_meta = meta_signature("not-the-app-secret", LEADGEN);
    let wrong_li = linkedin_signature("not-the-client-secret", LI_SOCIAL_ACTIONS);
    Conformance {
        host: graph_host().respond(
            &format!("{STAND_IN}/rest/leadFormResponses/{LEAD_ID}?fields={LEAD_FIELDS}"),
            ok(LI_LEAD),
        ),
        valid: vec![
            meta_post(LEADGEN),
            meta_post(FEED),
            linkedin_post(LI_LEAD_NOTIFICATION),
            linkedin_post(LI_SOCIAL_ACTIONS),
            // The two handshakes: Meta's verify token, LinkedIn's challenge.
            Request::new(
                "GET",
                &format!(
                    "/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
                ),
            ),
            Request::new(
                "GET",
                "/linkedin?challengeCode=890e4665-4dfe-4ab1-b689-ed553bceeed3",
            ),
        ],
        wrongly_signed: vec![
            post_with("/meta", LEADGEN, None),
            post_with("/meta", LEADGEN, Some(("x-hub-signature-256", &wrong_meta))),
            post_with("/linkedin", LI_SOCIAL_ACTIONS, None),
            post_with(
                "/linkedin",
                LI_SOCIAL_ACTIONS,
                Some(("x-li-signature", &wrong_li)),
            ),
            Request::new(
                "GET",
                "/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong",
            ),
        ],
        empty_batch: Some(meta_post(r#"{"object":"page","entry":[]}"#)),
        message: None,
    }
    .run::<Social>();
}
