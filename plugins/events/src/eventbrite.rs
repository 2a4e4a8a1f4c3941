//! Eventbrite webhooks. A delivery says only which object changed
//! (`api_url`) and why (`config.action`); the connector fetches the attendee
//! or order from the API, with the scheme and host of `api_url` replaced by
//! the configured `api-base-url`, and maps what it finds.

use crate::settings::{self, BEARER};
use crate::wire::{Attendee, Order, Webhook, text};
use leadhost_sdk::email::company_domain;
use leadhost_sdk::parse_rfc3339;
use leadhost_sdk::prelude::*;

/// What an action asks the connector to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// A test delivery: answer 200, store nothing.
    Ping,
    /// A barcode was scanned in: the attendee attended.
    CheckedIn,
    /// An order or attendee changed: map by the attendee's status.
    Changed,
    /// An action about events, venues, organizers ...: nothing to store.
    Other,
}

fn action(name: &str) -> Action {
    match name {
        "ping" | "test" => Action::Ping,
        "barcode.checked_in" | "attendee.checked_in" => Action::CheckedIn,
        "order.placed" | "order.updated" | "order.refunded" | "attendee.updated" => Action::Changed,
        _ => Action::Other,
    }
}

/// Handles one delivery (already authorised).
pub fn ingest(body: &[u8]) -> Result<Ingested, IngestError> {
    let webhook: Webhook = serde_json::from_slice(body).map_err(|e| {
        IngestError::Malformed(format!("the body is not an Eventbrite webhook: {e}"))
    })?;
    let name = webhook
        .config
        .as_ref()
        .and_then(|c| text(&c.action))
        .ok_or_else(|| IngestError::Malformed("the webhook has no `config.action`".into()))?;
    match action(name) {
        Action::Ping => return Ok(reply(name, "ok", 0)),
        Action::Other => {
            log::info(&format!(
                "eventbrite action {name} carries no touchpoint; ignored"
            ));
            return Ok(reply(name, "ignored", 0));
        }
        Action::CheckedIn | Action::Changed => {}
    }
    let api_url = text(&webhook.api_url)
        .ok_or_else(|| IngestError::Malformed(format!("the {name} webhook has no `api_url`")))?;
    let path = api_path(api_url).map_err(IngestError::Malformed)?;
    let object = if path.contains("/attendees/") {
        Object::Attendee
    } else if path.starts_with("/v3/orders/") {
        Object::Order
    } else {
        return Err(IngestError::Malformed(format!(
            "the api_url {api_url:?} of the {name} webhook is neither an attendee nor an order"
        )));
    };

    let base = settings::api_base_url().map_err(IngestError::Misconfigured)?;
    settings::has_eventbrite_token().map_err(IngestError::Misconfigured)?;
    let mut url = format!("{base}{path}");
    if object == Object::Order && !path.contains("expand=") {
        url.push(if path.contains('?') { '&' } else { '?' });
        url.push_str("expand=attendees");
    }
    let fetched = fetch(&url)?;

    let touchpoints = match object {
        Object::Attendee => {
            let attendee: Attendee = serde_json::from_slice(&fetched).map_err(|e| {
                IngestError::Internal(format!("{url} did not answer an attendee: {e}"))
            })?;
            vec![from_attendee(name, &attendee)?]
        }
        Object::Order => {
            let order: Order = serde_json::from_slice(&fetched).map_err(|e| {
                IngestError::Internal(format!("{url} did not answer an order: {e}"))
            })?;
            from_order(name, &order)?
        }
    };
    let mut out = reply(name, "ok", touchpoints.len());
    out.touchpoints = touchpoints;
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Object {
    Attendee,
    Order,
}

fn reply(action: &str, status: &str, count: usize) -> Ingested {
    let body = serde_json::json!({ "status": status, "action": action, "touchpoints": count });
    Ingested {
        touchpoints: Vec::new(),
        reply: Response::json(200, body.to_string()),
    }
}

/// The path and query of an Eventbrite API URL; it must be under `/v3/`.
fn api_path(api_url: &str) -> Result<&str, String> {
    let rest = api_url
        .strip_prefix("https://")
        .or_else(|| api_url.strip_prefix("http://"))
        .ok_or_else(|| format!("api_url {api_url:?} is not an http(s) URL"))?;
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    // Only whole v3 paths: no `..` climbing out of them on the API host.
    if !path.starts_with("/v3/") || path.split(['/', '?']).any(|segment| segment == "..") {
        return Err(format!(
            "api_url {api_url:?} is not an Eventbrite API v3 URL"
        ));
    }
    Ok(path)
}

/// GETs an object; any failure is `Internal` (or `Misconfigured` when
/// Eventbrite refuses the token), so Eventbrite delivers again later.
fn fetch(url: &str) -> Result<Vec<u8>, IngestError> {
    let request = http::OutboundRequest::new("GET", url)
        .with_header("authorization", BEARER)
        .with_header("accept", "application/json");
    let response = http::send(request)
        .map_err(|e| IngestError::Internal(format!("fetching {url} failed: {e}")))?;
    match response.status {
        200..=299 => Ok(response.body),
        401 | 403 => Err(IngestError::Misconfigured(format!(
            "Eventbrite refused the token for {url} ({}); check the secret `{}`",
            response.status,
            settings::EVENTBRITE_TOKEN
        ))),
        status => Err(IngestError::Internal(format!(
            "fetching {url} answered {status}: {}",
            String::from_utf8_lossy(&response.body[..response.body.len().min(200)])
        ))),
    }
}

/// The kind of touchpoint an attendee's state means, for an action.
fn kind_of(action: &str, attendee: &Attendee) -> TouchpointKind {
    if matches!(action, "barcode.checked_in" | "attendee.checked_in") {
        return TouchpointKind::EventAttended;
    }
    let status = text(&attendee.status).unwrap_or("");
    if attendee.cancelled == Some(true)
        || attendee.refunded == Some(true)
        || status.eq_ignore_ascii_case("deleted")
        || action == "order.refunded"
    {
        TouchpointKind::Custom(CANCELLED.into())
    } else if attendee.checked_in == Some(true) || status.eq_ignore_ascii_case("checked in") {
        TouchpointKind::EventAttended
    } else if status.eq_ignore_ascii_case("not attending") {
        TouchpointKind::EventNoShow
    } else {
        TouchpointKind::EventRegistered
    }
}

/// The custom kind of a cancelled or refunded registration.
pub const CANCELLED: &str = "event-registration-cancelled";

/// One attendee to one touchpoint.
pub fn from_attendee(action: &str, a: &Attendee) -> Result<Touchpoint, IngestError> {
    let id = text(&a.id).ok_or_else(|| {
        IngestError::Internal("Eventbrite answered an attendee without `id`".into())
    })?;
    let changed = text(&a.changed).or(text(&a.created)).unwrap_or("-");
    let kind = kind_of(action, a);
    // A registration happened when the attendee was created; anything else
    // when the attendee last changed.
    let (first, second) = if kind == TouchpointKind::EventRegistered {
        (&a.created, &a.changed)
    } else {
        (&a.changed, &a.created)
    };
    let occurred_at = text(first)
        .and_then(parse_rfc3339)
        .or_else(|| text(second).and_then(parse_rfc3339));

    let mut tp = Touchpoint {
        external_id: format!("eventbrite:{id}:{action}:{changed}"),
        occurred_at,
        channel: Channel::Events,
        kind,
        ..Touchpoint::default()
    };
    if let Some(profile) = &a.profile {
        let email = text(&profile.email);
        tp.identities.email = email.map(str::to_owned);
        tp.identities.company_domain = email.and_then(company_domain);
        tp.identities.phone = text(&profile.cell_phone)
            .or(text(&profile.work_phone))
            .map(str::to_owned);
        let t = &mut tp.traits;
        t.first_name = text(&profile.first_name).map(str::to_owned);
        t.last_name = text(&profile.last_name).map(str::to_owned);
        if t.first_name.is_none() && t.last_name.is_none() {
            split_name(text(&profile.name), t);
        }
        t.company = text(&profile.company).map(str::to_owned);
        t.job_title = text(&profile.job_title).map(str::to_owned);
        t.country = profile.addresses.as_ref().and_then(|a| {
            [&a.work, &a.home, &a.bill]
                .into_iter()
                .find_map(|addr| addr.as_ref().and_then(|x| text(&x.country)))
                .map(str::to_ascii_uppercase)
        });
    }
    for answer in a.answers.iter().flatten() {
        if let (Some(q), Some(v)) = (text(&answer.question), text(&answer.answer)) {
            tp.traits.other.push(Attribute::new(q, v));
        }
    }

    let p = &mut tp.properties;
    p.content_id = text(&a.event_id).map(str::to_owned);
    p.title = text(&a.ticket_class_name).map(str::to_owned);
    p.source = Some("eventbrite".into());
    let mut attribute = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            p.other.push(Attribute::new(name, value));
        }
    };
    attribute("action", Some(action));
    attribute("attendee_id", Some(id));
    attribute("event_id", text(&a.event_id));
    attribute("order_id", text(&a.order_id));
    attribute("status", text(&a.status));
    let barcodes: Vec<&str> = a
        .barcodes
        .iter()
        .flatten()
        .filter_map(|b| text(&b.barcode))
        .collect();
    if !barcodes.is_empty() {
        attribute("barcode", Some(&barcodes.join(",")));
    }
    Ok(tp)
}

/// An order: one touchpoint per attendee, or one for the buyer when the
/// answer carries no attendees.
fn from_order(action: &str, order: &Order) -> Result<Vec<Touchpoint>, IngestError> {
    let id = text(&order.id)
        .ok_or_else(|| IngestError::Internal("Eventbrite answered an order without `id`".into()))?;
    let attendees = order.attendees.as_deref().unwrap_or(&[]);
    if !attendees.is_empty() {
        return attendees.iter().map(|a| from_attendee(action, a)).collect();
    }
    let changed = text(&order.changed).or(text(&order.created)).unwrap_or("-");
    let status = text(&order.status).unwrap_or("");
    let kind = if action == "order.refunded"
        || status.eq_ignore_ascii_case("refunded")
        || status.eq_ignore_ascii_case("deleted")
    {
        TouchpointKind::Custom(CANCELLED.into())
    } else {
        TouchpointKind::EventRegistered
    };
    let email = text(&order.email);
    let mut tp = Touchpoint {
        external_id: format!("eventbrite:order-{id}:{action}:{changed}"),
        occurred_at: text(&order.created)
            .and_then(parse_rfc3339)
            .or_else(|| text(&order.changed).and_then(parse_rfc3339)),
        channel: Channel::Events,
        kind,
        ..Touchpoint::default()
    };
    tp.identities.email = email.map(str::to_owned);
    tp.identities.company_domain = email.and_then(company_domain);
    tp.traits.first_name = text(&order.first_name).map(str::to_owned);
    tp.traits.last_name = text(&order.last_name).map(str::to_owned);
    if tp.traits.first_name.is_none() && tp.traits.last_name.is_none() {
        split_name(text(&order.name), &mut tp.traits);
    }
    tp.properties.content_id = text(&order.event_id).map(str::to_owned);
    tp.properties.source = Some("eventbrite".into());
    tp.properties.other.push(Attribute::new("action", action));
    tp.properties.other.push(Attribute::new("order_id", id));
    if let Some(event) = text(&order.event_id) {
        tp.properties.other.push(Attribute::new("event_id", event));
    }
    if !status.is_empty() {
        tp.properties.other.push(Attribute::new("status", status));
    }
    Ok(vec![tp])
}

/// "Jane Koski" -> first "Jane", last "Koski"; one word is a first name.
fn split_name(name: Option<&str>, traits: &mut Traits) {
    if let Some(name) = name {
        match name.rsplit_once(' ') {
            Some((first, last)) => {
                traits.first_name = Some(first.trim().to_owned());
                traits.last_name = Some(last.trim().to_owned());
            }
            None => traits.first_name = Some(name.to_owned()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_keep_path_and_query() {
        assert_eq!(
            api_path("https://www.eventbriteapi.com/v3/events/1/attendees/2/").unwrap(),
            "/v3/events/1/attendees/2/"
        );
        assert_eq!(
            api_path("https://www.eventbriteapi.com/v3/orders/9/?x=1").unwrap(),
            "/v3/orders/9/?x=1"
        );
        assert!(api_path("ftp://x/v3/").is_err());
        assert!(api_path("https://evil.example/admin").is_err());
        assert!(api_path("https://www.eventbriteapi.com").is_err());
        assert!(api_path("https://www.eventbriteapi.com/v3/../users/me/attendees/").is_err());
    }

    #[test]
    fn actions_classify() {
        assert_eq!(action("ping"), Action::Ping);
        assert_eq!(action("test"), Action::Ping);
        assert_eq!(action("barcode.checked_in"), Action::CheckedIn);
        assert_eq!(action("attendee.updated"), Action::Changed);
        assert_eq!(action("event.published"), Action::Other);
        assert_eq!(action("attendee.checked_out"), Action::Other);
    }

    #[test]
    fn names_split_on_the_last_space() {
        let mut t = Traits::default();
        split_name(Some("Anna Maria Virtanen"), &mut t);
        assert_eq!(t.first_name.as_deref(), Some("Anna Maria"));
        assert_eq!(t.last_name.as_deref(), Some("Virtanen"));
    }
}
