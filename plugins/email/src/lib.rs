//! # leadhost-plugin-email
//!
//! The first-party email channel connector. It receives the event webhooks
//! of two email providers and sends nurturing messages through a third's API:
//!
//! - `POST /sendgrid`: SendGrid Event Webhook batches, checked with the
//!   Signed Event Webhook's ECDSA signature ([`sendgrid`]),
//! - `POST /mailgun`: Mailgun webhooks, checked with their HMAC ([`mailgun`]),
//! - `deliver`: the SendGrid v3 Mail Send API ([`deliver`]).
//!
//! [`ingest`] routes and checks limits; [`wire`] holds the borrowed JSON
//! helpers both providers share; [`mapping`] builds touchpoints.

pub mod deliver;
pub mod ingest;
pub mod mailgun;
pub mod mapping;
pub mod sendgrid;
pub mod wire;

use leadhost_sdk::prelude::*;

/// Config key: where the SendGrid API is.
pub const BASE_URL: &str = "base-url";
/// The real SendGrid API, the default of [`BASE_URL`].
pub const DEFAULT_BASE_URL: &str = "https://api.sendgrid.com";
/// Config key: the sender address of delivered messages.
pub const FROM_EMAIL: &str = "from-email";
/// Config key: the sender's display name.
pub const FROM_NAME: &str = "from-name";
/// Config key: the largest webhook body accepted.
pub const MAX_BODY_BYTES: &str = "max-body-bytes";
/// Default of [`MAX_BODY_BYTES`]: SendGrid batches events into POSTs well
/// under this; a Mailgun webhook is one event of a few KB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The email connector.
pub struct Email;

impl Connector for Email {
    fn describe() -> Manifest {
        let field = |name: &str, description: &str, value_type, required, default: Option<&str>| {
            ConfigField {
                name: name.into(),
                description: description.into(),
                value_type,
                required,
                default_value: default.map(Into::into),
            }
        };
        let secret = |name: &str, description: &str| SecretField {
            name: name.into(),
            description: description.into(),
            // Each path needs only its own secret; a path whose secret is
            // missing answers "misconfigured".
            required: false,
        };
        let max_body = DEFAULT_MAX_BODY_BYTES.to_string();
        Manifest {
            name: "email".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Email: SendGrid and Mailgun event webhooks (delivered, opened, clicked, bounced, complained, unsubscribed) and delivery through SendGrid Mail Send.".into(),
            channels: vec![Channel::Email],
            operations: Operations {
                ingest: true,
                poll: false,
                deliver: true,
            },
            config: vec![
                field(
                    BASE_URL,
                    "The SendGrid API base URL (https://api.eu.sendgrid.com for EU regional subusers).",
                    ConfigType::Url,
                    false,
                    Some(DEFAULT_BASE_URL),
                ),
                field(
                    FROM_EMAIL,
                    "The sender address of delivered messages; a verified sender in SendGrid. Needed to deliver only: without it deliver answers misconfigured.",
                    ConfigType::Text,
                    false,
                    None,
                ),
                field(
                    FROM_NAME,
                    "The sender's display name.",
                    ConfigType::Text,
                    false,
                    None,
                ),
                field(
                    MAX_BODY_BYTES,
                    "Largest webhook body accepted, in bytes.",
                    ConfigType::Integer,
                    false,
                    Some(&max_body),
                ),
            ],
            secrets: vec![
                secret(
                    sendgrid::VERIFICATION_KEY,
                    "the public key of SendGrid's Signed Event Webhook (PEM or base64), for POST /sendgrid",
                ),
                secret(
                    mailgun::SIGNING_KEY,
                    "the Mailgun HTTP webhook signing key, for POST /mailgun",
                ),
                secret(
                    deliver::API_KEY,
                    "a SendGrid API key with Mail Send permission, for deliver",
                ),
            ],
            capabilities: Capabilities {
                outbound_hosts: vec!["api.sendgrid.com".into(), "{config:base-url}".into()],
                state: true,
            },
        }
    }

    fn ingest(request: Request) -> Result<Ingested, IngestError> {
        ingest::ingest(&request)
    }

    fn deliver(message: Message) -> Delivery {
        deliver::deliver(&message)
    }
}

impl BatchConnector for Email {
    fn deliver_batch(messages: Vec<Message>) -> Vec<Delivery> {
        deliver::deliver_all(&messages)
    }
}

export_batch_connector!(Email);
