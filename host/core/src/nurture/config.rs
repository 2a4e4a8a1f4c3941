//! A tenant's whole nurturing configuration as one versioned document: the
//! send-time policy, the connector that delivers on each channel, and the
//! care models.

use super::{CareModel, CareModelError, NurturePolicy, PolicyError};
use crate::touchpoint::Channel;
use serde_json::{Map, Value};

/// The tenant's nurturing configuration:
///
/// ```json
/// { "policy": { "version": 1, "quiet_hours": { "from": "20:00", "to": "08:00" } },
///   "channels": { "email": "newsletter", "portal": "portal" },
///   "models": [ { "version": 1, "name": "welcome",
///                 "steps": [ { "id": "hi", "send": { "content": "intro",
///                              "stage": "connecting", "text": "Welcome" } } ] } ] }
/// ```
///
/// Every part is optional: no policy is the default policy, no channels
/// means nothing can be delivered yet, no models means nobody is nurtured.
/// `channels` maps a delivery channel to the name of the tenant's connector
/// that delivers on it. Model names are unique. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NurtureConfig {
    /// The send-time policy.
    pub policy: NurturePolicy,
    /// Which connector delivers on each channel, in the document's order.
    pub channels: Vec<(Channel, String)>,
    /// The care models, in the document's order.
    pub models: Vec<CareModel>,
}

/// Why a nurturing configuration was refused; the message names the part.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NurtureConfigError {
    /// Not a JSON object, or an unknown top-level field.
    #[error("nurture configuration: {0}")]
    Document(String),
    /// The policy is invalid.
    #[error("nurture configuration: policy: {0}")]
    Policy(PolicyError),
    /// A channel entry is invalid.
    #[error("nurture configuration: channels.{channel}: {reason}")]
    Channel {
        /// The key as written.
        channel: String,
        /// What is wrong.
        reason: String,
    },
    /// A care model is invalid.
    #[error("nurture configuration: models[{index}] ({name}): {error}")]
    Model {
        /// Its position, from 0.
        index: usize,
        /// Its name as written, or `?`.
        name: String,
        /// What is wrong, naming the step and field.
        error: CareModelError,
    },
    /// Two models share a name.
    #[error("nurture configuration: models[{index}]: the name {name:?} is used twice")]
    DuplicateModel {
        /// The second one's position.
        index: usize,
        /// The name.
        name: String,
    },
}

impl NurtureConfig {
    /// Parses and validates the document.
    pub fn from_json(json: &str) -> Result<NurtureConfig, NurtureConfigError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| NurtureConfigError::Document(format!("not valid JSON: {e}")))?;
        let Value::Object(top) = value else {
            return Err(NurtureConfigError::Document(
                "the top level must be an object".into(),
            ));
        };
        if let Some(k) = top
            .keys()
            .find(|k| !["policy", "channels", "models"].contains(&k.as_str()))
        {
            return Err(NurtureConfigError::Document(format!(
                "unknown field `{k}` (fields: policy, channels, models)"
            )));
        }
        let policy = match top.get("policy") {
            None | Some(Value::Null) => NurturePolicy::default(),
            Some(p) => {
                NurturePolicy::from_json(&p.to_string()).map_err(NurtureConfigError::Policy)?
            }
        };
        let channels = channels(top.get("channels"))?;
        let mut models: Vec<CareModel> = Vec::new();
        let list = match top.get("models") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.clone(),
            Some(_) => {
                return Err(NurtureConfigError::Document(
                    "`models` must be a list of care models".into(),
                ));
            }
        };
        for (index, m) in list.iter().enumerate() {
            let name = m
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let model = CareModel::from_json(&m.to_string()).map_err(|error| {
                NurtureConfigError::Model {
                    index,
                    name: name.clone(),
                    error,
                }
            })?;
            if models.iter().any(|other| other.name() == model.name()) {
                return Err(NurtureConfigError::DuplicateModel { index, name });
            }
            models.push(model);
        }
        Ok(NurtureConfig {
            policy,
            channels,
            models,
        })
    }

    /// The connector that delivers on `channel`, if one is configured.
    pub fn connector(&self, channel: Channel) -> Option<&str> {
        self.channels
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, name)| name.as_str())
    }

    /// The care model named `name`.
    pub fn model(&self, name: &str) -> Option<&CareModel> {
        self.models.iter().find(|m| m.name() == name)
    }
}

fn channels(value: Option<&Value>) -> Result<Vec<(Channel, String)>, NurtureConfigError> {
    let map: Map<String, Value> = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(NurtureConfigError::Document(
                "`channels` must be an object of channel → connector name".into(),
            ));
        }
    };
    let mut out = Vec::new();
    for (key, connector) in map {
        let bad = |reason: String| NurtureConfigError::Channel {
            channel: key.clone(),
            reason,
        };
        let channel: Channel =
            serde_json::from_value(Value::String(key.clone())).map_err(|_| {
                bad(format!(
                    "not a delivery channel (channels: {})",
                    super::DELIVERY_CHANNELS
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if !super::DELIVERY_CHANNELS.contains(&channel) {
            return Err(bad(format!(
                "{} is not a channel messages go out on",
                channel.as_str()
            )));
        }
        let name = connector
            .as_str()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| bad("must name a connector".into()))?;
        out.push((channel, name.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{ "policy": { "version": 1, "quiet_hours": { "from": "20:00", "to": "08:00" } },
  "channels": { "email": "newsletter", "portal": "portal" },
  "models": [ { "version": 1, "name": "welcome",
                "steps": [ { "id": "hi", "send": { "content": "intro",
                             "stage": "connecting", "text": "Welcome" } } ] } ] }"#;

    #[test]
    fn the_documented_example_parses() {
        let c = NurtureConfig::from_json(DOC).unwrap();
        assert_eq!(c.connector(Channel::Email), Some("newsletter"));
        assert_eq!(c.connector(Channel::Events), None);
        assert_eq!(c.model("welcome").unwrap().steps().len(), 1);
        assert!(c.policy.quiet_hours().is_some());
        assert_eq!(
            NurtureConfig::from_json("{}").unwrap(),
            NurtureConfig::default()
        );
    }

    #[test]
    fn errors_name_the_model_step_and_field() {
        let bad_step = DOC.replace(r#""stage": "connecting""#, r#""stage": "closed""#);
        let e = NurtureConfig::from_json(&bad_step).unwrap_err().to_string();
        assert!(
            e.starts_with("nurture configuration: models[0] (welcome): step 1"),
            "{e}"
        );
        assert!(e.contains("stage"), "{e}");

        let twice = DOC.replace(r#"} ] } ] }"#, r#"} ] } ] , "x": 1}"#);
        let e = NurtureConfig::from_json(&twice).unwrap_err().to_string();
        assert!(e.contains("unknown field `x`"), "{e}");

        let web = DOC.replace(r#""portal": "portal""#, r#""web": "site""#);
        let e = NurtureConfig::from_json(&web).unwrap_err().to_string();
        assert!(e.contains("channels.web"), "{e}");

        let policy = DOC.replace(r#""from": "20:00""#, r#""from": "25:00""#);
        let e = NurtureConfig::from_json(&policy).unwrap_err().to_string();
        assert!(e.contains("policy"), "{e}");

        let model =
            r#"{"version": 1, "name": "welcome", "steps": [{"id": "hi", "wait": {"days": 1}}]}"#;
        let dup = format!(r#"{{"models": [{model}, {model}]}}"#);
        assert_eq!(
            NurtureConfig::from_json(&dup),
            Err(NurtureConfigError::DuplicateModel {
                index: 1,
                name: "welcome".into()
            })
        );
    }
}
