//! # leadhost-plugin-portal
//!
//! The first-party connector for the customer portal and the
//! industrial-internet platform: logins, document downloads, equipment
//! registrations (the installed base), tickets and service requests, and the
//! machines' usage alerts arrive as signed CloudEvents webhooks; nurturing
//! messages go out as in-portal notifications.
//!
//! - [`ingest`] routes, authenticates and checks limits,
//! - [`signature`] reads and checks `X-Portal-Signature`,
//! - [`wire`] reads the portal event format borrowed from the body,
//! - [`mapping`] turns one event into one touchpoint,
//! - [`deliver`] posts notifications to the portal's API.

pub mod deliver;
pub mod ingest;
pub mod mapping;
pub mod signature;
pub mod wire;

use leadhost_sdk::prelude::*;

/// The portal connector.
pub struct Portal;

impl Connector for Portal {
    fn describe() -> Manifest {
        let limit = |name: &str, description: &str, default: usize| ConfigField {
            name: name.into(),
            description: description.into(),
            value_type: ConfigType::Integer,
            required: false,
            default_value: Some(default.to_string()),
        };
        Manifest {
            name: "portal".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Customer portal and industrial-internet platform: signed CloudEvents webhooks for logins, downloads, equipment, tickets and usage alerts; in-portal notifications out.".into(),
            channels: vec![Channel::Portal],
            operations: Operations {
                ingest: true,
                poll: false,
                deliver: true,
            },
            config: vec![
                ConfigField {
                    name: deliver::BASE_URL.into(),
                    description: "The portal's API base URL; notifications go to {base-url}/api/v1/notifications. Set it to your portal.".into(),
                    value_type: ConfigType::Url,
                    required: false,
                    default_value: Some(deliver::DEFAULT_BASE_URL.into()),
                },
                limit(
                    ingest::MAX_BODY_BYTES,
                    "Largest webhook body in bytes.",
                    ingest::DEFAULT_MAX_BODY_BYTES,
                ),
                limit(
                    ingest::MAX_EVENTS,
                    "Most events accepted in one batch.",
                    ingest::DEFAULT_MAX_EVENTS,
                ),
            ],
            secrets: vec![
                SecretField {
                    name: signature::SIGNING_KEY.into(),
                    description: "the shared key the portal signs webhooks with (HMAC-SHA256, X-Portal-Signature)".into(),
                    required: true,
                },
                SecretField {
                    name: deliver::API_KEY.into(),
                    description: "the portal API key for notifications (sent as a Bearer token); needed to deliver".into(),
                    required: false,
                },
            ],
            capabilities: Capabilities {
                outbound_hosts: vec!["{config:base-url}".into()],
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

export_connector!(Portal);
