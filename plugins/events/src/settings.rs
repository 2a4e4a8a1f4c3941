//! The connector's configuration and secrets: names, defaults, and reading
//! them with clear errors for the operator.

use leadhost_sdk::prelude::*;

/// Config key: the Eventbrite API base URL (scheme and host, optionally a path prefix).
pub const API_BASE_URL: &str = "api-base-url";
/// Config key: the event invitations go to when a message names none.
pub const DEFAULT_EVENT_ID: &str = "default-event-id";
/// Config key: the largest request body accepted.
pub const MAX_BODY_BYTES: &str = "max-body-bytes";
/// Config key: the most data rows in one CSV upload.
pub const MAX_ROWS: &str = "max-rows";

/// Eventbrite's API host.
pub const DEFAULT_API_BASE_URL: &str = "https://www.eventbriteapi.com";
/// 5 MiB: about 25,000 scan rows of typical width.
pub const DEFAULT_MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// The default row limit of a CSV upload.
pub const DEFAULT_MAX_ROWS: usize = 10_000;

/// Secret: the token webhook senders and uploaders put in `?token=`.
pub const WEBHOOK_TOKEN: &str = "webhook-token";
/// Secret: the Eventbrite private token, sent as `Authorization: Bearer`.
pub const EVENTBRITE_TOKEN: &str = "eventbrite-token";

/// The `Authorization` header value; the host fills in the secret.
pub const BEARER: &str = "Bearer {{secret:eventbrite-token}}";

/// A positive size limit from the configuration, or its default.
pub fn limit(key: &str, default: usize) -> Result<usize, String> {
    match config::get(key) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                format!("config `{key}` must be a positive whole number, not {value:?}")
            }),
    }
}

/// The API base URL without a trailing slash.
pub fn api_base_url() -> Result<String, String> {
    let value = config::get(API_BASE_URL).unwrap_or_else(|| DEFAULT_API_BASE_URL.to_string());
    let value = value.trim().trim_end_matches('/');
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(value.to_string()),
        _ => Err(format!(
            "config `{API_BASE_URL}` must be an http:// or https:// URL, not {value:?}"
        )),
    }
}

/// Whether the Eventbrite token is stored; the plugin never reads it.
pub fn has_eventbrite_token() -> Result<(), String> {
    match Secret::open(EVENTBRITE_TOKEN) {
        Ok(_) => Ok(()),
        Err(SecretError::NotFound(_)) => Err(format!(
            "no Eventbrite token is configured: store the private token as the secret `{EVENTBRITE_TOKEN}`"
        )),
        Err(other) => Err(other.to_string()),
    }
}
