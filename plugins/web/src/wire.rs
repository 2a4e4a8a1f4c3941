//! The Segment wire format, read borrowed from the request body.
//!
//! Nothing here builds a `serde_json::Value`: strings without escapes are
//! borrowed from the body, nested objects the connector only partly reads are
//! kept as `&RawValue` and looked at key by key, and every field the connector
//! does not use is skipped by the parser.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

pub use leadhost_sdk::json::Text;

/// A JSON object as its keys in order, each with its value still raw.
#[derive(Debug, Default)]
pub struct Obj<'a>(pub Vec<(Text<'a>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Obj<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for ObjVisitor<'a> {
            type Value = Obj<'a>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Obj<'a>, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<Text<'a>, &'a RawValue>()? {
                    entries.push(entry);
                }
                Ok(Obj(entries))
            }
        }

        deserializer.deserialize_map(ObjVisitor(PhantomData))
    }
}

/// One raw JSON value, classified without a second full parse.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its JSON text.
    Number(&'a str),
    /// A string, unescaped.
    Str(Cow<'a, str>),
    /// An object or array, as its JSON text.
    Nested(&'a str),
}

impl<'a> Scalar<'a> {
    /// Classifies a raw value. `RawValue` holds valid JSON starting at the
    /// value's first byte, so the first byte says what it is.
    pub fn of(raw: &'a RawValue) -> Scalar<'a> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'"') => {
                let inner = &text[1..text.len() - 1];
                if inner.contains('\\') {
                    // Escapes need the real parser; the text is valid JSON.
                    serde_json::from_str::<String>(text)
                        .map(|s| Scalar::Str(Cow::Owned(s)))
                        .unwrap_or(Scalar::Null)
                } else {
                    Scalar::Str(Cow::Borrowed(inner))
                }
            }
            Some(b't') => Scalar::Bool(true),
            Some(b'f') => Scalar::Bool(false),
            Some(b'n') | None => Scalar::Null,
            Some(b'{' | b'[') => Scalar::Nested(text),
            Some(_) => Scalar::Number(text),
        }
    }

    /// The value as text, for strings and numbers; `None` for the rest or
    /// an empty string.
    pub fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Str(s) => {
                if s.trim().is_empty() {
                    None
                } else {
                    Some(s)
                }
            }
            Scalar::Number(n) => Some(Cow::Borrowed(n)),
            _ => None,
        }
    }

    /// The value as an attribute value: strings as they are, other scalars
    /// as JSON text; `None` for null and nested values.
    pub fn attribute_value(self) -> Option<String> {
        match self {
            Scalar::Str(s) => Some(s.into_owned()),
            Scalar::Number(n) => Some(n.to_owned()),
            Scalar::Bool(b) => Some(if b { "true" } else { "false" }.to_owned()),
            Scalar::Null | Scalar::Nested(_) => None,
        }
    }

    /// The value as a number, from a JSON number or a numeric string.
    pub fn number(&self) -> Option<f64> {
        let n = match self {
            Scalar::Number(n) => n.parse::<f64>().ok()?,
            Scalar::Str(s) => s.trim().parse::<f64>().ok()?,
            _ => return None,
        };
        n.is_finite().then_some(n)
    }

    /// The value as a yes/no answer, from a boolean or a common word.
    pub fn flag(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            Scalar::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "granted" | "1" => Some(true),
                "false" | "no" | "denied" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

/// One Segment call: identify, track, page, screen, group or alias. Fields
/// the connector does not read (`integrations`, `_metadata`, ...) are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a Segment call (an object)")]
#[serde(rename_all = "camelCase")]
pub struct Event<'a> {
    /// The call type; implied by the endpoint for single calls.
    #[serde(rename = "type", borrow)]
    pub kind: Option<Text<'a>>,
    /// Segment's unique id of the message.
    #[serde(borrow)]
    pub message_id: Option<Text<'a>>,
    /// The known user.
    #[serde(borrow)]
    pub user_id: Option<Text<'a>>,
    /// The anonymous device or cookie id.
    #[serde(borrow)]
    pub anonymous_id: Option<Text<'a>>,
    /// The old id of an alias call.
    #[serde(borrow)]
    pub previous_id: Option<Text<'a>>,
    /// The account of a group call.
    #[serde(borrow)]
    pub group_id: Option<Text<'a>>,
    /// The event name of a track call.
    #[serde(borrow)]
    pub event: Option<Text<'a>>,
    /// The page or screen name.
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// When it happened, corrected for clock skew by the client.
    #[serde(borrow)]
    pub timestamp: Option<Text<'a>>,
    /// When it happened, by the device's clock.
    #[serde(borrow)]
    pub original_timestamp: Option<Text<'a>>,
    /// When the client sent it.
    #[serde(borrow)]
    pub sent_at: Option<Text<'a>>,
    /// Person traits (identify) or account traits (group).
    #[serde(borrow)]
    pub traits: Option<Obj<'a>>,
    /// Facts about a track, page or screen call.
    #[serde(borrow)]
    pub properties: Option<Obj<'a>>,
    /// Where the call came from.
    #[serde(borrow)]
    pub context: Option<Context<'a>>,
    /// The write key, for clients that send it in the body.
    #[serde(borrow)]
    pub write_key: Option<Text<'a>>,
}

/// The parts of Segment's `context` object the connector reads.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a context object")]
#[serde(rename_all = "camelCase")]
pub struct Context<'a> {
    /// UTM parameters as the client library collected them.
    #[serde(borrow)]
    pub campaign: Option<Campaign<'a>>,
    /// The page the call was made on.
    #[serde(borrow)]
    pub page: Option<PageContext<'a>>,
    /// The user's traits, sent along with non-identify calls.
    #[serde(borrow)]
    pub traits: Option<Obj<'a>>,
    /// Consent preferences (Segment Consent Management).
    #[serde(borrow)]
    pub consent: Option<Consent<'a>>,
    /// The account the call belongs to.
    #[serde(borrow)]
    pub group_id: Option<Text<'a>>,
}

/// `context.campaign`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a campaign object")]
pub struct Campaign<'a> {
    /// `utm_campaign`.
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// `utm_source`.
    #[serde(borrow)]
    pub source: Option<Text<'a>>,
    /// `utm_medium`.
    #[serde(borrow)]
    pub medium: Option<Text<'a>>,
    /// `utm_term`.
    #[serde(borrow)]
    pub term: Option<Text<'a>>,
    /// `utm_content`.
    #[serde(borrow)]
    pub content: Option<Text<'a>>,
}

/// `context.page`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a page object")]
pub struct PageContext<'a> {
    /// The full URL.
    #[serde(borrow)]
    pub url: Option<Text<'a>>,
    /// The referring URL.
    #[serde(borrow)]
    pub referrer: Option<Text<'a>>,
    /// The document title.
    #[serde(borrow)]
    pub title: Option<Text<'a>>,
    /// The query string, with its `?`.
    #[serde(borrow)]
    pub search: Option<Text<'a>>,
}

/// `context.consent`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a consent object")]
#[serde(rename_all = "camelCase")]
pub struct Consent<'a> {
    /// `{category: granted}`.
    #[serde(borrow)]
    pub category_preferences: Option<Obj<'a>>,
}

/// The body of `/v1/batch`. Segment lets `context` sit at the top level and
/// apply to every call of the batch.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a batch object")]
#[serde(rename_all = "camelCase")]
pub struct Batch<'a> {
    /// The calls, raw: each is checked for size and hashed as it was sent.
    #[serde(borrow)]
    pub batch: Option<Vec<&'a RawValue>>,
    /// Context shared by every call that does not say otherwise.
    #[serde(borrow)]
    pub context: Option<Context<'a>>,
    /// The write key, for clients that send it in the body.
    #[serde(borrow)]
    pub write_key: Option<Text<'a>>,
}

/// `traits.company` when it is an object (Segment's identify spec).
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a company object")]
pub struct CompanyTraits<'a> {
    /// The company name.
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// The account id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// The industry.
    #[serde(borrow)]
    pub industry: Option<Text<'a>>,
    /// The number of employees.
    #[serde(borrow)]
    pub employee_count: Option<Text<'a>>,
    /// The number of employees, as some clients name it.
    #[serde(borrow)]
    pub employees: Option<Text<'a>>,
}

/// `traits.address` (Segment's identify spec); only the country is read.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an address object")]
pub struct Address<'a> {
    /// The country, as given.
    #[serde(borrow)]
    pub country: Option<Text<'a>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let ev: Event = serde_json::from_str(
            r#"{"userId":"u1","anonymousId":"a\"b","event":"Signed Up","extra":{"x":[1,2]}}"#,
        )
        .unwrap();
        assert!(matches!(ev.user_id, Some(Text(Cow::Borrowed("u1")))));
        assert_eq!(ev.anonymous_id.unwrap().0, "a\"b");
        assert_eq!(ev.event.unwrap().0, "Signed Up");
    }

    #[test]
    fn numeric_ids_become_text() {
        let ev: Event = serde_json::from_str(r#"{"userId":42,"groupId":7.5}"#).unwrap();
        assert_eq!(ev.user_id.unwrap().0, "42");
        assert_eq!(ev.group_id.unwrap().0, "7.5");
    }

    #[test]
    fn objects_keep_order_and_raw_values() {
        let obj: Obj = serde_json::from_str(
            r#"{"b": 1, "a": "x", "c": {"d": true}, "e": null, "f": "q\"t", "g": false}"#,
        )
        .unwrap();
        let keys: Vec<_> = obj.0.iter().map(|(k, _)| k.0.as_ref()).collect();
        assert_eq!(keys, ["b", "a", "c", "e", "f", "g"]);
        let values: Vec<_> = obj.0.iter().map(|(_, v)| Scalar::of(v)).collect();
        assert_eq!(
            values,
            [
                Scalar::Number("1"),
                Scalar::Str(Cow::Borrowed("x")),
                Scalar::Nested(r#"{"d": true}"#),
                Scalar::Null,
                Scalar::Str(Cow::Owned("q\"t".into())),
                Scalar::Bool(false),
            ]
        );
    }

    #[test]
    fn scalars_read_numbers_and_flags() {
        assert_eq!(Scalar::Str(Cow::Borrowed(" 39.95 ")).number(), Some(39.95));
        assert_eq!(Scalar::Number("1e3").number(), Some(1000.0));
        assert_eq!(Scalar::Bool(true).number(), None);
        assert_eq!(Scalar::Str(Cow::Borrowed("Yes")).flag(), Some(true));
        assert_eq!(Scalar::Bool(false).flag(), Some(false));
        assert_eq!(Scalar::Number("2").flag(), None);
    }

    #[test]
    fn a_batch_keeps_each_call_as_sent() {
        let body = r#"{"batch":[ {"type":"track"} ,{"type": "page"}],"writeKey":"k"}"#;
        let b: Batch = serde_json::from_str(body).unwrap();
        let raw: Vec<_> = b.batch.unwrap().iter().map(|r| r.get()).collect();
        assert_eq!(raw, [r#"{"type":"track"}"#, r#"{"type": "page"}"#]);
        assert_eq!(b.write_key.unwrap().0, "k");
    }
}
