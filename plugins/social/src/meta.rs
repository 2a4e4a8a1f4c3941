//! Meta (Facebook) Page webhooks: the verification handshake, signed
//! notifications, and for each `leadgen` change the lead's answers read from
//! the Graph API. `feed` changes become engagement touchpoints.
//!
//! A notification is taken as a whole: when one lead cannot be read, the
//! request answers 500 and nothing of it is stored, so Meta retries it.

use crate::settings::*;
use crate::wire::{GraphLead, MetaNotification, MetaValue, Text};
use leadhost_sdk::prelude::*;

/// The fields asked of the Graph API for a lead.
pub const LEAD_FIELDS: &str = "created_time,id,ad_id,adset_id,campaign_id,campaign_name,form_id,platform,is_organic,field_data";

/// `GET /meta?hub.mode=subscribe&hub.challenge=X&hub.verify_token=T`: echo
/// the challenge when the token is the stored Verify Token.
pub fn handshake(request: &Request) -> Result<Ingested, IngestError> {
    let secret = open_secret(META_VERIFY_TOKEN, "to answer Meta's verification request")
        .map_err(IngestError::Misconfigured)?;
    let mut mode = None;
    let mut challenge = None;
    let mut token = None;
    for (name, value) in leadhost_sdk::query_pairs(&request.query) {
        match name.as_str() {
            "hub.mode" => mode = Some(value),
            "hub.challenge" => challenge = Some(value),
            "hub.verify_token" => token = Some(value),
            _ => {}
        }
    }
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(IngestError::Unauthorized(
            "the verification request carries no hub.verify_token".into(),
        ));
    };
    if !secret.matches(token.as_bytes()) {
        return Err(IngestError::Unauthorized(
            "hub.verify_token is not the Verify Token stored for this connector".into(),
        ));
    }
    if mode.as_deref() != Some("subscribe") {
        return Err(IngestError::Malformed(format!(
            "hub.mode must be \"subscribe\", not {mode:?}"
        )));
    }
    let challenge = challenge.ok_or_else(|| {
        IngestError::Malformed("the verification request carries no hub.challenge".into())
    })?;
    Ok(Ingested {
        touchpoints: Vec::new(),
        reply: Response::text(200, challenge),
    })
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` over the raw body.
fn check_signature(request: &Request) -> Result<(), IngestError> {
    let secret = open_secret(META_APP_SECRET, "to check X-Hub-Signature-256")
        .map_err(IngestError::Misconfigured)?;
    let header = request.header("x-hub-signature-256").ok_or_else(|| {
        IngestError::Unauthorized("no X-Hub-Signature-256 header: the request is not signed".into())
    })?;
    let signature = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(hex_decode)
        .ok_or_else(|| {
            IngestError::Unauthorized(
                "X-Hub-Signature-256 is not of the form sha256=<hex digest>".into(),
            )
        })?;
    if secret.verify(Algorithm::HmacSha256, &request.body, &signature) {
        Ok(())
    } else {
        Err(IngestError::Unauthorized(
            "X-Hub-Signature-256 does not match the body under the stored app secret".into(),
        ))
    }
}

/// `POST /meta`: a signed Page notification.
pub fn notification(request: &Request) -> Result<Ingested, IngestError> {
    check_body_size(&request.body)?;
    check_signature(request)?;
    let body: MetaNotification<'_> = serde_json::from_slice(&request.body).map_err(|e| {
        IngestError::Malformed(format!("the body is not a Meta webhook notification: {e}"))
    })?;
    let reply = Response::text(200, "EVENT_RECEIVED");
    if body.object.0 != "page" {
        log::info(&format!(
            "ignored a Meta notification for object {:?}: only Page notifications are read",
            body.object.0
        ));
        return Ok(Ingested {
            touchpoints: Vec::new(),
            reply,
        });
    }

    let mut touchpoints = Vec::new();
    let mut graph: Option<Graph> = None;
    for (e, entry) in body.entry.iter().enumerate() {
        let page_id = entry.id.as_ref().and_then(Text::non_empty);
        for (c, change) in entry.changes.iter().enumerate() {
            let at = |m: String| format!("entry[{e}].changes[{c}]: {m}");
            match change.field.0.as_ref() {
                "leadgen" => {
                    let graph = match &mut graph {
                        Some(g) => g,
                        None => graph.insert(Graph::open()?),
                    };
                    let tp = lead(graph, &change.value).map_err(|err| err.map_message(at))?;
                    touchpoints.push(tp);
                }
                "feed" => {
                    if let Some(tp) = engagement(page_id, &change.value)
                        .map_err(|m| IngestError::Malformed(at(m)))?
                    {
                        touchpoints.push(tp);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(Ingested { touchpoints, reply })
}

/// Where and how leads are read.
struct Graph {
    base: String,
    version: String,
}

impl Graph {
    fn open() -> Result<Graph, IngestError> {
        open_secret(META_PAGE_TOKEN, "to read leads from the Graph API")
            .map_err(IngestError::Misconfigured)?;
        let base =
            base_url(GRAPH_BASE_URL, DEFAULT_GRAPH_BASE_URL).map_err(IngestError::Misconfigured)?;
        let version = text(GRAPH_VERSION, DEFAULT_GRAPH_VERSION);
        if !is_plain_id(&version) {
            return Err(IngestError::Misconfigured(format!(
                "config `{GRAPH_VERSION}` must look like v19.0, not {version:?}"
            )));
        }
        Ok(Graph { base, version })
    }

    /// `GET {base}/{version}/{leadgen_id}` with the Page token.
    fn fetch(&self, leadgen_id: &str) -> Result<Vec<u8>, String> {
        let url = format!(
            "{}/{}/{leadgen_id}?fields={LEAD_FIELDS}",
            self.base, self.version
        );
        let request = http::OutboundRequest::new("GET", &url)
            .with_header(
                "Authorization",
                &format!("Bearer {{{{secret:{META_PAGE_TOKEN}}}}}"),
            )
            .with_header("Accept", "application/json");
        let response =
            http::send(request).map_err(|e| format!("reading lead {leadgen_id}: {e}"))?;
        if !(200..300).contains(&response.status) {
            return Err(format!(
                "reading lead {leadgen_id}: the Graph API answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body[..response.body.len().min(300)])
            ));
        }
        Ok(response.body)
    }
}

/// The error kinds a lead can fail with, so the change index can be added.
trait WithMessage {
    fn map_message(self, f: impl FnOnce(String) -> String) -> Self;
}

impl WithMessage for IngestError {
    fn map_message(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            IngestError::Malformed(m) => IngestError::Malformed(f(m)),
            IngestError::Internal(m) => IngestError::Internal(f(m)),
            other => other,
        }
    }
}

/// One `leadgen` change: read the lead and map it.
fn lead(graph: &Graph, value: &MetaValue<'_>) -> Result<Touchpoint, IngestError> {
    let id = value
        .leadgen_id
        .as_ref()
        .and_then(Text::non_empty)
        .ok_or_else(|| IngestError::Malformed("a leadgen change without leadgen_id".into()))?;
    if !is_plain_id(id) {
        return Err(IngestError::Malformed(format!(
            "leadgen_id {id:?} is not a Meta id"
        )));
    }
    let body = graph.fetch(id).map_err(IngestError::Internal)?;
    let lead: GraphLead<'_> = serde_json::from_slice(&body).map_err(|e| {
        IngestError::Internal(format!(
            "lead {id}: the Graph API answer is not a lead: {e}"
        ))
    })?;
    Ok(lead_touchpoint(id, value, &lead))
}

/// Maps a lead read from the Graph API, with its webhook change.
pub fn lead_touchpoint(id: &str, change: &MetaValue<'_>, lead: &GraphLead<'_>) -> Touchpoint {
    let mut identities = Identities::default();
    let mut traits = Traits::default();
    for field in &lead.field_data {
        let name = field.name.0.as_ref();
        let mut values = field.values.iter().filter_map(Text::non_empty);
        let Some(first) = values.next() else { continue };
        let value = || {
            field
                .values
                .iter()
                .filter_map(Text::non_empty)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let slot = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = Some(first.to_string());
                true
            } else {
                false
            }
        };
        let used = match name {
            "email" | "work_email" => slot(&mut identities.email),
            "phone_number" | "work_phone_number" | "phone" => slot(&mut identities.phone),
            "first_name" => slot(&mut traits.first_name),
            "last_name" => slot(&mut traits.last_name),
            "full_name" => {
                let (first_name, last_name) = split_name(first);
                if traits.first_name.is_none() {
                    traits.first_name = first_name;
                }
                if traits.last_name.is_none() {
                    traits.last_name = last_name;
                }
                true
            }
            "job_title" => slot(&mut traits.job_title),
            "company_name" => slot(&mut traits.company),
            "industry" => slot(&mut traits.industry),
            "country" => slot(&mut traits.country),
            "company_size" | "number_of_employees" => match first.parse::<u32>() {
                Ok(n) if traits.company_size.is_none() => {
                    traits.company_size = Some(n);
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if !used {
            traits.other.push(Attribute::new(name, value()));
        }
    }
    identities.company_domain = identities
        .email
        .as_deref()
        .and_then(email_domain)
        .map(str::to_ascii_lowercase);

    let pick = |a: &Option<Text<'_>>, b: &Option<Text<'_>>| {
        a.as_ref()
            .and_then(Text::non_empty)
            .or_else(|| b.as_ref().and_then(Text::non_empty))
            .map(str::to_string)
    };
    let mut properties = Properties {
        content_id: pick(&lead.form_id, &change.form_id),
        campaign: pick(&lead.campaign_name, &lead.campaign_id),
        source: Some("facebook".into()),
        medium: Some(if lead.is_organic == Some(true) {
            Acquisition::Social
        } else {
            Acquisition::Paid
        }),
        ..Properties::default()
    };
    let none = None;
    for (name, value) in [
        ("ad_id", pick(&lead.ad_id, &change.ad_id)),
        ("adgroup_id", pick(&change.adgroup_id, &none)),
        ("adset_id", pick(&lead.adset_id, &none)),
        ("campaign_id", pick(&lead.campaign_id, &none)),
        ("form_id", pick(&lead.form_id, &change.form_id)),
        ("page_id", pick(&change.page_id, &none)),
        ("platform", pick(&lead.platform, &none)),
    ] {
        if let Some(value) = value {
            properties.other.push(Attribute::new(name, value));
        }
    }

    let occurred_at = lead
        .created_time
        .as_ref()
        .and_then(Text::non_empty)
        .and_then(leadhost_sdk::parse_rfc3339)
        .or_else(|| unix_time(change.created_time.as_ref()));
    Touchpoint {
        external_id: format!("meta:{id}"),
        occurred_at,
        channel: Channel::Social,
        kind: TouchpointKind::SocialLeadForm,
        identities,
        traits,
        properties,
        consent: Vec::new(),
    }
}

/// A Meta time: Unix seconds, or an ISO 8601 text.
fn unix_time(value: Option<&Text<'_>>) -> Option<i64> {
    let value = value?.non_empty()?;
    match value.parse::<i64>() {
        Ok(seconds) => seconds.checked_mul(1000),
        Err(_) => leadhost_sdk::parse_rfc3339(value),
    }
}

/// The feed items that are someone engaging with the Page's content.
const ENGAGEMENTS: &[&str] = &["like", "reaction", "comment", "share", "video"];

/// One `feed` change: a like, reaction, comment, share or video view by
/// someone other than the Page. `None` for the rest (the Page's own posts,
/// edits and removals).
pub fn engagement(
    page_id: Option<&str>,
    value: &MetaValue<'_>,
) -> Result<Option<Touchpoint>, String> {
    let item = value.item.as_ref().and_then(Text::non_empty).unwrap_or("");
    let verb = value.verb.as_ref().and_then(Text::non_empty).unwrap_or("");
    if !ENGAGEMENTS.contains(&item) || verb != "add" {
        return Ok(None);
    }
    let actor = value
        .from
        .as_ref()
        .and_then(|f| f.id.as_ref())
        .and_then(Text::non_empty)
        .ok_or_else(|| format!("a feed {item} without from.id"))?;
    if Some(actor) == page_id {
        return Ok(None);
    }
    fn id<'v>(t: &'v Option<Text<'_>>) -> Option<&'v str> {
        t.as_ref().and_then(Text::non_empty)
    }
    let post = id(&value.post_id);
    let object = match item {
        "comment" => id(&value.comment_id),
        "share" => id(&value.share_id),
        "video" => id(&value.video_id),
        _ => None,
    }
    .or(post)
    .ok_or_else(|| format!("a feed {item} without post_id"))?;

    let mut traits = Traits::default();
    if let Some(name) = value
        .from
        .as_ref()
        .and_then(|f| f.name.as_ref())
        .and_then(Text::non_empty)
    {
        (traits.first_name, traits.last_name) = split_name(name);
    }
    let mut properties = Properties {
        content_id: post.map(str::to_string),
        url: id(&value.link).map(str::to_string),
        source: Some("facebook".into()),
        medium: Some(Acquisition::Social),
        ..Properties::default()
    };
    properties.other.push(Attribute::new("action", item));
    for (name, v) in [
        ("reaction_type", &value.reaction_type),
        ("comment_id", &value.comment_id),
        ("share_id", &value.share_id),
        ("video_id", &value.video_id),
        ("parent_id", &value.parent_id),
        ("message", &value.message),
    ] {
        if let Some(v) = id(v) {
            properties.other.push(Attribute::new(name, v));
        }
    }
    if let Some(page) = page_id {
        properties.other.push(Attribute::new("page_id", page));
    }
    Ok(Some(Touchpoint {
        external_id: format!("facebook:{item}:{object}:{actor}"),
        occurred_at: unix_time(value.created_time.as_ref()),
        channel: Channel::Social,
        kind: TouchpointKind::SocialEngagement,
        identities: Identities {
            social_handle: Some(format!("facebook:{actor}")),
            ..Identities::default()
        },
        traits,
        properties,
        consent: Vec::new(),
    }))
}
