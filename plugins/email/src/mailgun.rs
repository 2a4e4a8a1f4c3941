//! Mailgun's webhooks: one JSON event per POST, `{"signature": {timestamp,
//! token, signature}, "event-data": {...}}`. The signature is the hex
//! HMAC-SHA256 of `timestamp` followed by `token` under the webhook signing
//! key, which the host holds.

use crate::ingest::{open_secret, utf8};
use crate::mapping::{self, MARKETING};
use crate::wire::{Seconds, Text, Variables};
use leadhost_sdk::prelude::*;
use serde::Deserialize;

/// The secret holding the HTTP webhook signing key.
pub const SIGNING_KEY: &str = "mailgun-signing-key";

/// The body of a webhook.
#[derive(Debug, Deserialize)]
pub struct Webhook<'a> {
    #[serde(borrow)]
    pub signature: Option<Signature<'a>>,
    #[serde(rename = "event-data", borrow)]
    pub event_data: Option<EventData<'a>>,
}

/// The signature block.
#[derive(Debug, Deserialize)]
pub struct Signature<'a> {
    #[serde(borrow)]
    pub timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    pub token: Option<Text<'a>>,
    #[serde(borrow)]
    pub signature: Option<Text<'a>>,
}

/// The event, with the fields the connector reads.
#[derive(Debug, Deserialize)]
pub struct EventData<'a> {
    #[serde(borrow)]
    pub event: Option<Text<'a>>,
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    pub timestamp: Option<Seconds>,
    #[serde(borrow)]
    pub recipient: Option<Text<'a>>,
    #[serde(borrow)]
    pub severity: Option<Text<'a>>,
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    #[serde(borrow)]
    pub url: Option<Text<'a>>,
    #[serde(borrow)]
    pub ip: Option<Text<'a>>,
    #[serde(borrow)]
    pub message: Option<MessageInfo<'a>>,
    #[serde(borrow, default)]
    pub tags: Option<Vec<Text<'a>>>,
    #[serde(rename = "user-variables", borrow, default)]
    pub user_variables: Option<Variables<'a>>,
    #[serde(rename = "delivery-status", borrow)]
    pub delivery_status: Option<DeliveryStatus<'a>>,
    #[serde(rename = "client-info", borrow)]
    pub client_info: Option<ClientInfo<'a>>,
}

/// `message`: only its headers matter here.
#[derive(Debug, Deserialize)]
pub struct MessageInfo<'a> {
    #[serde(borrow)]
    pub headers: Option<Headers<'a>>,
}

/// `message.headers`.
#[derive(Debug, Deserialize)]
pub struct Headers<'a> {
    #[serde(rename = "message-id", borrow)]
    pub message_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub subject: Option<Text<'a>>,
}

/// `delivery-status` of delivered and failed events.
#[derive(Debug, Deserialize)]
pub struct DeliveryStatus<'a> {
    #[serde(borrow)]
    pub code: Option<Text<'a>>,
    #[serde(rename = "enhanced-code", borrow)]
    pub enhanced_code: Option<Text<'a>>,
    #[serde(borrow)]
    pub message: Option<Text<'a>>,
    #[serde(borrow)]
    pub description: Option<Text<'a>>,
    #[serde(rename = "bounce-type", borrow)]
    pub bounce_type: Option<Text<'a>>,
}

/// `client-info` of opens, clicks and unsubscribes.
#[derive(Debug, Deserialize)]
pub struct ClientInfo<'a> {
    #[serde(rename = "user-agent", borrow)]
    pub user_agent: Option<Text<'a>>,
}

/// Verifies, parses and maps one webhook.
pub fn ingest(request: &Request) -> Result<Vec<Touchpoint>, IngestError> {
    let secret = open_secret(SIGNING_KEY, "Mailgun webhook signing key")?;
    let body = utf8(&request.body)?;
    let webhook: Webhook = serde_json::from_str(body)
        .map_err(|e| IngestError::Malformed(format!("the body is not a Mailgun webhook: {e}")))?;
    verify(&secret, webhook.signature.as_ref())?;
    let event = webhook
        .event_data
        .ok_or_else(|| IngestError::Malformed("the webhook has no `event-data`".into()))?;
    Ok(vec![touchpoint(&event).map_err(IngestError::Malformed)?])
}

/// Checks the signature block against the signing key.
pub fn verify(secret: &Secret, signature: Option<&Signature<'_>>) -> Result<(), IngestError> {
    let unauthorized = |m: &str| Err(IngestError::Unauthorized(m.into()));
    let Some(s) = signature else {
        return unauthorized("the webhook has no `signature` block");
    };
    let (Some(timestamp), Some(token), Some(hex)) = (
        s.timestamp.as_ref().and_then(Text::non_empty),
        s.token.as_ref().and_then(Text::non_empty),
        s.signature.as_ref().and_then(Text::non_empty),
    ) else {
        return unauthorized("the `signature` block needs `timestamp`, `token` and `signature`");
    };
    let Some(mac) = hex_decode(hex) else {
        return unauthorized("the `signature` is not hexadecimal");
    };
    let mut message = String::with_capacity(timestamp.len() + token.len());
    message.push_str(timestamp);
    message.push_str(token);
    if secret.verify(Algorithm::HmacSha256, message.as_bytes(), &mac) {
        Ok(())
    } else {
        unauthorized("the webhook signature does not match under the configured signing key")
    }
}

/// The touchpoint of one event.
pub fn touchpoint(e: &EventData<'_>) -> Result<Touchpoint, String> {
    let name = e
        .event
        .as_ref()
        .and_then(Text::non_empty)
        .ok_or("the event has no `event` name")?;
    let occurred_at = e
        .timestamp
        .ok_or_else(|| format!("the {name} event has no `timestamp`"))?
        .0;
    let email = e.recipient.as_ref().and_then(Text::non_empty);
    let headers = e.message.as_ref().and_then(|m| m.headers.as_ref());
    let message_id = headers
        .and_then(|h| h.message_id.as_ref())
        .and_then(Text::non_empty);
    let url = e.url.as_ref().and_then(Text::non_empty);
    let severity = e.severity.as_ref().and_then(Text::non_empty);

    let mut consent = Vec::new();
    let kind = match name {
        "delivered" => TouchpointKind::EmailDelivered,
        "opened" => TouchpointKind::EmailOpened,
        "clicked" => TouchpointKind::EmailClicked,
        "failed" if severity == Some("permanent") => TouchpointKind::EmailBounced,
        "failed" => mapping::custom("email-deferred"),
        "complained" => TouchpointKind::EmailComplained,
        "unsubscribed" => {
            consent.push(mapping::email_consent(MARKETING.into(), false));
            TouchpointKind::Unsubscribed
        }
        other => mapping::custom(&format!("email-{}", other.replace('_', "-"))),
    };

    let external_id = match e.id.as_ref().and_then(Text::non_empty) {
        Some(id) => id.to_owned(),
        None => mapping::derived_id(
            "mailgun",
            &[
                name,
                email.unwrap_or(""),
                &occurred_at.to_string(),
                message_id.unwrap_or(""),
                url.unwrap_or(""),
            ],
        ),
    };

    let mut tp = mapping::touchpoint(external_id, occurred_at, kind, email);
    tp.consent = consent;
    let variables = e
        .user_variables
        .as_ref()
        .map(|v| v.0.as_slice())
        .unwrap_or(&[]);
    let variable = |key: &str| {
        variables
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let tags: Vec<&str> = e
        .tags
        .iter()
        .flatten()
        .filter_map(Text::non_empty)
        .collect();
    let p = &mut tp.properties;
    p.url = url.map(str::to_owned);
    p.title = headers
        .and_then(|h| h.subject.as_ref())
        .and_then(Text::non_empty)
        .map(str::to_owned);
    p.content_id = variable("content_id").map(str::to_owned);
    p.campaign = variable("campaign")
        .or_else(|| tags.first().copied())
        .map(str::to_owned);
    p.medium = Some(Acquisition::Email);

    let status = e.delivery_status.as_ref();
    let o = &mut p.other;
    o.push(Attribute::new("provider", "mailgun"));
    o.push(Attribute::new("event", name));
    mapping::push(o, "message_id", message_id);
    mapping::push(o, "reason", e.reason.as_ref().map(Text::as_str));
    if name == "failed" {
        mapping::push(
            o,
            "bounce_type",
            status.and_then(|s| filled(&s.bounce_type)),
        );
        mapping::push(o, "severity", severity);
    }
    mapping::push(
        o,
        "status",
        status.and_then(|s| filled(&s.enhanced_code).or_else(|| filled(&s.code))),
    );
    mapping::push(
        o,
        "response",
        status.and_then(|s| filled(&s.description).or_else(|| filled(&s.message))),
    );
    mapping::push(
        o,
        "user_agent",
        e.client_info
            .as_ref()
            .and_then(|c| c.user_agent.as_ref())
            .map(Text::as_str),
    );
    mapping::push(o, "ip", e.ip.as_ref().map(Text::as_str));
    if !tags.is_empty() {
        o.push(Attribute::new("tags", tags.join(",")));
    }
    for (key, value) in variables {
        if key != "content_id" && key != "campaign" {
            o.push(Attribute::new(key.as_ref(), value.as_ref()));
        }
    }
    Ok(tp)
}

/// A field's text, trimmed, when present and not empty.
fn filled<'s>(field: &'s Option<Text<'_>>) -> Option<&'s str> {
    field.as_ref().and_then(Text::non_empty)
}

/// Decodes lower- or upper-case hex; `None` on an odd length or another character.
pub fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    let bytes = hex.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16);
    bytes
        .chunks(2)
        .map(|pair| Some((nibble(pair[0])? * 16 + nibble(pair[1])?) as u8))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes() {
        assert_eq!(hex_decode("00ffA0").unwrap(), [0, 255, 160]);
        assert_eq!(hex_decode("0"), None);
        assert_eq!(hex_decode(""), None);
        assert_eq!(hex_decode("zz"), None);
    }
}
