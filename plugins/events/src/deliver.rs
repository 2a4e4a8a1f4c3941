//! Invitations: one `POST {api-base-url}/v3/events/{event_id}/invitations/`
//! per message, with the message's idempotency key; with state granted, a key
//! already delivered is answered from state without a second call.

use crate::settings::{self, BEARER, DEFAULT_EVENT_ID};
use crate::wire::{Created, text};
use leadhost_sdk::prelude::*;
use serde::Serialize;

/// The JSON body of an invitation.
#[derive(Debug, Serialize)]
struct Invitation<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<&'a str>,
}

fn rejected(reason: RejectionReason, message: impl Into<String>) -> Delivery {
    Delivery::Rejected(Rejection {
        reason,
        message: message.into(),
    })
}

/// Sends one invitation.
pub fn deliver(message: &Message) -> Delivery {
    let Some(email) = message
        .recipient
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| e.contains('@'))
    else {
        return rejected(
            RejectionReason::UnreachableRecipient,
            "the recipient has no email address to invite",
        );
    };
    let event_id = message
        .other
        .iter()
        .find(|a| a.name == "event_id")
        .map(|a| a.value.trim().to_owned())
        .filter(|v| !v.is_empty())
        .or_else(|| config::get(DEFAULT_EVENT_ID).filter(|v| !v.trim().is_empty()));
    let Some(event_id) = event_id else {
        return rejected(
            RejectionReason::Misconfigured,
            format!(
                "no event to invite to: give the message an `event_id` attribute or set config `{DEFAULT_EVENT_ID}`"
            ),
        );
    };
    if !event_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return rejected(
            RejectionReason::Misconfigured,
            format!("the event id {event_id:?} is not an Eventbrite id"),
        );
    }
    let base = match settings::api_base_url() {
        Ok(base) => base,
        Err(e) => return rejected(RejectionReason::Misconfigured, e),
    };
    if let Err(e) = settings::has_eventbrite_token() {
        return rejected(RejectionReason::Misconfigured, e);
    }

    let state_key = format!("delivered:{}", message.idempotency_key);
    if let Ok(Some(id)) = state::get(&state_key) {
        return Delivery::Accepted(String::from_utf8_lossy(&id).into_owned());
    }

    let body = Invitation {
        email,
        name: message.recipient_name.as_deref(),
        subject: message.subject.as_deref(),
        message: &message.text,
        html: message.html.as_deref(),
    };
    let body = match serde_json::to_vec(&body) {
        Ok(body) => body,
        Err(e) => return rejected(RejectionReason::Other, e.to_string()),
    };
    let url = format!("{base}/v3/events/{event_id}/invitations/");
    let request = http::OutboundRequest::new("POST", &url)
        .with_header("authorization", BEARER)
        .with_header("content-type", "application/json")
        .with_header("idempotency-key", &message.idempotency_key)
        .with_body(body);
    let response = match http::send(request) {
        Ok(response) => response,
        Err(http::HttpError::Failed(e)) => {
            log::warn(&format!("invitation to {url} failed: {e}"));
            return Delivery::RetryAfter(30);
        }
        Err(e) => return rejected(RejectionReason::Misconfigured, e.to_string()),
    };
    answer(&message.idempotency_key, &state_key, &response)
}

fn answer(key: &str, state_key: &str, response: &http::OutboundResponse) -> Delivery {
    let detail =
        || String::from_utf8_lossy(&response.body[..response.body.len().min(300)]).into_owned();
    match response.status {
        200..=299 => {
            let id = serde_json::from_slice::<Created>(&response.body)
                .ok()
                .and_then(|c| text(&c.id).map(str::to_owned))
                .unwrap_or_else(|| key.to_owned());
            if let Err(e) = state::set(state_key, id.as_bytes())
                && e != state::StateError::NotGranted
            {
                log::warn(&format!("could not remember delivery {key}: {e}"));
            }
            Delivery::Accepted(id)
        }
        429 => Delivery::RetryAfter(
            response
                .header("retry-after")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(60),
        ),
        500..=599 => Delivery::RetryAfter(30),
        401 | 403 => rejected(
            RejectionReason::Misconfigured,
            format!(
                "Eventbrite refused the token ({}); check the secret `{}`: {}",
                response.status,
                settings::EVENTBRITE_TOKEN,
                detail()
            ),
        ),
        404 => rejected(
            RejectionReason::Misconfigured,
            format!("Eventbrite knows no such event (404): {}", detail()),
        ),
        status => {
            let body = detail();
            let reason = if body.to_ascii_lowercase().contains("email") {
                RejectionReason::UnreachableRecipient
            } else {
                RejectionReason::ContentRefused
            };
            rejected(reason, format!("Eventbrite answered {status}: {body}"))
        }
    }
}
