//! What every test of the events connector needs: a mocked host holding the
//! token secrets and pointing `api-base-url` at a stand-in, and requests as
//! Eventbrite and lead-retrieval apps send them.

#![allow(dead_code)]

use leadhost_plugin_events::Events;
use leadhost_sdk::http::OutboundResponse;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

/// The webhook token the mocked host stores.
pub const TOKEN: &str = "tok_9Qw2xLp4";
/// The Eventbrite private token the mocked host stores.
pub const EVENTBRITE_TOKEN: &str = "EBPRIVATE7Y3K";
/// The stand-in for the Eventbrite API.
pub const BASE: &str = "http://127.0.0.1:9";

/// A host with both secrets, the stand-in granted and configured.
pub fn host() -> MockHost {
    MockHost::new()
        .secret("webhook-token", TOKEN)
        .secret("eventbrite-token", EVENTBRITE_TOKEN)
        .grant_host("127.0.0.1:9")
        .config("api-base-url", BASE)
}

/// A JSON answer of the stand-in.
pub fn json(status: u16, body: &str) -> OutboundResponse {
    OutboundResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

/// A POST with the right token.
pub fn post(path: &str, content_type: &str, body: &str) -> Request {
    Request::new("POST", &format!("{path}?token={TOKEN}"))
        .with_header("content-type", content_type)
        .with_body(body)
}

/// An Eventbrite webhook delivery with the right token.
pub fn webhook(body: &str) -> Request {
    post("/eventbrite", "application/json", body)
}

/// A CSV upload with the right token.
pub fn csv(path: &str, body: &str) -> Request {
    post(path, "text/csv", body)
}

/// Ingests a request that must succeed; returns its touchpoints.
pub fn accepted(host: &mut MockHost, request: Request) -> (Vec<Touchpoint>, Response) {
    match host.ingest::<Events>(request) {
        Ok(out) => {
            assert_eq!(out.reply.status, 200);
            assert_eq!(out.reply.header("content-type"), Some("application/json"));
            (out.touchpoints, out.reply)
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

/// The message of an error of the expected kind.
pub fn unauthorized(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::Unauthorized(m)) => m,
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

/// See [`unauthorized`].
pub fn malformed(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::Malformed(m)) => m,
        other => panic!("expected malformed, got {other:?}"),
    }
}

/// See [`unauthorized`].
pub fn too_large(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::TooLarge(m)) => m,
        other => panic!("expected too large, got {other:?}"),
    }
}

/// See [`unauthorized`].
pub fn misconfigured(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::Misconfigured(m)) => m,
        other => panic!("expected misconfigured, got {other:?}"),
    }
}

/// See [`unauthorized`].
pub fn internal(result: Result<Ingested, IngestError>) -> String {
    match result {
        Err(IngestError::Internal(m)) => m,
        other => panic!("expected internal, got {other:?}"),
    }
}

/// Epoch milliseconds of an RFC 3339 time, for expectations.
pub fn at(s: &str) -> i64 {
    leadhost_sdk::parse_rfc3339(s).unwrap()
}
