//! One Segment call to one touchpoint. Pure: no host services are used, so
//! the same call always maps to the same touchpoint.

mod properties;
mod traits;

use crate::vocabulary as vocab;
use crate::wire::{Context, Event, Scalar, Text};
use leadhost_sdk::prelude::*;
use leadhost_sdk::{email, parse_rfc3339};
use properties::{campaign, describe_call, read_properties};
use std::borrow::Cow;
use traits::{Role, read_traits, split_full_name};

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
            .and_then(email::company_domain);
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

/// Fills an empty company size from a number or a numeric string (`"1,200"`);
/// true when the value was a size.
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

/// An email address, lower case; `None` when it is not one.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_reference_vectors() {
        assert_eq!(fnv1a64(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn call_types_parse_by_segment_name() {
        assert_eq!(Call::parse("track"), Some(Call::Track));
        assert_eq!(Call::parse("Identify"), Some(Call::Identify));
        assert_eq!(Call::parse("purchase"), None);
        for call in [
            Call::Identify,
            Call::Track,
            Call::Page,
            Call::Screen,
            Call::Group,
            Call::Alias,
        ] {
            assert_eq!(Call::parse(call.name()), Some(call));
        }
    }
}
