//! # leadhost-plugin-eservices
//!
//! The first-party eServices channel connector: the signed webhooks of a web
//! shop or spare-parts store, in Shopify's webhook format. Point the shop's
//! webhook subscriptions at `http://HOST/ingest/{tenant}/{connector}/webhooks`;
//! each delivery becomes one touchpoint: orders, carts and checkouts, draft
//! orders (quote requests), new customers, cancellations and refunds.
//!
//! - [`ingest`] routes, checks the size and verifies the signature,
//! - [`wire`] reads the Shopify payloads borrowed from the body,
//! - [`mapping`] turns one delivery into one touchpoint,
//! - [`vocabulary`] holds the topics, mediums and free-mail domains.

pub mod ingest;
pub mod mapping;
pub mod vocabulary;
pub mod wire;

use leadhost_sdk::prelude::*;

/// The default of `account-tag-prefix`.
pub const DEFAULT_ACCOUNT_TAG_PREFIX: &str = "account:";
/// The default of `spare-parts-tag`.
pub const DEFAULT_SPARE_PARTS_TAG: &str = "spare-part";

/// The eservices connector.
pub struct Eservices;

impl Connector for Eservices {
    fn describe() -> Manifest {
        use ingest::*;
        let field = |name: &str, description: &str, value_type, default: String| ConfigField {
            name: name.into(),
            description: description.into(),
            value_type,
            required: false,
            default_value: Some(default),
        };
        Manifest {
            name: "eservices".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Web shop and spare-parts store webhooks (Shopify format): orders, carts, checkouts, quote requests, customers, refunds.".into(),
            channels: vec![Channel::Eservices],
            operations: Operations {
                ingest: true,
                poll: false,
                deliver: false,
            },
            config: vec![
                field(
                    MAX_BODY_BYTES,
                    "Largest webhook body accepted, in bytes.",
                    ConfigType::Integer,
                    DEFAULT_MAX_BODY_BYTES.to_string(),
                ),
                field(
                    ACCOUNT_TAG_PREFIX,
                    "A customer or order tag starting with this names the account (`account:ACME-123`); without its trailing `:` it is also the note attribute that does.",
                    ConfigType::Text,
                    DEFAULT_ACCOUNT_TAG_PREFIX.into(),
                ),
                field(
                    SPARE_PARTS_TAG,
                    "A product tag or line item property that marks a line as a spare part (counted as `spare_parts`).",
                    ConfigType::Text,
                    DEFAULT_SPARE_PARTS_TAG.into(),
                ),
            ],
            secrets: vec![SecretField {
                name: WEBHOOK_SECRET.into(),
                description: "the shop's webhook signing secret (X-Shopify-Hmac-Sha256 is keyed with it)".into(),
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

export_connector!(Eservices);
