//! Borrowed JSON building blocks both providers share. Strings are borrowed
//! from the body where they have no escapes, so a batch is read without
//! copying what it does not need.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

pub use leadhost_sdk::json::Text;

/// A point in time given as Unix seconds, whole (SendGrid) or with a
/// fraction (Mailgun), read as epoch milliseconds. A numeric string is
/// accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub i64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("Unix seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                v.checked_mul(1000)
                    .map(Seconds)
                    .ok_or_else(|| E::custom("the timestamp is out of range"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom("the timestamp is out of range"))
                    .and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                let millis = (v * 1000.0).round();
                // The cast saturates; the range check makes that unreachable.
                if millis.is_finite() && millis.abs() < 9.0e15 {
                    Ok(Seconds(millis as i64))
                } else {
                    Err(E::custom("the timestamp is out of range"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
                let v = v.trim();
                match v.parse::<i64>() {
                    Ok(n) => self.visit_i64(n),
                    Err(_) => match v.parse::<f64>() {
                        Ok(f) => self.visit_f64(f),
                        Err(_) => Err(E::custom(format!("{v:?} is not Unix seconds"))),
                    },
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// One string or a list of them (SendGrid's `category` is either).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OneOrMany<'a>(pub Vec<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for OneOrMany<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(OneOrMany(vec![Text(Cow::Borrowed(v))]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany(vec![Text(Cow::Owned(v.to_owned()))]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OneOrMany(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(2));
                while let Some(item) = seq.next_element::<Text<'de>>()? {
                    out.push(item);
                }
                Ok(OneOrMany(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Free-form `name: value` pairs kept as text (Mailgun's `user-variables`;
/// SendGrid's custom arguments are read the same way). An empty list, which
/// Mailgun sends when there are none, is no pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Variables<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Variables<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of variables")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Variables::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Variables::default())
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    out.push((key.0, json_text(value).map_err(de::Error::custom)?));
                }
                Ok(Variables(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A JSON value as attribute text: a string unquoted, anything else as the
/// JSON it is.
pub fn json_text(raw: &RawValue) -> Result<Cow<'_, str>, serde_json::Error> {
    let json = raw.get();
    if json.starts_with('"') {
        serde_json::from_str::<Text<'_>>(json).map(|t| t.0)
    } else {
        Ok(Cow::Borrowed(json))
    }
}

/// FNV-1a, 64 bits, over several parts with a separator between them: a
/// stable id for an event that arrives without one.
pub fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seconds_become_milliseconds() {
        let s: Seconds = serde_json::from_str("1714566600").unwrap();
        assert_eq!(s.0, 1_714_566_600_000);
        let s: Seconds = serde_json::from_str("1714566660.908181").unwrap();
        assert_eq!(s.0, 1_714_566_660_908);
        let s: Seconds = serde_json::from_str(r#""1714566600""#).unwrap();
        assert_eq!(s.0, 1_714_566_600_000);
        assert!(serde_json::from_str::<Seconds>(r#""soon""#).is_err());
        assert!(serde_json::from_str::<Seconds>("1e300").is_err());
    }

    #[test]
    fn variables_read_objects_and_empty_lists() {
        let v: Variables = serde_json::from_str(r#"{"a":"x","n":5,"o":{"k":[1]}}"#).unwrap();
        assert_eq!(
            v.0,
            vec![
                ("a".into(), "x".into()),
                ("n".into(), "5".into()),
                ("o".into(), r#"{"k":[1]}"#.into())
            ]
        );
        let v: Variables = serde_json::from_str("[]").unwrap();
        assert!(v.0.is_empty());
    }

    #[test]
    fn categories_are_one_or_many() {
        let c: OneOrMany = serde_json::from_str(r#""a""#).unwrap();
        assert_eq!(c.0.len(), 1);
        let c: OneOrMany = serde_json::from_str(r#"["a","b"]"#).unwrap();
        assert_eq!(c.0[1].as_str(), "b");
    }

    #[test]
    fn fnv_separates_parts() {
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
        assert_eq!(fnv1a(&["x"]), fnv1a(&["x"]));
    }
}
