//! One request of the Segment HTTP Tracking API: route, authenticate,
//! check the limits, parse, map. The whole request succeeds or fails: a bad
//! call anywhere in a batch refuses the batch, so nothing is half-accepted.

use crate::auth;
use crate::mapping::{self, CALL_TYPES, Call};
use crate::wire::{Batch, Event};
use leadhost_sdk::prelude::*;

/// Config key: the largest single call, and the largest call inside a batch.
pub const MAX_EVENT_BYTES: &str = "max-event-bytes";
/// Config key: the largest batch body.
pub const MAX_BATCH_BYTES: &str = "max-batch-bytes";
/// Config key: the most calls in one batch.
pub const MAX_BATCH_EVENTS: &str = "max-batch-events";

/// Segment's documented limits: 32 KB per call, 500 KB per batch.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 32 * 1024;
/// See [`DEFAULT_MAX_EVENT_BYTES`].
pub const DEFAULT_MAX_BATCH_BYTES: usize = 500 * 1024;
/// Segment's server libraries never send more in one batch.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 2500;

/// What Segment's API answers to an accepted request.
const SUCCESS: &[u8] = br#"{"success":true}"#;

/// The endpoints, after the connector's prefix.
const ENDPOINTS: &str = "POST /v1/identify, /v1/track, /v1/page, /v1/screen, /v1/group, /v1/alias, /v1/batch (or /v1/import)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Single(Call),
    Batch,
}

/// The endpoint of a path. The one-letter paths are the ones analytics.js
/// posts to (`/v1/t`, `/v1/p`, ..., `/v1/b` for batches).
fn route(path: &str) -> Option<Endpoint> {
    let path = path.strip_suffix('/').unwrap_or(path);
    Some(match path.strip_prefix("/v1/")? {
        "identify" | "i" => Endpoint::Single(Call::Identify),
        "track" | "t" => Endpoint::Single(Call::Track),
        "page" | "p" => Endpoint::Single(Call::Page),
        "screen" | "s" => Endpoint::Single(Call::Screen),
        "group" | "g" => Endpoint::Single(Call::Group),
        "alias" | "a" => Endpoint::Single(Call::Alias),
        "batch" | "import" | "b" => Endpoint::Batch,
        _ => return None,
    })
}

/// Handles one request.
pub fn ingest(request: &Request) -> Result<Ingested, IngestError> {
    let endpoint = route(&request.path).ok_or_else(|| {
        IngestError::NotFound(format!(
            "no endpoint {:?} here; the web connector serves {ENDPOINTS}",
            request.path
        ))
    })?;
    if request.method != "POST" {
        return Err(IngestError::NotFound(format!(
            "{} {}: POST is required (the Segment HTTP API takes POST only)",
            request.method, request.path
        )));
    }

    let secret = auth::open_write_key()?;
    let authorization = request.header("authorization");
    if let Some(header) = authorization {
        auth::check_header(&secret, header)?;
    }

    let (key, default, what) = match endpoint {
        Endpoint::Single(_) => (MAX_EVENT_BYTES, DEFAULT_MAX_EVENT_BYTES, "a call"),
        Endpoint::Batch => (MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_BYTES, "a batch"),
    };
    let max = limit(key, default)?;
    if request.body.len() > max {
        return Err(IngestError::TooLarge(format!(
            "the body is {} bytes; {what} may have at most {max} (config `{key}`)",
            request.body.len()
        )));
    }
    // A compressed body needs an inflater this plugin does not carry; the
    // host's HTTP layer is the place to decode Content-Encoding.
    if let Some(encoding) = request
        .header("content-encoding")
        .filter(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        return Err(IngestError::Malformed(format!(
            "bodies with Content-Encoding {encoding:?} are not accepted; send plain JSON"
        )));
    }
    let body = std::str::from_utf8(&request.body)
        .map_err(|e| IngestError::Malformed(format!("the body is not UTF-8 JSON: {e}")))?;

    let touchpoints = match endpoint {
        Endpoint::Single(call) => {
            let event: Event = serde_json::from_str(body).map_err(|e| {
                IngestError::Malformed(format!("the body is not a {} call: {e}", call.name()))
            })?;
            if authorization.is_none() {
                auth::check_body_key(
                    &secret,
                    event.write_key.as_ref().and_then(|k| k.non_empty()),
                )?;
            }
            vec![mapping::touchpoint(call, &event, body, None).map_err(IngestError::Malformed)?]
        }
        Endpoint::Batch => batch(body, authorization.is_some(), &secret)?,
    };
    Ok(Ingested {
        touchpoints,
        reply: Response::json(200, SUCCESS),
    })
}

fn batch(body: &str, authorized: bool, secret: &Secret) -> Result<Vec<Touchpoint>, IngestError> {
    let envelope: Batch = serde_json::from_str(body)
        .map_err(|e| IngestError::Malformed(format!("the body is not a batch: {e}")))?;
    if !authorized {
        auth::check_body_key(
            secret,
            envelope.write_key.as_ref().and_then(|k| k.non_empty()),
        )?;
    }
    let calls = envelope.batch.ok_or_else(|| {
        IngestError::Malformed("a batch body needs a `batch` array of calls".into())
    })?;
    let max_events = limit(MAX_BATCH_EVENTS, DEFAULT_MAX_BATCH_EVENTS)?;
    if calls.len() > max_events {
        return Err(IngestError::TooLarge(format!(
            "the batch has {} calls; at most {max_events} are accepted (config `{MAX_BATCH_EVENTS}`)",
            calls.len()
        )));
    }
    let max_event = limit(MAX_EVENT_BYTES, DEFAULT_MAX_EVENT_BYTES)?;
    let shared = envelope.context.as_ref();
    let mut touchpoints = Vec::with_capacity(calls.len());
    for (index, raw) in calls.iter().enumerate() {
        let raw = raw.get();
        if raw.len() > max_event {
            return Err(IngestError::TooLarge(format!(
                "batch[{index}] is {} bytes; a call may have at most {max_event} (config `{MAX_EVENT_BYTES}`)",
                raw.len()
            )));
        }
        let bad = |message: String| IngestError::Malformed(format!("batch[{index}]: {message}"));
        let event: Event =
            serde_json::from_str(raw).map_err(|e| bad(format!("not a call: {e}")))?;
        let call = match &event.kind {
            None => return Err(bad(format!("the call has no `type` ({CALL_TYPES})"))),
            Some(kind) => Call::parse(&kind.0)
                .ok_or_else(|| bad(format!("unknown type {:?} (expected {CALL_TYPES})", kind.0)))?,
        };
        touchpoints.push(mapping::touchpoint(call, &event, raw, shared).map_err(bad)?);
    }
    Ok(touchpoints)
}

/// A size limit from the configuration, or its default.
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_to_endpoints() {
        assert_eq!(route("/v1/track"), Some(Endpoint::Single(Call::Track)));
        assert_eq!(
            route("/v1/identify/"),
            Some(Endpoint::Single(Call::Identify))
        );
        assert_eq!(route("/v1/p"), Some(Endpoint::Single(Call::Page)));
        assert_eq!(route("/v1/batch"), Some(Endpoint::Batch));
        assert_eq!(route("/v1/import"), Some(Endpoint::Batch));
        assert_eq!(route("/v1/Track"), None);
        assert_eq!(route("/v2/track"), None);
        assert_eq!(route("/track"), None);
        assert_eq!(route("/"), None);
    }
}
