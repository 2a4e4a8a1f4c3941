//! # leadhost-plugin-web
//!
//! The first-party web channel connector: a receiver for the Segment HTTP
//! Tracking API. Any Segment or RudderStack client pointed at
//! `http://HOST/ingest/{tenant}/{connector}` works unchanged; each identify,
//! track, page, screen, group and alias call becomes one touchpoint.
//!
//! - [`ingest`] routes, authenticates and checks limits,
//! - [`wire`] reads the Segment format borrowed from the body,
//! - [`mapping`] turns one call into one touchpoint,
//! - [`vocabulary`] holds the event names, mediums and free-mail domains,
//! - [`auth`] reads the write key.

pub mod auth;
pub mod ingest;
pub mod mapping;
pub mod vocabulary;
pub mod wire;

use leadhost_sdk::prelude::*;

/// The web connector.
pub struct Web;

impl Connector for Web {
    fn describe() -> Manifest {
        use ingest::*;
        let limit = |name: &str, description: &str, default: usize| ConfigField {
            name: name.into(),
            description: description.into(),
            value_type: ConfigType::Integer,
            required: false,
            default_value: Some(default.to_string()),
        };
        Manifest {
            name: "web".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Web sites and apps through the Segment HTTP Tracking API: page views, forms, downloads, video, identify and group calls.".into(),
            channels: vec![Channel::Web],
            operations: Operations {
                ingest: true,
                poll: false,
                deliver: false,
            },
            config: vec![
                limit(
                    MAX_EVENT_BYTES,
                    "Largest single call in bytes, alone or inside a batch (Segment: 32 KB).",
                    DEFAULT_MAX_EVENT_BYTES,
                ),
                limit(
                    MAX_BATCH_BYTES,
                    "Largest /v1/batch body in bytes (Segment: 500 KB).",
                    DEFAULT_MAX_BATCH_BYTES,
                ),
                limit(
                    MAX_BATCH_EVENTS,
                    "Most calls accepted in one batch.",
                    DEFAULT_MAX_BATCH_EVENTS,
                ),
            ],
            secrets: vec![SecretField {
                name: auth::WRITE_KEY.into(),
                description: "the Segment write key clients send".into(),
                required: true,
            }],
            capabilities: Capabilities {
                outbound_hosts: Vec::new(),
                state: false,
            },
        }
    }

    fn ingest(request: Request) -> Result<Ingested, IngestError> {
        ingest::ingest(&request)
    }
}

export_connector!(Web);
