//! A nurturing message the host sends through a connector's `deliver`, and
//! what came of it.

use serde::{Deserialize, Serialize};

use crate::touchpoint::{Attribute, Identities};

/// A message to deliver. The idempotency key makes a retry safe: the same
/// key is sent at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Unique per message.
    pub idempotency_key: String,
    /// Who gets it.
    pub recipient: Identities,
    /// Their display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_name: Option<String>,
    /// A subject line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The plain-text body.
    pub text: String,
    /// An HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The content being sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// The campaign or care model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// Channel-specific extras (template ids, event ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<Attribute>,
}

/// Why a message was refused for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum RejectionReason {
    UnreachableRecipient,
    OptedOut,
    ContentRefused,
    Misconfigured,
    Unsupported,
    Other,
}

/// What a delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum DeliveryOutcome {
    /// The provider took it.
    Accepted {
        /// The provider's id for it.
        provider_id: String,
    },
    /// Try again later.
    RetryAfter {
        /// How long to wait, in seconds.
        seconds: u32,
    },
    /// Do not try again.
    Rejected {
        /// The kind of refusal.
        reason: RejectionReason,
        /// Words for the operator.
        message: String,
    },
}

/// Why a message cannot be sent as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageProblem {
    /// The idempotency key is empty or longer than 256 bytes.
    #[error("the idempotency key must be 1 to 256 bytes")]
    BadIdempotencyKey,
    /// No identity to send to.
    #[error("the recipient has no identity")]
    NoRecipient,
}

impl Message {
    /// Checks what every channel relies on.
    pub fn validate(&self) -> Result<(), MessageProblem> {
        if self.idempotency_key.is_empty() || self.idempotency_key.len() > 256 {
            return Err(MessageProblem::BadIdempotencyKey);
        }
        if self.recipient == Identities::default() {
            return Err(MessageProblem::NoRecipient);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialize_with_their_status() {
        let json = serde_json::to_string(&DeliveryOutcome::RetryAfter { seconds: 30 }).unwrap();
        assert_eq!(json, r#"{"status":"retry-after","seconds":30}"#);
        let back: DeliveryOutcome = serde_json::from_str(
            r#"{"status":"rejected","reason":"opted-out","message":"unsubscribed"}"#,
        )
        .unwrap();
        assert_eq!(
            back,
            DeliveryOutcome::Rejected {
                reason: RejectionReason::OptedOut,
                message: "unsubscribed".into()
            }
        );
    }

    #[test]
    fn messages_need_a_key_and_a_recipient() {
        let mut m: Message = serde_json::from_str(
            r#"{"idempotency_key":"k1","recipient":{"email":"a@b.fi"},"text":"hei"}"#,
        )
        .unwrap();
        assert_eq!(m.validate(), Ok(()));
        m.recipient = Identities::default();
        assert_eq!(m.validate(), Err(MessageProblem::NoRecipient));
        m.idempotency_key.clear();
        assert_eq!(m.validate(), Err(MessageProblem::BadIdempotencyKey));
    }
}
