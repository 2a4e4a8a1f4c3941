//! The touchpoint: one thing a person or account did on one channel. Every
//! connector, whatever contract version it speaks, normalizes to this.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The channel a touchpoint came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Channel {
    Web,
    Email,
    Social,
    Eservices,
    Portal,
    Events,
    Other,
}

impl Channel {
    /// Every channel, in declaration order (`ALL[c as usize] == c`).
    pub const ALL: [Channel; 7] = [
        Channel::Web,
        Channel::Email,
        Channel::Social,
        Channel::Eservices,
        Channel::Portal,
        Channel::Events,
        Channel::Other,
    ];

    /// The channel's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Email => "email",
            Channel::Social => "social",
            Channel::Eservices => "eservices",
            Channel::Portal => "portal",
            Channel::Events => "events",
            Channel::Other => "other",
        }
    }
}

/// Declares the fieldless touchpoint kinds once, with their stored names.
macro_rules! kinds {
    ($($case:ident => $name:literal),* $(,)?) => {
        /// What happened. The stored name is kebab-case; `Custom` keeps the
        /// channel's own name prefixed with `custom:`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum TouchpointKind {
            $($case,)*
            Custom(String),
        }

        impl TouchpointKind {
            /// The stored name, e.g. `page-view` or `custom:chat-started`.
            pub fn name(&self) -> std::borrow::Cow<'static, str> {
                match self {
                    $(TouchpointKind::$case => std::borrow::Cow::Borrowed($name),)*
                    TouchpointKind::Custom(c) => std::borrow::Cow::Owned(format!("custom:{c}")),
                }
            }

            /// Parses a stored name back.
            pub fn from_name(name: &str) -> Option<TouchpointKind> {
                match name {
                    $($name => Some(TouchpointKind::$case),)*
                    other => other.strip_prefix("custom:").map(|c| TouchpointKind::Custom(c.to_string())),
                }
            }
        }
    };
}

kinds! {
    PageView => "page-view",
    ScreenView => "screen-view",
    FormSubmitted => "form-submitted",
    Download => "download",
    VideoPlayed => "video-played",
    Identified => "identified",
    AccountLinked => "account-linked",
    Alias => "alias",
    EmailDelivered => "email-delivered",
    EmailOpened => "email-opened",
    EmailClicked => "email-clicked",
    EmailBounced => "email-bounced",
    EmailComplained => "email-complained",
    Unsubscribed => "unsubscribed",
    SocialLeadForm => "social-lead-form",
    SocialEngagement => "social-engagement",
    OrderPlaced => "order-placed",
    QuoteRequested => "quote-requested",
    CartUpdated => "cart-updated",
    PortalLogin => "portal-login",
    SupportTicket => "support-ticket",
    EquipmentRegistered => "equipment-registered",
    UsageAlert => "usage-alert",
    EventRegistered => "event-registered",
    EventAttended => "event-attended",
    BadgeScanned => "badge-scanned",
    EventNoShow => "event-no-show",
}

impl Serialize for TouchpointKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for TouchpointKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        TouchpointKind::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown touchpoint kind {name:?}")))
    }
}

/// Where in the buying journey content belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ContentStage {
    Connecting,
    Educating,
    Closing,
}

/// How the person came to the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Acquisition {
    Organic,
    Paid,
    Referral,
    Direct,
    Email,
    Social,
}

impl Acquisition {
    /// Every medium.
    pub const ALL: [Acquisition; 6] = [
        Acquisition::Organic,
        Acquisition::Paid,
        Acquisition::Referral,
        Acquisition::Direct,
        Acquisition::Email,
        Acquisition::Social,
    ];

    /// The medium's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Acquisition::Organic => "organic",
            Acquisition::Paid => "paid",
            Acquisition::Referral => "referral",
            Acquisition::Direct => "direct",
            Acquisition::Email => "email",
            Acquisition::Social => "social",
        }
    }
}

/// Open-ended name/value data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attribute {
    /// The name.
    pub name: String,
    /// The value as text; JSON where structured.
    pub value: String,
}

/// The identities seen on a touchpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Identities {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub social_handle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// What the person reported.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Traits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<Attribute>,
}

/// Facts about the touchpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Properties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_stage: Option<ContentStage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<Acquisition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<Attribute>,
}

/// A consent given or withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentSignal {
    /// What it is for.
    pub purpose: String,
    /// The channel it applies to; `None`: every channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// Given or withdrawn.
    pub granted: bool,
}

/// One thing a person or account did on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Touchpoint {
    /// The channel's stable id of the event.
    pub external_id: String,
    /// When it happened per the channel; `None`: when received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
    /// The channel.
    pub channel: Channel,
    /// What happened.
    pub kind: TouchpointKind,
    /// Who did it.
    #[serde(default)]
    pub identities: Identities,
    /// What they reported.
    #[serde(default)]
    pub traits: Traits,
    /// Facts about what happened.
    #[serde(default)]
    pub properties: Properties,
    /// Consents given or withdrawn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consent: Vec<ConsentSignal>,
}

/// Why a touchpoint a plugin produced is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TouchpointProblem {
    /// The external id is empty or longer than [`MAX_EXTERNAL_ID`].
    #[error("touchpoint {index}: external id must be 1 to {MAX_EXTERNAL_ID} bytes")]
    BadExternalId {
        /// Its position in the batch.
        index: usize,
    },
    /// A custom kind with an empty name.
    #[error("touchpoint {index}: a custom kind needs a name")]
    EmptyCustomKind {
        /// Its position in the batch.
        index: usize,
    },
}

/// The longest external id the host stores.
pub const MAX_EXTERNAL_ID: usize = 256;

impl Touchpoint {
    /// Checks what the host relies on: an external id it can key by.
    pub fn validate(&self, index: usize) -> Result<(), TouchpointProblem> {
        if self.external_id.is_empty() || self.external_id.len() > MAX_EXTERNAL_ID {
            return Err(TouchpointProblem::BadExternalId { index });
        }
        if matches!(&self.kind, TouchpointKind::Custom(c) if c.is_empty()) {
            return Err(TouchpointProblem::EmptyCustomKind { index });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_and_media_list_every_case_under_its_serialized_name() {
        for (i, c) in Channel::ALL.into_iter().enumerate() {
            assert_eq!(c as usize, i, "{c:?} is out of declaration order");
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for m in Acquisition::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [
            TouchpointKind::PageView,
            TouchpointKind::EventNoShow,
            TouchpointKind::Custom("chat-started".into()),
        ] {
            assert_eq!(TouchpointKind::from_name(&kind.name()), Some(kind));
        }
        assert_eq!(TouchpointKind::from_name("nonsense"), None);
    }

    #[test]
    fn touchpoints_serialize_compactly_and_back() {
        let t = Touchpoint {
            external_id: "m-1".into(),
            occurred_at: Some(5),
            channel: Channel::Web,
            kind: TouchpointKind::Download,
            identities: Identities {
                email: Some("a@b.fi".into()),
                ..Identities::default()
            },
            traits: Traits::default(),
            properties: Properties {
                medium: Some(Acquisition::Paid),
                ..Properties::default()
            },
            consent: vec![],
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"external_id":"m-1","occurred_at":5,"channel":"web","kind":"download","identities":{"email":"a@b.fi"},"traits":{},"properties":{"medium":"paid"}}"#
        );
        let back: Touchpoint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn validation_names_the_bad_touchpoint() {
        let mut t: Touchpoint =
            serde_json::from_str(r#"{"external_id":"","channel":"web","kind":"custom:x"}"#)
                .unwrap();
        assert_eq!(
            t.validate(3),
            Err(TouchpointProblem::BadExternalId { index: 3 })
        );
        t.external_id = "ok".into();
        assert_eq!(t.validate(3), Ok(()));
    }
}
