//! What every test of the social connector needs: the fixtures, a mocked
//! host with the secrets and a local stand-in for the provider APIs, and
//! requests signed the way Meta and LinkedIn sign them.

#![allow(dead_code)]

use leadhost_plugin_social::Social;
use leadhost_sdk::http::OutboundResponse;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::{MockHost, mac};

pub const LEADGEN: &str = include_str!("../../../../tests/fixtures/meta/leadgen.json");
pub const GRAPH_LEAD_4: &str =
    include_str!("../../../../tests/fixtures/meta/graph-lead-444444444444.json");
pub const GRAPH_LEAD_5: &str =
    include_str!("../../../../tests/fixtures/meta/graph-lead-555555555555.json");
pub const FEED: &str = include_str!("../../../../tests/fixtures/meta/feed.json");
pub const LI_PAGE_1: &str =
    include_str!("../../../../tests/fixtures/linkedin/lead-form-responses-page-1.json");
pub const LI_PAGE_2: &str =
    include_str!("../../../../tests/fixtures/linkedin/lead-form-responses-page-2.json");
pub const LI_LEAD: &str =
    include_str!("../../../../tests/fixtures/linkedin/lead-form-response.json");
pub const LI_LEAD_NOTIFICATION: &str =
    include_str!("../../../../tests/fixtures/linkedin/lead-notification.json");
pub const LI_SOCIAL_ACTIONS: &str =
    include_str!("../../../../tests/fixtures/linkedin/social-actions.json");

pub const VERIFY_TOKEN: &str = "vt-7f3a9c";
pub const APP_SECRET: &str = "meta-app-secret-1b2c3d";
pub const PAGE_TOKEN: &str = "EAAGpagetoken123";
pub const LI_TOKEN: &str = "AQVlinkedintoken456";
pub const LI_CLIENT_SECRET: &str = "li-client-secret-789";

/// The local stand-in for both provider APIs.
pub const STAND_IN: &str = "http://127.0.0.1:9";

/// A host with every secret, the stand-in granted and configured.
pub fn host() -> MockHost {
    MockHost::new()
        .secret("meta-verify-token", VERIFY_TOKEN)
        .secret("meta-app-secret", APP_SECRET)
        .secret("meta-page-token", PAGE_TOKEN)
        .secret("linkedin-token", LI_TOKEN)
        .secret("linkedin-client-secret", LI_CLIENT_SECRET)
        .grant_host("127.0.0.1:9")
        .config("graph-base-url", STAND_IN)
        .config("linkedin-base-url", STAND_IN)
        .config("linkedin-organization", "5515715")
}

/// `host()` answering the Graph API for both fixture leads.
pub fn graph_host() -> MockHost {
    host()
        .respond(&graph_url("444444444444"), ok(GRAPH_LEAD_4))
        .respond(&graph_url("555555555555"), ok(GRAPH_LEAD_5))
}

/// The Graph URL the connector reads a lead from.
pub fn graph_url(id: &str) -> String {
    format!(
        "{STAND_IN}/v19.0/{id}?fields=created_time,id,ad_id,adset_id,campaign_id,campaign_name,form_id,platform,is_organic,field_data"
    )
}

/// A 200 with a JSON body.
pub fn ok(body: &str) -> OutboundResponse {
    OutboundResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `X-Hub-Signature-256` as Meta computes it.
pub fn meta_signature(key: &str, body: &str) -> String {
    format!(
        "sha256={}",
        hex(&mac(Algorithm::HmacSha256, key.as_bytes(), body.as_bytes()))
    )
}

/// `X-LI-Signature` as LinkedIn computes it: over `hmacsha256=` + body.
pub fn linkedin_signature(key: &str, body: &str) -> String {
    let message = format!("hmacsha256={body}");
    hex(&mac(
        Algorithm::HmacSha256,
        key.as_bytes(),
        message.as_bytes(),
    ))
}

/// A `POST /meta` signed with the app secret.
pub fn meta_post(body: &str) -> Request {
    Request::new("POST", "/meta")
        .with_header("content-type", "application/json")
        .with_header("x-hub-signature-256", &meta_signature(APP_SECRET, body))
        .with_body(body)
}

/// A `POST /linkedin` signed with the client secret.
pub fn linkedin_post(body: &str) -> Request {
    Request::new("POST", "/linkedin")
        .with_header("content-type", "application/json")
        .with_header(
            "x-li-signature",
            &linkedin_signature(LI_CLIENT_SECRET, body),
        )
        .with_body(body)
}

/// Ingests a request that must succeed and returns its touchpoints.
pub fn accepted(host: &mut MockHost, request: Request) -> Vec<Touchpoint> {
    match host.ingest::<Social>(request) {
        Ok(out) => {
            assert_eq!(out.reply.status, 200);
            out.touchpoints
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

/// A header of a recorded outbound request.
pub fn header<'a>(request: &'a leadhost_sdk::http::OutboundRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
