//! The token guard. Eventbrite does not sign its webhooks, so the endpoint
//! URL carries a shared token (`?token=...`), which the host compares with
//! the secret `webhook-token` in constant time. CSV uploads use the same.

use crate::settings::WEBHOOK_TOKEN;
use leadhost_sdk::prelude::*;

/// Checks the request's `token` query parameter against the secret.
pub fn check(request: &Request) -> Result<(), IngestError> {
    let secret = Secret::open(WEBHOOK_TOKEN).map_err(|e| match e {
        SecretError::NotFound(_) => IngestError::Misconfigured(format!(
            "no webhook token is configured for this connector: store one as the secret `{WEBHOOK_TOKEN}` and add `?token=...` to the webhook URL"
        )),
        other => IngestError::Internal(other.to_string()),
    })?;
    match request.query_param("token").filter(|t| !t.is_empty()) {
        None => Err(IngestError::Unauthorized(
            "no token: add `?token=...` (the secret `webhook-token`) to the URL".into(),
        )),
        Some(token) if secret.matches(token.as_bytes()) => Ok(()),
        Some(_) => Err(IngestError::Unauthorized(
            "the `token` in the URL is not valid for this connector".into(),
        )),
    }
}
