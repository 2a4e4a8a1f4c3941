//! One Segment call to one touchpoint. Pure: no host services are used, so
//! the same call always maps to the same touchpoint.

use crate::vocabulary as vocab;
use crate::wire::{Address, CompanyTraits, Context, Event, Obj, Scalar, Text};
use leadhost_sdk::prelude::*;
use leadhost_sdk::{parse_rfc3339, query_pairs};
use std::borrow::Cow;

/// The Segment call types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Who the person is.
    Identify,
    /// What they did.
    Track,
    /// A web page they viewed.
    Page,
    /// An app screen they viewed.
    Screen,
    /// The account they belong to.
    Group,
    /// Two ids of the same person.
    Alias,
}

/// The call types, for error messages.
pub const CALL_TYPES: &str = "identify, track, page, screen, group or alias";

impl Call {
    /// The call type named by a Segment `type` field.
    pub fn parse(name: &str) -> Option<Call> {
        const ALL: [Call; 6] = [
            Call::Identify,
            Call::Track,
            Call::Page,
            Call::Screen,
            Call::Group,
            Call::Alias,
        ];
        ALL.into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The Segment name of the call type.
    pub fn name(self) -> &'static str {
        match self {
            Call::Identify => "identify",
            Call::Track => "track",
            Call::Page => "page",
            Call::Screen => "screen",
            Call::Group => "group",
            Call::Alias => "alias",
        }
    }
}

/// Maps one call to a touchpoint. `raw` is the call's JSON text as it was
/// sent (the id of a call without `messageId` is derived from it); `shared`
/// is a batch's top-level context. The error says what is wrong with the call.
pub fn touchpoint(
    call: Call,
    event: &Event,
    raw: &str,
    shared: Option<&Context>,
) -> Result<Touchpoint, String> {
    let user_id = event.user_id.as_ref().and_then(Text::non_empty);
    let anonymous_id = event.anonymous_id.as_ref().and_then(Text::non_empty);
    validate(call, event, user_id, anonymous_id)?;
    let context = Contexts {
        own: event.context.as_ref(),
        shared,
    };

    let mut tp = Touchpoint {
        external_id: external_id(call, event, raw),
        occurred_at: occurred_at(event),
        channel: Channel::Web,
        kind: kind(call, event),
        ..Touchpoint::default()
    };
    tp.identities.user_id = user_id.map(str::to_owned);
    tp.identities.anonymous_id = anonymous_id.map(str::to_owned);

    if call == Call::Alias {
        alias_identities(event, &mut tp);
    }
    if call == Call::Group {
        tp.identities.account_id = event.group_id.as_ref().and_then(text_owned);
    }
    if tp.identities.account_id.is_none() {
        tp.identities.account_id = context.get(|c| c.group_id.as_ref().and_then(text_owned));
    }

    if let Some(preferences) = context.get(|c| c.consent.as_ref()?.category_preferences.as_ref()) {
        for (category, granted) in &preferences.0 {
            if let (Some(purpose), Some(granted)) =
                (category.non_empty(), Scalar::of(granted).flag())
            {
                grant(&mut tp.consent, purpose, granted);
            }
        }
    }

    let mut full_name = None;
    let person_traits = context.get(|c| c.traits.as_ref());
    if call == Call::Group {
        if let Some(traits) = &event.traits {
            read_traits(traits, Role::Account, false, &mut tp, &mut full_name);
        }
        if let Some(traits) = person_traits {
            read_traits(traits, Role::Person, true, &mut tp, &mut full_name);
        }
    } else {
        let (first, second) = match &event.traits {
            Some(traits) => (Some(traits), person_traits),
            None => (person_traits, None),
        };
        if let Some(traits) = first {
            read_traits(traits, Role::Person, false, &mut tp, &mut full_name);
        }
        if let Some(traits) = second {
            read_traits(traits, Role::Person, true, &mut tp, &mut full_name);
        }
    }
    if let Some(name) = full_name {
        split_full_name(&name, &mut tp.traits);
    }

    let mut search = None;
    if let Some(properties) = &event.properties {
        read_properties(properties, &mut tp, &mut search);
    }
    describe_call(call, event, &context, &mut tp);
    campaign(&context, search.as_deref(), &mut tp);

    if tp.identities.company_domain.is_none() {
        tp.identities.company_domain = tp
            .identities
            .email
            .as_deref()
            .and_then(vocab::company_domain_of_email);
    }
    Ok(tp)
}

/// The call's own context, then the batch's.
struct Contexts<'e, 'a> {
    own: Option<&'e Context<'a>>,
    shared: Option<&'e Context<'a>>,
}

impl<'e, 'a> Contexts<'e, 'a> {
    fn get<T>(&self, f: impl Fn(&'e Context<'a>) -> Option<T>) -> Option<T> {
        self.own.and_then(&f).or_else(|| self.shared.and_then(&f))
    }
}

/// What Segment itself requires of a call.
fn validate(
    call: Call,
    event: &Event,
    user_id: Option<&str>,
    anonymous_id: Option<&str>,
) -> Result<(), String> {
    let present = |t: &Option<Text>| t.as_ref().and_then(Text::non_empty).is_some();
    match call {
        Call::Alias => {
            if user_id.is_none() {
                return Err("an alias call needs `userId`".into());
            }
            if !present(&event.previous_id) {
                return Err("an alias call needs `previousId`".into());
            }
        }
        _ if user_id.is_none() && anonymous_id.is_none() => {
            return Err(format!(
                "a {} call needs `userId` or `anonymousId`",
                call.name()
            ));
        }
        _ => {}
    }
    if call == Call::Track && !present(&event.event) {
        return Err("a track call needs an `event` name".into());
    }
    if call == Call::Group && !present(&event.group_id) {
        return Err("a group call needs `groupId`".into());
    }
    Ok(())
}

/// `messageId`, or a hash of the call's type and JSON text: a redelivery of
/// the same bytes gets the same id.
fn external_id(call: Call, event: &Event, raw: &str) -> String {
    if let Some(id) = event.message_id.as_ref().and_then(Text::non_empty) {
        return id.to_owned();
    }
    let hash = fnv1a64(
        fnv1a64(FNV_OFFSET, call.name().as_bytes()) ^ 0xff,
        raw.as_bytes(),
    );
    format!("h:{hash:016x}")
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits: small, fast and stable across builds and platforms.
pub fn fnv1a64(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// `timestamp`, else `originalTimestamp`, else `sentAt`: the first that
/// parses. All come from the call's bytes, so a redelivery agrees.
fn occurred_at(event: &Event) -> Option<Timestamp> {
    [&event.timestamp, &event.original_timestamp, &event.sent_at]
        .into_iter()
        .flatten()
        .find_map(|t| parse_rfc3339(&t.0))
}

fn kind(call: Call, event: &Event) -> TouchpointKind {
    match call {
        Call::Identify => TouchpointKind::Identified,
        Call::Page => TouchpointKind::PageView,
        Call::Screen => TouchpointKind::ScreenView,
        Call::Group => TouchpointKind::AccountLinked,
        Call::Alias => TouchpointKind::Alias,
        Call::Track => event
            .event
            .as_ref()
            .map_or(TouchpointKind::Custom(String::new()), |e| {
                vocab::track_kind(&e.0)
            }),
    }
}

/// An alias links `previousId` to `userId`. A touchpoint has one slot per
/// kind of identity and `userId` takes the user-id slot, so `previousId`
/// goes where it fits: the anonymous-id slot when it is the call's
/// `anonymousId` or looks like a device id (a UUID), the email slot when it
/// is an address, and otherwise (an old user id) the attribute `previousId`.
fn alias_identities(event: &Event, tp: &mut Touchpoint) {
    let Some(previous) = event.previous_id.as_ref().and_then(Text::non_empty) else {
        return;
    };
    let ids = &mut tp.identities;
    if ids.anonymous_id.as_deref() == Some(previous) || vocab::looks_anonymous(previous) {
        if let Some(other) = ids.anonymous_id.replace(previous.to_owned())
            && other != previous
        {
            tp.properties
                .other
                .push(Attribute::new("anonymousId", other));
        }
    } else if previous.contains('@') {
        ids.email = Some(previous.to_ascii_lowercase());
    } else {
        tp.properties
            .other
            .push(Attribute::new("previousId", previous));
    }
}

/// Whose traits an object holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A person's (identify traits, `context.traits`).
    Person,
    /// An account's (group traits).
    Account,
}

/// Reads a traits object into identities, traits and consent. Fields
/// already filled are kept: the first source wins. In a `secondary` source
/// the known keys never reach `other`, and other keys only once.
fn read_traits(
    traits: &Obj,
    role: Role,
    secondary: bool,
    tp: &mut Touchpoint,
    full_name: &mut Option<String>,
) {
    for (key, raw) in &traits.0 {
        let key = key.0.as_ref();
        let value = Scalar::of(raw);
        let t = &mut tp.traits;
        let ids = &mut tp.identities;
        // None: not a key with a meaning; Some(used): whether it was taken.
        let taken = match (key, role) {
            ("email", _) => Some(fill(&mut ids.email, email(&value))),
            ("phone", _) => Some(fill(&mut ids.phone, value.clone().text())),
            ("firstName" | "first_name", Role::Person) => {
                Some(fill(&mut t.first_name, value.clone().text()))
            }
            ("lastName" | "last_name", Role::Person) => {
                Some(fill(&mut t.last_name, value.clone().text()))
            }
            ("name", Role::Person) => Some(fill(full_name, value.clone().text())),
            ("name", Role::Account) => Some(fill(&mut t.company, value.clone().text())),
            ("title" | "jobTitle" | "job_title", Role::Person) => {
                Some(fill(&mut t.job_title, value.clone().text()))
            }
            ("company", Role::Person) => Some(match &value {
                Scalar::Nested(text) => read_company(text, tp),
                _ => fill(&mut t.company, value.clone().text()),
            }),
            ("industry", _) => Some(fill(&mut t.industry, value.clone().text())),
            ("employees" | "employee_count" | "employeeCount" | "number_of_employees", _) => {
                Some(fill_size(&mut t.company_size, &value))
            }
            ("address", _) => Some(match &value {
                Scalar::Nested(text) => serde_json::from_str::<Address>(text)
                    .ok()
                    .and_then(|a| a.country)
                    .is_some_and(|c| {
                        fill(
                            &mut t.country,
                            c.non_empty().map(vocab::country).map(Cow::Owned),
                        )
                    }),
                _ => false,
            }),
            ("country", _) => Some(fill(
                &mut t.country,
                value.clone().text().map(|c| Cow::Owned(vocab::country(&c))),
            )),
            ("website" | "domain", Role::Account) => Some(fill(
                &mut ids.company_domain,
                value
                    .clone()
                    .text()
                    .and_then(|w| vocab::domain_of(&w))
                    .map(Cow::Owned),
            )),
            ("consent" | "marketing_consent" | "marketingConsent", _) => {
                Some(value.flag().is_some_and(|granted| {
                    grant(&mut tp.consent, "marketing", granted);
                    true
                }))
            }
            _ => None,
        };
        match taken {
            Some(true) => {}
            Some(false) if secondary => {}
            _ => push_other(&mut tp.traits.other, key, value, secondary),
        }
    }
}

/// `traits.company` as an object: name, industry, size and account id.
fn read_company(text: &str, tp: &mut Touchpoint) -> bool {
    let Ok(company) = serde_json::from_str::<CompanyTraits>(text) else {
        return false;
    };
    let t = &mut tp.traits;
    let name = fill(&mut t.company, company.name.as_ref().and_then(text_cow));
    let industry = fill(
        &mut t.industry,
        company.industry.as_ref().and_then(text_cow),
    );
    let size = [&company.employee_count, &company.employees]
        .into_iter()
        .flatten()
        .any(|n| fill_size(&mut t.company_size, &Scalar::Str(n.0.clone())));
    let id = fill(
        &mut tp.identities.account_id,
        company.id.as_ref().and_then(text_cow),
    );
    name || industry || size || id
}

/// Reads a properties object into the touchpoint's properties.
fn read_properties(properties: &Obj, tp: &mut Touchpoint, search: &mut Option<String>) {
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
fn describe_call(call: Call, event: &Event, context: &Contexts, tp: &mut Touchpoint) {
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
fn campaign(context: &Contexts, search: Option<&str>, tp: &mut Touchpoint) {
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

/// Fills an empty slot; true when the value was usable.
fn fill(slot: &mut Option<String>, value: Option<Cow<str>>) -> bool {
    match value {
        Some(v) => {
            if slot.is_none() {
                *slot = Some(v.trim().to_owned());
            }
            true
        }
        None => false,
    }
}

fn fill_size(slot: &mut Option<u32>, value: &Scalar) -> bool {
    let size = match value {
        Scalar::Number(_) => value.number(),
        Scalar::Str(s) => s.replace([',', '_', ' '], "").parse::<f64>().ok(),
        _ => None,
    }
    .and_then(vocab::company_size);
    match size {
        Some(n) => {
            slot.get_or_insert(n);
            true
        }
        None => false,
    }
}

fn email<'v>(value: &Scalar<'v>) -> Option<Cow<'v, str>> {
    value
        .clone()
        .text()
        .filter(|e| e.contains('@'))
        .map(|e| Cow::Owned(e.trim().to_ascii_lowercase()))
}

fn text_cow<'t>(t: &'t Text) -> Option<Cow<'t, str>> {
    t.non_empty().map(Cow::Borrowed)
}

fn text_owned(t: &Text) -> Option<String> {
    t.non_empty().map(str::to_owned)
}

/// Records a consent once per purpose: the first signal wins.
fn grant(consent: &mut Vec<ConsentSignal>, purpose: &str, granted: bool) {
    if !consent
        .iter()
        .any(|c| c.purpose == purpose && c.channel.is_none())
    {
        consent.push(ConsentSignal {
            purpose: purpose.to_owned(),
            channel: None,
            granted,
        });
    }
}

/// Keeps a scalar the connector has no field for; nested values are left out.
fn push_other(other: &mut Vec<Attribute>, key: &str, value: Scalar, once: bool) {
    if once && other.iter().any(|a| a.name == key) {
        return;
    }
    if let Some(value) = value.attribute_value() {
        other.push(Attribute::new(key, value));
    }
}

/// `name` splits into first and last name when neither was given.
fn split_full_name(name: &str, traits: &mut Traits) {
    if traits.first_name.is_some() || traits.last_name.is_some() {
        return;
    }
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, last)) => {
            traits.first_name = Some(first.to_owned());
            traits.last_name = Some(last.trim().to_owned());
        }
        None => traits.first_name = Some(name.to_owned()),
    }
}
