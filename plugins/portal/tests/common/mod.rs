//! What every test of the portal connector needs: a mocked host holding the
//! signing key, and deliveries signed as the portal signs them.

#![allow(dead_code)]

use leadhost_plugin_portal::Portal;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::{MockHost, mac};

/// The signing key the mocked host stores.
pub const KEY: &str = "whsec_portal_9fK2mQ7xL4";

/// A host with the signing key configured.
pub fn host() -> MockHost {
    MockHost::new().secret("signing-key", KEY)
}

/// `sha256=<hex>` of the HMAC-SHA256 of `body` under `key`.
pub fn signature(key: &str, body: &[u8]) -> String {
    let mac = mac(Algorithm::HmacSha256, key.as_bytes(), body);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A POST of `body` to /events, unsigned.
pub fn unsigned(body: &str, content_type: &str) -> Request {
    Request::new("POST", "/events")
        .with_header("content-type", content_type)
        .with_body(body)
}

/// A POST of `body` to /events, signed with the right key.
pub fn post(body: &str) -> Request {
    signed(body, "application/json")
}

/// A POST of `body` to /events with this content type, signed with the right key.
pub fn signed(body: &str, content_type: &str) -> Request {
    unsigned(body, content_type).with_header("x-portal-signature", &signature(KEY, body.as_bytes()))
}

/// Ingests on a fresh host with the key.
pub fn ingest(request: Request) -> Result<Ingested, IngestError> {
    host().ingest::<Portal>(request)
}

/// Ingests a request that must succeed and returns its touchpoints.
pub fn accepted(request: Request) -> Vec<Touchpoint> {
    match ingest(request) {
        Ok(out) => {
            assert_eq!(out.reply.status, 200);
            assert_eq!(out.reply.header("content-type"), Some("application/json"));
            let expected = format!(r#"{{"accepted":{}}}"#, out.touchpoints.len());
            assert_eq!(out.reply.body, expected.as_bytes());
            out.touchpoints
        }
        Err(e) => panic!("refused: {e}"),
    }
}

/// The only touchpoint of an accepted single event.
pub fn one(body: &str) -> Touchpoint {
    let mut touchpoints = accepted(post(body));
    assert_eq!(touchpoints.len(), 1);
    touchpoints.remove(0)
}

/// The value of a named attribute.
pub fn attr<'a>(list: &'a [Attribute], name: &str) -> Option<&'a str> {
    list.iter()
        .find(|a| a.name == name)
        .map(|a| a.value.as_str())
}

/// The attributes as (name, value) pairs, in order.
pub fn pairs(list: &[Attribute]) -> Vec<(&str, &str)> {
    list.iter()
        .map(|a| (a.name.as_str(), a.value.as_str()))
        .collect()
}
