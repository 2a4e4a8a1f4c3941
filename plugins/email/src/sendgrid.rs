//! SendGrid's Event Webhook: a JSON array of events, signed with ECDSA
//! (P-256, SHA-256) over the `X-Twilio-Email-Event-Webhook-Timestamp` header
//! followed by the raw body; the signature is base64 DER in
//! `X-Twilio-Email-Event-Webhook-Signature`. The host checks it against the
//! public key SendGrid shows when the Signed Event Webhook is enabled.

use crate::ingest::{open_secret, utf8};
use crate::mapping::{self, MARKETING};
use crate::wire::{OneOrMany, Seconds, Text, json_text};
use base64::Engine;
use leadhost_sdk::prelude::*;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The secret holding the Signed Event Webhook's public key.
pub const VERIFICATION_KEY: &str = "sendgrid-verification-key";
/// The signature header (base64 of a DER ECDSA signature).
pub const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
/// The timestamp header; its bytes come first in the signed message.
pub const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";

/// Verifies, parses and maps one Event Webhook POST.
pub fn ingest(request: &Request) -> Result<Vec<Touchpoint>, IngestError> {
    verify(request)?;
    let body = utf8(&request.body)?;
    let events: Vec<&RawValue> = serde_json::from_str(body).map_err(|e| {
        IngestError::Malformed(format!("the body is not a SendGrid event array: {e}"))
    })?;
    let mut touchpoints = Vec::with_capacity(events.len());
    for (index, raw) in events.into_iter().enumerate() {
        let bad = |m: String| IngestError::Malformed(format!("events[{index}]: {m}"));
        let event: Event = serde_json::from_str(raw.get()).map_err(|e| bad(e.to_string()))?;
        touchpoints.push(touchpoint(event).map_err(bad)?);
    }
    Ok(touchpoints)
}

/// Checks the Signed Event Webhook signature of a request.
pub fn verify(request: &Request) -> Result<(), IngestError> {
    let secret = open_secret(VERIFICATION_KEY, "SendGrid verification key")?;
    let missing = |header: &str| {
        IngestError::Unauthorized(format!(
            "no {header} header: enable the Signed Event Webhook in SendGrid's Mail Settings"
        ))
    };
    let signature = request
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| missing("X-Twilio-Email-Event-Webhook-Signature"))?;
    let timestamp = request
        .header(TIMESTAMP_HEADER)
        .ok_or_else(|| missing("X-Twilio-Email-Event-Webhook-Timestamp"))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| {
            IngestError::Unauthorized(
                "the X-Twilio-Email-Event-Webhook-Signature header is not base64".into(),
            )
        })?;
    // The SDK verifies one message, so the timestamp and body are joined.
    let mut message = Vec::with_capacity(timestamp.len() + request.body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(&request.body);
    if secret.verify(Algorithm::EcdsaP256Sha256, &message, &signature) {
        Ok(())
    } else {
        Err(IngestError::Unauthorized(
            "the Event Webhook signature does not match the body and timestamp under the configured verification key".into(),
        ))
    }
}

/// One event, with the fields the connector reads; every other field is a
/// custom argument (SendGrid puts `custom_args` at the top level).
#[derive(Debug, Default)]
pub struct Event<'a> {
    pub email: Option<Text<'a>>,
    pub timestamp: Option<Seconds>,
    pub event: Option<Text<'a>>,
    pub sg_event_id: Option<Text<'a>>,
    pub sg_message_id: Option<Text<'a>>,
    pub url: Option<Text<'a>>,
    pub reason: Option<Text<'a>>,
    /// `type` of a bounce: `bounce` or `blocked`.
    pub bounce_type: Option<Text<'a>>,
    pub status: Option<Text<'a>>,
    pub bounce_classification: Option<Text<'a>>,
    pub response: Option<Text<'a>>,
    pub attempt: Option<Text<'a>>,
    pub category: OneOrMany<'a>,
    pub asm_group_id: Option<Text<'a>>,
    pub useragent: Option<Text<'a>>,
    pub ip: Option<Text<'a>>,
    pub machine_open: bool,
    pub marketing_campaign_name: Option<Text<'a>>,
    pub content_id: Option<Text<'a>>,
    /// Custom arguments, in the order sent, as text.
    pub custom: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// Fields SendGrid sends that say nothing about the person or the content.
const IGNORED: &[&str] = &[
    "smtp-id",
    "tls",
    "cert_err",
    "url_offset",
    "pool",
    "sg_content_type",
    "sg_template_id",
    "sg_template_name",
    "marketing_campaign_id",
    "marketing_campaign_version",
    "marketing_campaign_split_id",
    "newsletter",
    "send_at",
];

impl<'de: 'a, 'a> Deserialize<'de> for Event<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Event<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a SendGrid event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event<'de>, A::Error> {
                let mut e = Event::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    let slot = match key.as_str() {
                        "email" => &mut e.email,
                        "event" => &mut e.event,
                        "sg_event_id" => &mut e.sg_event_id,
                        "sg_message_id" => &mut e.sg_message_id,
                        "url" => &mut e.url,
                        "reason" => &mut e.reason,
                        "type" => &mut e.bounce_type,
                        "status" => &mut e.status,
                        "bounce_classification" => &mut e.bounce_classification,
                        "response" => &mut e.response,
                        "attempt" => &mut e.attempt,
                        "asm_group_id" => &mut e.asm_group_id,
                        "useragent" => &mut e.useragent,
                        "ip" => &mut e.ip,
                        "marketing_campaign_name" => &mut e.marketing_campaign_name,
                        "content_id" => &mut e.content_id,
                        "timestamp" => {
                            e.timestamp = Some(map.next_value()?);
                            continue;
                        }
                        "category" => {
                            e.category = map.next_value::<Option<OneOrMany>>()?.unwrap_or_default();
                            continue;
                        }
                        "sg_machine_open" => {
                            let value: Option<Text> = map.next_value()?;
                            e.machine_open = value.is_some_and(|v| v.as_str() == "true");
                            continue;
                        }
                        other if IGNORED.contains(&other) => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                        _ => {
                            let value: &'de RawValue = map.next_value()?;
                            if value.get() != "null" {
                                let text = json_text(value).map_err(de::Error::custom)?;
                                e.custom.push((key.0, text));
                            }
                            continue;
                        }
                    };
                    *slot = map.next_value::<Option<Text>>()?;
                }
                Ok(e)
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// The touchpoint of one event.
pub fn touchpoint(e: Event<'_>) -> Result<Touchpoint, String> {
    let name = e
        .event
        .as_ref()
        .and_then(Text::non_empty)
        .ok_or("the event has no `event` name")?;
    let occurred_at = e
        .timestamp
        .ok_or_else(|| format!("the {name} event has no `timestamp`"))?
        .0;
    let email = e.email.as_ref().and_then(Text::non_empty);
    let message_id = e.sg_message_id.as_ref().and_then(Text::non_empty);
    let url = e.url.as_ref().and_then(Text::non_empty);
    let group = e.asm_group_id.as_ref().and_then(Text::non_empty);

    let mut consent = Vec::new();
    let mut hard = None;
    let kind = match name {
        "delivered" => TouchpointKind::EmailDelivered,
        "open" => TouchpointKind::EmailOpened,
        "click" => TouchpointKind::EmailClicked,
        "bounce" => {
            // SendGrid's bounce `type`: `bounce` (hard) or `blocked`; both
            // end delivery to the address.
            let kind = e.bounce_type.as_ref().and_then(Text::non_empty);
            hard = Some(matches!(kind, None | Some("bounce" | "blocked")));
            TouchpointKind::EmailBounced
        }
        "dropped" => {
            hard = Some(true);
            TouchpointKind::EmailBounced
        }
        "spamreport" => TouchpointKind::EmailComplained,
        "unsubscribe" => {
            consent.push(mapping::email_consent(MARKETING.into(), false));
            TouchpointKind::Unsubscribed
        }
        "group_unsubscribe" | "group_resubscribe" => {
            let group = group.ok_or_else(|| format!("the {name} event has no `asm_group_id`"))?;
            let granted = name == "group_resubscribe";
            consent.push(mapping::email_consent(format!("group:{group}"), granted));
            if granted {
                mapping::custom("email-resubscribed")
            } else {
                TouchpointKind::Unsubscribed
            }
        }
        other => mapping::custom(&format!("email-{}", other.replace('_', "-"))),
    };

    let external_id = match e.sg_event_id.as_ref().and_then(Text::non_empty) {
        Some(id) => id.to_owned(),
        None => mapping::derived_id(
            "sendgrid",
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
    let p = &mut tp.properties;
    p.url = url.map(str::to_owned);
    p.content_id = e
        .content_id
        .as_ref()
        .and_then(Text::non_empty)
        .map(str::to_owned);
    let categories = e.category.0.iter().filter_map(Text::non_empty);
    p.campaign = e
        .marketing_campaign_name
        .as_ref()
        .and_then(Text::non_empty)
        .or_else(|| categories.clone().next())
        .map(str::to_owned);
    p.medium = Some(Acquisition::Email);

    let o = &mut p.other;
    o.push(Attribute::new("provider", "sendgrid"));
    o.push(Attribute::new("event", name));
    mapping::push(o, "message_id", message_id);
    mapping::push(o, "reason", e.reason.as_ref().map(Text::as_str));
    if let Some(hard) = hard {
        o.push(Attribute::new(
            "bounce_type",
            if name == "dropped" {
                "dropped"
            } else {
                e.bounce_type
                    .as_ref()
                    .and_then(Text::non_empty)
                    .unwrap_or("bounce")
            },
        ));
        o.push(Attribute::new(
            "severity",
            if hard { "permanent" } else { "temporary" },
        ));
    }
    mapping::push(o, "status", e.status.as_ref().map(Text::as_str));
    mapping::push(
        o,
        "bounce_classification",
        e.bounce_classification.as_ref().map(Text::as_str),
    );
    mapping::push(o, "response", e.response.as_ref().map(Text::as_str));
    mapping::push(o, "attempt", e.attempt.as_ref().map(Text::as_str));
    mapping::push(o, "user_agent", e.useragent.as_ref().map(Text::as_str));
    mapping::push(o, "ip", e.ip.as_ref().map(Text::as_str));
    if e.machine_open {
        o.push(Attribute::new("machine_open", "true"));
    }
    mapping::push(o, "asm_group_id", group);
    let categories: Vec<&str> = categories.collect();
    if !categories.is_empty() {
        o.push(Attribute::new("categories", categories.join(",")));
    }
    for (name, value) in &e.custom {
        o.push(Attribute::new(name.as_ref(), value.as_ref()));
    }
    Ok(tp)
}
