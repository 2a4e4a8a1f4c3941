//! Delivery through SendGrid's v3 Mail Send API: one `POST
//! {base-url}/v3/mail/send` per message, the API key filled in by the host
//! from `{{secret:sendgrid-api-key}}`. SendGrid answers `202 Accepted` with
//! the message id in `X-Message-Id`.
//!
//! SendGrid has no idempotency header, so the message's key goes out as
//! `Idempotency-Key` (harmless, and seen by proxies that honour it) and as
//! the custom argument `idempotency_key`, which comes back on every event of
//! the message. With the `state` capability a delivered key is remembered and
//! never sent twice.

use crate::mapping::is_address;
use crate::{BASE_URL, DEFAULT_BASE_URL, FROM_EMAIL, FROM_NAME};
use leadhost_sdk::http::{self, HttpError, OutboundRequest, OutboundResponse};
use leadhost_sdk::prelude::*;
use serde::Serialize;

/// The secret holding the SendGrid API key.
pub const API_KEY: &str = "sendgrid-api-key";
/// How long to wait after a 5xx or a failed connection.
pub const RETRY_SECONDS: u32 = 30;
/// How long to wait after a 429 without `Retry-After`.
pub const RATE_LIMIT_SECONDS: u32 = 60;

/// The state key that remembers a delivered message.
pub fn state_key(idempotency_key: &str) -> String {
    format!("delivered:{idempotency_key}")
}

#[derive(Serialize)]
struct MailSend<'a> {
    personalizations: [Personalization<'a>; 1],
    from: Address<'a>,
    subject: &'a str,
    content: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    categories: Option<[&'a str; 1]>,
}

#[derive(Serialize)]
struct Personalization<'a> {
    to: [Address<'a>; 1],
    custom_args: CustomArgs<'a>,
}

#[derive(Serialize)]
struct CustomArgs<'a> {
    idempotency_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_id: Option<&'a str>,
}

#[derive(Serialize)]
struct Address<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

fn rejected(reason: RejectionReason, message: impl Into<String>) -> Delivery {
    Delivery::Rejected(Rejection {
        reason,
        message: message.into(),
    })
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Sends one message.
pub fn deliver(message: &Message) -> Delivery {
    let key = message.idempotency_key.as_str();
    let Some(to) = non_empty(message.recipient.email.as_deref()).filter(|e| is_address(e)) else {
        return rejected(
            RejectionReason::UnreachableRecipient,
            "the recipient has no usable email address",
        );
    };
    let Some(subject) = non_empty(message.subject.as_deref()) else {
        return rejected(
            RejectionReason::ContentRefused,
            "an email needs a subject; SendGrid refuses messages without one",
        );
    };
    let mut content = Vec::with_capacity(2);
    if !message.text.trim().is_empty() {
        content.push(Content {
            kind: "text/plain",
            value: &message.text,
        });
    }
    if let Some(html) = non_empty(message.html.as_deref()) {
        content.push(Content {
            kind: "text/html",
            value: html,
        });
    }
    if content.is_empty() {
        return rejected(
            RejectionReason::ContentRefused,
            "the message has neither text nor HTML",
        );
    }
    let Some(from_email) = config::get(FROM_EMAIL).filter(|e| is_address(e.trim())) else {
        return rejected(
            RejectionReason::Misconfigured,
            format!(
                "config `{FROM_EMAIL}` must be the sender address (a verified sender in SendGrid)"
            ),
        );
    };
    let from_name = config::get(FROM_NAME);
    if let Err(e) = Secret::open(API_KEY) {
        return rejected(
            RejectionReason::Misconfigured,
            format!(
                "{e}: store a SendGrid API key with Mail Send permission as the secret `{API_KEY}`"
            ),
        );
    }

    let remembered = state_key(key);
    match state::get(&remembered) {
        Ok(Some(id)) => return Delivery::Accepted(String::from_utf8_lossy(&id).into_owned()),
        Ok(None) | Err(state::StateError::NotGranted) => {}
        // Sending without knowing whether it was sent could send twice.
        Err(e) => {
            log::warn(&format!("state unavailable, delivery postponed: {e}"));
            return Delivery::RetryAfter(RETRY_SECONDS);
        }
    }

    let body = MailSend {
        personalizations: [Personalization {
            to: [Address {
                email: to,
                name: non_empty(message.recipient_name.as_deref()),
            }],
            custom_args: CustomArgs {
                idempotency_key: key,
                content_id: non_empty(message.content_id.as_deref()),
            },
        }],
        from: Address {
            email: from_email.trim(),
            name: non_empty(from_name.as_deref()),
        },
        subject,
        content,
        categories: non_empty(message.campaign.as_deref()).map(|c| [c]),
    };
    let body = match serde_json::to_vec(&body) {
        Ok(body) => body,
        Err(e) => {
            return rejected(
                RejectionReason::Other,
                format!("could not encode the message: {e}"),
            );
        }
    };
    let base = config::get(BASE_URL).unwrap_or_else(|| DEFAULT_BASE_URL.into());
    let url = format!("{}/v3/mail/send", base.trim().trim_end_matches('/'));
    let request = OutboundRequest::new("POST", &url)
        .with_header("authorization", &format!("Bearer {{{{secret:{API_KEY}}}}}"))
        .with_header("content-type", "application/json")
        .with_header("idempotency-key", key)
        .with_body(body);

    match http::send(request) {
        Ok(response) => outcome(key, &response),
        Err(HttpError::Failed(m)) => {
            log::warn(&format!("SendGrid unreachable: {m}"));
            Delivery::RetryAfter(RETRY_SECONDS)
        }
        Err(HttpError::Denied(m)) => rejected(
            RejectionReason::Misconfigured,
            format!("{m}: grant the connector the host of `{BASE_URL}` ({url})"),
        ),
        Err(HttpError::Invalid(m)) => rejected(
            RejectionReason::Misconfigured,
            format!("{m} (check config `{BASE_URL}`)"),
        ),
    }
}

/// What SendGrid's answer means.
fn outcome(key: &str, response: &OutboundResponse) -> Delivery {
    match response.status {
        200..=299 => {
            let id = non_empty(response.header("x-message-id"))
                .map(str::to_owned)
                // Always sent with 202; without it the key is the best handle.
                .unwrap_or_else(|| key.to_owned());
            match state::set(&state_key(key), id.as_bytes()) {
                Ok(()) | Err(state::StateError::NotGranted) => {}
                Err(e) => log::warn(&format!("could not remember delivery {key}: {e}")),
            }
            Delivery::Accepted(id)
        }
        429 => Delivery::RetryAfter(
            response
                .header("retry-after")
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(RATE_LIMIT_SECONDS),
        ),
        401 | 403 => rejected(
            RejectionReason::Misconfigured,
            format!(
                "SendGrid refused the API key ({}): {}",
                response.status,
                errors(&response.body)
            ),
        ),
        400..=499 => {
            let detail = errors(&response.body);
            // SendGrid names the field at fault; a bad `to` is the recipient's.
            let reason = if detail.contains("personalizations.0.to") {
                RejectionReason::UnreachableRecipient
            } else {
                RejectionReason::ContentRefused
            };
            rejected(
                reason,
                format!(
                    "SendGrid refused the message ({}): {detail}",
                    response.status
                ),
            )
        }
        _ => Delivery::RetryAfter(RETRY_SECONDS),
    }
}

/// SendGrid's `{"errors": [{"message", "field"}]}` as one line.
fn errors(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors<'a> {
        #[serde(borrow, default)]
        errors: Vec<Error<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Error<'a> {
        #[serde(borrow)]
        message: Option<crate::wire::Text<'a>>,
        #[serde(borrow)]
        field: Option<crate::wire::Text<'a>>,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(parsed) if !parsed.errors.is_empty() => parsed
            .errors
            .iter()
            .map(|e| {
                let message = e.message.as_ref().map_or("", |m| m.as_str());
                match e.field.as_ref() {
                    Some(field) => format!("{}: {message}", field.as_str()),
                    None => message.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
    }
}
