//! Plain Rust types of the contract. They mirror `wit/channel.wit` one to one;
//! the SDK converts them to and from the generated bindings at the boundary.

/// A point in time: milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The channel a touchpoint came through or a message goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Channel {
    /// Web sites and apps.
    #[default]
    Web,
    /// Email.
    Email,
    /// Social networks.
    Social,
    /// Web shop, spare parts, quotes and orders.
    Eservices,
    /// Customer portal and industrial-internet platform.
    Portal,
    /// Fairs, seminars, webinars.
    Events,
    /// Anything else.
    Other,
}

/// What a person or account did. See `wit/channel.wit` for each case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[allow(missing_docs)]
pub enum TouchpointKind {
    #[default]
    PageView,
    ScreenView,
    FormSubmitted,
    Download,
    VideoPlayed,
    Identified,
    AccountLinked,
    Alias,
    EmailDelivered,
    EmailOpened,
    EmailClicked,
    EmailBounced,
    EmailComplained,
    Unsubscribed,
    SocialLeadForm,
    SocialEngagement,
    OrderPlaced,
    QuoteRequested,
    CartUpdated,
    PortalLogin,
    SupportTicket,
    EquipmentRegistered,
    UsageAlert,
    EventRegistered,
    EventAttended,
    BadgeScanned,
    EventNoShow,
    /// A channel-specific action none of the other kinds describe.
    Custom(String),
}

/// Where in the buying journey a piece of content belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentStage {
    /// Awareness content.
    Connecting,
    /// Consideration content.
    Educating,
    /// Decision content.
    Closing,
}

/// How the person came to the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Acquisition {
    /// Unpaid search and discovery.
    Organic,
    /// Paid advertising.
    Paid,
    /// A link from another site or person.
    Referral,
    /// Typed the address or used a bookmark.
    Direct,
    /// From an email.
    Email,
    /// From a social network, unpaid.
    Social,
}

/// A name and a value, for open-ended data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Attribute {
    /// The name.
    pub name: String,
    /// The value as text; JSON where it is structured.
    pub value: String,
}

impl Attribute {
    /// An attribute from anything string-like.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Attribute {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// The identities seen on a touchpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct Identities {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    pub crm_id: Option<String>,
    pub social_handle: Option<String>,
    pub company_domain: Option<String>,
    pub account_id: Option<String>,
}

/// What the person reported about themselves or their company.
#[derive(Debug, Clone, PartialEq, Default)]
#[allow(missing_docs)]
pub struct Traits {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    pub company: Option<String>,
    pub industry: Option<String>,
    pub company_size: Option<u32>,
    pub country: Option<String>,
    /// Everything else the channel reported.
    pub other: Vec<Attribute>,
}

/// Facts about the touchpoint itself.
#[derive(Debug, Clone, PartialEq, Default)]
#[allow(missing_docs)]
pub struct Properties {
    pub content_id: Option<String>,
    pub topic: Option<String>,
    pub content_stage: Option<ContentStage>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub referrer: Option<String>,
    pub campaign: Option<String>,
    pub source: Option<String>,
    pub medium: Option<Acquisition>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    /// Everything else the channel reported.
    pub other: Vec<Attribute>,
}

/// A consent the person gave or withdrew.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsentSignal {
    /// What the consent is for, e.g. `"marketing"`.
    pub purpose: String,
    /// The channel it applies to; `None` means every channel.
    pub channel: Option<Channel>,
    /// Given (true) or withdrawn (false).
    pub granted: bool,
}

/// One thing a person or account did on one channel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Touchpoint {
    /// A stable id of the event from the channel, the same on every redelivery.
    pub external_id: String,
    /// When it happened; `None`: when it was received.
    pub occurred_at: Option<Timestamp>,
    /// The channel.
    pub channel: Channel,
    /// What happened.
    pub kind: TouchpointKind,
    /// Who did it.
    pub identities: Identities,
    /// What they reported.
    pub traits: Traits,
    /// Facts about what happened.
    pub properties: Properties,
    /// Consents given or withdrawn with it.
    pub consent: Vec<ConsentSignal>,
}

/// Raw channel traffic handed to [`crate::Connector::ingest`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The HTTP method, upper case.
    pub method: String,
    /// The path after the connector's prefix, starting with `/`.
    pub path: String,
    /// The raw query string without `?`.
    pub query: String,
    /// The headers; names are lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with this method and path and nothing else.
    pub fn new(method: &str, path: &str) -> Self {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        Request {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            query: query.to_string(),
            ..Request::default()
        }
    }

    /// Adds a header (the name is lower-cased).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        crate::util::query_pairs(&self.query)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}

/// The HTTP answer sent back to the channel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with this status.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            ..Response::default()
        }
    }

    /// A response with a JSON body (already serialised).
    pub fn json(status: u16, json: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: json.into(),
        }
    }

    /// A response with a plain-text body.
    pub fn text(status: u16, text: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: text.into(),
        }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What `ingest` produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ingested {
    /// The touchpoints to store; the host commits them before replying.
    pub touchpoints: Vec<Touchpoint>,
    /// The answer to send once they are committed.
    pub reply: Response,
}

/// Why `ingest` refused a request; nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestError {
    /// Missing or wrong credentials or signature (401).
    Unauthorized(String),
    /// Not of the channel's format (400).
    Malformed(String),
    /// A path or method this connector does not serve (404).
    NotFound(String),
    /// Larger than the connector accepts (413).
    TooLarge(String),
    /// Not configured well enough to work (503).
    Misconfigured(String),
    /// Any other failure (500).
    Internal(String),
}

impl std::fmt::Display for IngestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, message) = match self {
            IngestError::Unauthorized(m) => ("unauthorized", m),
            IngestError::Malformed(m) => ("malformed", m),
            IngestError::NotFound(m) => ("not found", m),
            IngestError::TooLarge(m) => ("too large", m),
            IngestError::Misconfigured(m) => ("misconfigured", m),
            IngestError::Internal(m) => ("internal", m),
        };
        write!(f, "{kind}: {message}")
    }
}

impl std::error::Error for IngestError {}

/// What `poll` produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Polled {
    /// The touchpoints found since the cursor.
    pub touchpoints: Vec<Touchpoint>,
    /// Where to continue; `None` keeps the old cursor.
    pub next_cursor: Option<String>,
    /// More is waiting: poll again at once.
    pub more: bool,
}

/// Why `poll` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollError {
    /// The connector does not poll.
    Unsupported,
    /// The provider refused the credentials.
    Unauthorized(String),
    /// The provider asked to wait this many seconds.
    RetryAfter(u32),
    /// Not configured well enough to work.
    Misconfigured(String),
    /// Any other failure.
    Internal(String),
}

/// A nurturing message to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct Message {
    /// Unique per message: the same key twice must send once.
    pub idempotency_key: String,
    pub recipient: Identities,
    pub recipient_name: Option<String>,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    pub content_id: Option<String>,
    pub campaign: Option<String>,
    pub other: Vec<Attribute>,
}

/// Why a message was refused for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum RejectionReason {
    UnreachableRecipient,
    OptedOut,
    ContentRefused,
    Misconfigured,
    Unsupported,
    Other,
}

/// A refusal and its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The kind of refusal.
    pub reason: RejectionReason,
    /// Words for the operator.
    pub message: String,
}

/// The outcome of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The provider took the message; its id for it.
    Accepted(String),
    /// Try again after this many seconds.
    RetryAfter(u32),
    /// Do not try again.
    Rejected(Rejection),
}

/// The operations a connector supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Operations {
    /// Accepts pushed traffic through `ingest`.
    pub ingest: bool,
    /// Pulls touchpoints through `poll`.
    pub poll: bool,
    /// Sends messages through `deliver`.
    pub deliver: bool,
}

/// The type of a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub enum ConfigType {
    #[default]
    Text,
    Integer,
    Boolean,
    Url,
}

/// One configuration value a connector reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigField {
    /// The key.
    pub name: String,
    /// What it means, for the operator.
    pub description: String,
    /// Its type.
    pub value_type: ConfigType,
    /// Whether the connector cannot work without it.
    pub required: bool,
    /// The value used when the operator gives none.
    pub default_value: Option<String>,
}

/// One secret a connector uses through a handle.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretField {
    /// The name the operator stores it under.
    pub name: String,
    /// What it is, for the operator.
    pub description: String,
    /// Whether the connector cannot work without it.
    pub required: bool,
}

/// What a connector asks the operator to grant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Hosts called through `wasi:http`; empty: none.
    pub outbound_hosts: Vec<String>,
    /// Whether it keeps key-value state.
    pub state: bool,
}

/// Who a connector is and what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// A short unique name, lower-case kebab.
    pub name: String,
    /// The connector's own version, semver.
    pub version: String,
    /// One line for the operator.
    pub description: String,
    /// The channels it serves.
    pub channels: Vec<Channel>,
    /// What it supports.
    pub operations: Operations,
    /// The configuration it reads.
    pub config: Vec<ConfigField>,
    /// The secrets it uses.
    pub secrets: Vec<SecretField>,
    /// What it asks to be granted.
    pub capabilities: Capabilities,
}
