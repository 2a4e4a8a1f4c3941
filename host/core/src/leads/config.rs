//! A tenant's lead-engine configuration: scoring rules, qualification
//! policy and routing, each versioned by the store.

use crate::lifecycle::{Policy, RoutingRules};
use crate::nurture::{NurtureConfig, NurtureConfigError};
use crate::scoring::{Rules, RulesError};
use serde::{Deserialize, Serialize};

/// The scoring rules a tenant starts with until it sets its own: B2B fit on
/// job title and company size, engagement on forms, downloads, e-mail
/// clicks, events, quotes and the portal, and the negative signals.
pub const DEFAULT_RULES: &str = r#"{
  "version": 1,
  "half_life_days": 45,
  "grades": { "hot": 60, "warm": 25, "hysteresis": 5 },
  "fit": [
    { "name": "decision maker", "points": 20,
      "job_title": ["director", "vp", "head of *", "chief *", "manager"] },
    { "name": "mid-size or larger", "points": 10, "company_size": { "min": 200 } },
    { "name": "student", "points": -30, "job_title": ["student", "intern"] }
  ],
  "engagement": [
    { "name": "page view", "points": 1, "kind": ["page-view"], "cap": 10 },
    { "name": "pricing page", "points": 5, "kind": ["page-view"], "url_contains": "pricing", "cap": 15 },
    { "name": "form", "points": 15, "kind": ["form-submitted", "social-lead-form"] },
    { "name": "download", "points": 8, "kind": ["download"], "cap": 24 },
    { "name": "closing content", "points": 10, "stage": ["closing"], "cap": 30 },
    { "name": "email click", "points": 4, "kind": ["email-clicked"], "cap": 20 },
    { "name": "email open", "points": 1, "kind": ["email-opened"], "cap": 5 },
    { "name": "event", "points": 12, "kind": ["event-attended", "badge-scanned"] },
    { "name": "event registration", "points": 5, "kind": ["event-registered"] },
    { "name": "quote request", "points": 30, "kind": ["quote-requested"] },
    { "name": "portal use", "points": 2, "kind": ["portal-login", "support-ticket"], "cap": 10 },
    { "name": "unsubscribed", "points": -40, "kind": ["unsubscribed"], "decay": false, "cap": 40 },
    { "name": "hard bounce", "points": -20, "kind": ["email-bounced"], "decay": false, "cap": 20 },
    { "name": "complaint", "points": -40, "kind": ["email-complained"], "decay": false, "cap": 40 }
  ]
}"#;

/// The versions of a tenant's configuration parts (0: the built-in default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Versions {
    /// Of the scoring rules.
    pub scoring: i64,
    /// Of the qualification policy.
    pub policy: i64,
    /// Of the routing rules.
    pub routing: i64,
    /// Of the nurturing settings.
    #[serde(default)]
    pub nurture: i64,
}

/// A tenant's validated configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConfigDoc", into = "ConfigDoc")]
pub struct TenantConfig {
    scoring_json: String,
    rules: Rules,
    /// Thresholds, SLA and buying roles.
    pub policy: Policy,
    /// Who gets sales-ready leads; `None`: hand-offs stay unassigned.
    pub routing: Option<RoutingRules>,
    /// Care models, the send-time policy and the delivering connectors.
    pub nurture: NurtureConfig,
    nurture_json: Option<String>,
    /// Which stored versions these are.
    pub versions: Versions,
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig::new(DEFAULT_RULES, Policy::default(), None, Versions::default())
            .unwrap_or_else(|_| unreachable_default())
    }
}

/// The default rules are a constant checked by a test; this is never reached.
#[cold]
fn unreachable_default() -> TenantConfig {
    TenantConfig {
        scoring_json: String::new(),
        rules: Rules {
            half_life_days: 30.0,
            grades: crate::scoring::Thresholds {
                hot: 60.0,
                warm: 25.0,
                hysteresis: 0.0,
            },
            fit: Vec::new(),
            engagement: Vec::new(),
        },
        policy: Policy::default(),
        routing: None,
        nurture: NurtureConfig::default(),
        nurture_json: None,
        versions: Versions::default(),
    }
}

impl TenantConfig {
    /// A configuration from its parts; the scoring rules are parsed and
    /// validated here.
    pub fn new(
        scoring_json: &str,
        policy: Policy,
        routing: Option<RoutingRules>,
        versions: Versions,
    ) -> Result<TenantConfig, RulesError> {
        Ok(TenantConfig {
            rules: Rules::from_json(scoring_json)?,
            scoring_json: scoring_json.to_string(),
            policy,
            routing,
            nurture: NurtureConfig::default(),
            nurture_json: None,
            versions,
        })
    }

    /// This configuration with the tenant's nurturing settings (the JSON
    /// document of [`NurtureConfig`]).
    pub fn with_nurture(mut self, json: &str) -> Result<TenantConfig, NurtureConfigError> {
        self.nurture = NurtureConfig::from_json(json)?;
        self.nurture_json = Some(json.to_string());
        Ok(self)
    }

    /// The parsed scoring rules.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The scoring rules as the tenant wrote them.
    pub fn scoring_json(&self) -> &str {
        &self.scoring_json
    }
}

/// The stored form of a [`TenantConfig`]: the rules as text.
#[derive(Serialize, Deserialize)]
struct ConfigDoc {
    scoring: String,
    policy: Policy,
    routing: Option<RoutingRules>,
    #[serde(default)]
    nurture: Option<String>,
    versions: Versions,
}

impl TryFrom<ConfigDoc> for TenantConfig {
    type Error = String;
    fn try_from(doc: ConfigDoc) -> Result<Self, Self::Error> {
        let config = TenantConfig::new(&doc.scoring, doc.policy, doc.routing, doc.versions)
            .map_err(|e| e.to_string())?;
        match doc.nurture {
            None => Ok(config),
            Some(json) => config.with_nurture(&json).map_err(|e| e.to_string()),
        }
    }
}

impl From<TenantConfig> for ConfigDoc {
    fn from(c: TenantConfig) -> Self {
        ConfigDoc {
            scoring: c.scoring_json,
            policy: c.policy,
            routing: c.routing,
            nurture: c.nurture_json,
            versions: c.versions,
        }
    }
}
