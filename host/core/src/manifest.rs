//! A connector's manifest as the host keeps it, and its validation.

use serde::{Deserialize, Serialize};

use crate::touchpoint::Channel;

/// The operations a connector supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Operations {
    pub ingest: bool,
    pub poll: bool,
    pub deliver: bool,
}

/// The type of a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ConfigType {
    Text,
    Integer,
    Boolean,
    Url,
}

/// One configuration value a connector reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ConfigField {
    pub name: String,
    pub description: String,
    pub value_type: ConfigType,
    pub required: bool,
    pub default_value: Option<String>,
}

/// One secret a connector uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct SecretField {
    pub name: String,
    pub description: String,
    pub required: bool,
}

/// What a connector asks to be granted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Capabilities {
    pub outbound_hosts: Vec<String>,
    pub state: bool,
}

/// Who a connector is and what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    pub channels: Vec<Channel>,
    pub operations: Operations,
    pub config: Vec<ConfigField>,
    pub secrets: Vec<SecretField>,
    pub capabilities: Capabilities,
}

/// One thing wrong with a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestProblem {
    /// The name is not lower-case kebab of 1 to 63 characters.
    #[error("name {0:?} must be lower-case kebab (a-z, 0-9, '-'), 1 to 63 characters")]
    BadName(String),
    /// The version is not `MAJOR.MINOR.PATCH`.
    #[error("version {0:?} is not semver (MAJOR.MINOR.PATCH)")]
    BadVersion(String),
    /// No operation is supported.
    #[error("supports none of ingest, poll, deliver")]
    NoOperations,
    /// No channel is named.
    #[error("names no channel")]
    NoChannels,
    /// A configuration key or secret name is given twice.
    #[error("{0:?} is declared twice")]
    Duplicate(String),
    /// A configuration key or secret name is not kebab.
    #[error("configuration or secret name {0:?} must be lower-case kebab")]
    BadFieldName(String),
    /// A default value does not fit its declared type.
    #[error("default {value:?} of {field:?} is not a valid {expected}")]
    BadDefault {
        /// The field.
        field: String,
        /// The default given.
        value: String,
        /// The type it should be.
        expected: &'static str,
    },
    /// An outbound host pattern is malformed.
    #[error("outbound host {0}")]
    BadHost(#[from] crate::grants::HostGrantError),
    /// `{config:KEY}` names no configuration field of type url.
    #[error("outbound host {0:?} must name a configuration field of type url")]
    BadHostReference(String),
}

/// The configuration key of an outbound host entry `{config:KEY}`: the
/// connector calls whatever host the operator configures under KEY.
pub fn config_reference(host: &str) -> Option<&str> {
    host.strip_prefix("{config:")?.strip_suffix('}')
}

/// The `host[:port]` of an absolute http(s) URL.
pub fn url_authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    (!authority.is_empty()).then_some(authority)
}

impl Manifest {
    /// The outbound hosts this connector asks for, with `{config:KEY}`
    /// entries resolved against `config` (the operator's values, else the
    /// defaults). Entries that resolve to nothing are left out.
    pub fn requested_hosts(
        &self,
        config: &std::collections::BTreeMap<String, String>,
    ) -> Vec<String> {
        self.capabilities
            .outbound_hosts
            .iter()
            .filter_map(|h| match config_reference(h) {
                None => Some(h.clone()),
                Some(key) => config
                    .get(key)
                    .map(String::as_str)
                    .or_else(|| self.default_of(key))
                    .and_then(url_authority)
                    .map(str::to_string),
            })
            .collect()
    }
}

/// Whether `s` is lower-case kebab: `[a-z0-9][a-z0-9-]*`, at most 63 bytes.
pub fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

fn is_semver(s: &str) -> bool {
    let core = s.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<_> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

impl ConfigType {
    /// Whether `value` is a valid value of this type.
    pub fn accepts(self, value: &str) -> bool {
        match self {
            ConfigType::Text => true,
            ConfigType::Integer => value.parse::<i64>().is_ok(),
            ConfigType::Boolean => matches!(value, "true" | "false"),
            ConfigType::Url => {
                (value.starts_with("http://") || value.starts_with("https://")) && value.len() > 8
            }
        }
    }

    /// The type's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Text => "text",
            ConfigType::Integer => "integer",
            ConfigType::Boolean => "boolean",
            ConfigType::Url => "url",
        }
    }
}

impl Manifest {
    /// Every problem with this manifest; empty when it is valid.
    pub fn problems(&self) -> Vec<ManifestProblem> {
        let mut out = Vec::new();
        if !is_kebab(&self.name) {
            out.push(ManifestProblem::BadName(self.name.clone()));
        }
        if !is_semver(&self.version) {
            out.push(ManifestProblem::BadVersion(self.version.clone()));
        }
        let ops = self.operations;
        if !(ops.ingest || ops.poll || ops.deliver) {
            out.push(ManifestProblem::NoOperations);
        }
        if self.channels.is_empty() {
            out.push(ManifestProblem::NoChannels);
        }
        let mut seen = std::collections::BTreeSet::new();
        let names = self
            .config
            .iter()
            .map(|c| &c.name)
            .chain(self.secrets.iter().map(|s| &s.name));
        for name in names {
            if !is_kebab(name) {
                out.push(ManifestProblem::BadFieldName(name.clone()));
            }
            if !seen.insert(name) {
                out.push(ManifestProblem::Duplicate(name.clone()));
            }
        }
        for field in &self.config {
            if let Some(value) = &field.default_value
                && !field.value_type.accepts(value)
            {
                out.push(ManifestProblem::BadDefault {
                    field: field.name.clone(),
                    value: value.clone(),
                    expected: field.value_type.name(),
                });
            }
        }
        for host in &self.capabilities.outbound_hosts {
            match config_reference(host) {
                Some(key) => {
                    let is_url = self
                        .config
                        .iter()
                        .any(|c| c.name == key && c.value_type == ConfigType::Url);
                    if !is_url {
                        out.push(ManifestProblem::BadHostReference(host.clone()));
                    }
                }
                None => {
                    if let Err(e) = crate::grants::HostGrant::parse(host) {
                        out.push(e.into());
                    }
                }
            }
        }
        out
    }

    /// The declared default of a configuration key.
    pub fn default_of(&self, key: &str) -> Option<&str> {
        self.config
            .iter()
            .find(|c| c.name == key)
            .and_then(|c| c.default_value.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Manifest {
        Manifest {
            name: "web".into(),
            version: "0.1.0".into(),
            description: "Segment-compatible web tracking".into(),
            channels: vec![Channel::Web],
            operations: Operations {
                ingest: true,
                ..Operations::default()
            },
            config: vec![ConfigField {
                name: "max-batch-bytes".into(),
                description: "limit".into(),
                value_type: ConfigType::Integer,
                required: false,
                default_value: Some("512000".into()),
            }],
            secrets: vec![SecretField {
                name: "write-key".into(),
                description: "key".into(),
                required: true,
            }],
            capabilities: Capabilities::default(),
        }
    }

    #[test]
    fn a_good_manifest_has_no_problems() {
        assert_eq!(valid().problems(), vec![]);
        assert_eq!(valid().default_of("max-batch-bytes"), Some("512000"));
    }

    #[test]
    fn config_references_resolve_to_the_configured_host() {
        let mut m = valid();
        m.config.push(ConfigField {
            name: "base-url".into(),
            description: "API".into(),
            value_type: ConfigType::Url,
            required: false,
            default_value: Some("https://api.sendgrid.com".into()),
        });
        m.capabilities.outbound_hosts = vec!["api.sendgrid.com".into(), "{config:base-url}".into()];
        assert_eq!(m.problems(), vec![]);
        let mut config = std::collections::BTreeMap::new();
        assert_eq!(
            m.requested_hosts(&config),
            vec!["api.sendgrid.com", "api.sendgrid.com"]
        );
        config.insert("base-url".into(), "http://127.0.0.1:9000/v3".into());
        assert_eq!(
            m.requested_hosts(&config),
            vec!["api.sendgrid.com", "127.0.0.1:9000"]
        );
        m.capabilities.outbound_hosts = vec!["{config:max-batch-bytes}".into()];
        assert_eq!(
            m.problems(),
            vec![ManifestProblem::BadHostReference(
                "{config:max-batch-bytes}".into()
            )]
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let mut m = valid();
        m.name = "Web_Thing".into();
        m.version = "1.0".into();
        m.operations = Operations::default();
        m.channels.clear();
        m.config[0].default_value = Some("lots".into());
        m.secrets[0].name = "max-batch-bytes".into();
        m.capabilities.outbound_hosts = vec!["http://x.com/path".into()];
        let problems = m.problems();
        assert_eq!(problems.len(), 7, "{problems:?}");
        assert!(problems.contains(&ManifestProblem::Duplicate("max-batch-bytes".into())));
    }
}
