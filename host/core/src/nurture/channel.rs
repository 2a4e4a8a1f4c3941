//! The channel a person prefers, learned from where they engage.
//!
//! Each touchpoint that shows the person engaging on a channel adds its
//! weight to that channel, decayed by age with a half-life of
//! [`HALF_LIFE_DAYS`] (30 days): `weight × 0.5^(age_days / 30)`, age from
//! `occurred_at` to now (a missing or future time counts as age 0).
//!
//! | touchpoint                          | channel   | weight |
//! |-------------------------------------|-----------|--------|
//! | `email-opened`                      | email     | 1      |
//! | `email-clicked`                     | email     | 3      |
//! | `portal-login`                      | portal    | 2      |
//! | `support-ticket`                    | portal    | 3      |
//! | `event-registered`                  | events    | 3      |
//! | `badge-scanned`                     | events    | 4      |
//! | `event-attended`                    | events    | 5      |
//! | `social-engagement`                 | social    | 1      |
//! | `social-lead-form`                  | social    | 4      |
//! | `cart-updated`                      | eservices | 2      |
//! | `quote-requested`                   | eservices | 4      |
//! | `order-placed`                      | eservices | 5      |
//!
//! Web page views and everything else count for nothing: the web is not a
//! channel the host delivers on. The channel with the highest total is the
//! learned preference (a tie goes to the earlier one in [`DELIVERY_CHANNELS`]);
//! no engagement at all learns nothing. An explicit preference the person
//! stated always wins over the learned one.
//!
//! A message goes out on the first channel of [`delivery_order`] — the
//! preference, then the tenant's fallback order (default email, portal,
//! events, social) — that can reach the person: the host passes the
//! channels it has both an address for and an enabled connector that
//! delivers on them. Consent is checked on top, by the send-time policy
//! ([`super::choose_channel`]).

use super::local::MS_PER_DAY;
use crate::touchpoint::{Channel, Timestamp, Touchpoint, TouchpointKind};

/// The half-life of engagement for learning the preferred channel, in days.
pub const HALF_LIFE_DAYS: f64 = 30.0;

/// The channels the host delivers on, in the order ties are broken.
pub const DELIVERY_CHANNELS: [Channel; 5] = [
    Channel::Email,
    Channel::Portal,
    Channel::Events,
    Channel::Social,
    Channel::Eservices,
];

/// The fallback order when the tenant sets none.
pub const DEFAULT_FALLBACK: [Channel; 4] = [
    Channel::Email,
    Channel::Portal,
    Channel::Events,
    Channel::Social,
];

/// The channel a touchpoint shows engagement on, and its weight.
pub fn engagement_weight(kind: &TouchpointKind) -> Option<(Channel, f64)> {
    Some(match kind {
        TouchpointKind::EmailOpened => (Channel::Email, 1.0),
        TouchpointKind::EmailClicked => (Channel::Email, 3.0),
        TouchpointKind::PortalLogin => (Channel::Portal, 2.0),
        TouchpointKind::SupportTicket => (Channel::Portal, 3.0),
        TouchpointKind::EventRegistered => (Channel::Events, 3.0),
        TouchpointKind::BadgeScanned => (Channel::Events, 4.0),
        TouchpointKind::EventAttended => (Channel::Events, 5.0),
        TouchpointKind::SocialEngagement => (Channel::Social, 1.0),
        TouchpointKind::SocialLeadForm => (Channel::Social, 4.0),
        TouchpointKind::CartUpdated => (Channel::Eservices, 2.0),
        TouchpointKind::QuoteRequested => (Channel::Eservices, 4.0),
        TouchpointKind::OrderPlaced => (Channel::Eservices, 5.0),
        _ => return None,
    })
}

/// The decayed engagement per delivery channel, in [`DELIVERY_CHANNELS`]
/// order (zero where there is none).
pub fn engagement_by_channel(touchpoints: &[&Touchpoint], now: Timestamp) -> Vec<(Channel, f64)> {
    engagement_by_channel_of(touchpoints.iter().map(|t| (&t.kind, t.occurred_at)), now)
}

/// [`engagement_by_channel`] over `(kind, occurred_at)` pairs, for a caller
/// that keeps its own compact copy of the touchpoints.
pub fn engagement_by_channel_of<'a>(
    events: impl IntoIterator<Item = (&'a TouchpointKind, Option<Timestamp>)>,
    now: Timestamp,
) -> Vec<(Channel, f64)> {
    let mut totals: Vec<(Channel, f64)> = DELIVERY_CHANNELS.iter().map(|&c| (c, 0.0)).collect();
    for (kind, occurred_at) in events {
        let Some((channel, weight)) = engagement_weight(kind) else {
            continue;
        };
        let age_days = occurred_at.map_or(0.0, |at| {
            (now.saturating_sub(at)).max(0) as f64 / MS_PER_DAY as f64
        });
        let decayed = weight * 0.5_f64.powf(age_days / HALF_LIFE_DAYS);
        if let Some(slot) = totals.iter_mut().find(|(c, _)| *c == channel) {
            slot.1 += decayed;
        }
    }
    totals
}

/// The channel the person engages on most (see the module doc); `None`
/// without any engagement.
pub fn learned_channel(touchpoints: &[&Touchpoint], now: Timestamp) -> Option<Channel> {
    learned_channel_of(touchpoints.iter().map(|t| (&t.kind, t.occurred_at)), now)
}

/// [`learned_channel`] over `(kind, occurred_at)` pairs.
pub fn learned_channel_of<'a>(
    events: impl IntoIterator<Item = (&'a TouchpointKind, Option<Timestamp>)>,
    now: Timestamp,
) -> Option<Channel> {
    let mut best: Option<(Channel, f64)> = None;
    for (channel, total) in engagement_by_channel_of(events, now) {
        if total > 0.0 && best.is_none_or(|(_, b)| total > b) {
            best = Some((channel, total));
        }
    }
    best.map(|(c, _)| c)
}

/// The preferred channel: an explicit preference that is a delivery
/// channel, else the learned one.
pub fn preferred_channel(
    explicit: Option<Channel>,
    touchpoints: &[&Touchpoint],
    now: Timestamp,
) -> Option<Channel> {
    explicit
        .filter(|c| DELIVERY_CHANNELS.contains(c))
        .or_else(|| learned_channel(touchpoints, now))
}

/// An explicit preference stated on touchpoints: the newest trait
/// `preferred_channel` (in `traits.other`) naming a delivery channel.
pub fn explicit_channel(touchpoints: &[&Touchpoint]) -> Option<Channel> {
    touchpoints
        .iter()
        .filter_map(|t| {
            let value = t
                .traits
                .other
                .iter()
                .rfind(|a| a.name == "preferred_channel")?;
            let channel = super::json::delivery_channel(value.value.trim())?;
            Some((t.occurred_at, channel))
        })
        .max_by_key(|(at, _)| *at)
        .map(|(_, c)| c)
}

/// The channels to try, in order: the preferred one, then the fallback
/// order, keeping only delivery channels in `reachable`, each once. A
/// channel that is neither preferred nor in the fallback order is never
/// used.
pub fn delivery_order(
    preferred: Option<Channel>,
    fallback: &[Channel],
    reachable: &[Channel],
) -> Vec<Channel> {
    let mut order = Vec::new();
    let candidates = preferred.into_iter().chain(fallback.iter().copied());
    for c in candidates {
        if reachable.contains(&c) && DELIVERY_CHANNELS.contains(&c) && !order.contains(&c) {
            order.push(c);
        }
    }
    order
}
