//! Nurturing messages as in-portal notifications:
//! `POST {base-url}/api/v1/notifications`, one call per message.

use leadhost_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// Config key: where the portal's API lives.
pub const BASE_URL: &str = "base-url";
/// A placeholder: operators set `base-url` to their own portal.
pub const DEFAULT_BASE_URL: &str = "https://portal.example.com";
/// The name of the secret that holds the portal API key.
pub const API_KEY: &str = "api-key";
/// The path of the notifications endpoint under `base-url`.
pub const NOTIFICATIONS_PATH: &str = "/api/v1/notifications";

/// Waited when the portal asks to slow down without saying how long.
const DEFAULT_RETRY_AFTER: u32 = 60;
/// Waited after a server error or a failed connection.
const SERVER_RETRY_AFTER: u32 = 30;

/// The JSON body of a notification.
#[derive(Debug, Serialize)]
struct Notification<'m> {
    recipient: Recipient<'m>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'m str>,
    body: &'m str,
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<&'m str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'m str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    campaign: Option<&'m str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_id: Option<&'m str>,
}

#[derive(Debug, Serialize)]
struct Recipient<'m> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'m str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'m str>,
}

/// What the portal answers to an accepted notification.
#[derive(Debug, Deserialize)]
struct Created<'a> {
    #[serde(borrow)]
    id: Option<crate::wire::Text<'a>>,
}

/// Sends one message.
pub fn deliver(message: &Message) -> Delivery {
    let recipient = Recipient {
        user_id: non_empty(&message.recipient.user_id),
        email: non_empty(&message.recipient.email).filter(|e| e.contains('@')),
    };
    if recipient.user_id.is_none() && recipient.email.is_none() {
        return rejected(
            RejectionReason::UnreachableRecipient,
            "the recipient has no portal user id and no email address".into(),
        );
    }
    if message.idempotency_key.is_empty() {
        return rejected(
            RejectionReason::Other,
            "the message has no idempotency key".into(),
        );
    }

    let state_key = format!("delivered:{}", message.idempotency_key);
    let remembered = match state::get(&state_key) {
        Ok(found) => found,
        Err(state::StateError::NotGranted) => None,
        Err(e) => {
            // The portal's Idempotency-Key still guards against a double send.
            log::warn(&format!("cannot read delivery state: {e}"));
            None
        }
    };
    if let Some(id) = remembered {
        return Delivery::Accepted(String::from_utf8_lossy(&id).into_owned());
    }

    let base = config::get(BASE_URL).unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let base = base.trim().trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return rejected(
            RejectionReason::Misconfigured,
            format!("config `{BASE_URL}` must be an http(s) URL, not {base:?}"),
        );
    }
    if let Err(e) = Secret::open(API_KEY) {
        return rejected(
            RejectionReason::Misconfigured,
            format!("{e}: store the portal API key as the secret `{API_KEY}` to deliver"),
        );
    }

    let notification = Notification {
        recipient,
        title: non_empty(&message.subject),
        body: &message.text,
        html: message.html.as_deref(),
        link: message
            .other
            .iter()
            .find(|a| a.name == "link")
            .map(|a| a.value.as_str()),
        campaign: message.campaign.as_deref(),
        content_id: message.content_id.as_deref(),
    };
    let body = match serde_json::to_vec(&notification) {
        Ok(body) => body,
        Err(e) => return rejected(RejectionReason::Other, format!("cannot encode: {e}")),
    };
    let request = http::OutboundRequest::new("POST", &format!("{base}{NOTIFICATIONS_PATH}"))
        .with_header("authorization", &format!("Bearer {{{{secret:{API_KEY}}}}}"))
        .with_header("idempotency-key", &message.idempotency_key)
        .with_header("content-type", "application/json")
        .with_header("accept", "application/json")
        .with_body(body);

    let response = match http::send(request) {
        Ok(response) => response,
        Err(http::HttpError::Failed(e)) => {
            log::warn(&format!("portal notification failed: {e}"));
            return Delivery::RetryAfter(SERVER_RETRY_AFTER);
        }
        Err(e @ http::HttpError::Denied(_)) => {
            return rejected(
                RejectionReason::Misconfigured,
                format!("{e}: the operator must grant the host of `{BASE_URL}` ({base})"),
            );
        }
        Err(e) => {
            return rejected(
                RejectionReason::Misconfigured,
                format!("{e}: check `{BASE_URL}` ({base})"),
            );
        }
    };
    let delivery = answer(&response, &message.idempotency_key);
    if let Delivery::Accepted(id) = &delivery {
        match state::set(&state_key, id.as_bytes()) {
            Ok(()) | Err(state::StateError::NotGranted) => {}
            Err(e) => log::warn(&format!("cannot remember the delivery: {e}")),
        }
    }
    delivery
}

/// What the portal's answer means.
fn answer(response: &http::OutboundResponse, idempotency_key: &str) -> Delivery {
    let status = response.status;
    match status {
        200..=299 => {
            let from_body = serde_json::from_slice::<Created>(&response.body)
                .ok()
                .and_then(|c| c.id)
                .and_then(|id| id.non_empty().map(str::to_owned));
            let id = from_body
                .or_else(|| {
                    response
                        .header("x-notification-id")
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| {
                    // Accepted without an id: the key is what the portal knows it by.
                    log::warn("the portal accepted a notification without an id");
                    idempotency_key.to_owned()
                });
            Delivery::Accepted(id)
        }
        429 => Delivery::RetryAfter(
            response
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(DEFAULT_RETRY_AFTER),
        ),
        500..=599 => Delivery::RetryAfter(SERVER_RETRY_AFTER),
        401 | 403 => rejected(
            RejectionReason::Misconfigured,
            format!(
                "the portal refused the API key ({status}): check the secret `{API_KEY}`{}",
                detail(&response.body)
            ),
        ),
        404 | 410 => rejected(
            RejectionReason::UnreachableRecipient,
            format!(
                "the portal does not know the recipient ({status}){}",
                detail(&response.body)
            ),
        ),
        _ => rejected(
            RejectionReason::ContentRefused,
            format!(
                "the portal refused the notification ({status}){}",
                detail(&response.body)
            ),
        ),
    }
}

/// The start of the portal's error body, for the operator.
fn detail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let cut = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
    format!(": {}", &text[..cut])
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn rejected(reason: RejectionReason, message: String) -> Delivery {
    Delivery::Rejected(Rejection { reason, message })
}
