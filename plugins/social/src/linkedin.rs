//! LinkedIn Lead Gen Forms through the Lead Sync API, and LinkedIn webhooks.
//!
//! `poll` pages through `GET /rest/leadFormResponses?q=owner`; its cursor is
//! `v1:<since>:<start>:<high>`: the `submittedAt` lower bound of the sweep
//! under way, the offset of the next page in it, and the newest `submittedAt`
//! seen. When a sweep ends the next one starts at the newest lead seen, so
//! later polls ask only for what is new (the boundary lead comes again and
//! keeps its external id, so it is stored once).
//!
//! `GET /linkedin?challengeCode=<code>` answers LinkedIn's webhook
//! validation: `{"challengeCode": <code>, "challengeResponse": <hex of
//! HMAC-SHA256(code) under the client secret>}`, the MAC computed by the host
//! (the plugin never sees the secret).
//!
//! `POST /linkedin` takes signed webhook notifications: a `LEAD_ACTION`
//! notification is read in full from the same API (so it maps exactly as a
//! polled lead, with the same external id and time), and organization
//! social actions (LIKE, COMMENT, SHARE) become engagement touchpoints.

use crate::settings::*;
use crate::wire::{LeadFormResponse, LeadPage, LinkedInNotification, SocialAction, Text};
use leadhost_sdk::prelude::*;
use std::collections::HashMap;

/// The fields projected for a lead; `form:(...)` brings the questions, which
/// say which answer is the email, the name, the company.
pub const LEAD_FIELDS: &str = "owner,leadType,versionedLeadGenFormUrn,id,submittedAt,testLead,submitter,formResponse,leadMetadata,associatedEntity,form:(hiddenFields,name,id,content)";

/// Where a poll is: see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    /// The `submittedAt` lower bound of the sweep (0: from the beginning).
    pub since: i64,
    /// The offset of the next page in the sweep.
    pub start: u64,
    /// The newest `submittedAt` seen so far.
    pub high: i64,
}

impl Cursor {
    /// Reads a cursor this connector wrote.
    pub fn parse(text: &str) -> Option<Cursor> {
        let mut parts = text.strip_prefix("v1:")?.split(':');
        let cursor = Cursor {
            since: parts.next()?.parse().ok()?,
            start: parts.next()?.parse().ok()?,
            high: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(cursor)
    }

    /// The cursor as text.
    pub fn render(&self) -> String {
        format!("v1:{}:{}:{}", self.since, self.start, self.high)
    }
}

/// Why a LinkedIn call failed, before it is turned into the caller's error.
enum Failure {
    Unauthorized(String),
    RetryAfter(u32),
    Misconfigured(String),
    Internal(String),
}

impl Failure {
    fn poll(self) -> PollError {
        match self {
            Failure::Unauthorized(m) => PollError::Unauthorized(m),
            Failure::RetryAfter(s) => PollError::RetryAfter(s),
            Failure::Misconfigured(m) => PollError::Misconfigured(m),
            Failure::Internal(m) => PollError::Internal(m),
        }
    }

    /// In a webhook every failure to read the lead is a 500 so LinkedIn
    /// retries; a missing grant or token is the operator's to fix (503).
    fn ingest(self) -> IngestError {
        match self {
            Failure::Misconfigured(m) => IngestError::Misconfigured(m),
            Failure::Unauthorized(m) | Failure::Internal(m) => IngestError::Internal(m),
            Failure::RetryAfter(s) => {
                IngestError::Internal(format!("LinkedIn asked to wait {s} seconds"))
            }
        }
    }
}

/// `GET` a LinkedIn REST URL with the token and version headers.
fn get(url: &str) -> Result<Vec<u8>, Failure> {
    open_secret(LINKEDIN_TOKEN, "to read leads from LinkedIn").map_err(Failure::Misconfigured)?;
    let version = text(LINKEDIN_VERSION, DEFAULT_LINKEDIN_VERSION);
    let request = http::OutboundRequest::new("GET", url)
        .with_header(
            "Authorization",
            &format!("Bearer {{{{secret:{LINKEDIN_TOKEN}}}}}"),
        )
        .with_header("LinkedIn-Version", &version)
        .with_header("X-Restli-Protocol-Version", "2.0.0")
        .with_header("Accept", "application/json");
    let response = match http::send(request) {
        Ok(r) => r,
        Err(http::HttpError::Denied(m)) => {
            return Err(Failure::Misconfigured(format!(
                "the LinkedIn API host is not granted to this connector: {m}"
            )));
        }
        Err(http::HttpError::Failed(_)) => return Err(Failure::RetryAfter(30)),
        Err(e) => return Err(Failure::Internal(e.to_string())),
    };
    let excerpt = || String::from_utf8_lossy(&response.body[..response.body.len().min(300)]);
    match response.status {
        200..=299 => Ok(response.body),
        401 | 403 => Err(Failure::Unauthorized(format!(
            "LinkedIn refused the token ({}): {}",
            response.status,
            excerpt()
        ))),
        429 => Err(Failure::RetryAfter(
            response
                .header("retry-after")
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(60),
        )),
        500..=599 => Err(Failure::RetryAfter(30)),
        status => Err(Failure::Internal(format!(
            "LinkedIn answered {status}: {}",
            excerpt()
        ))),
    }
}

/// Pulls one page of leads after `cursor`.
pub fn poll(cursor: Option<&str>) -> Result<Polled, PollError> {
    let cursor = match cursor {
        None => Cursor::default(),
        Some(text) => Cursor::parse(text).ok_or_else(|| {
            PollError::Internal(format!("{text:?} is not a cursor of the social connector"))
        })?,
    };
    let base =
        base_url(LINKEDIN_BASE_URL, DEFAULT_LINKEDIN_BASE_URL).map_err(PollError::Misconfigured)?;
    let count = positive(PAGE_SIZE, DEFAULT_PAGE_SIZE).map_err(PollError::Misconfigured)?;
    let owner = owner().map_err(PollError::Misconfigured)?;
    let lead_type = text(LINKEDIN_LEAD_TYPE, DEFAULT_LEAD_TYPE);
    if !is_plain_id(&lead_type) {
        return Err(PollError::Misconfigured(format!(
            "config `{LINKEDIN_LEAD_TYPE}` must be a LinkedIn lead type such as SPONSORED, not {lead_type:?}"
        )));
    }
    let mut url = format!(
        "{base}/rest/leadFormResponses?q=owner&owner={owner}&leadType=(leadType:{lead_type})&limitedToTestLeads=false"
    );
    if cursor.since > 0 {
        url.push_str(&format!("&submittedAtTimeRange=(start:{})", cursor.since));
    }
    url.push_str(&format!(
        "&fields={LEAD_FIELDS}&start={}&count={count}",
        cursor.start
    ));

    let body = get(&url).map_err(Failure::poll)?;
    let page: LeadPage<'_> = serde_json::from_slice(&body).map_err(|e| {
        PollError::Internal(format!(
            "the leadFormResponses answer is not a page of leads: {e}"
        ))
    })?;
    let mut high = cursor.high;
    let mut touchpoints = Vec::with_capacity(page.elements.len());
    for lead in &page.elements {
        high = high.max(lead.submitted_at.unwrap_or(0));
        touchpoints.push(lead_touchpoint(lead));
    }
    let seen = cursor.start + page.elements.len() as u64;
    let more = !page.elements.is_empty()
        && match page.paging.as_ref().and_then(|p| p.total) {
            Some(total) => seen < total,
            None => page.elements.len() >= count,
        };
    let next = if more {
        Cursor {
            since: cursor.since,
            start: seen,
            high,
        }
    } else {
        // The sweep is done: the next one starts at the newest lead seen.
        Cursor {
            since: high.max(cursor.since),
            start: 0,
            high,
        }
    };
    Ok(Polled {
        touchpoints,
        next_cursor: Some(next.render()),
        more,
    })
}

/// The `owner` parameter, Rest.li 2.0 encoded.
fn owner() -> Result<String, String> {
    let id = |key: &str| {
        config::get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let (kind, value) = match (id(LINKEDIN_SPONSORED_ACCOUNT), id(LINKEDIN_ORGANIZATION)) {
        (Some(account), _) => ("sponsoredAccount", account),
        (None, Some(organization)) => ("organization", organization),
        (None, None) => {
            return Err(format!(
                "set config `{LINKEDIN_ORGANIZATION}` (or `{LINKEDIN_SPONSORED_ACCOUNT}`) to the id whose leads to sync"
            ));
        }
    };
    // Accept the bare id or the whole URN.
    let bare = value.rsplit(':').next().unwrap_or(&value);
    if !is_plain_id(bare) {
        return Err(format!("{value:?} is not a LinkedIn {kind} id"));
    }
    Ok(format!(
        "({kind}:{})",
        encode(&format!("urn:li:{kind}:{bare}"))
    ))
}

/// Maps one lead (form response).
pub fn lead_touchpoint(lead: &LeadFormResponse<'_>) -> Touchpoint {
    let mut identities = Identities {
        social_handle: lead
            .submitter
            .as_ref()
            .and_then(Text::non_empty)
            .map(|s| format!("linkedin:{s}")),
        ..Identities::default()
    };
    let mut traits = Traits::default();

    // What each question is, when the form came along.
    let questions: HashMap<&str, (Option<&str>, Option<&str>)> = lead
        .form
        .as_ref()
        .and_then(|f| f.content.as_ref())
        .map(|c| {
            c.questions
                .iter()
                .map(|q| {
                    (
                        q.question_id.0.as_ref(),
                        (
                            q.predefined_field.as_ref().and_then(Text::non_empty),
                            q.name.as_ref().and_then(Text::non_empty),
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();

    let mut consent = Vec::new();
    if let Some(response) = &lead.form_response {
        for answer in &response.answers {
            let Some(details) = &answer.answer_details else {
                continue;
            };
            let value = match (
                &details.text_question_answer,
                &details.multiple_choice_answer,
            ) {
                (Some(t), _) => match t.answer.as_ref().and_then(Text::non_empty) {
                    Some(a) => a.to_string(),
                    None => continue,
                },
                (None, Some(c)) => c
                    .options
                    .iter()
                    .map(|o| o.0.as_ref())
                    .collect::<Vec<_>>()
                    .join(","),
                (None, None) => continue,
            };
            let qid = answer.question_id.0.as_ref();
            let (field, name) = questions.get(qid).copied().unwrap_or((None, None));
            let slot = |slot: &mut Option<String>, value: &str| {
                if slot.is_none() {
                    *slot = Some(value.to_string());
                    true
                } else {
                    false
                }
            };
            let used = match field {
                Some("EMAIL" | "WORK_EMAIL") => slot(&mut identities.email, &value),
                Some("PHONE_NUMBER" | "WORK_PHONE_NUMBER") => slot(&mut identities.phone, &value),
                Some("FIRST_NAME") => slot(&mut traits.first_name, &value),
                Some("LAST_NAME") => slot(&mut traits.last_name, &value),
                Some("JOB_TITLE") => slot(&mut traits.job_title, &value),
                Some("COMPANY_NAME") => slot(&mut traits.company, &value),
                Some("INDUSTRY") => slot(&mut traits.industry, &value),
                Some("COUNTRY") => slot(&mut traits.country, &value),
                Some("COMPANY_SIZE") => match value.parse::<u32>() {
                    Ok(n) => {
                        traits.company_size = Some(n);
                        true
                    }
                    Err(_) => false,
                },
                // Without the form, an answer that is an address is the email.
                None if questions.is_empty() && looks_like_email(&value) => {
                    slot(&mut identities.email, &value)
                }
                _ => false,
            };
            if !used {
                let label = match (field, name) {
                    (Some(f), _) => f.to_ascii_lowercase(),
                    (None, Some(n)) => n.to_string(),
                    (None, None) => format!("question:{qid}"),
                };
                traits.other.push(Attribute::new(label, value));
            }
        }
        for c in &response.consent_responses {
            if let Some(id) = c.consent_id {
                consent.push(ConsentSignal {
                    purpose: format!("linkedin-consent:{id}"),
                    channel: None,
                    granted: c.accepted,
                });
            }
        }
    }
    identities.company_domain = identities
        .email
        .as_deref()
        .and_then(email_domain)
        .map(str::to_ascii_lowercase);

    let text = |t: &Option<Text<'_>>| t.as_ref().and_then(Text::non_empty).map(str::to_string);
    let lead_type = lead.lead_type.as_ref().and_then(Text::non_empty);
    let mut properties = Properties {
        content_id: text(&lead.versioned_lead_gen_form_urn),
        campaign: lead
            .lead_metadata
            .as_ref()
            .and_then(|m| m.sponsored_lead_metadata.as_ref())
            .and_then(|s| text(&s.campaign)),
        title: lead.form.as_ref().and_then(|f| text(&f.name)),
        source: Some("linkedin".into()),
        medium: Some(match lead_type {
            None | Some("SPONSORED") => Acquisition::Paid,
            Some(_) => Acquisition::Social,
        }),
        ..Properties::default()
    };
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            properties.other.push(Attribute::new(name, value));
        }
    };
    add("leadType", lead_type.map(str::to_string));
    add(
        "owner",
        lead.owner
            .as_ref()
            .and_then(|o| o.urn())
            .map(str::to_string),
    );
    if let Some(entity) = &lead.associated_entity {
        add("associatedCreative", text(&entity.associated_creative));
        add("associatedEvent", text(&entity.event));
    }
    if lead.test_lead == Some(true) {
        add("testLead", Some("true".into()));
    }
    if let Some(form) = &lead.form {
        for hidden in &form.hidden_fields {
            add(&format!("hidden:{}", hidden.name.0), text(&hidden.value));
        }
    }

    Touchpoint {
        external_id: format!("linkedin:{}", lead.id.0),
        occurred_at: lead.submitted_at,
        channel: Channel::Social,
        kind: TouchpointKind::SocialLeadForm,
        identities,
        traits,
        properties,
        consent,
    }
}

/// Checks `X-LI-Signature`: hex HMAC-SHA256 of `hmacsha256=` + the body under
/// the app's client secret, as LinkedIn's webhook guide specifies.
fn check_signature(request: &Request) -> Result<(), IngestError> {
    let secret = open_secret(LINKEDIN_CLIENT_SECRET, "to check X-LI-Signature")
        .map_err(IngestError::Misconfigured)?;
    let header = request.header("x-li-signature").ok_or_else(|| {
        IngestError::Unauthorized("no X-LI-Signature header: the request is not signed".into())
    })?;
    let signature = hex_decode(header)
        .ok_or_else(|| IngestError::Unauthorized("X-LI-Signature is not a hex digest".into()))?;
    let mut message = Vec::with_capacity(11 + request.body.len());
    message.extend_from_slice(b"hmacsha256=");
    message.extend_from_slice(&request.body);
    if secret.verify(Algorithm::HmacSha256, &message, &signature) {
        Ok(())
    } else {
        Err(IngestError::Unauthorized(
            "X-LI-Signature does not match the body under the stored client secret".into(),
        ))
    }
}

/// `GET /linkedin?challengeCode=<code>`: LinkedIn's webhook validation,
/// sent when the webhook is registered and again every few hours. The answer
/// proves this endpoint holds the app's client secret: `challengeResponse`
/// is the hex HMAC-SHA256 of the code under it.
pub fn challenge(request: &Request) -> Result<Ingested, IngestError> {
    let code = leadhost_sdk::query_pairs(&request.query)
        .find(|(name, _)| name == "challengeCode")
        .map(|(_, value)| value)
        .filter(|code| !code.is_empty())
        .ok_or_else(|| {
            IngestError::Malformed(
                "GET /linkedin is LinkedIn's webhook validation and needs a challengeCode".into(),
            )
        })?;
    let secret = open_secret(
        LINKEDIN_CLIENT_SECRET,
        "to answer LinkedIn's webhook validation",
    )
    .map_err(IngestError::Misconfigured)?;
    let mac = secret
        .sign(Algorithm::HmacSha256, code.as_bytes())
        .map_err(|e| match e {
            SecretError::NotFound(_) => IngestError::Misconfigured(format!(
                "no secret `{LINKEDIN_CLIENT_SECRET}` is stored for this connector; it is needed to answer LinkedIn's webhook validation"
            )),
            other => IngestError::Internal(format!(
                "the host could not compute the challenge response: {other}"
            )),
        })?;
    let response: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    let body = serde_json::json!({
        "challengeCode": code,
        "challengeResponse": response,
    });
    Ok(Ingested {
        touchpoints: Vec::new(),
        reply: Response::json(200, body.to_string()),
    })
}

/// `POST /linkedin`: a signed webhook notification.
pub fn notification(request: &Request) -> Result<Ingested, IngestError> {
    check_body_size(&request.body)?;
    check_signature(request)?;
    let body: LinkedInNotification<'_> = serde_json::from_slice(&request.body).map_err(|e| {
        IngestError::Malformed(format!(
            "the body is not a LinkedIn webhook notification: {e}"
        ))
    })?;
    let touchpoints = match body.kind.0.as_ref() {
        "LEAD_ACTION" => lead_notification(&body)?.into_iter().collect(),
        "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS" => {
            let mut out = Vec::with_capacity(body.notifications.len());
            for (i, action) in body.notifications.iter().enumerate() {
                if let Some(tp) = social_action(action)
                    .map_err(|m| IngestError::Malformed(format!("notifications[{i}]: {m}")))?
                {
                    out.push(tp);
                }
            }
            out
        }
        other => {
            log::info(&format!(
                "ignored a LinkedIn notification of type {other:?}"
            ));
            Vec::new()
        }
    };
    Ok(Ingested {
        touchpoints,
        reply: Response::new(200),
    })
}

/// A `LEAD_ACTION`: on `CREATED`, read the lead in full.
fn lead_notification(body: &LinkedInNotification<'_>) -> Result<Option<Touchpoint>, IngestError> {
    let urn = body
        .lead_gen_form_response
        .as_ref()
        .and_then(Text::non_empty)
        .ok_or_else(|| {
            IngestError::Malformed("a LEAD_ACTION notification without leadGenFormResponse".into())
        })?;
    let action = body.lead_action.as_ref().and_then(Text::non_empty);
    if action.is_some_and(|a| a != "CREATED") {
        log::info(&format!(
            "LinkedIn lead {urn}: {action:?} is not a new lead"
        ));
        return Ok(None);
    }
    let id = urn.rsplit(':').next().unwrap_or(urn);
    if !is_plain_id(id) {
        return Err(IngestError::Malformed(format!(
            "leadGenFormResponse {urn:?} does not end in a lead id"
        )));
    }
    let base = base_url(LINKEDIN_BASE_URL, DEFAULT_LINKEDIN_BASE_URL)
        .map_err(IngestError::Misconfigured)?;
    let url = format!("{base}/rest/leadFormResponses/{id}?fields={LEAD_FIELDS}");
    let data = get(&url).map_err(Failure::ingest).map_err(|e| match e {
        IngestError::Internal(m) => IngestError::Internal(format!("reading lead {id}: {m}")),
        other => other,
    })?;
    let lead: LeadFormResponse<'_> = serde_json::from_slice(&data).map_err(|e| {
        IngestError::Internal(format!("lead {id}: LinkedIn's answer is not a lead: {e}"))
    })?;
    let mut tp = lead_touchpoint(&lead);
    if tp.occurred_at.is_none() {
        tp.occurred_at = body.occurred_at;
    }
    Ok(Some(tp))
}

/// One organization social action; `None` for admin comments, edits and
/// deletions, which are not someone engaging.
pub fn social_action(action: &SocialAction<'_>) -> Result<Option<Touchpoint>, String> {
    let kind = action
        .action
        .as_ref()
        .and_then(Text::non_empty)
        .unwrap_or("");
    if !matches!(kind, "LIKE" | "COMMENT" | "SHARE" | "SHARE_MENTION") {
        return Ok(None);
    }
    let id = action
        .notification_id
        .non_empty()
        .ok_or_else(|| "a notification without notificationId".to_string())?;
    let text = |t: &Option<Text<'_>>| t.as_ref().and_then(Text::non_empty).map(str::to_string);
    let activity = action
        .decorated_generated_activity
        .as_ref()
        .and_then(|d| d.comment.as_ref().or(d.share.as_ref()));
    let actor = activity.and_then(|a| text(&a.owner));
    let mut properties = Properties {
        content_id: text(&action.source_post),
        source: Some("linkedin".into()),
        medium: Some(Acquisition::Social),
        ..Properties::default()
    };
    properties
        .other
        .push(Attribute::new("action", kind.to_ascii_lowercase()));
    for (name, value) in [
        ("organizationalEntity", text(&action.organizational_entity)),
        ("generatedActivity", text(&action.generated_activity)),
        ("text", activity.and_then(|a| text(&a.text))),
    ] {
        if let Some(value) = value {
            properties.other.push(Attribute::new(name, value));
        }
    }
    Ok(Some(Touchpoint {
        external_id: format!("linkedin:notification:{id}"),
        occurred_at: action.last_modified_at,
        channel: Channel::Social,
        kind: TouchpointKind::SocialEngagement,
        identities: Identities {
            social_handle: actor.map(|a| format!("linkedin:{a}")),
            ..Identities::default()
        },
        traits: Traits::default(),
        properties,
        consent: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_others() {
        let c = Cursor {
            since: 1_714_566_600_000,
            start: 200,
            high: 1_714_566_700_000,
        };
        assert_eq!(Cursor::parse(&c.render()), Some(c));
        assert_eq!(Cursor::parse("v1:1:2"), None);
        assert_eq!(Cursor::parse("v1:1:2:3:4"), None);
        assert_eq!(Cursor::parse("start:5"), None);
    }
}
