//! Eventbrite's JSON, read borrowed: the webhook body, and the attendee and
//! order objects fetched from its API. Fields the connector does not use are
//! skipped by the parser.

use serde::Deserialize;

// Eventbrite's text fields take strings and integers only (its ids are
// strings, some clients send numbers); a float or a boolean there is refused.
pub use leadhost_sdk::json::{StrictText as Text, text};

/// The body of an Eventbrite webhook delivery.
#[derive(Debug, Deserialize)]
#[serde(expecting = "an Eventbrite webhook body (an object)")]
pub struct Webhook<'a> {
    /// The API URL of the object that changed.
    #[serde(borrow)]
    pub api_url: Option<Text<'a>>,
    /// The webhook's configuration, with the action that fired it.
    #[serde(borrow)]
    pub config: Option<WebhookConfig<'a>>,
}

/// `config` of a webhook delivery.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a webhook config object")]
pub struct WebhookConfig<'a> {
    /// e.g. `attendee.updated`, `order.placed`, `barcode.checked_in`.
    #[serde(borrow)]
    pub action: Option<Text<'a>>,
}

/// An attendee: one ticket of one order.
#[derive(Debug, Deserialize)]
#[serde(expecting = "an Eventbrite attendee object")]
pub struct Attendee<'a> {
    /// The attendee id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// When the attendee was created (the order placed).
    #[serde(borrow)]
    pub created: Option<Text<'a>>,
    /// When the attendee last changed.
    #[serde(borrow)]
    pub changed: Option<Text<'a>>,
    /// The event.
    #[serde(borrow)]
    pub event_id: Option<Text<'a>>,
    /// The order.
    #[serde(borrow)]
    pub order_id: Option<Text<'a>>,
    /// The ticket class's name at registration.
    #[serde(borrow)]
    pub ticket_class_name: Option<Text<'a>>,
    /// `Attending`, `Checked In`, `Not Attending`, `Deleted`, ...
    #[serde(borrow)]
    pub status: Option<Text<'a>>,
    /// Whether the attendee is checked in.
    pub checked_in: Option<bool>,
    /// Whether the attendee is cancelled.
    pub cancelled: Option<bool>,
    /// Whether the attendee is refunded.
    pub refunded: Option<bool>,
    /// Who it is.
    #[serde(borrow)]
    pub profile: Option<Profile<'a>>,
    /// Answers to the organiser's custom questions.
    #[serde(borrow)]
    pub answers: Option<Vec<Answer<'a>>>,
    /// The entry barcodes.
    #[serde(borrow)]
    pub barcodes: Option<Vec<Barcode<'a>>>,
}

/// `attendee.profile`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an attendee profile object")]
pub struct Profile<'a> {
    /// Email address.
    #[serde(borrow)]
    pub email: Option<Text<'a>>,
    /// First name.
    #[serde(borrow)]
    pub first_name: Option<Text<'a>>,
    /// Last name.
    #[serde(borrow)]
    pub last_name: Option<Text<'a>>,
    /// The full name.
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// Company.
    #[serde(borrow)]
    pub company: Option<Text<'a>>,
    /// Job title.
    #[serde(borrow)]
    pub job_title: Option<Text<'a>>,
    /// Mobile phone.
    #[serde(borrow)]
    pub cell_phone: Option<Text<'a>>,
    /// Work phone.
    #[serde(borrow)]
    pub work_phone: Option<Text<'a>>,
    /// Home, work, ship and bill addresses; only the country is read.
    #[serde(borrow)]
    pub addresses: Option<Addresses<'a>>,
}

/// `profile.addresses`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an addresses object")]
pub struct Addresses<'a> {
    /// The work address.
    #[serde(borrow)]
    pub work: Option<Address<'a>>,
    /// The home address.
    #[serde(borrow)]
    pub home: Option<Address<'a>>,
    /// The billing address.
    #[serde(borrow)]
    pub bill: Option<Address<'a>>,
}

/// One address; only the country is read.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an address object")]
pub struct Address<'a> {
    /// ISO 3166-1 alpha-2.
    #[serde(borrow)]
    pub country: Option<Text<'a>>,
}

/// One answer to a custom question.
#[derive(Debug, Deserialize)]
#[serde(expecting = "an answer object")]
pub struct Answer<'a> {
    /// The question as asked.
    #[serde(borrow)]
    pub question: Option<Text<'a>>,
    /// The answer; absent when not answered.
    #[serde(borrow)]
    pub answer: Option<Text<'a>>,
}

/// One entry barcode.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a barcode object")]
pub struct Barcode<'a> {
    /// The barcode.
    #[serde(borrow)]
    pub barcode: Option<Text<'a>>,
    /// `unused`, `used`, `refunded`.
    #[serde(borrow)]
    pub status: Option<Text<'a>>,
}

/// An order, fetched with `expand=attendees`.
#[derive(Debug, Deserialize)]
#[serde(expecting = "an Eventbrite order object")]
pub struct Order<'a> {
    /// The order id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// When it was placed.
    #[serde(borrow)]
    pub created: Option<Text<'a>>,
    /// When it last changed.
    #[serde(borrow)]
    pub changed: Option<Text<'a>>,
    /// The buyer's full name.
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// The buyer's first name.
    #[serde(borrow)]
    pub first_name: Option<Text<'a>>,
    /// The buyer's last name.
    #[serde(borrow)]
    pub last_name: Option<Text<'a>>,
    /// The buyer's email.
    #[serde(borrow)]
    pub email: Option<Text<'a>>,
    /// `placed`, `refunded`, ...
    #[serde(borrow)]
    pub status: Option<Text<'a>>,
    /// The event.
    #[serde(borrow)]
    pub event_id: Option<Text<'a>>,
    /// The attendees, one per ticket (the `attendees` expansion).
    #[serde(borrow)]
    pub attendees: Option<Vec<Attendee<'a>>>,
}

/// A created resource's id, from the invitations answer.
#[derive(Debug, Deserialize)]
pub struct Created<'a> {
    /// The id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
}
