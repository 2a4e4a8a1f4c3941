//! Facts about the call: its properties, page context and campaign.

use super::{Call, Contexts, email, fill, push_other, text_cow, text_owned};
use crate::vocabulary as vocab;
use crate::wire::{Event, Obj, Scalar, Text};
use leadhost_sdk::prelude::*;
use leadhost_sdk::query_pairs;
use std::borrow::Cow;

/// Reads a properties object into the touchpoint's properties.
pub(super) fn read_properties(properties: &Obj, tp: &mut Touchpoint, search: &mut Option<String>) {
    const AMOUNT_KEYS: [&str; 3] = ["revenue", "total", "value"];
    // Segment's order of preference: revenue, then total, then value.
    let mut amounts: [Option<(f64, Scalar)>; 3] = [None, None, None];
    for (key, raw) in &properties.0 {
        let key = key.0.as_ref();
        let value = Scalar::of(raw);
        let p = &mut tp.properties;
        let taken = match key {
            "url" => fill(&mut p.url, value.clone().text()),
            "title" => fill(&mut p.title, value.clone().text()),
            "referrer" => fill(&mut p.referrer, value.clone().text()),
            "content_id" | "asset_id" | "video_id" | "product_id" => {
                p.content_id.is_none() && fill(&mut p.content_id, value.clone().text())
            }
            "topic" | "category" => p.topic.is_none() && fill(&mut p.topic, value.clone().text()),
            "content_stage" | "stage" => {
                match value.clone().text().and_then(|s| vocab::content_stage(&s)) {
                    Some(stage) if p.content_stage.is_none() => {
                        p.content_stage = Some(stage);
                        true
                    }
                    _ => false,
                }
            }
            "currency" => {
                p.currency.is_none()
                    && fill(
                        &mut p.currency,
                        value
                            .clone()
                            .text()
                            .map(|c| Cow::Owned(c.trim().to_ascii_uppercase())),
                    )
            }
            "email" => {
                let e = email(&value);
                tp.identities.email.is_none() && fill(&mut tp.identities.email, e)
            }
            "phone" => {
                tp.identities.phone.is_none()
                    && fill(&mut tp.identities.phone, value.clone().text())
            }
            "revenue" | "total" | "value" => {
                let rank = AMOUNT_KEYS.iter().position(|k| *k == key).unwrap_or(2);
                match value.number() {
                    Some(n) if amounts[rank].is_none() => {
                        amounts[rank] = Some((n, value));
                        continue;
                    }
                    _ => false,
                }
            }
            "search" => {
                if search.is_none() {
                    *search = value.clone().text().map(Cow::into_owned);
                }
                false
            }
            _ => false,
        };
        if !taken {
            push_other(&mut tp.properties.other, key, value, false);
        }
    }
    let mut chosen = false;
    for (key, amount) in AMOUNT_KEYS.iter().zip(amounts) {
        let Some((n, value)) = amount else { continue };
        if chosen {
            push_other(&mut tp.properties.other, key, value, false);
        } else {
            tp.properties.amount = Some(n);
            chosen = true;
        }
    }
}

/// What the call says about itself beyond its properties: page context,
/// page or screen name, event name.
pub(super) fn describe_call(call: Call, event: &Event, context: &Contexts, tp: &mut Touchpoint) {
    let p = &mut tp.properties;
    if let Some(page) = context.get(|c| c.page.as_ref()) {
        fill(&mut p.url, page.url.as_ref().and_then(text_cow));
        fill(&mut p.referrer, page.referrer.as_ref().and_then(text_cow));
        fill(&mut p.title, page.title.as_ref().and_then(text_cow));
    }
    match call {
        Call::Page | Call::Screen => {
            if let Some(name) = event.name.as_ref().and_then(Text::non_empty) {
                if p.title.is_none() {
                    p.title = Some(name.to_owned());
                } else if !p.other.iter().any(|a| a.name == "name") {
                    p.other.push(Attribute::new("name", name));
                }
            }
        }
        // The kind says the rest; keep the exact event name for scoring rules.
        Call::Track if !matches!(tp.kind, TouchpointKind::Custom(_)) => {
            if let Some(name) = event.event.as_ref().and_then(Text::non_empty) {
                p.other.push(Attribute::new("event", name));
            }
        }
        _ => {}
    }
}

/// Campaign, source and medium: `context.campaign`, and for what it lacks
/// the `utm_*` parameters of the page URL or its query string.
pub(super) fn campaign(context: &Contexts, search: Option<&str>, tp: &mut Touchpoint) {
    let given = context.get(|c| c.campaign.as_ref());
    let mut name = given.and_then(|c| c.name.as_ref()).and_then(text_owned);
    let mut source = given.and_then(|c| c.source.as_ref()).and_then(text_owned);
    let mut medium = given.and_then(|c| c.medium.as_ref()).and_then(text_owned);
    let mut term = given.and_then(|c| c.term.as_ref()).and_then(text_owned);
    let mut content = given.and_then(|c| c.content.as_ref()).and_then(text_owned);

    if name.is_none() || source.is_none() || medium.is_none() {
        let page_search = context.get(|c| c.page.as_ref()?.search.as_ref());
        let query = [
            tp.properties.url.as_deref().and_then(query_of),
            page_search.map(|s| s.0.trim_start_matches('?')),
            search.map(|s| s.trim_start_matches('?')),
        ]
        .into_iter()
        .flatten()
        .find(|q| q.contains("utm_"));
        if let Some(query) = query {
            for (key, value) in query_pairs(query) {
                let slot = match key.as_str() {
                    "utm_campaign" => &mut name,
                    "utm_source" => &mut source,
                    "utm_medium" => &mut medium,
                    "utm_term" => &mut term,
                    "utm_content" => &mut content,
                    _ => continue,
                };
                if slot.is_none() && !value.trim().is_empty() {
                    *slot = Some(value);
                }
            }
        }
    }

    let p = &mut tp.properties;
    p.campaign = name;
    p.source = source;
    if let Some(medium) = medium {
        p.medium = vocab::acquisition(&medium);
        if p.medium.is_none() {
            p.other.push(Attribute::new("utm_medium", medium));
        }
    }
    if let Some(term) = term {
        p.other.push(Attribute::new("utm_term", term));
    }
    if let Some(content) = content {
        p.other.push(Attribute::new("utm_content", content));
    }
}

/// The query string of a URL, without `?` and fragment.
fn query_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once('?')?;
    Some(rest.split_once('#').map_or(rest, |(q, _)| q))
}
