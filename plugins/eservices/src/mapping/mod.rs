//! One webhook to one touchpoint. Pure: no host services are used, so the
//! same delivery always maps to the same touchpoint.

mod lines;

use crate::vocabulary::{self as vocab, Shape, When};
use crate::wire::{Address, Generic, NameValue, Resource, Tags, Text, text};
use leadhost_sdk::prelude::*;
use leadhost_sdk::{email, parse_rfc3339, query_pairs};
use lines::{LineSummary, line_attributes, line_key};

/// What the webhook's headers say about the delivery.
#[derive(Debug, Clone, Copy, Default)]
pub struct Delivery<'a> {
    /// `X-Shopify-Topic`, e.g. `orders/create`.
    pub topic: &'a str,
    /// `X-Shopify-Webhook-Id`: the same on every retry of one delivery.
    pub webhook_id: Option<&'a str>,
    /// `X-Shopify-Shop-Domain`.
    pub shop: Option<&'a str>,
    /// `X-Shopify-Triggered-At`.
    pub triggered_at: Option<&'a str>,
}

/// The operator's settings the mapping uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A customer or order tag starting with this names the account
    /// (`account:ACME-123`); without its trailing `:`/`=` it is also the
    /// note attribute that does.
    pub account_tag_prefix: String,
    /// The tag or line item property that marks a spare part.
    pub spare_parts_tag: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            account_tag_prefix: crate::DEFAULT_ACCOUNT_TAG_PREFIX.into(),
            spare_parts_tag: crate::DEFAULT_SPARE_PARTS_TAG.into(),
        }
    }
}

/// Maps one webhook body. The error says what is wrong with the payload.
pub fn touchpoint(
    delivery: &Delivery,
    body: &str,
    settings: &Settings,
) -> Result<Touchpoint, String> {
    let (kind, shape, when) = vocab::topic(delivery.topic);
    if !body.trim_start().starts_with('{') {
        return Err(format!(
            "the {} payload is not a JSON object",
            delivery.topic
        ));
    }
    if shape == Shape::Other {
        let generic: Generic = serde_json::from_str(body)
            .map_err(|e| format!("the {} payload is not JSON: {e}", delivery.topic))?;
        return Ok(other(delivery, kind, &generic, body));
    }
    let resource: Resource = serde_json::from_str(body).map_err(|e| {
        format!(
            "the {} payload is not a Shopify resource: {e}",
            delivery.topic
        )
    })?;
    let id = resource_id(shape, &resource).ok_or_else(|| {
        format!(
            "the {} payload has no {}",
            delivery.topic,
            match shape {
                Shape::Checkout => "`token` or `id`",
                Shape::Cart => "`id` or `token`",
                _ => "`id`",
            }
        )
    })?;
    if shape == Shape::Refund && text(&resource.order_id).is_none() {
        return Err(format!("the {} payload has no `order_id`", delivery.topic));
    }
    let occurred_at = occurred_at(when, &resource, delivery.triggered_at);
    let mut tp = Touchpoint {
        external_id: external_id(delivery, id, &resource),
        occurred_at,
        channel: Channel::Eservices,
        kind,
        ..Touchpoint::default()
    };
    if let Some(shop) = delivery.shop.map(str::trim).filter(|s| !s.is_empty()) {
        tp.properties.other.push(Attribute::new("shop", shop));
    }
    match shape {
        Shape::Customer => customer(&resource, id, settings, &mut tp),
        Shape::Refund => refund(&resource, id, &mut tp),
        _ => commerce(shape, &resource, id, settings, &mut tp),
    }
    Ok(tp)
}

/// The id that names the resource: what the fallback external id is built from.
fn resource_id<'x>(shape: Shape, r: &'x Resource) -> Option<&'x str> {
    match shape {
        Shape::Checkout => text(&r.token).or(text(&r.id)).or(text(&r.cart_token)),
        Shape::Cart => text(&r.id).or(text(&r.token)),
        _ => text(&r.id),
    }
}

/// `X-Shopify-Webhook-Id`, which Shopify keeps across retries. Without it,
/// the topic, the resource id and its last change: the same for the same
/// payload, different for a later change of the resource.
fn external_id(delivery: &Delivery, id: &str, r: &Resource) -> String {
    if let Some(webhook) = delivery.webhook_id.map(str::trim).filter(|w| !w.is_empty()) {
        return webhook.to_owned();
    }
    let version = text(&r.updated_at).or(text(&r.created_at)).unwrap_or("");
    format!("{}:{id}@{version}", delivery.topic)
}

fn occurred_at(when: When, r: &Resource, triggered_at: Option<&str>) -> Option<Timestamp> {
    let created = text(&r.created_at).or(text(&r.processed_at));
    let updated = text(&r.updated_at);
    let order: [Option<&str>; 3] = match when {
        When::Created => [created, updated, None],
        When::Updated => [updated, created, None],
        When::Cancelled => [text(&r.cancelled_at), updated, created],
    };
    order
        .into_iter()
        .flatten()
        .chain(triggered_at)
        .find_map(parse_rfc3339)
}

/// Orders, draft orders, checkouts and carts.
fn commerce(shape: Shape, r: &Resource, id: &str, settings: &Settings, tp: &mut Touchpoint) {
    let customer = r.customer.as_ref();
    let billing = r.billing_address.as_ref();
    let default_address = customer.and_then(|c| c.default_address.as_ref());

    let ids = &mut tp.identities;
    ids.email = text(&r.email)
        .or(text(&r.contact_email))
        .or(customer.and_then(|c| text(&c.email)))
        .map(str::to_owned);
    ids.phone = text(&r.phone)
        .or(customer.and_then(|c| text(&c.phone)))
        .map(str::to_owned);
    ids.user_id = customer
        .and_then(|c| text(&c.id))
        .map(|id| format!("shopify:{id}"));
    ids.anonymous_id = match shape {
        Shape::Cart => Some(text(&r.token).unwrap_or(id).to_owned()),
        _ => text(&r.cart_token).map(str::to_owned),
    };
    ids.company_domain = ids.email.as_deref().and_then(email::company_domain);
    ids.account_id = note_account(r.note_attributes.as_deref(), settings)
        .or_else(|| tag_account(r.tags.as_ref(), settings))
        .or_else(|| tag_account(customer.and_then(|c| c.tags.as_ref()), settings))
        .or_else(|| billing.and_then(|b| text(&b.company)).map(str::to_owned));

    let traits = &mut tp.traits;
    traits.first_name = customer
        .and_then(|c| text(&c.first_name))
        .or(billing.and_then(|b| text(&b.first_name)))
        .map(str::to_owned);
    traits.last_name = customer
        .and_then(|c| text(&c.last_name))
        .or(billing.and_then(|b| text(&b.last_name)))
        .map(str::to_owned);
    traits.company = billing
        .and_then(|b| text(&b.company))
        .or(default_address.and_then(|a| text(&a.company)))
        .map(str::to_owned);
    traits.country = country(billing).or_else(|| country(default_address));

    let p = &mut tp.properties;
    p.content_id = match shape {
        Shape::Cart => Some(id.to_owned()),
        _ => text(&r.name).or(Some(id)).map(str::to_owned),
    };
    p.currency = text(&r.currency)
        .or(text(&r.presentment_currency))
        .map(str::to_ascii_uppercase);
    let lines = r.line_items.as_deref().unwrap_or(&[]);
    p.amount = decimal(&r.total_price).or_else(|| {
        // A cart has no total; its lines have their line price.
        let mut sum = 0.0;
        for line in lines {
            sum += decimal(&line.line_price)?;
        }
        (!lines.is_empty()).then_some(sum)
    });
    acquisition(r, p);

    let id_name = match shape {
        Shape::Order => "order_id",
        Shape::DraftOrder => "draft_order_id",
        Shape::Checkout => "checkout_token",
        _ => "cart_token",
    };
    p.other.push(Attribute::new(id_name, id));
    line_attributes(lines, settings, &mut p.other);
    if let Some(count) = customer.and_then(|c| number(&c.orders_count)) {
        p.other.push(Attribute::new(
            "reorder",
            if count > 1 { "true" } else { "false" },
        ));
    }
    let codes: Vec<&str> = r
        .discount_codes
        .iter()
        .flatten()
        .filter_map(|d| text(&d.code))
        .collect();
    if !codes.is_empty() {
        p.other
            .push(Attribute::new("discount_codes", codes.join(",")));
    }
    for (name, field) in [
        ("financial_status", &r.financial_status),
        ("status", &r.status),
        ("cancel_reason", &r.cancel_reason),
    ] {
        if let Some(value) = text(field) {
            p.other.push(Attribute::new(name, value));
        }
    }
    if r.test == Some(true) {
        p.other.push(Attribute::new("test", "true"));
    }

    if r.buyer_accepts_marketing == Some(true) {
        marketing(&mut tp.consent, true);
    }
    if let Some(c) = customer {
        customer_consent(
            c.email_marketing_consent
                .as_ref()
                .and_then(|m| text(&m.state)),
            c.accepts_marketing,
            &mut tp.consent,
        );
    }
}

/// customers/create: the person, their company and their consent.
fn customer(r: &Resource, id: &str, settings: &Settings, tp: &mut Touchpoint) {
    let address = r.default_address.as_ref();
    let ids = &mut tp.identities;
    ids.email = text(&r.email).map(str::to_owned);
    ids.phone = text(&r.phone).map(str::to_owned);
    ids.user_id = Some(format!("shopify:{id}"));
    ids.company_domain = ids.email.as_deref().and_then(email::company_domain);
    ids.account_id = tag_account(r.tags.as_ref(), settings)
        .or_else(|| address.and_then(|a| text(&a.company)).map(str::to_owned));

    let traits = &mut tp.traits;
    traits.first_name = text(&r.first_name)
        .or(address.and_then(|a| text(&a.first_name)))
        .map(str::to_owned);
    traits.last_name = text(&r.last_name)
        .or(address.and_then(|a| text(&a.last_name)))
        .map(str::to_owned);
    traits.company = address.and_then(|a| text(&a.company)).map(str::to_owned);
    traits.country = country(address);
    let tags: Vec<&str> = r.tags.iter().flat_map(Tags::iter).collect();
    if !tags.is_empty() {
        traits.other.push(Attribute::new("tags", tags.join(",")));
    }
    if let Some(state) = text(&r.state) {
        traits.other.push(Attribute::new("state", state));
    }

    tp.properties.other.push(Attribute::new("customer_id", id));
    if let Some(count) = number(&r.orders_count) {
        tp.properties.other.push(Attribute::new(
            "reorder",
            if count > 1 { "true" } else { "false" },
        ));
    }
    customer_consent(
        r.email_marketing_consent
            .as_ref()
            .and_then(|m| text(&m.state)),
        r.accepts_marketing,
        &mut tp.consent,
    );
}

/// refunds/create: money back on an order, linked to it by `order_id`.
fn refund(r: &Resource, id: &str, tp: &mut Touchpoint) {
    let p = &mut tp.properties;
    let mut amount = None;
    for t in r.transactions.iter().flatten() {
        let is_refund = text(&t.kind).is_none_or(|k| k.eq_ignore_ascii_case("refund"));
        let settled = text(&t.status).is_none_or(|s| s.eq_ignore_ascii_case("success"));
        if let (true, true, Some(value)) = (is_refund, settled, decimal(&t.amount)) {
            amount = Some(amount.unwrap_or(0.0) + value);
            if p.currency.is_none() {
                p.currency = text(&t.currency).map(str::to_ascii_uppercase);
            }
        }
    }
    p.amount = amount;
    p.content_id = Some(id.to_owned());
    p.other.push(Attribute::new("refund_id", id));
    if let Some(order) = text(&r.order_id) {
        p.other.push(Attribute::new("order_id", order));
    }
    let refunded = r.refund_line_items.as_deref().unwrap_or(&[]);
    p.other
        .push(Attribute::new("items", refunded.len().to_string()));
    for line in refunded {
        if let Some(item) = &line.line_item {
            let key = line_key(item, None);
            let summary = LineSummary::of(item, line.quantity.as_ref(), false);
            p.other.push(Attribute::new(key, summary.json()));
        }
    }
}

/// A topic the connector does not know, kept as `custom(<topic>)`.
fn other(delivery: &Delivery, kind: TouchpointKind, g: &Generic, body: &str) -> Touchpoint {
    let id = g.id.non_empty();
    let external_id = match (
        delivery.webhook_id.map(str::trim).filter(|w| !w.is_empty()),
        id,
    ) {
        (Some(webhook), _) => webhook.to_owned(),
        (None, Some(id)) => format!(
            "{}:{id}@{}",
            delivery.topic,
            g.updated_at
                .non_empty()
                .or(g.created_at.non_empty())
                .unwrap_or("")
        ),
        // Nothing names the event: its bytes do, so a redelivery matches.
        (None, None) => format!("{}:h{:016x}", delivery.topic, fnv1a(body.as_bytes())),
    };
    let occurred_at = [g.updated_at.non_empty(), g.created_at.non_empty()]
        .into_iter()
        .flatten()
        .chain(delivery.triggered_at)
        .find_map(parse_rfc3339);
    let mut tp = Touchpoint {
        external_id,
        occurred_at,
        channel: Channel::Eservices,
        kind,
        ..Touchpoint::default()
    };
    tp.identities.email = g.email.non_empty().map(str::to_owned);
    tp.identities.company_domain = tp
        .identities
        .email
        .as_deref()
        .and_then(email::company_domain);
    tp.properties.content_id = g.name.non_empty().or(id).map(str::to_owned);
    if let Some(shop) = delivery.shop.map(str::trim).filter(|s| !s.is_empty()) {
        tp.properties.other.push(Attribute::new("shop", shop));
    }
    tp.properties
        .other
        .push(Attribute::new("topic", delivery.topic));
    if let Some(id) = id {
        tp.properties.other.push(Attribute::new("id", id));
    }
    tp
}

/// FNV-1a, 64 bits: a stable id for bytes that carry none.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The account named by a note attribute: the tag prefix without its
/// trailing `:` or `=` (`account`), or that with `_id` / `-id`.
fn note_account(attributes: Option<&[NameValue]>, settings: &Settings) -> Option<String> {
    let stem = settings
        .account_tag_prefix
        .trim()
        .trim_end_matches([':', '=']);
    if stem.is_empty() {
        return None;
    }
    attributes?.iter().find_map(|a| {
        let name = a.name.non_empty()?;
        let rest = name.get(..stem.len())?;
        let suffix = &name[stem.len()..];
        let named = rest.eq_ignore_ascii_case(stem)
            && (suffix.is_empty()
                || suffix.eq_ignore_ascii_case("_id")
                || suffix.eq_ignore_ascii_case("-id"));
        named
            .then(|| a.value.non_empty().map(str::to_owned))
            .flatten()
    })
}

/// The account named by a tag `<prefix><account>`, e.g. `account:ACME-123`.
fn tag_account(tags: Option<&Tags>, settings: &Settings) -> Option<String> {
    let prefix = settings.account_tag_prefix.trim();
    if prefix.is_empty() {
        return None;
    }
    tags?.iter().find_map(|tag| {
        let head = tag.get(..prefix.len())?;
        let account = tag[prefix.len()..].trim();
        (head.eq_ignore_ascii_case(prefix) && !account.is_empty()).then(|| account.to_owned())
    })
}

fn country(address: Option<&Address>) -> Option<String> {
    address
        .and_then(|a| text(&a.country_code))
        .map(str::to_ascii_uppercase)
}

/// A decimal string (`"398.00"`) or number as a finite float.
fn decimal(field: &Option<Text>) -> Option<f64> {
    text(field)?.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn number(field: &Option<Text>) -> Option<u64> {
    text(field)?.parse().ok()
}

/// utm parameters of the landing page; `source_name` when there is no
/// `utm_source`.
fn acquisition(r: &Resource, p: &mut Properties) {
    let landing = text(&r.landing_site);
    p.url = landing.map(str::to_owned);
    p.referrer = text(&r.referring_site).map(str::to_owned);
    if let Some(query) = landing.and_then(|l| l.split_once('?')).map(|(_, q)| q) {
        let query = query.split('#').next().unwrap_or(query);
        for (name, value) in query_pairs(query) {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match name.as_str() {
                "utm_source" if p.source.is_none() => p.source = Some(value.to_owned()),
                "utm_campaign" if p.campaign.is_none() => p.campaign = Some(value.to_owned()),
                "utm_medium" if p.medium.is_none() => match vocab::acquisition(value) {
                    Some(medium) => p.medium = Some(medium),
                    None => p.other.push(Attribute::new("utm_medium", value)),
                },
                _ => {}
            }
        }
    }
    if p.source.is_none() {
        p.source = text(&r.source_name).map(str::to_owned);
    }
}

fn marketing(consent: &mut Vec<ConsentSignal>, granted: bool) {
    consent.retain(|c| c.purpose != "marketing");
    consent.push(ConsentSignal {
        purpose: "marketing".into(),
        channel: Some(Channel::Email),
        granted,
    });
}

/// A customer's email marketing state: `subscribed` gives consent,
/// `unsubscribed` withdraws it; other states say nothing. The legacy
/// `accepts_marketing` flag counts when there is no state.
fn customer_consent(state: Option<&str>, accepts: Option<bool>, consent: &mut Vec<ConsentSignal>) {
    match state.map(str::to_ascii_lowercase).as_deref() {
        Some("subscribed") => marketing(consent, true),
        Some("unsubscribed") => marketing(consent, false),
        Some(_) => {}
        None => {
            if accepts == Some(true) {
                marketing(consent, true);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accounts_come_from_note_attributes_and_tags() {
        let s = Settings::default();
        let notes: Vec<NameValue> = serde_json::from_str(
            r#"[{"name":"po","value":"1"},{"name":"Account_ID","value":"ACME-9"}]"#,
        )
        .unwrap();
        assert_eq!(note_account(Some(&notes), &s), Some("ACME-9".into()));
        let tags: Tags = serde_json::from_str(r#""vip, Account:ACME-123""#).unwrap();
        assert_eq!(tag_account(Some(&tags), &s), Some("ACME-123".into()));
        let tags: Tags = serde_json::from_str(r#""account:""#).unwrap();
        assert_eq!(tag_account(Some(&tags), &s), None);
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
