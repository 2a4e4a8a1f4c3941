//! Lenient JSON text, read borrowed from a request body.
//!
//! Channel payloads are loose about types: an id may come as `"42"` or `42`,
//! a flag as `"true"` or `true`. [`Text`] reads any JSON scalar as its text
//! and borrows strings without escapes from the body, so a connector reads a
//! payload without copying what it does not need. [`StrictText`] does the
//! same for strings and integers only. [`text`] gives the trimmed, non-empty
//! text of an optional field.
//!
//! ```
//! use leadhost_sdk::json::{Text, text};
//!
//! #[derive(serde::Deserialize)]
//! struct Event<'a> {
//!     #[serde(borrow)]
//!     id: Option<Text<'a>>,
//! }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let body = r#"{"id": 42}"#;
//! # let event: Event = serde_json::from_str(body)?;
//! // With `{"id": 42}` as the body:
//! assert_eq!(text(&event.id), Some("42"));
//! # Ok(())
//! # }
//! ```

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A text value: borrowed from the body when it has no escapes. Numbers and
/// booleans are taken as their JSON text (`42`, `7.5`, `true`), because
/// senders differ (a numeric `userId` is common). `null` is not text: read
/// an optional field as `Option<Text>`. Objects and arrays are refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text<'a>(pub Cow<'a, str>);

/// A text value that takes strings and integers only: like [`Text`], but a
/// float or a boolean is refused, for fields where one means the payload is
/// not what the connector expects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StrictText<'a>(pub Cow<'a, str>);

impl Text<'_> {
    /// The text as it is.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, trimmed; `None` when nothing is left.
    pub fn non_empty(&self) -> Option<&str> {
        non_empty(&self.0)
    }
}

impl StrictText<'_> {
    /// The text as it is.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, trimmed; `None` when nothing is left.
    pub fn non_empty(&self) -> Option<&str> {
        non_empty(&self.0)
    }
}

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for StrictText<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The trimmed, non-empty text of an optional field: `None` when the field
/// is absent, or blank once trimmed. Takes `Option<Text>` and
/// `Option<StrictText>` alike.
pub fn text<T: AsRef<str>>(field: &Option<T>) -> Option<&str> {
    field.as_ref().and_then(|t| non_empty(t.as_ref()))
}

fn non_empty(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

/// Reads a scalar as text; `strict` refuses floats and booleans.
struct TextVisitor<'a> {
    strict: bool,
    lifetime: PhantomData<&'a ()>,
}

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Cow<'a, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.strict {
            "a string or an integer"
        } else {
            "a string, number or boolean"
        })
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if self.strict {
            return Err(E::invalid_type(de::Unexpected::Float(v), &self));
        }
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        if self.strict {
            return Err(E::invalid_type(de::Unexpected::Bool(v), &self));
        }
        Ok(Cow::Borrowed(if v { "true" } else { "false" }))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(TextVisitor {
                strict: false,
                lifetime: PhantomData,
            })
            .map(Text)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StrictText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(TextVisitor {
                strict: true,
                lifetime: PhantomData,
            })
            .map(StrictText)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Fields<'a> {
        #[serde(borrow, default)]
        a: Option<Text<'a>>,
        #[serde(borrow, default)]
        b: Option<Text<'a>>,
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let t: Text = serde_json::from_str(r#""abc""#).unwrap();
        assert!(matches!(t.0, Cow::Borrowed("abc")));
        let t: Text = serde_json::from_str(r#""a\"b""#).unwrap();
        assert!(matches!(t.0, Cow::Owned(_)));
        assert_eq!(t.as_str(), "a\"b");
        let f: Fields = serde_json::from_str(r#"{"a":"u1","b":"x\ny"}"#).unwrap();
        assert!(matches!(f.a, Some(Text(Cow::Borrowed("u1")))));
        assert_eq!(f.b.unwrap().0, "x\ny");
        // Owned input (no borrowing possible) still reads.
        let t = Text::deserialize(serde_json::json!("owned")).unwrap();
        assert_eq!(t.as_str(), "owned");
    }

    #[test]
    fn numbers_and_booleans_become_text() {
        let read = |s: &str| serde_json::from_str::<Text>(s).unwrap().0.into_owned();
        assert_eq!(read("5"), "5");
        assert_eq!(read("42"), "42");
        assert_eq!(read("-7"), "-7");
        assert_eq!(read("820982911946154508"), "820982911946154508");
        assert_eq!(read("7.5"), "7.5");
        assert_eq!(read("92.5"), "92.5");
        assert_eq!(read("true"), "true");
        assert_eq!(read("false"), "false");
        let t: Text = serde_json::from_str("true").unwrap();
        assert!(matches!(t.0, Cow::Borrowed("true")));
    }

    #[test]
    fn objects_arrays_and_null_are_not_text() {
        assert!(serde_json::from_str::<Text>("[1]").is_err());
        assert!(serde_json::from_str::<Text>(r#"{"x":1}"#).is_err());
        assert!(serde_json::from_str::<Text>("null").is_err());
        let f: Fields = serde_json::from_str(r#"{"a":null}"#).unwrap();
        assert_eq!(f.a, None);
        assert!(serde_json::from_str::<Fields>(r#"{"a":{"x":1}}"#).is_err());
        let err = serde_json::from_str::<Text>("[1]").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a string, number or boolean"),
            "{err}"
        );
    }

    #[test]
    fn strict_text_takes_strings_and_integers_only() {
        let t: StrictText = serde_json::from_str(r#""abc""#).unwrap();
        assert!(matches!(t.0, Cow::Borrowed("abc")));
        let t: StrictText = serde_json::from_str(r#""a\"b""#).unwrap();
        assert_eq!(t.as_str(), "a\"b");
        let t: StrictText = serde_json::from_str("42").unwrap();
        assert_eq!(t.as_str(), "42");
        let t: StrictText = serde_json::from_str("-3").unwrap();
        assert_eq!(t.as_str(), "-3");
        assert!(serde_json::from_str::<StrictText>("7.5").is_err());
        assert!(serde_json::from_str::<StrictText>("true").is_err());
        assert!(serde_json::from_str::<StrictText>("[1]").is_err());
        assert!(serde_json::from_str::<StrictText>("null").is_err());
    }

    #[test]
    fn non_empty_trims_and_drops_blank_text() {
        assert_eq!(Text(Cow::Borrowed("  x ")).non_empty(), Some("x"));
        assert_eq!(Text(Cow::Borrowed(" \t")).non_empty(), None);
        assert_eq!(Text::default().non_empty(), None);
        assert_eq!(StrictText(Cow::Borrowed(" 42 ")).non_empty(), Some("42"));
        assert_eq!(StrictText(Cow::Borrowed("")).non_empty(), None);
        assert_eq!(Text(Cow::Borrowed(" x ")).as_str(), " x ");
    }

    #[test]
    fn text_of_an_optional_field() {
        assert_eq!(text(&Some(Text(Cow::Borrowed(" a ")))), Some("a"));
        assert_eq!(text(&Some(Text(Cow::Borrowed("  ")))), None);
        assert_eq!(text::<Text>(&None), None);
        assert_eq!(text(&Some(StrictText(Cow::Borrowed("7")))), Some("7"));
        let f: Fields = serde_json::from_str(r#"{"a":820982911946154508}"#).unwrap();
        assert_eq!(text(&f.a), Some("820982911946154508"));
        assert_eq!(text(&f.b), None);
    }
}
