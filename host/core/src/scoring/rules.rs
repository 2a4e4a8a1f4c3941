//! Parsing and validating a tenant's scoring rules (format version 1).
//!
//! Each rule is read field by field from its JSON object rather than through
//! one derived `Deserialize`, so that every error can name the rule's section,
//! index and field.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::touchpoint::{Acquisition, Channel, ContentStage, TouchpointKind};

/// The only format version this crate reads.
pub const RULES_VERSION: u64 = 1;

/// The most engagement rules one tenant may have (matches are kept as a
/// 128-bit set per touchpoint).
pub const MAX_ENGAGEMENT_RULES: usize = 128;

/// Which list of rules a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// Explicit fit: matched against reported traits.
    Fit,
    /// Implicit engagement: matched against touchpoints.
    Engagement,
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Section::Fit => "fit",
            Section::Engagement => "engagement",
        })
    }
}

/// Why a tenant's rules were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulesError {
    /// Not JSON, or the top level is not an object.
    #[error("scoring rules are not valid JSON: {0}")]
    Json(String),
    /// A `version` this crate does not read.
    #[error("scoring rules version {found} is not supported (expected {RULES_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// A top-level setting (`version`, `half_life_days`, `grades.*`, ...) is
    /// missing, unknown or out of range.
    #[error("scoring rules: field `{field}`: {reason}")]
    Setting {
        /// The field's path, e.g. `grades.hot`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// One rule is malformed.
    #[error("{section} rule {index}: field `{field}`: {reason}")]
    Rule {
        /// Its list.
        section: Section,
        /// Its position in that list, from 0.
        index: usize,
        /// The faulty field; empty when the rule itself is not an object.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Grade thresholds on the total score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A total at or above this is hot.
    pub hot: f64,
    /// A total at or above this is warm.
    pub warm: f64,
    /// How far below a threshold a lead must fall to lose that grade.
    pub hysteresis: f64,
}

/// A company-size range, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SizeRange {
    /// The smallest matching size.
    pub min: Option<u32>,
    /// The largest matching size.
    pub max: Option<u32>,
}

/// A match on one of the open-ended `Traits::other` attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMatch {
    /// The attribute's name, exact.
    pub name: String,
    /// Accepted values, compared case-insensitively.
    pub values: Vec<String>,
}

/// An explicit rule: points for who the person is.
#[derive(Debug, Clone, PartialEq)]
pub struct FitRule {
    /// Shown in the ledger.
    pub name: String,
    /// Added once when every given condition holds; may be negative.
    pub points: f64,
    /// Job-title patterns (see the module doc); any may match.
    pub job_title: Vec<String>,
    /// Industries, case-insensitive; any may match.
    pub industry: Vec<String>,
    /// Company size range.
    pub company_size: Option<SizeRange>,
    /// Countries, case-insensitive; any may match.
    pub country: Vec<String>,
    /// An attribute such as the account's importance tier.
    pub attribute: Option<AttributeMatch>,
}

/// An implicit rule: points for what the person did.
#[derive(Debug, Clone, PartialEq)]
pub struct EngagementRule {
    /// Shown in the ledger.
    pub name: String,
    /// Per matching touchpoint, before decay; may be negative.
    pub points: f64,
    /// Largest magnitude this rule contributes in total, after decay.
    pub cap: Option<f64>,
    /// Only touchpoints at most this many days old count.
    pub window_days: Option<f64>,
    /// Whether points decay with the rules' half-life (default true).
    pub decay: bool,
    /// Touchpoint kinds; any may match.
    pub kind: Vec<TouchpointKind>,
    /// Channels; any may match.
    pub channel: Vec<Channel>,
    /// Content topics, case-insensitive; any may match.
    pub topic: Vec<String>,
    /// Content stages; any may match.
    pub stage: Vec<ContentStage>,
    /// The URL starts with this (case-insensitive; kept lower-cased).
    pub url_prefix: Option<String>,
    /// The URL contains this (case-insensitive; kept lower-cased).
    pub url_contains: Option<String>,
    /// Campaigns, case-insensitive; any may match.
    pub campaign: Vec<String>,
    /// Acquisition sources, case-insensitive; any may match.
    pub source: Vec<String>,
    /// Acquisition media; any may match.
    pub medium: Vec<Acquisition>,
    /// Domains of the e-mail address or company domain seen; any may match.
    pub email_domain: Vec<String>,
}

/// A tenant's validated scoring rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub(crate) half_life_days: f64,
    pub(crate) grades: Thresholds,
    pub(crate) fit: Vec<FitRule>,
    pub(crate) engagement: Vec<EngagementRule>,
}

impl Rules {
    /// Parses and validates rules in the JSON format of the module doc.
    pub fn from_json(json: &str) -> Result<Rules, RulesError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| RulesError::Json(e.to_string()))?;
        let Value::Object(top) = value else {
            return Err(RulesError::Json("the top level must be an object".into()));
        };
        let set = |field: &str, reason: String| RulesError::Setting {
            field: field.to_string(),
            reason,
        };
        known(
            &top,
            &["version", "half_life_days", "grades", "fit", "engagement"],
        )
        .map_err(|k| set(&k, "unknown field".into()))?;

        let version: u64 = get(&top, "version")
            .map_err(|r| set("version", r))?
            .ok_or_else(|| set("version", "missing".into()))?;
        if version != RULES_VERSION {
            return Err(RulesError::UnsupportedVersion { found: version });
        }
        let half_life_days: f64 = get(&top, "half_life_days")
            .map_err(|r| set("half_life_days", r))?
            .ok_or_else(|| set("half_life_days", "missing".into()))?;
        if !(half_life_days.is_finite() && half_life_days > 0.0) {
            return Err(set("half_life_days", "must be a number above 0".into()));
        }

        let grades: Map<String, Value> = get(&top, "grades")
            .map_err(|r| set("grades", r))?
            .ok_or_else(|| set("grades", "missing".into()))?;
        known(&grades, &["hot", "warm", "hysteresis"])
            .map_err(|k| set(&format!("grades.{k}"), "unknown field".into()))?;
        let threshold = |key: &str| -> Result<f64, RulesError> {
            let path = format!("grades.{key}");
            let v: f64 = get(&grades, key)
                .map_err(|r| set(&path, r))?
                .ok_or_else(|| set(&path, "missing".into()))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(set(&path, "must be a finite number".into()))
            }
        };
        let hot = threshold("hot")?;
        let warm = threshold("warm")?;
        let hysteresis = match get::<f64>(&grades, "hysteresis") {
            Ok(None) => 0.0,
            Ok(Some(h)) if h.is_finite() && h >= 0.0 => h,
            Ok(Some(_)) => return Err(set("grades.hysteresis", "must be 0 or more".into())),
            Err(r) => return Err(set("grades.hysteresis", r)),
        };
        if warm >= hot {
            return Err(set("grades.warm", "must be below grades.hot".into()));
        }

        let fit = rule_objects(&top, "fit", Section::Fit)?
            .iter()
            .enumerate()
            .map(|(i, o)| fit_rule(i, o))
            .collect::<Result<Vec<_>, _>>()?;
        let engagement = rule_objects(&top, "engagement", Section::Engagement)?
            .iter()
            .enumerate()
            .map(|(i, o)| engagement_rule(i, o))
            .collect::<Result<Vec<_>, _>>()?;
        if engagement.len() > MAX_ENGAGEMENT_RULES {
            return Err(set(
                "engagement",
                format!(
                    "at most {MAX_ENGAGEMENT_RULES} rules (found {})",
                    engagement.len()
                ),
            ));
        }

        Ok(Rules {
            half_life_days,
            grades: Thresholds {
                hot,
                warm,
                hysteresis,
            },
            fit,
            engagement,
        })
    }

    /// Days after which an engagement point is worth half.
    pub fn half_life_days(&self) -> f64 {
        self.half_life_days
    }

    /// The grade thresholds.
    pub fn grades(&self) -> Thresholds {
        self.grades
    }

    /// The explicit rules, in order.
    pub fn fit(&self) -> &[FitRule] {
        &self.fit
    }

    /// The implicit rules, in order.
    pub fn engagement(&self) -> &[EngagementRule] {
        &self.engagement
    }
}

/// The first key of `obj` not in `allowed`.
fn known(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(k.clone()),
        None => Ok(()),
    }
}

/// Reads one optional field; `null` counts as absent.
fn get<T: DeserializeOwned>(obj: &Map<String, Value>, key: &str) -> Result<Option<T>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| e.to_string()),
    }
}

/// The rule objects of one section; an absent section is empty.
fn rule_objects(
    top: &Map<String, Value>,
    key: &str,
    section: Section,
) -> Result<Vec<Map<String, Value>>, RulesError> {
    let items: Vec<Value> = get(top, key)
        .map_err(|reason| RulesError::Setting {
            field: key.to_string(),
            reason,
        })?
        .unwrap_or_default();
    items
        .into_iter()
        .enumerate()
        .map(|(index, v)| match v {
            Value::Object(o) => Ok(o),
            _ => Err(RulesError::Rule {
                section,
                index,
                field: String::new(),
                reason: "a rule must be an object".into(),
            }),
        })
        .collect()
}

/// Reads the fields of one rule, naming it in every error.
struct RuleReader<'a> {
    obj: &'a Map<String, Value>,
    section: Section,
    index: usize,
}

impl RuleReader<'_> {
    fn err(&self, field: &str, reason: impl Into<String>) -> RulesError {
        RulesError::Rule {
            section: self.section,
            index: self.index,
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    fn opt<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, RulesError> {
        get(self.obj, key).map_err(|r| self.err(key, r))
    }

    fn list<T: DeserializeOwned>(&self, key: &str) -> Result<Vec<T>, RulesError> {
        Ok(self.opt(key)?.unwrap_or_default())
    }

    /// A list of non-empty strings, kept as given.
    fn texts(&self, key: &str) -> Result<Vec<String>, RulesError> {
        let v: Vec<String> = self.list(key)?;
        if v.iter().any(|s| s.trim().is_empty()) {
            return Err(self.err(key, "values must not be empty"));
        }
        Ok(v)
    }

    fn name_and_points(&self) -> Result<(String, f64), RulesError> {
        let name: String = self
            .opt("name")?
            .ok_or_else(|| self.err("name", "missing"))?;
        if name.trim().is_empty() {
            return Err(self.err("name", "must not be empty"));
        }
        let points: f64 = self
            .opt("points")?
            .ok_or_else(|| self.err("points", "missing"))?;
        if !points.is_finite() || points == 0.0 {
            return Err(self.err("points", "must be a finite number other than 0"));
        }
        Ok((name, points))
    }
}

const FIT_FIELDS: &[&str] = &[
    "name",
    "points",
    "job_title",
    "industry",
    "company_size",
    "country",
    "attribute",
];

fn fit_rule(index: usize, obj: &Map<String, Value>) -> Result<FitRule, RulesError> {
    let r = RuleReader {
        obj,
        section: Section::Fit,
        index,
    };
    known(obj, FIT_FIELDS).map_err(|k| r.err(&k, "unknown field"))?;
    let (name, points) = r.name_and_points()?;
    let company_size = match r.opt::<Map<String, Value>>("company_size")? {
        None => None,
        Some(range) => {
            known(&range, &["min", "max"])
                .map_err(|k| r.err(&format!("company_size.{k}"), "unknown field"))?;
            let min: Option<u32> = get(&range, "min").map_err(|e| r.err("company_size.min", e))?;
            let max: Option<u32> = get(&range, "max").map_err(|e| r.err("company_size.max", e))?;
            match (min, max) {
                (None, None) => return Err(r.err("company_size", "needs min or max")),
                (Some(lo), Some(hi)) if lo > hi => {
                    return Err(r.err("company_size", "min is above max"));
                }
                _ => Some(SizeRange { min, max }),
            }
        }
    };
    let attribute = match r.opt::<Map<String, Value>>("attribute")? {
        None => None,
        Some(a) => {
            known(&a, &["name", "values"])
                .map_err(|k| r.err(&format!("attribute.{k}"), "unknown field"))?;
            let name: String = get(&a, "name")
                .map_err(|e| r.err("attribute.name", e))?
                .filter(|n: &String| !n.is_empty())
                .ok_or_else(|| r.err("attribute.name", "missing"))?;
            let values: Vec<String> = get(&a, "values")
                .map_err(|e| r.err("attribute.values", e))?
                .filter(|v: &Vec<String>| !v.is_empty())
                .ok_or_else(|| r.err("attribute.values", "needs at least one value"))?;
            Some(AttributeMatch { name, values })
        }
    };
    let rule = FitRule {
        name,
        points,
        job_title: r.texts("job_title")?,
        industry: r.texts("industry")?,
        company_size,
        country: r.texts("country")?,
        attribute,
    };
    if rule.job_title.is_empty()
        && rule.industry.is_empty()
        && rule.company_size.is_none()
        && rule.country.is_empty()
        && rule.attribute.is_none()
    {
        return Err(r.err("", "a fit rule needs at least one condition"));
    }
    Ok(rule)
}

const ENGAGEMENT_FIELDS: &[&str] = &[
    "name",
    "points",
    "cap",
    "window_days",
    "decay",
    "kind",
    "channel",
    "topic",
    "stage",
    "url_prefix",
    "url_contains",
    "campaign",
    "source",
    "medium",
    "email_domain",
];

fn engagement_rule(index: usize, obj: &Map<String, Value>) -> Result<EngagementRule, RulesError> {
    let r = RuleReader {
        obj,
        section: Section::Engagement,
        index,
    };
    known(obj, ENGAGEMENT_FIELDS).map_err(|k| r.err(&k, "unknown field"))?;
    let (name, points) = r.name_and_points()?;
    let cap: Option<f64> = r.opt("cap")?;
    if cap.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
        return Err(r.err("cap", "must be a number above 0 (it bounds the magnitude)"));
    }
    let window_days: Option<f64> = r.opt("window_days")?;
    if window_days.is_some_and(|w| !(w.is_finite() && w > 0.0)) {
        return Err(r.err("window_days", "must be a number above 0"));
    }
    let kind = r
        .list::<String>("kind")?
        .iter()
        .map(|k| match TouchpointKind::from_name(k) {
            Some(TouchpointKind::Custom(c)) if c.is_empty() => None,
            other => other,
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| r.err("kind", "unknown touchpoint kind"))?;
    let opt_text = |key: &str| -> Result<Option<String>, RulesError> {
        match r.opt::<String>(key)? {
            Some(s) if s.is_empty() => Err(r.err(key, "must not be empty")),
            other => Ok(other),
        }
    };
    let rule = EngagementRule {
        name,
        points,
        cap,
        window_days,
        decay: r.opt("decay")?.unwrap_or(true),
        kind,
        channel: r.list("channel")?,
        topic: r.texts("topic")?,
        stage: r.list("stage")?,
        // Kept lower-cased: URLs are compared case-insensitively.
        url_prefix: opt_text("url_prefix")?.map(|u| u.to_lowercase()),
        url_contains: opt_text("url_contains")?.map(|u| u.to_lowercase()),
        campaign: r.texts("campaign")?,
        source: r.texts("source")?,
        medium: r.list("medium")?,
        email_domain: r.texts("email_domain")?,
    };
    if rule.kind.is_empty()
        && rule.channel.is_empty()
        && rule.topic.is_empty()
        && rule.stage.is_empty()
        && rule.url_prefix.is_none()
        && rule.url_contains.is_none()
        && rule.campaign.is_empty()
        && rule.source.is_empty()
        && rule.medium.is_empty()
        && rule.email_domain.is_empty()
    {
        return Err(r.err("", "an engagement rule needs at least one condition"));
    }
    Ok(rule)
}
