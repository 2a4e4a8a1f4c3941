//! The portal event format (version 1), read borrowed from the request body.
//!
//! Every event is a CloudEvents 1.0 event in the JSON event format; its
//! `data` holds the portal's objects (`user`, `account`, `document`,
//! `equipment`, `ticket`, `alert`, `contact`). Strings without escapes are
//! borrowed from the body, and fields the connector does not read are skipped
//! by the parser, so senders may add fields without breaking anything.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

pub use leadhost_sdk::json::{Text, text};

/// One CloudEvent in the JSON event format (CloudEvents 1.0, section 3).
/// Extension attributes are top-level members too; they are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a CloudEvent (a JSON object)")]
pub struct CloudEvent<'a> {
    /// The CloudEvents version; `1.0`.
    #[serde(borrow)]
    pub specversion: Option<Text<'a>>,
    /// The event's id, unique within its `source`.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// Where the event happened: the portal instance or the machine gateway.
    #[serde(borrow)]
    pub source: Option<Text<'a>>,
    /// What happened, e.g. `com.portal.user.login`.
    #[serde(rename = "type", borrow)]
    pub kind: Option<Text<'a>>,
    /// When it happened, RFC 3339.
    #[serde(borrow)]
    pub time: Option<Text<'a>>,
    /// What the event is about within the source, e.g. `equipment/SN-1`.
    #[serde(borrow)]
    pub subject: Option<Text<'a>>,
    /// The media type of `data`; JSON when absent.
    #[serde(borrow)]
    pub datacontenttype: Option<Text<'a>>,
    /// The portal's objects, read as [`Data`] once `datacontenttype` says
    /// they are JSON.
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
    /// Binary data; the portal format never uses it.
    pub data_base64: Option<IgnoredAny>,
}

/// The `data` of a portal event. Which objects are present depends on the type.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a `data` object")]
pub struct Data<'a> {
    /// The portal user who acted.
    #[serde(borrow)]
    pub user: Option<Person<'a>>,
    /// The equipment's contact person (usage alerts).
    #[serde(borrow)]
    pub contact: Option<Person<'a>>,
    /// The customer account (company).
    #[serde(borrow)]
    pub account: Option<Account<'a>>,
    /// The person's id in the CRM.
    #[serde(borrow)]
    pub crm_id: Option<Text<'a>>,
    /// The document downloaded.
    #[serde(borrow)]
    pub document: Option<Document<'a>>,
    /// The equipment registered.
    #[serde(borrow)]
    pub equipment: Option<Equipment<'a>>,
    /// The ticket or service request opened.
    #[serde(borrow)]
    pub ticket: Option<Ticket<'a>>,
    /// The machine's alert.
    #[serde(borrow)]
    pub alert: Option<Alert<'a>>,
}

/// `data.user` or `data.contact`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a person object")]
pub struct Person<'a> {
    /// The portal's user id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// The email address.
    #[serde(borrow)]
    pub email: Option<Text<'a>>,
    /// The full name.
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// The first name, when the portal keeps it apart.
    #[serde(borrow)]
    pub first_name: Option<Text<'a>>,
    /// The last name, when the portal keeps it apart.
    #[serde(borrow)]
    pub last_name: Option<Text<'a>>,
    /// The job title.
    #[serde(borrow)]
    pub job_title: Option<Text<'a>>,
    /// The phone number.
    #[serde(borrow)]
    pub phone: Option<Text<'a>>,
    /// The person's id in the CRM.
    #[serde(borrow)]
    pub crm_id: Option<Text<'a>>,
}

/// `data.account`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an account object")]
pub struct Account<'a> {
    /// The account id (customer number).
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// The company's web domain.
    #[serde(borrow)]
    pub domain: Option<Text<'a>>,
    /// The company name.
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// The industry.
    #[serde(borrow)]
    pub industry: Option<Text<'a>>,
    /// The country, ISO 3166-1 alpha-2.
    #[serde(borrow)]
    pub country: Option<Text<'a>>,
}

/// `data.document`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a document object")]
pub struct Document<'a> {
    /// The document id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// The title.
    #[serde(borrow)]
    pub title: Option<Text<'a>>,
    /// `manual`, `datasheet`, ...
    #[serde(borrow)]
    pub kind: Option<Text<'a>>,
    /// The product it is about.
    #[serde(borrow)]
    pub product: Option<Text<'a>>,
    /// Where it was downloaded from.
    #[serde(borrow)]
    pub url: Option<Text<'a>>,
    /// An explicit content stage: connecting, educating or closing.
    #[serde(borrow)]
    pub stage: Option<Text<'a>>,
}

/// `data.equipment`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an equipment object")]
pub struct Equipment<'a> {
    /// The serial number.
    #[serde(borrow)]
    pub serial: Option<Text<'a>>,
    /// The model.
    #[serde(borrow)]
    pub model: Option<Text<'a>>,
    /// The product line.
    #[serde(borrow)]
    pub product_line: Option<Text<'a>>,
    /// Where it is installed.
    #[serde(borrow)]
    pub site: Option<Text<'a>>,
    /// When it was commissioned.
    #[serde(borrow)]
    pub commissioned_at: Option<Text<'a>>,
}

/// `data.ticket`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a ticket object")]
pub struct Ticket<'a> {
    /// The ticket id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// The subject line.
    #[serde(borrow)]
    pub subject: Option<Text<'a>>,
    /// The priority as the portal names it.
    #[serde(borrow)]
    pub priority: Option<Text<'a>>,
    /// The equipment it concerns.
    #[serde(borrow)]
    pub equipment_serial: Option<Text<'a>>,
}

/// `data.alert`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an alert object")]
pub struct Alert<'a> {
    /// The alert code.
    #[serde(borrow)]
    pub code: Option<Text<'a>>,
    /// The severity as the platform names it.
    #[serde(borrow)]
    pub severity: Option<Text<'a>>,
    /// The measured metric.
    #[serde(borrow)]
    pub metric: Option<Text<'a>>,
    /// The measured value.
    #[serde(borrow)]
    pub value: Option<Text<'a>>,
    /// The threshold it crossed.
    #[serde(borrow)]
    pub threshold: Option<Text<'a>>,
    /// The machine that raised it.
    #[serde(borrow)]
    pub equipment_serial: Option<Text<'a>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn strings_are_borrowed_and_numbers_become_text() {
        let ev: CloudEvent = serde_json::from_str(
            r#"{"id":"e1","source":"/p","type":"t\"x","data":{"alert":{"value":92.5,"threshold":90},"user":{"id":42}},"ext":{"a":[1]}}"#,
        )
        .unwrap();
        assert!(matches!(ev.id, Some(Text(Cow::Borrowed("e1")))));
        assert_eq!(ev.kind.unwrap().0, "t\"x");
        let data: Data = serde_json::from_str(ev.data.unwrap().get()).unwrap();
        let alert = data.alert.unwrap();
        assert_eq!(alert.value.unwrap().0, "92.5");
        assert_eq!(alert.threshold.unwrap().0, "90");
        assert_eq!(data.user.unwrap().id.unwrap().0, "42");
    }

    #[test]
    fn null_data_is_no_data_and_objects_are_not_text() {
        let ev: CloudEvent = serde_json::from_str(r#"{"id":"e1","data":null}"#).unwrap();
        assert!(ev.data.is_none());
        assert!(serde_json::from_str::<CloudEvent>(r#"{"id":{"x":1}}"#).is_err());
        assert!(serde_json::from_str::<Data>(r#""text""#).is_err());
        assert!(serde_json::from_str::<Data>(r#"{"user":"u-1"}"#).is_err());
    }
}
