//! Delivery through SendGrid's v3 Mail Send API: `POST {base-url}/v3/mail/send`,
//! the API key filled in by the host from `{{secret:sendgrid-api-key}}`.
//! SendGrid answers `202 Accepted` with the request's message id in
//! `X-Message-Id`.
//!
//! A batch goes out in as few requests as SendGrid allows: messages with the
//! same subject, body and campaign share one Mail Send, each recipient its
//! own personalization (at most 1000 per request), so each keeps its own
//! address and custom arguments.
//!
//! SendGrid has no idempotency header, so each message's key goes out as the
//! custom argument `idempotency_key` of its personalization, which comes back
//! on every event of the message; a request of one message also carries it
//! as `Idempotency-Key` (harmless, and seen by proxies that honour it). With
//! the `state` capability a delivered key is remembered and never sent twice.

use std::collections::HashMap;

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
/// The most personalizations SendGrid takes in one Mail Send.
pub const MAX_PERSONALIZATIONS: usize = 1000;

/// The state key that remembers a delivered message.
pub fn state_key(idempotency_key: &str) -> String {
    format!("delivered:{idempotency_key}")
}

#[derive(Serialize)]
struct MailSend<'a> {
    personalizations: Vec<&'a Personalization<'a>>,
    from: &'a Address<'a>,
    #[serde(flatten)]
    shared: &'a Shared<'a>,
}

/// What the messages of one Mail Send have in common.
#[derive(Serialize, PartialEq, Eq, Hash)]
struct Shared<'a> {
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

#[derive(Serialize, PartialEq, Eq, Hash)]
struct Content<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

/// A message's place in the batch and its personalization.
type Member<'a> = (usize, Personalization<'a>);

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
    deliver_all(std::slice::from_ref(message))
        .pop()
        .unwrap_or_else(|| rejected(RejectionReason::Other, "no outcome"))
}

/// Sends `messages`, those with the same content in one Mail Send, and
/// answers one outcome per message, in order.
pub fn deliver_all(messages: &[Message]) -> Vec<Delivery> {
    let from_email = config::get(FROM_EMAIL);
    let Some(from_email) = from_email
        .as_deref()
        .map(str::trim)
        .filter(|e| is_address(e))
    else {
        let refusal = rejected(
            RejectionReason::Misconfigured,
            format!(
                "config `{FROM_EMAIL}` must be the sender address (a verified sender in SendGrid)"
            ),
        );
        return vec![refusal; messages.len()];
    };
    let from_name = config::get(FROM_NAME);
    if let Err(e) = Secret::open(API_KEY) {
        let refusal = rejected(
            RejectionReason::Misconfigured,
            format!(
                "{e}: store a SendGrid API key with Mail Send permission as the secret `{API_KEY}`"
            ),
        );
        return vec![refusal; messages.len()];
    }
    let from = Address {
        email: from_email,
        name: non_empty(from_name.as_deref()),
    };

    let mut out: Vec<Option<Delivery>> = vec![None; messages.len()];
    // Messages with the same content share a group, numbered as they came.
    let mut group_of: HashMap<Shared<'_>, usize> = HashMap::new();
    let mut members: Vec<Vec<Member<'_>>> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let (shared, personalization) = match checked(message) {
            Ok(parts) => parts,
            Err(refusal) => {
                out[i] = Some(refusal);
                continue;
            }
        };
        if let Some(done) = remembered(&message.idempotency_key) {
            out[i] = Some(done);
            continue;
        }
        let g = *group_of.entry(shared).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[g].push((i, personalization));
    }
    let mut groups: Vec<(Shared<'_>, usize)> = group_of.into_iter().collect();
    groups.sort_unstable_by_key(|(_, g)| *g);
    let base = config::get(BASE_URL).unwrap_or_else(|| DEFAULT_BASE_URL.into());
    let url = format!("{}/v3/mail/send", base.trim().trim_end_matches('/'));
    for (shared, g) in &groups {
        for part in members[*g].chunks(MAX_PERSONALIZATIONS) {
            let refs: Vec<&Member<'_>> = part.iter().collect();
            for (i, outcome) in send(&url, &from, shared, refs, true) {
                out[i] = Some(outcome);
            }
        }
    }
    out.into_iter()
        .map(|d| d.unwrap_or_else(|| rejected(RejectionReason::Other, "no outcome")))
        .collect()
}

/// A message's shared parts and personalization, or why it cannot go.
fn checked(message: &Message) -> Result<(Shared<'_>, Personalization<'_>), Delivery> {
    let Some(to) = non_empty(message.recipient.email.as_deref()).filter(|e| is_address(e)) else {
        return Err(rejected(
            RejectionReason::UnreachableRecipient,
            "the recipient has no usable email address",
        ));
    };
    let Some(subject) = non_empty(message.subject.as_deref()) else {
        return Err(rejected(
            RejectionReason::ContentRefused,
            "an email needs a subject; SendGrid refuses messages without one",
        ));
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
        return Err(rejected(
            RejectionReason::ContentRefused,
            "the message has neither text nor HTML",
        ));
    }
    Ok((
        Shared {
            subject,
            content,
            categories: non_empty(message.campaign.as_deref()).map(|c| [c]),
        },
        Personalization {
            to: [Address {
                email: to,
                name: non_empty(message.recipient_name.as_deref()),
            }],
            custom_args: CustomArgs {
                idempotency_key: &message.idempotency_key,
                content_id: non_empty(message.content_id.as_deref()),
            },
        },
    ))
}

/// What state remembers of an earlier delivery of `key`: its outcome, or a
/// wait when state cannot tell (sending without knowing could send twice).
fn remembered(key: &str) -> Option<Delivery> {
    match state::get(&state_key(key)) {
        Ok(Some(id)) => Some(Delivery::Accepted(
            String::from_utf8_lossy(&id).into_owned(),
        )),
        Ok(None) | Err(state::StateError::NotGranted) => None,
        Err(e) => {
            log::warn(&format!("state unavailable, delivery postponed: {e}"));
            Some(Delivery::RetryAfter(RETRY_SECONDS))
        }
    }
}

/// Sends one Mail Send to `members` and answers each one's outcome. When
/// SendGrid refuses only some personalizations, those are rejected and, if
/// `again`, the others are sent once more without them.
fn send(
    url: &str,
    from: &Address<'_>,
    shared: &Shared<'_>,
    members: Vec<&Member<'_>>,
    again: bool,
) -> Vec<(usize, Delivery)> {
    let every = |d: Delivery| members.iter().map(|(i, _)| (*i, d.clone())).collect();
    let body = MailSend {
        personalizations: members.iter().map(|(_, p)| p).collect(),
        from,
        shared,
    };
    let body = match serde_json::to_vec(&body) {
        Ok(body) => body,
        Err(e) => {
            return every(rejected(
                RejectionReason::Other,
                format!("could not encode the message: {e}"),
            ));
        }
    };
    let mut request = OutboundRequest::new("POST", url)
        .with_header("authorization", &format!("Bearer {{{{secret:{API_KEY}}}}}"))
        .with_header("content-type", "application/json");
    if let [(_, only)] = members.as_slice() {
        request = request.with_header("idempotency-key", only.custom_args.idempotency_key);
    }
    let response = match http::send(request.with_body(body)) {
        Ok(response) => response,
        Err(HttpError::Failed(m)) => {
            log::warn(&format!("SendGrid unreachable: {m}"));
            return every(Delivery::RetryAfter(RETRY_SECONDS));
        }
        Err(HttpError::Denied(m)) => {
            return every(rejected(
                RejectionReason::Misconfigured,
                format!("{m}: grant the connector the host of `{BASE_URL}` ({url})"),
            ));
        }
        Err(HttpError::Invalid(m)) => {
            return every(rejected(
                RejectionReason::Misconfigured,
                format!("{m} (check config `{BASE_URL}`)"),
            ));
        }
    };
    match response.status {
        200..=299 => members
            .iter()
            .map(|(i, p)| (*i, accepted(p.custom_args.idempotency_key, &response)))
            .collect(),
        429 => every(Delivery::RetryAfter(
            response
                .header("retry-after")
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(RATE_LIMIT_SECONDS),
        )),
        401 | 403 => every(rejected(
            RejectionReason::Misconfigured,
            format!(
                "SendGrid refused the API key ({}): {}",
                response.status,
                one_line(&errors(&response.body), &response.body)
            ),
        )),
        400..=499 => refused(url, from, shared, members, &response, again),
        _ => every(Delivery::RetryAfter(RETRY_SECONDS)),
    }
}

/// A 4xx refusal. SendGrid names the fields at fault, as
/// `personalizations.N.to...`: when every error names a personalization,
/// only those are refused (a bad `to` is the recipient's) and the rest are
/// sent again; otherwise the content is refused for all.
fn refused(
    url: &str,
    from: &Address<'_>,
    shared: &Shared<'_>,
    members: Vec<&Member<'_>>,
    response: &OutboundResponse,
    again: bool,
) -> Vec<(usize, Delivery)> {
    let errors = errors(&response.body);
    let detail = one_line(&errors, &response.body);
    let status = response.status;
    let named: Option<Vec<(usize, bool)>> = (!errors.is_empty())
        .then(|| {
            errors
                .iter()
                .map(|e| personalization_of(e.field.as_deref()?, members.len()))
                .collect()
        })
        .flatten();
    let Some(named) = named else {
        return members
            .iter()
            .map(|(i, _)| {
                let refusal = format!("SendGrid refused the message ({status}): {detail}");
                (*i, rejected(RejectionReason::ContentRefused, refusal))
            })
            .collect();
    };
    let mut out = Vec::with_capacity(members.len());
    let mut rest = Vec::new();
    for (n, member) in members.into_iter().enumerate() {
        let faults: Vec<&ApiError> = errors
            .iter()
            .zip(&named)
            .filter(|(_, (at, _))| *at == n)
            .map(|(e, _)| e)
            .collect();
        if faults.is_empty() {
            rest.push(member);
            continue;
        }
        let reason = if named.iter().any(|(at, to)| *at == n && *to) {
            RejectionReason::UnreachableRecipient
        } else {
            RejectionReason::ContentRefused
        };
        let words = faults
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        out.push((
            member.0,
            rejected(
                reason,
                format!("SendGrid refused the message ({status}): {words}"),
            ),
        ));
    }
    if !rest.is_empty() {
        if again {
            out.extend(send(url, from, shared, rest, false));
        } else {
            let refusal = format!("SendGrid refused the request again ({status}): {detail}");
            out.extend(rest.iter().map(|(i, _)| {
                (
                    *i,
                    rejected(RejectionReason::ContentRefused, refusal.clone()),
                )
            }));
        }
    }
    out
}

/// `personalizations.N…` as (N, whether it is about `to`), when N is one of
/// the `count` sent.
fn personalization_of(field: &str, count: usize) -> Option<(usize, bool)> {
    let rest = field.strip_prefix("personalizations.")?;
    let (n, after) = rest.split_once('.').unwrap_or((rest, ""));
    let n: usize = n.parse().ok().filter(|&n| n < count)?;
    Some((n, after.starts_with("to")))
}

/// An accepted message: SendGrid's message id (the key without one),
/// remembered when state is granted.
fn accepted(key: &str, response: &OutboundResponse) -> Delivery {
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

/// One error of SendGrid's `{"errors": [{"message", "field"}]}`.
struct ApiError {
    field: Option<String>,
    message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The errors as one line, or the start of the body when it has none.
fn one_line(errors: &[ApiError], body: &[u8]) -> String {
    if errors.is_empty() {
        return String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// SendGrid's `{"errors": [{"message", "field"}]}`; empty when the body is not that.
fn errors(body: &[u8]) -> Vec<ApiError> {
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
        Ok(parsed) => parsed
            .errors
            .iter()
            .map(|e| ApiError {
                field: e.field.as_ref().map(|f| f.as_str().to_owned()),
                message: e.message.as_ref().map_or("", |m| m.as_str()).to_owned(),
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}
