//! The Shopify webhook payloads, read borrowed from the request body.
//!
//! One struct, [`Resource`], covers the resources the connector maps (orders,
//! draft orders, checkouts, carts, customers, refunds): Shopify serialises
//! them from the same REST shapes, and every field is optional here so the
//! mapping decides what a topic needs. Strings without escapes are borrowed;
//! everything the connector does not read is skipped by the parser. Nothing
//! builds a `serde_json::Value`.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor, value};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

pub use leadhost_sdk::json::{Text, text};

/// Any JSON value, kept as text when it is a scalar and dropped otherwise.
/// For fields whose type Shopify does not fix (line item properties, note
/// attribute values) and for the payloads of topics the connector does not know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loose<'a>(pub Option<Text<'a>>);

impl Loose<'_> {
    /// The trimmed, non-empty text.
    pub fn non_empty(&self) -> Option<&str> {
        self.0.as_ref().and_then(Text::non_empty)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LooseVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for LooseVisitor<'a> {
            type Value = Loose<'a>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Text(Cow::Borrowed(v)))))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose<'a>, E> {
                Text::deserialize(value::StrDeserializer::new(v)).map(|t| Loose(Some(t)))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Text(Cow::Owned(v)))))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose<'a>, E> {
                Text::deserialize(value::U64Deserializer::new(v)).map(|t| Loose(Some(t)))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose<'a>, E> {
                Text::deserialize(value::I64Deserializer::new(v)).map(|t| Loose(Some(t)))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Loose<'a>, E> {
                Text::deserialize(value::F64Deserializer::new(v)).map(|t| Loose(Some(t)))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Loose<'a>, E> {
                Text::deserialize(value::BoolDeserializer::new(v)).map(|t| Loose(Some(t)))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Loose<'a>, E> {
                Ok(Loose(None))
            }

            fn visit_none<E: de::Error>(self) -> Result<Loose<'a>, E> {
                Ok(Loose(None))
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Loose<'a>, M::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Loose<'a>, S::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
        }

        deserializer.deserialize_any(LooseVisitor(PhantomData))
    }
}

/// A `name` / `value` pair: an order's `note_attributes`, a line item's
/// `properties`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NameValue<'a> {
    /// The name.
    #[serde(borrow)]
    pub name: Loose<'a>,
    /// The value, when it is a scalar.
    #[serde(borrow, default)]
    pub value: Loose<'a>,
}

/// Line item properties. Orders, draft orders and checkouts send a list of
/// `{name, value}`; the Ajax cart (carts/*) sends an object; both read here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties<'a>(pub Vec<NameValue<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Properties<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PropertiesVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for PropertiesVisitor<'a> {
            type Value = Properties<'a>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of {name, value} or an object")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Properties<'a>, E> {
                Ok(Properties::default())
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Properties<'a>, S::Error> {
                let mut out = Vec::new();
                while let Some(pair) = seq.next_element::<NameValue<'a>>()? {
                    out.push(pair);
                }
                Ok(Properties(out))
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Properties<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some((name, value)) = map.next_entry::<Text<'a>, Loose<'a>>()? {
                    out.push(NameValue {
                        name: Loose(Some(name)),
                        value,
                    });
                }
                Ok(Properties(out))
            }
        }

        deserializer.deserialize_any(PropertiesVisitor(PhantomData))
    }
}

/// Tags: Shopify sends them as one comma-separated string; a list of strings
/// is read too.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags<'a>(pub Vec<Text<'a>>);

impl Tags<'_> {
    /// Each tag, trimmed, empty ones left out.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .flat_map(|t| t.0.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Tags<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagsVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for TagsVisitor<'a> {
            type Value = Tags<'a>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("comma-separated tags or a list of tags")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Tags<'a>, E> {
                Ok(Tags(vec![Text(Cow::Borrowed(v))]))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Tags<'a>, E> {
                Ok(Tags(vec![Text(Cow::Owned(v.to_owned()))]))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Tags<'a>, E> {
                Ok(Tags(vec![Text(Cow::Owned(v))]))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Tags<'a>, E> {
                Ok(Tags::default())
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Tags<'a>, S::Error> {
                let mut out = Vec::new();
                while let Some(tag) = seq.next_element::<Text<'a>>()? {
                    out.push(tag);
                }
                Ok(Tags(out))
            }
        }

        deserializer.deserialize_any(TagsVisitor(PhantomData))
    }
}

/// A mailing address (`billing_address`, `default_address`).
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an address object")]
pub struct Address<'a> {
    /// First name on the address.
    #[serde(borrow)]
    pub first_name: Option<Text<'a>>,
    /// Last name on the address.
    #[serde(borrow)]
    pub last_name: Option<Text<'a>>,
    /// The company on the address.
    #[serde(borrow)]
    pub company: Option<Text<'a>>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(borrow)]
    pub country_code: Option<Text<'a>>,
}

/// `email_marketing_consent` of a customer.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a marketing consent object")]
pub struct MarketingConsent<'a> {
    /// `subscribed`, `not_subscribed`, `unsubscribed`, `pending`, ...
    #[serde(borrow)]
    pub state: Option<Text<'a>>,
}

/// A customer: nested in orders, checkouts and draft orders.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a customer object")]
pub struct Customer<'a> {
    /// Shopify's customer id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// The customer's email.
    #[serde(borrow)]
    pub email: Option<Text<'a>>,
    /// The customer's phone.
    #[serde(borrow)]
    pub phone: Option<Text<'a>>,
    /// First name.
    #[serde(borrow)]
    pub first_name: Option<Text<'a>>,
    /// Last name.
    #[serde(borrow)]
    pub last_name: Option<Text<'a>>,
    /// The customer's tags.
    #[serde(borrow)]
    pub tags: Option<Tags<'a>>,
    /// How many orders the customer has placed, this one included.
    #[serde(borrow)]
    pub orders_count: Option<Text<'a>>,
    /// The customer's default address.
    #[serde(borrow)]
    pub default_address: Option<Address<'a>>,
    /// Email marketing consent.
    #[serde(borrow)]
    pub email_marketing_consent: Option<MarketingConsent<'a>>,
    /// The legacy marketing flag.
    pub accepts_marketing: Option<bool>,
}

/// A line item of an order, draft order, checkout or cart.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a line item object")]
pub struct LineItem<'a> {
    /// The line item's id.
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// The variant's SKU.
    #[serde(borrow)]
    pub sku: Option<Text<'a>>,
    /// The product title.
    #[serde(borrow)]
    pub title: Option<Text<'a>>,
    /// Product and variant title.
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// How many.
    #[serde(borrow)]
    pub quantity: Option<Text<'a>>,
    /// The unit price, a decimal string.
    #[serde(borrow)]
    pub price: Option<Text<'a>>,
    /// Price times quantity (checkouts and carts).
    #[serde(borrow)]
    pub line_price: Option<Text<'a>>,
    /// The product.
    #[serde(borrow)]
    pub product_id: Option<Text<'a>>,
    /// The variant.
    #[serde(borrow)]
    pub variant_id: Option<Text<'a>>,
    /// Custom properties a buyer or app set on the line.
    #[serde(borrow)]
    pub properties: Option<Properties<'a>>,
    /// The product's tags, where the shop's checkout app adds them. Shopify's
    /// own line items do not carry product tags; line item properties do
    /// the same job.
    #[serde(borrow, alias = "tags")]
    pub product_tags: Option<Tags<'a>>,
}

/// A discount code applied to an order or checkout.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a discount code object")]
pub struct DiscountCode<'a> {
    /// The code.
    #[serde(borrow)]
    pub code: Option<Text<'a>>,
}

/// A money movement of a refund.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a transaction object")]
pub struct Transaction<'a> {
    /// The amount, a decimal string.
    #[serde(borrow)]
    pub amount: Option<Text<'a>>,
    /// Its currency.
    #[serde(borrow)]
    pub currency: Option<Text<'a>>,
    /// `refund`, `sale`, ...
    #[serde(borrow)]
    pub kind: Option<Text<'a>>,
    /// `success`, `failure`, `pending`, ...
    #[serde(borrow)]
    pub status: Option<Text<'a>>,
}

/// One refunded line.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a refund line item object")]
pub struct RefundLine<'a> {
    /// How many were refunded.
    #[serde(borrow)]
    pub quantity: Option<Text<'a>>,
    /// The order's line item.
    #[serde(borrow)]
    pub line_item: Option<LineItem<'a>>,
}

/// The payload of a webhook of a topic the connector maps.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a Shopify resource (a JSON object)")]
pub struct Resource<'a> {
    /// The resource's id (a string for carts).
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    /// The checkout or cart token.
    #[serde(borrow)]
    pub token: Option<Text<'a>>,
    /// The storefront cart the order or checkout came from.
    #[serde(borrow)]
    pub cart_token: Option<Text<'a>>,
    /// The display name: `#1001`, `#D133`.
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    /// The buyer's email.
    #[serde(borrow)]
    pub email: Option<Text<'a>>,
    /// The contact email of an order.
    #[serde(borrow)]
    pub contact_email: Option<Text<'a>>,
    /// The buyer's phone.
    #[serde(borrow)]
    pub phone: Option<Text<'a>>,
    /// When it was created.
    #[serde(borrow)]
    pub created_at: Option<Text<'a>>,
    /// When it last changed.
    #[serde(borrow)]
    pub updated_at: Option<Text<'a>>,
    /// When a refund was processed.
    #[serde(borrow)]
    pub processed_at: Option<Text<'a>>,
    /// When an order was cancelled.
    #[serde(borrow)]
    pub cancelled_at: Option<Text<'a>>,
    /// Why an order was cancelled.
    #[serde(borrow)]
    pub cancel_reason: Option<Text<'a>>,
    /// The shop currency.
    #[serde(borrow)]
    pub currency: Option<Text<'a>>,
    /// The currency the buyer saw.
    #[serde(borrow)]
    pub presentment_currency: Option<Text<'a>>,
    /// The total, a decimal string.
    #[serde(borrow)]
    pub total_price: Option<Text<'a>>,
    /// `pending`, `paid`, `refunded`, ...
    #[serde(borrow)]
    pub financial_status: Option<Text<'a>>,
    /// A draft order's status: `open`, `invoice_sent`, `completed`.
    #[serde(borrow)]
    pub status: Option<Text<'a>>,
    /// Where the order came from: `web`, `pos`, `shopify_draft_order`, ...
    #[serde(borrow)]
    pub source_name: Option<Text<'a>>,
    /// The first page of the buyer's session, with its query.
    #[serde(borrow)]
    pub landing_site: Option<Text<'a>>,
    /// The site that referred the buyer.
    #[serde(borrow)]
    pub referring_site: Option<Text<'a>>,
    /// The resource's tags.
    #[serde(borrow)]
    pub tags: Option<Tags<'a>>,
    /// Extra information the buyer or an app added at checkout.
    #[serde(borrow)]
    pub note_attributes: Option<Vec<NameValue<'a>>>,
    /// The discount codes applied.
    #[serde(borrow)]
    pub discount_codes: Option<Vec<DiscountCode<'a>>>,
    /// What was ordered.
    #[serde(borrow)]
    pub line_items: Option<Vec<LineItem<'a>>>,
    /// The billing address.
    #[serde(borrow)]
    pub billing_address: Option<Address<'a>>,
    /// The buyer.
    #[serde(borrow)]
    pub customer: Option<Customer<'a>>,
    /// Whether the buyer agreed to marketing at checkout.
    pub buyer_accepts_marketing: Option<bool>,
    /// A test order.
    pub test: Option<bool>,
    /// A customer resource's first name.
    #[serde(borrow)]
    pub first_name: Option<Text<'a>>,
    /// A customer resource's last name.
    #[serde(borrow)]
    pub last_name: Option<Text<'a>>,
    /// A customer resource's default address.
    #[serde(borrow)]
    pub default_address: Option<Address<'a>>,
    /// A customer resource's order count.
    #[serde(borrow)]
    pub orders_count: Option<Text<'a>>,
    /// A customer resource's email marketing consent.
    #[serde(borrow)]
    pub email_marketing_consent: Option<MarketingConsent<'a>>,
    /// A customer resource's legacy marketing flag.
    pub accepts_marketing: Option<bool>,
    /// A customer resource's state: `disabled`, `invited`, `enabled`.
    #[serde(borrow)]
    pub state: Option<Text<'a>>,
    /// The order a refund belongs to.
    #[serde(borrow)]
    pub order_id: Option<Text<'a>>,
    /// A refund's money movements.
    #[serde(borrow)]
    pub transactions: Option<Vec<Transaction<'a>>>,
    /// A refund's lines.
    #[serde(borrow)]
    pub refund_line_items: Option<Vec<RefundLine<'a>>>,
}

/// The payload of a topic the connector does not know: only a few
/// well-known scalars are read, whatever their type, so nothing is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a JSON object")]
pub struct Generic<'a> {
    /// The resource's id.
    #[serde(borrow, default)]
    pub id: Loose<'a>,
    /// A display name.
    #[serde(borrow, default)]
    pub name: Loose<'a>,
    /// An email.
    #[serde(borrow, default)]
    pub email: Loose<'a>,
    /// When it was created.
    #[serde(borrow, default)]
    pub created_at: Loose<'a>,
    /// When it last changed.
    #[serde(borrow, default)]
    pub updated_at: Loose<'a>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn large_ids_stay_exact_and_strings_are_borrowed() {
        let r: Resource =
            serde_json::from_str(r##"{"id":820982911946154508,"name":"#1001","cart_token":null}"##)
                .unwrap();
        assert_eq!(text(&r.id), Some("820982911946154508"));
        assert!(matches!(r.name, Some(Text(Cow::Borrowed("#1001")))));
        assert_eq!(r.cart_token, None);
    }

    #[test]
    fn properties_read_lists_objects_and_null() {
        let list: Properties = serde_json::from_str(
            r#"[{"name":"kind","value":"spare-part"},{"name":"n","value":2}]"#,
        )
        .unwrap();
        assert_eq!(list.0.len(), 2);
        assert_eq!(list.0[1].value.non_empty(), Some("2"));
        let map: Properties =
            serde_json::from_str(r#"{"engraving":"Hi","nested":{"a":1}}"#).unwrap();
        assert_eq!(map.0[0].name.non_empty(), Some("engraving"));
        assert_eq!(map.0[1].value, Loose(None));
        let none: Option<Properties> = serde_json::from_str("null").unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn tags_split_on_commas() {
        let tags: Tags = serde_json::from_str(r#""account:ACME-123, vip,,""#).unwrap();
        assert_eq!(tags.iter().collect::<Vec<_>>(), ["account:ACME-123", "vip"]);
        let tags: Tags = serde_json::from_str(r#"["a", "b, c"]"#).unwrap();
        assert_eq!(tags.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn generic_payloads_take_any_types() {
        let g: Generic =
            serde_json::from_str(r#"{"id":{"x":1},"name":["a"],"email":"a@b.example","more":1}"#)
                .unwrap();
        assert_eq!(g.id, Loose(None));
        assert_eq!(g.email.non_empty(), Some("a@b.example"));
    }
}
