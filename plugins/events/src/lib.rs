//! # leadhost-plugin-events
//!
//! The first-party events channel connector: registrations, check-ins,
//! session attendance, badge scans and no-shows.
//!
//! - [`ingest`] routes, checks the token and the limits,
//! - [`eventbrite`] handles Eventbrite webhooks (fetching the attendee or
//!   order they point at), read through [`wire`],
//! - [`scans`] maps badge-scan and no-show CSV uploads, read by [`csv`],
//! - [`deliver`] sends invitations through the Eventbrite API,
//! - [`auth`] is the token guard, [`settings`] the configuration.

pub mod auth;
pub mod csv;
pub mod deliver;
pub mod eventbrite;
pub mod ingest;
pub mod scans;
pub mod settings;
pub mod util;
pub mod wire;

use leadhost_sdk::prelude::*;
use settings::*;

/// The events connector.
pub struct Events;

impl Connector for Events {
    fn describe() -> Manifest {
        let field =
            |name: &str, description: &str, value_type, default: Option<String>| ConfigField {
                name: name.into(),
                description: description.into(),
                value_type,
                required: false,
                default_value: default,
            };
        Manifest {
            name: "events".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Events: Eventbrite registrations and check-ins, badge scans and session attendance from lead-retrieval apps, no-show lists, and invitations.".into(),
            channels: vec![Channel::Events],
            operations: Operations {
                ingest: true,
                poll: false,
                deliver: true,
            },
            config: vec![
                field(
                    API_BASE_URL,
                    "Eventbrite API base URL; webhook objects are fetched and invitations sent here.",
                    ConfigType::Url,
                    Some(DEFAULT_API_BASE_URL.into()),
                ),
                field(
                    DEFAULT_EVENT_ID,
                    "The Eventbrite event invitations go to when a message has no `event_id` attribute.",
                    ConfigType::Text,
                    None,
                ),
                field(
                    MAX_BODY_BYTES,
                    "Largest request body in bytes (webhook or CSV upload).",
                    ConfigType::Integer,
                    Some(DEFAULT_MAX_BODY_BYTES.to_string()),
                ),
                field(
                    MAX_ROWS,
                    "Most data rows in one CSV upload.",
                    ConfigType::Integer,
                    Some(DEFAULT_MAX_ROWS.to_string()),
                ),
            ],
            secrets: vec![
                SecretField {
                    name: WEBHOOK_TOKEN.into(),
                    description: "the token webhook senders and uploaders put in `?token=`".into(),
                    required: true,
                },
                SecretField {
                    name: EVENTBRITE_TOKEN.into(),
                    description: "the Eventbrite private token, to fetch attendees and orders and send invitations".into(),
                    required: false,
                },
            ],
            capabilities: Capabilities {
                outbound_hosts: vec![
                    "www.eventbriteapi.com".into(),
                    format!("{{config:{API_BASE_URL}}}"),
                ],
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

export_connector!(Events);
