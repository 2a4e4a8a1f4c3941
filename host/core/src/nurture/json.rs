//! Field-by-field JSON reading for the nurture configurations, so that every
//! error can name the place it comes from (as the scoring rules do).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::local::{TimeOfDay, Weekday};
use crate::touchpoint::Channel;

/// The first key of `obj` not in `allowed`.
pub(crate) fn unknown(obj: &Map<String, Value>, allowed: &[&str]) -> Option<String> {
    obj.keys().find(|k| !allowed.contains(&k.as_str())).cloned()
}

/// Reads one optional field; `null` counts as absent.
pub(crate) fn get<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| e.to_string()),
    }
}

/// Parses the top level as an object.
pub(crate) fn top(json: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(json).map_err(|e| e.to_string())? {
        Value::Object(o) => Ok(o),
        _ => Err("the top level must be an object".into()),
    }
}

/// A list of non-empty strings.
pub(crate) fn texts(obj: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    let v: Vec<String> = get(obj, key)?.unwrap_or_default();
    if v.iter().any(|s| s.trim().is_empty()) {
        return Err("values must not be empty".into());
    }
    Ok(v)
}

/// A list of names each parsed by `parse`; the error names the unknown one.
pub(crate) fn names<T>(
    obj: &Map<String, Value>,
    key: &str,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, String> {
    let raw: Vec<String> = get(obj, key)?.unwrap_or_default();
    raw.iter()
        .map(|n| parse(n).ok_or_else(|| format!("unknown {what} {n:?}")))
        .collect()
}

/// A required `HH:MM`.
pub(crate) fn time_of_day(obj: &Map<String, Value>, key: &str) -> Result<TimeOfDay, String> {
    let text: String = get(obj, key)?.ok_or("missing")?;
    TimeOfDay::parse(&text).ok_or_else(|| format!("{text:?} is not a time HH:MM (00:00 to 24:00)"))
}

/// Weekday names; absent means every day, present must not be empty.
pub(crate) fn weekdays(obj: &Map<String, Value>, key: &str) -> Result<Vec<Weekday>, String> {
    if obj.get(key).is_none_or(Value::is_null) {
        return Ok(Weekday::ALL.to_vec());
    }
    let days = names(obj, key, "weekday", Weekday::from_name)?;
    if days.is_empty() {
        return Err("needs at least one weekday".into());
    }
    Ok(days)
}

/// A channel the host can deliver on (not `web` or `other`).
pub(crate) fn delivery_channel(name: &str) -> Option<Channel> {
    super::channel::DELIVERY_CHANNELS
        .into_iter()
        .find(|c| c.as_str() == name)
}

/// An id usable inside an idempotency key: 1 to 64 ASCII letters, digits,
/// `-`, `_` or `.`.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} must be 1 to 64 ASCII letters, digits, '-', '_' or '.'"
        ))
    }
}
