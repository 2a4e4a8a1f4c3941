//! One webhook request: route, check the size, hand it to its provider. The
//! whole request succeeds or fails; nothing of a bad batch is stored.

use crate::{DEFAULT_MAX_BODY_BYTES, MAX_BODY_BYTES, mailgun, sendgrid};
use leadhost_sdk::prelude::*;

/// The endpoints, after the connector's prefix.
const ENDPOINTS: &str =
    "POST /sendgrid (SendGrid Event Webhook) and POST /mailgun (Mailgun webhooks)";

/// The webhook providers this connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// SendGrid's Event Webhook.
    SendGrid,
    /// Mailgun's webhooks.
    Mailgun,
}

/// The provider of a path.
pub fn route(path: &str) -> Option<Provider> {
    match path.strip_suffix('/').unwrap_or(path) {
        "/sendgrid" => Some(Provider::SendGrid),
        "/mailgun" => Some(Provider::Mailgun),
        _ => None,
    }
}

/// Handles one request.
pub fn ingest(request: &Request) -> Result<Ingested, IngestError> {
    let provider = route(&request.path).ok_or_else(|| {
        IngestError::NotFound(format!(
            "no endpoint {:?} here; the email connector serves {ENDPOINTS}",
            request.path
        ))
    })?;
    if request.method != "POST" {
        return Err(IngestError::NotFound(format!(
            "{} {}: webhooks are POSTed",
            request.method, request.path
        )));
    }
    let max = max_body_bytes()?;
    if request.body.len() > max {
        return Err(IngestError::TooLarge(format!(
            "the body is {} bytes; at most {max} are accepted (config `{MAX_BODY_BYTES}`)",
            request.body.len()
        )));
    }
    let touchpoints = match provider {
        Provider::SendGrid => sendgrid::ingest(request)?,
        Provider::Mailgun => mailgun::ingest(request)?,
    };
    let reply = Response::json(200, format!(r#"{{"accepted":{}}}"#, touchpoints.len()));
    Ok(Ingested { touchpoints, reply })
}

/// The body as UTF-8 text.
pub fn utf8(body: &[u8]) -> Result<&str, IngestError> {
    std::str::from_utf8(body)
        .map_err(|e| IngestError::Malformed(format!("the body is not UTF-8 JSON: {e}")))
}

/// Opens a secret a path needs; a missing one means the operator has not
/// finished configuring that path.
pub fn open_secret(name: &str, what: &str) -> Result<Secret, IngestError> {
    Secret::open(name).map_err(|e| match e {
        SecretError::NotFound(_) => IngestError::Misconfigured(format!(
            "no {what} is configured for this connector: store it as the secret `{name}`"
        )),
        other => IngestError::Internal(other.to_string()),
    })
}

fn max_body_bytes() -> Result<usize, IngestError> {
    match config::get(MAX_BODY_BYTES) {
        None => Ok(DEFAULT_MAX_BODY_BYTES),
        Some(value) => value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                IngestError::Misconfigured(format!(
                    "config `{MAX_BODY_BYTES}` must be a positive whole number, not {value:?}"
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_to_providers() {
        assert_eq!(route("/sendgrid"), Some(Provider::SendGrid));
        assert_eq!(route("/sendgrid/"), Some(Provider::SendGrid));
        assert_eq!(route("/mailgun"), Some(Provider::Mailgun));
        assert_eq!(route("/"), None);
        assert_eq!(route("/SendGrid"), None);
        assert_eq!(route("/mailgun/x"), None);
    }
}
