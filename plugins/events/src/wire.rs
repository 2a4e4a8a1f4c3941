//! Eventbrite's JSON, read borrowed: the webhook body, and the attendee and
//! order objects fetched from its API. Fields the connector does not use are
//! skipped by the parser.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A text value, borrowed when it has no escapes. Numbers are taken as their
/// JSON text: Eventbrite's ids are strings, but some clients send numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    /// The text, trimmed; `None` when nothing is left.
    pub fn non_empty(&self) -> Option<&str> {
        crate::util::non_empty(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }

        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

/// The text of an optional field, trimmed, when it has any.
pub fn text<'t>(t: &'t Option<Text>) -> Option<&'t str> {
    t.as_ref().and_then(Text::non_empty)
}

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
