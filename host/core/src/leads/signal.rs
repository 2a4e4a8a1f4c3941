//! The compact copy of a touchpoint a lead keeps for scoring, the model
//! and its views.

use crate::scoring::{Counted, Facts, RuleSet};
use crate::touchpoint::{
    Acquisition, Channel, ContentStage, Timestamp, Touchpoint, TouchpointKind,
};
use serde::{Deserialize, Serialize};

/// What the engine keeps of one touchpoint: the fields scoring rules look
/// at, its time and id, and the rules it matched (rebuilt on load).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Signal {
    pub(crate) external_id: Box<str>,
    pub(crate) at: Timestamp,
    pub(crate) channel: Channel,
    pub(crate) kind: TouchpointKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stage: Option<ContentStage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) medium: Option<Acquisition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) topic: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) campaign: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email_domain: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) company_domain: Option<Box<str>>,
    /// The engagement rules it matches under the rules in force.
    #[serde(skip)]
    pub(crate) matched: RuleSet,
}

fn boxed(s: &Option<String>) -> Option<Box<str>> {
    s.as_deref().map(Box::from)
}

impl Signal {
    /// The compact copy of `t`, dated `at`, not matched yet.
    pub(crate) fn of(t: &Touchpoint, at: Timestamp) -> Signal {
        let facts = Facts::of(t);
        Signal {
            external_id: Box::from(t.external_id.as_str()),
            at,
            channel: t.channel,
            kind: t.kind.clone(),
            stage: t.properties.content_stage,
            medium: t.properties.medium,
            url: boxed(&t.properties.url),
            topic: boxed(&t.properties.topic),
            campaign: boxed(&t.properties.campaign),
            source: boxed(&t.properties.source),
            email_domain: facts.email_domain.map(Box::from),
            company_domain: facts.company_domain.map(Box::from),
            matched: RuleSet::default(),
        }
    }

    /// What engagement rules look at.
    pub(crate) fn facts(&self) -> Facts<'_> {
        Facts {
            kind: &self.kind,
            channel: self.channel,
            topic: self.topic.as_deref(),
            stage: self.stage,
            url: self.url.as_deref(),
            campaign: self.campaign.as_deref(),
            source: self.source.as_deref(),
            medium: self.medium,
            email_domain: self.email_domain.as_deref(),
            company_domain: self.company_domain.as_deref(),
        }
    }

    /// How scoring counts it.
    pub(crate) fn counted(&self) -> Counted<'_> {
        Counted {
            external_id: &self.external_id,
            occurred_at: Some(self.at),
            matched: self.matched,
        }
    }

    /// The counting order: oldest first, then by id.
    pub(crate) fn order(a: &Signal, b: &Signal) -> std::cmp::Ordering {
        (a.at, &a.external_id).cmp(&(b.at, &b.external_id))
    }
}
