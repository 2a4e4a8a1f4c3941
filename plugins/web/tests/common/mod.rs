//! What every test of the web connector needs: the fixtures, a mocked host
//! holding the write key, and requests as Segment clients send them.

#![allow(dead_code)]

use leadhost_plugin_web::Web;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

/// The write key the mocked host stores.
pub const KEY: &str = "wk_3fA9c2LqZ7";

/// A host with the write key configured.
pub fn host() -> MockHost {
    MockHost::new().secret("write-key", KEY)
}

/// `Authorization: Basic base64(key + ":")`, as Segment clients send it.
pub fn basic(key: &str) -> String {
    format!("Basic {}", base64(format!("{key}:").as_bytes()))
}

/// A POST with JSON and the right key in basic auth.
pub fn post(path: &str, body: &str) -> Request {
    unauthenticated(path, body).with_header("authorization", &basic(KEY))
}

/// A POST with JSON and no credentials.
pub fn unauthenticated(path: &str, body: &str) -> Request {
    Request::new("POST", path)
        .with_header("content-type", "application/json")
        .with_body(body)
}

/// Ingests on a fresh host with the key.
pub fn ingest(request: Request) -> Result<Ingested, IngestError> {
    host().ingest::<Web>(request)
}

/// Ingests a request that must succeed and returns its touchpoints.
pub fn accepted(request: Request) -> Vec<Touchpoint> {
    match ingest(request) {
        Ok(out) => {
            assert_eq!(out.reply.status, 200);
            assert_eq!(out.reply.body, br#"{"success":true}"#);
            assert_eq!(out.reply.header("content-type"), Some("application/json"));
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

/// The names of the attributes, in order.
pub fn names(list: &[Attribute]) -> Vec<&str> {
    list.iter().map(|a| a.name.as_str()).collect()
}

/// A consent signal for every channel.
pub fn consent(purpose: &str, granted: bool) -> ConsentSignal {
    ConsentSignal {
        purpose: purpose.into(),
        channel: None,
        granted,
    }
}

/// Standard padded base64, for building headers.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_test_encoder_matches_segment_s_example() {
    assert_eq!(base64(b"abc123:"), "YWJjMTIzOg==");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}
