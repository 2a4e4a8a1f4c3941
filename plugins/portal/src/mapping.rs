//! One portal event to one touchpoint. Pure: no host services are used, so
//! the same event always maps to the same touchpoint.

use crate::wire::{Account, CloudEvent, Data, Person, text};
use leadhost_sdk::parse_rfc3339;
use leadhost_sdk::prelude::*;

/// The event types of format version 1 and what they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `com.portal.user.login`.
    Login,
    /// `com.portal.document.downloaded`.
    DocumentDownloaded,
    /// `com.portal.equipment.registered`.
    EquipmentRegistered,
    /// `com.portal.service_request.opened`.
    ServiceRequestOpened,
    /// `com.portal.ticket.opened`.
    TicketOpened,
    /// `com.machine.usage.alert`.
    UsageAlert,
    /// Any other `com.portal.*` or `com.machine.*` type.
    Other,
}

/// The namespaces of the format, for error messages.
pub const NAMESPACES: &str = "`com.portal.*` or `com.machine.*`";

impl EventType {
    /// The meaning of a CloudEvents `type`; `None` outside the format's namespaces.
    pub fn parse(kind: &str) -> Option<EventType> {
        Some(match kind {
            "com.portal.user.login" => EventType::Login,
            "com.portal.document.downloaded" => EventType::DocumentDownloaded,
            "com.portal.equipment.registered" => EventType::EquipmentRegistered,
            "com.portal.service_request.opened" => EventType::ServiceRequestOpened,
            "com.portal.ticket.opened" => EventType::TicketOpened,
            "com.machine.usage.alert" => EventType::UsageAlert,
            other => {
                let namespaced = ["com.portal.", "com.machine."]
                    .iter()
                    .any(|ns| other.len() > ns.len() && other.starts_with(ns));
                return namespaced.then_some(EventType::Other);
            }
        })
    }
}

/// Maps one event. The error says what is wrong with it.
pub fn touchpoint(event: &CloudEvent) -> Result<Touchpoint, String> {
    match text(&event.specversion) {
        Some("1.0") => {}
        Some(other) => {
            return Err(format!(
                "`specversion` is {other:?}; this connector reads CloudEvents 1.0"
            ));
        }
        None => return Err("the event has no `specversion` (CloudEvents 1.0)".into()),
    }
    let id = required(&event.id, "id")?;
    let source = required(&event.source, "source")?;
    let kind = required(&event.kind, "type")?;
    let time = required(&event.time, "time")?;
    let occurred_at = parse_rfc3339(time)
        .ok_or_else(|| format!("`time` {time:?} is not an RFC 3339 timestamp"))?;
    if let Some(media) = text(&event.datacontenttype)
        && !is_json(media)
    {
        return Err(format!(
            "`datacontenttype` is {media:?}; portal events carry JSON `data`"
        ));
    }
    if event.data_base64.is_some() {
        return Err("`data_base64` is not accepted; portal events carry JSON `data`".into());
    }
    let event_type = EventType::parse(kind)
        .ok_or_else(|| format!("unknown type {kind:?}; portal events are {NAMESPACES}"))?;

    let data = match event.data {
        Some(raw) => serde_json::from_str::<Data>(raw.get())
            .map_err(|e| format!("`data` is not of the portal format: {e}"))?,
        None => Data::default(),
    };
    let data = &data;
    let mut tp = Touchpoint {
        external_id: format!("{source}#{id}"),
        occurred_at: Some(occurred_at),
        channel: Channel::Portal,
        kind: kind_of(event_type, kind),
        ..Touchpoint::default()
    };

    // A machine alert concerns the equipment's contact when the platform
    // knows one, and otherwise only the account: the portal user who happens
    // to be in `data.user` did not raise it.
    let person = match event_type {
        EventType::UsageAlert => data.contact.as_ref(),
        _ => data.user.as_ref(),
    };
    if let Some(person) = person {
        read_person(person, &mut tp);
    }
    if (person.is_some() || event_type != EventType::UsageAlert) && tp.identities.crm_id.is_none() {
        tp.identities.crm_id = owned(&data.crm_id);
    }
    if let Some(account) = &data.account {
        read_account(account, &mut tp);
    }
    if let Some(subject) = text(&event.subject) {
        attribute(&mut tp, "subject", subject);
    }

    match event_type {
        EventType::Login => {
            if person.is_none() {
                return Err("a login event needs `data.user`".into());
            }
        }
        EventType::DocumentDownloaded => download(data, &mut tp)?,
        EventType::EquipmentRegistered => equipment(data, &mut tp)?,
        EventType::ServiceRequestOpened | EventType::TicketOpened => {
            ticket(data, event_type, &mut tp)?;
        }
        EventType::UsageAlert => alert(data, &mut tp)?,
        EventType::Other => {}
    }
    Ok(tp)
}

fn kind_of(event_type: EventType, kind: &str) -> TouchpointKind {
    match event_type {
        EventType::Login => TouchpointKind::PortalLogin,
        EventType::DocumentDownloaded => TouchpointKind::Download,
        EventType::EquipmentRegistered => TouchpointKind::EquipmentRegistered,
        EventType::ServiceRequestOpened | EventType::TicketOpened => TouchpointKind::SupportTicket,
        EventType::UsageAlert => TouchpointKind::UsageAlert,
        EventType::Other => TouchpointKind::Custom(kind.to_owned()),
    }
}

fn download(data: &Data, tp: &mut Touchpoint) -> Result<(), String> {
    let document = data
        .document
        .as_ref()
        .ok_or("a download event needs `data.document`")?;
    let id = required(&document.id, "data.document.id")?;
    let p = &mut tp.properties;
    p.content_id = Some(id.to_owned());
    p.title = owned(&document.title);
    p.topic = owned(&document.product);
    p.url = owned(&document.url);
    let kind = text(&document.kind);
    p.content_stage = match text(&document.stage) {
        Some(stage) => Some(content_stage(stage).ok_or_else(|| {
            format!("`data.document.stage` {stage:?} is not connecting, educating or closing")
        })?),
        None => kind.and_then(stage_of_kind),
    };
    if let Some(kind) = kind {
        attribute(tp, "document_kind", kind);
    }
    Ok(())
}

/// The stage a kind of document belongs to, where the format fixes one:
/// manuals teach how to use and maintain what was bought.
fn stage_of_kind(kind: &str) -> Option<ContentStage> {
    kind.eq_ignore_ascii_case("manual")
        .then_some(ContentStage::Educating)
}

fn content_stage(stage: &str) -> Option<ContentStage> {
    Some(match stage.to_ascii_lowercase().as_str() {
        "connecting" => ContentStage::Connecting,
        "educating" => ContentStage::Educating,
        "closing" => ContentStage::Closing,
        _ => return None,
    })
}

fn equipment(data: &Data, tp: &mut Touchpoint) -> Result<(), String> {
    let equipment = data
        .equipment
        .as_ref()
        .ok_or("an equipment event needs `data.equipment`")?;
    let serial = required(&equipment.serial, "data.equipment.serial")?;
    tp.properties.topic = owned(&equipment.product_line);
    attribute(tp, "serial", serial);
    for (name, value) in [
        ("model", &equipment.model),
        ("product_line", &equipment.product_line),
        ("site", &equipment.site),
        ("commissioned_at", &equipment.commissioned_at),
    ] {
        if let Some(value) = text(value) {
            attribute(tp, name, value);
        }
    }
    Ok(())
}

fn ticket(data: &Data, event_type: EventType, tp: &mut Touchpoint) -> Result<(), String> {
    let ticket = data
        .ticket
        .as_ref()
        .ok_or("a ticket event needs `data.ticket`")?;
    let id = required(&ticket.id, "data.ticket.id")?;
    tp.properties.title = owned(&ticket.subject);
    attribute(tp, "ticket_id", id);
    let ticket_kind = match event_type {
        EventType::ServiceRequestOpened => "service_request",
        _ => "ticket",
    };
    attribute(tp, "ticket_kind", ticket_kind);
    for (name, value) in [
        ("priority", &ticket.priority),
        ("equipment_serial", &ticket.equipment_serial),
    ] {
        if let Some(value) = text(value) {
            attribute(tp, name, value);
        }
    }
    Ok(())
}

fn alert(data: &Data, tp: &mut Touchpoint) -> Result<(), String> {
    let alert = data
        .alert
        .as_ref()
        .ok_or("a usage alert needs `data.alert`")?;
    let code = required(&alert.code, "data.alert.code")?;
    tp.properties.content_id = Some(code.to_owned());
    attribute(tp, "alert_code", code);
    for (name, value) in [
        ("severity", &alert.severity),
        ("metric", &alert.metric),
        ("value", &alert.value),
        ("threshold", &alert.threshold),
        ("equipment_serial", &alert.equipment_serial),
    ] {
        if let Some(value) = text(value) {
            attribute(tp, name, value);
        }
    }
    Ok(())
}

fn read_person(person: &Person, tp: &mut Touchpoint) {
    let ids = &mut tp.identities;
    ids.user_id = owned(&person.id);
    ids.email = text(&person.email)
        .filter(|e| e.contains('@'))
        .map(str::to_ascii_lowercase);
    ids.phone = owned(&person.phone);
    ids.crm_id = owned(&person.crm_id);
    let t = &mut tp.traits;
    t.first_name = owned(&person.first_name);
    t.last_name = owned(&person.last_name);
    t.job_title = owned(&person.job_title);
    if t.first_name.is_none()
        && t.last_name.is_none()
        && let Some(name) = text(&person.name)
    {
        match name.split_once(char::is_whitespace) {
            Some((first, last)) => {
                t.first_name = Some(first.to_owned());
                t.last_name = Some(last.trim().to_owned());
            }
            None => t.first_name = Some(name.to_owned()),
        }
    }
}

fn read_account(account: &Account, tp: &mut Touchpoint) {
    tp.identities.account_id = owned(&account.id);
    tp.identities.company_domain = text(&account.domain).and_then(domain_of);
    tp.traits.company = owned(&account.name);
    tp.traits.industry = owned(&account.industry);
    tp.traits.country = text(&account.country).map(str::to_ascii_uppercase);
}

/// A domain as given, lower case, without scheme, path or `www.`.
fn domain_of(domain: &str) -> Option<String> {
    let s = domain.split_once("://").map_or(domain, |(_, rest)| rest);
    let host = s.split(['/', '?', '#', ':']).next().unwrap_or("");
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = match host.strip_prefix("www.") {
        Some(rest) => rest.to_owned(),
        None => host,
    };
    (host.contains('.') && !host.starts_with('.')).then_some(host)
}

/// Whether a media type declares JSON: `*/json` or `*/*+json` (CloudEvents
/// JSON format, 3.1.1), parameters ignored.
pub fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    let Some((_, subtype)) = essence.split_once('/') else {
        return false;
    };
    subtype.eq_ignore_ascii_case("json")
        || subtype
            .get(subtype.len().saturating_sub(5)..)
            .is_some_and(|s| s.eq_ignore_ascii_case("+json"))
}

fn required<'t>(value: &'t Option<crate::wire::Text>, name: &str) -> Result<&'t str, String> {
    text(value).ok_or_else(|| format!("the event has no `{name}`"))
}

fn owned(value: &Option<crate::wire::Text>) -> Option<String> {
    text(value).map(str::to_owned)
}

fn attribute(tp: &mut Touchpoint, name: &str, value: &str) {
    tp.properties.other.push(Attribute::new(name, value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_within_the_namespaces() {
        assert_eq!(
            EventType::parse("com.portal.user.login"),
            Some(EventType::Login)
        );
        assert_eq!(
            EventType::parse("com.machine.usage.alert"),
            Some(EventType::UsageAlert)
        );
        assert_eq!(
            EventType::parse("com.portal.quote.viewed"),
            Some(EventType::Other)
        );
        assert_eq!(EventType::parse("com.portal."), None);
        assert_eq!(EventType::parse("com.example.object.deleted"), None);
        assert_eq!(EventType::parse("COM.PORTAL.USER.LOGIN"), None);
    }

    #[test]
    fn json_media_types_are_recognised() {
        for yes in [
            "application/json",
            "application/json; charset=utf-8",
            "application/cloudevents+json",
            "Application/Vnd.Portal+JSON",
        ] {
            assert!(is_json(yes), "{yes}");
        }
        for no in ["text/plain", "application/xml", "json", "application/jsonx"] {
            assert!(!is_json(no), "{no}");
        }
    }

    #[test]
    fn domains_are_normalised() {
        assert_eq!(
            domain_of("https://www.Acme.example/x").as_deref(),
            Some("acme.example")
        );
        assert_eq!(domain_of("acme.example").as_deref(), Some("acme.example"));
        assert_eq!(domain_of("localhost"), None);
    }
}
