//! The words of the eServices channel: which webhook topics mean which
//! touchpoint kind, which `utm_medium` values mean which acquisition.
//! Pure functions, tested on their own; free mail is
//! [`leadhost_sdk::email`]'s.

use leadhost_sdk::prelude::*;

/// The shape of a topic's payload, which decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An order (orders/*).
    Order,
    /// A draft order: the shop's quote (draft_orders/*).
    DraftOrder,
    /// A checkout (checkouts/*).
    Checkout,
    /// A storefront cart (carts/*).
    Cart,
    /// A customer (customers/*).
    Customer,
    /// A refund (refunds/*).
    Refund,
    /// A topic the connector does not know; only a few fields are read.
    Other,
}

/// Which timestamp of the payload says when the touchpoint happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// `created_at` first: the topic is about the resource being created.
    Created,
    /// `updated_at` first: the topic is about a change.
    Updated,
    /// `cancelled_at` first.
    Cancelled,
}

/// What a topic means: its kind, the shape of its payload and which time
/// it happened at.
pub fn topic(topic: &str) -> (TouchpointKind, Shape, When) {
    use TouchpointKind as K;
    match topic {
        "orders/create" => (K::OrderPlaced, Shape::Order, When::Created),
        "orders/paid" => (K::OrderPlaced, Shape::Order, When::Updated),
        "orders/cancelled" => (
            K::Custom("order-cancelled".into()),
            Shape::Order,
            When::Cancelled,
        ),
        "checkouts/create" => (K::CartUpdated, Shape::Checkout, When::Created),
        "checkouts/update" => (K::CartUpdated, Shape::Checkout, When::Updated),
        "carts/create" => (K::CartUpdated, Shape::Cart, When::Created),
        "carts/update" => (K::CartUpdated, Shape::Cart, When::Updated),
        "draft_orders/create" => (K::QuoteRequested, Shape::DraftOrder, When::Created),
        "customers/create" => (K::Identified, Shape::Customer, When::Created),
        "refunds/create" => (
            K::Custom("refund-created".into()),
            Shape::Refund,
            When::Created,
        ),
        other => (K::Custom(other.to_owned()), Shape::Other, When::Updated),
    }
}

/// What a `utm_medium` says about how the buyer came; `None` for values
/// with no agreed meaning.
pub fn acquisition(medium: &str) -> Option<Acquisition> {
    let medium = medium.trim().to_ascii_lowercase();
    Some(match medium.as_str() {
        "cpc" | "ppc" | "paid" | "paidsearch" | "paid-search" | "paid_search" | "display"
        | "cpm" | "banner" | "paid_social" | "paid-social" | "shopping" | "retargeting" => {
            Acquisition::Paid
        }
        "organic" | "seo" => Acquisition::Organic,
        "referral" | "affiliate" | "partner" => Acquisition::Referral,
        "email" | "e-mail" | "newsletter" => Acquisition::Email,
        "social" | "social-media" | "social_media" => Acquisition::Social,
        "none" | "(none)" | "direct" => Acquisition::Direct,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_map_to_kinds() {
        assert_eq!(topic("orders/create").0, TouchpointKind::OrderPlaced);
        assert_eq!(topic("orders/paid").2, When::Updated);
        assert_eq!(topic("carts/update").1, Shape::Cart);
        assert_eq!(
            topic("draft_orders/create").0,
            TouchpointKind::QuoteRequested
        );
        assert_eq!(
            topic("products/update"),
            (
                TouchpointKind::Custom("products/update".into()),
                Shape::Other,
                When::Updated
            )
        );
    }

    #[test]
    fn mediums_map_to_acquisition() {
        assert_eq!(acquisition("CPC"), Some(Acquisition::Paid));
        assert_eq!(acquisition("newsletter"), Some(Acquisition::Email));
        assert_eq!(acquisition("(none)"), Some(Acquisition::Direct));
        assert_eq!(acquisition("print"), None);
    }
}
