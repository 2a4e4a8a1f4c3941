//! One webhook delivery: route, authenticate, check the limits, parse, map.
//! The whole delivery succeeds or fails: a bad event anywhere in a batch
//! refuses the batch, so nothing is half-accepted.

use crate::mapping::{self, is_json};
use crate::signature;
use crate::wire::CloudEvent;
use leadhost_sdk::prelude::*;
use serde_json::value::RawValue;

/// Config key: the largest body accepted.
pub const MAX_BODY_BYTES: &str = "max-body-bytes";
/// Config key: the most events in one batch.
pub const MAX_EVENTS: &str = "max-events";

/// 1 MiB: a full batch of typical portal events is about a third of it.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// See [`MAX_EVENTS`].
pub const DEFAULT_MAX_EVENTS: usize = 1000;

/// The media types a delivery may declare (besides none at all).
const MEDIA_TYPES: &str =
    "application/json, application/cloudevents+json or application/cloudevents-batch+json";

/// Handles one request.
pub fn ingest(request: &Request) -> Result<Ingested, IngestError> {
    let path = request.path.strip_suffix('/').unwrap_or(&request.path);
    if path != "/events" {
        return Err(IngestError::NotFound(format!(
            "no endpoint {:?} here; the portal connector serves POST /events",
            request.path
        )));
    }
    if request.method != "POST" {
        return Err(IngestError::NotFound(format!(
            "{} /events: POST is required",
            request.method
        )));
    }

    let secret = signature::open_signing_key()?;
    let max_body = limit(MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)?;
    if request.body.len() > max_body {
        return Err(IngestError::TooLarge(format!(
            "the body is {} bytes; at most {max_body} are accepted (config `{MAX_BODY_BYTES}`)",
            request.body.len()
        )));
    }
    // The signature covers the exact bytes received, so it is checked before
    // anything reads them.
    signature::check(&secret, request.header(signature::HEADER), &request.body)?;

    let declared = media_type(request)?;
    let body = std::str::from_utf8(&request.body)
        .map_err(|e| IngestError::Malformed(format!("the body is not UTF-8 JSON: {e}")))?;
    let touchpoints = match body.trim_start().as_bytes().first() {
        Some(b'[') => {
            if declared == Declared::Single {
                return Err(IngestError::Malformed(
                    "the body is a JSON array but declares application/cloudevents+json (one event); use application/cloudevents-batch+json for batches".into(),
                ));
            }
            batch(body)?
        }
        Some(b'{') => {
            if declared == Declared::Batch {
                return Err(IngestError::Malformed(
                    "the body is a single event but declares application/cloudevents-batch+json, which is a JSON array of events".into(),
                ));
            }
            let event: CloudEvent = serde_json::from_str(body).map_err(|e| {
                IngestError::Malformed(format!("the body is not a CloudEvent: {e}"))
            })?;
            vec![mapping::touchpoint(&event).map_err(IngestError::Malformed)?]
        }
        _ => {
            return Err(IngestError::Malformed(
                "the body must be a CloudEvent (a JSON object) or a batch of them (a JSON array)"
                    .into(),
            ));
        }
    };
    let reply = format!(r#"{{"accepted":{}}}"#, touchpoints.len());
    Ok(Ingested {
        touchpoints,
        reply: Response::json(200, reply),
    })
}

fn batch(body: &str) -> Result<Vec<Touchpoint>, IngestError> {
    let events: Vec<&RawValue> = serde_json::from_str(body)
        .map_err(|e| IngestError::Malformed(format!("the body is not a JSON array: {e}")))?;
    let max_events = limit(MAX_EVENTS, DEFAULT_MAX_EVENTS)?;
    if events.len() > max_events {
        return Err(IngestError::TooLarge(format!(
            "the batch has {} events; at most {max_events} are accepted (config `{MAX_EVENTS}`)",
            events.len()
        )));
    }
    let mut touchpoints = Vec::with_capacity(events.len());
    for (index, raw) in events.iter().enumerate() {
        let bad = |message: String| IngestError::Malformed(format!("event [{index}]: {message}"));
        let event: CloudEvent =
            serde_json::from_str(raw.get()).map_err(|e| bad(format!("not a CloudEvent: {e}")))?;
        touchpoints.push(mapping::touchpoint(&event).map_err(bad)?);
    }
    Ok(touchpoints)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    /// No content type, or plain JSON: the body says which.
    Either,
    /// `application/cloudevents+json`.
    Single,
    /// `application/cloudevents-batch+json`.
    Batch,
}

/// What the `Content-Type` and `Content-Encoding` headers declare.
fn media_type(request: &Request) -> Result<Declared, IngestError> {
    // The host inflates gzip before the plugin sees the body; anything else
    // still encoded cannot be read here.
    if let Some(encoding) = request
        .header("content-encoding")
        .filter(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        return Err(IngestError::Malformed(format!(
            "bodies with Content-Encoding {encoding:?} are not accepted; send plain JSON"
        )));
    }
    let Some(content_type) = request.header("content-type") else {
        return Ok(Declared::Either);
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/cloudevents+json" => Ok(Declared::Single),
        "application/cloudevents-batch+json" => Ok(Declared::Batch),
        _ if is_json(&essence) => Ok(Declared::Either),
        _ => Err(IngestError::Malformed(format!(
            "Content-Type {content_type:?} is not accepted; send {MEDIA_TYPES} (the CloudEvents binary content mode is not supported)"
        ))),
    }
}

/// A limit from the configuration, or its default.
fn limit(key: &str, default: usize) -> Result<usize, IngestError> {
    match config::get(key) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                IngestError::Misconfigured(format!(
                    "config `{key}` must be a positive whole number, not {value:?}"
                ))
            }),
    }
}
