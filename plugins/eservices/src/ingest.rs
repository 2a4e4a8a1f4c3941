//! One Shopify webhook delivery: route, check the size, verify the
//! signature, map. The request succeeds or fails as a whole.

use crate::mapping::{self, Delivery, Settings};
use base64::Engine as _;
use leadhost_sdk::prelude::*;

/// Config key: the largest body accepted.
pub const MAX_BODY_BYTES: &str = "max-body-bytes";
/// Config key: the tag prefix (and note attribute) naming the account.
pub const ACCOUNT_TAG_PREFIX: &str = "account-tag-prefix";
/// Config key: the tag or line item property marking a spare part.
pub const SPARE_PARTS_TAG: &str = "spare-parts-tag";
/// The secret Shopify signs webhooks with.
pub const WEBHOOK_SECRET: &str = "webhook-secret";

/// 1 MiB: an order with hundreds of line items fits several times over.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The one endpoint, after the connector's prefix.
const ENDPOINT: &str = "/webhooks";

/// Handles one request.
pub fn ingest(request: &Request) -> Result<Ingested, IngestError> {
    let path = request.path.strip_suffix('/').unwrap_or(&request.path);
    if path != ENDPOINT {
        return Err(IngestError::NotFound(format!(
            "no endpoint {:?} here; the eservices connector serves POST {ENDPOINT}",
            request.path
        )));
    }
    if request.method != "POST" {
        return Err(IngestError::NotFound(format!(
            "{} {}: Shopify webhooks are POST requests",
            request.method, request.path
        )));
    }

    let secret = Secret::open(WEBHOOK_SECRET).map_err(|e| match e {
        SecretError::NotFound(_) => IngestError::Misconfigured(format!(
            "no webhook secret is configured: store the shop's webhook signing secret as the secret `{WEBHOOK_SECRET}`"
        )),
        other => IngestError::Internal(other.to_string()),
    })?;

    // Before the signature: a huge body is refused without hashing it.
    let max = max_body_bytes()?;
    if request.body.len() > max {
        return Err(IngestError::TooLarge(format!(
            "the body is {} bytes; at most {max} are accepted (config `{MAX_BODY_BYTES}`)",
            request.body.len()
        )));
    }

    verify(&secret, request)?;

    let topic = header(request, "x-shopify-topic").ok_or_else(|| {
        IngestError::Malformed("no X-Shopify-Topic header: which event is this?".into())
    })?;
    let body = std::str::from_utf8(&request.body)
        .map_err(|e| IngestError::Malformed(format!("the body is not UTF-8 JSON: {e}")))?;
    // Shopify sends topics in lower case; other senders may not.
    let topic = topic.to_ascii_lowercase();
    let delivery = Delivery {
        topic: &topic,
        webhook_id: header(request, "x-shopify-webhook-id"),
        shop: header(request, "x-shopify-shop-domain"),
        triggered_at: header(request, "x-shopify-triggered-at"),
    };
    let touchpoint =
        mapping::touchpoint(&delivery, body, &settings()).map_err(IngestError::Malformed)?;
    Ok(Ingested {
        touchpoints: vec![touchpoint],
        reply: Response::new(200),
    })
}

/// Checks `X-Shopify-Hmac-Sha256`: the base64 HMAC-SHA256 of the raw body
/// under the webhook secret, computed and compared by the host.
fn verify(secret: &Secret, request: &Request) -> Result<(), IngestError> {
    let signature = header(request, "x-shopify-hmac-sha256").ok_or_else(|| {
        IngestError::Unauthorized(
            "no X-Shopify-Hmac-Sha256 header: the webhook is not signed".into(),
        )
    })?;
    let mac = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| IngestError::Unauthorized("X-Shopify-Hmac-Sha256 is not base64".into()))?;
    if secret.verify(Algorithm::HmacSha256, &request.body, &mac) {
        Ok(())
    } else {
        Err(IngestError::Unauthorized(
            "X-Shopify-Hmac-Sha256 does not match the body under the webhook secret".into(),
        ))
    }
}

/// A header's trimmed value; `None` when it is missing or blank.
fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .header(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
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

fn settings() -> Settings {
    let mut settings = Settings::default();
    if let Some(prefix) = config::get(ACCOUNT_TAG_PREFIX) {
        settings.account_tag_prefix = prefix;
    }
    if let Some(tag) = config::get(SPARE_PARTS_TAG) {
        settings.spare_parts_tag = tag;
    }
    settings
}
