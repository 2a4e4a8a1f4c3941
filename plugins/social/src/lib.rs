//! # leadhost-plugin-social
//!
//! The first-party social channel connector: Facebook Lead Ads and Page
//! engagement through Meta's Webhooks and Graph API, and LinkedIn Lead Gen
//! Forms through the Lead Sync API (polled) and LinkedIn webhooks.
//!
//! - [`meta`] serves `GET/POST /meta`: the verification handshake, signed
//!   notifications, the Graph API lookup of each lead,
//! - [`linkedin`] serves `GET /linkedin` (the webhook validation),
//!   `POST /linkedin` and `poll`,
//! - [`settings`] reads the configuration and opens the secrets,
//! - [`wire`] holds the provider formats, read borrowed from the body.

pub mod linkedin;
pub mod meta;
pub mod settings;
pub mod wire;

use leadhost_sdk::prelude::*;
use settings::*;

/// The social connector.
pub struct Social;

impl Connector for Social {
    fn describe() -> Manifest {
        let field =
            |name: &str, value_type, default: Option<&str>, description: &str| ConfigField {
                name: name.into(),
                description: description.into(),
                value_type,
                required: false,
                default_value: default.map(Into::into),
            };
        let secret = |name: &str, description: &str| SecretField {
            name: name.into(),
            description: description.into(),
            required: false,
        };
        let max_body = DEFAULT_MAX_BODY_BYTES.to_string();
        let page_size = DEFAULT_PAGE_SIZE.to_string();
        Manifest {
            name: "social".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Social networks: Facebook Lead Ads and Page engagement (Meta webhooks + Graph API), LinkedIn Lead Gen Forms (Lead Sync API) and organization social actions.".into(),
            channels: vec![Channel::Social],
            operations: Operations {
                ingest: true,
                poll: true,
                deliver: false,
            },
            config: vec![
                field(GRAPH_BASE_URL, ConfigType::Url, Some(DEFAULT_GRAPH_BASE_URL), "Base URL of Meta's Graph API."),
                field(GRAPH_VERSION, ConfigType::Text, Some(DEFAULT_GRAPH_VERSION), "Graph API version used to read leads."),
                field(LINKEDIN_BASE_URL, ConfigType::Url, Some(DEFAULT_LINKEDIN_BASE_URL), "Base URL of LinkedIn's Marketing API."),
                field(LINKEDIN_ORGANIZATION, ConfigType::Text, None, "LinkedIn organization id whose leads `poll` syncs (the number in urn:li:organization:<id>)."),
                field(LINKEDIN_SPONSORED_ACCOUNT, ConfigType::Text, None, "LinkedIn ad account id; when set, `poll` syncs this account's leads instead of the organization's."),
                field(LINKEDIN_LEAD_TYPE, ConfigType::Text, Some(DEFAULT_LEAD_TYPE), "LinkedIn lead type to sync: SPONSORED, EVENT, COMPANY or ORGANIZATION_PRODUCT."),
                field(LINKEDIN_VERSION, ConfigType::Text, Some(DEFAULT_LINKEDIN_VERSION), "The LinkedIn-Version header (YYYYMM)."),
                field(PAGE_SIZE, ConfigType::Integer, Some(&page_size), "Leads asked for per LinkedIn page."),
                field(MAX_BODY_BYTES, ConfigType::Integer, Some(&max_body), "Largest webhook body accepted, in bytes."),
            ],
            secrets: vec![
                secret(META_VERIFY_TOKEN, "the Verify Token entered in the Meta app's webhook settings"),
                secret(META_APP_SECRET, "the Meta app secret; signs X-Hub-Signature-256"),
                secret(META_PAGE_TOKEN, "a long-lived Page access token with leads_retrieval, to read leads"),
                secret(LINKEDIN_TOKEN, "a LinkedIn access token with r_marketing_leadgen_automation"),
                secret(LINKEDIN_CLIENT_SECRET, "the LinkedIn app's client secret; signs X-LI-Signature and the webhook validation's challengeResponse"),
            ],
            capabilities: Capabilities {
                outbound_hosts: vec![
                    "graph.facebook.com".into(),
                    "api.linkedin.com".into(),
                    format!("{{config:{GRAPH_BASE_URL}}}"),
                    format!("{{config:{LINKEDIN_BASE_URL}}}"),
                ],
                state: false,
            },
        }
    }

    fn ingest(request: Request) -> Result<Ingested, IngestError> {
        let path = request.path.strip_suffix('/').unwrap_or(&request.path);
        match (request.method.as_str(), path) {
            ("GET", "/meta") => meta::handshake(&request),
            ("POST", "/meta") => meta::notification(&request),
            ("GET", "/linkedin") => linkedin::challenge(&request),
            ("POST", "/linkedin") => linkedin::notification(&request),
            (method, "/meta" | "/linkedin") => Err(IngestError::NotFound(format!(
                "{method} {path}: only GET and POST are served"
            ))),
            _ => Err(IngestError::NotFound(format!(
                "no endpoint {path:?} here; the social connector serves GET/POST /meta and GET/POST /linkedin"
            ))),
        }
    }

    fn poll(cursor: Option<String>) -> Result<Polled, PollError> {
        linkedin::poll(cursor.as_deref())
    }
}

export_connector!(Social);
