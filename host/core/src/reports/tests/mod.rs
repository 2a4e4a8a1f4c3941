//! Tests of the reports: a small scenario with every number derived by
//! hand, properties over generated histories, and a timing run.

mod properties;
mod scenario;
mod speed;

use crate::leads::{Engine, TenantConfig, Versions};
use crate::lifecycle::{Policy, RoutingRules, SlaExpiry};
use crate::touchpoint::{
    Acquisition, Channel, Identities, Properties, Timestamp, Touchpoint, TouchpointKind, Traits,
};

pub(super) const MINUTE: i64 = 60_000;
pub(super) const HOUR: i64 = 60 * MINUTE;
pub(super) const DAY: i64 = 24 * HOUR;
/// 2025-10-01T00:00:00Z.
pub(super) const T0: i64 = 1_759_276_800_000;

/// `T0` plus days, hours and minutes.
pub(super) fn at(day: i64, hour: i64, minute: i64) -> Timestamp {
    T0 + day * DAY + hour * HOUR + minute * MINUTE
}

/// Points without decay, so every score is a sum: page view 1 (at most
/// 5), form or social lead form 30, download 10, quote 50, unsubscribe
/// -40; a director fits for 10.
pub(super) const RULES: &str = r#"{
  "version": 1, "half_life_days": 30,
  "grades": { "hot": 60, "warm": 25, "hysteresis": 5 },
  "fit": [ { "name": "director", "points": 10, "job_title": ["director"] } ],
  "engagement": [
    { "name": "page view", "points": 1, "kind": ["page-view"], "cap": 5, "decay": false },
    { "name": "form", "points": 30, "kind": ["form-submitted", "social-lead-form"], "decay": false },
    { "name": "download", "points": 10, "kind": ["download"], "decay": false },
    { "name": "quote", "points": 50, "kind": ["quote-requested"], "decay": false },
    { "name": "unsubscribed", "points": -40, "kind": ["unsubscribed"], "decay": false }
  ]
}"#;

/// One team of two, so a reassignment finds someone else.
const ROUTING: &str = r#"{
  "rules": [],
  "default_team": "inside",
  "teams": { "inside": { "members": [ { "id": "sam", "capacity": 5, "active": true },
                                      { "id": "tia", "capacity": 5, "active": true } ] } }
}"#;

/// One care model for paper-industry prospects and leads: a message, ten
/// days, another message; reaching sales-ready or beyond is its goal.
pub(super) const NURTURE: &str = r#"{
  "channels": { "email": "newsletter" },
  "models": [ { "version": 1, "name": "welcome",
    "entry": { "industry": ["paper"], "stage": ["prospect", "lead"] },
    "steps": [
      { "id": "hello", "send": { "content": "intro", "stage": "connecting", "text": "Hello" } },
      { "id": "pause", "wait": { "days": 10 } },
      { "id": "offer", "send": { "content": "offer", "stage": "closing", "text": "An offer" } }
    ],
    "goal": { "stage": ["sales-ready", "opportunity", "customer"] } } ] }"#;

/// MQL at 40, SQL at 70, an hour to accept, then reassign.
pub(super) fn engine() -> Engine {
    let policy = Policy {
        mql_threshold: 40.0,
        sql_threshold: 70.0,
        sla_minutes: 60,
        on_sla_expiry: SlaExpiry::Reassign,
        ..Policy::default()
    };
    let routing = RoutingRules::from_json(ROUTING).expect("routing");
    let config = TenantConfig::new(RULES, policy, Some(routing), Versions::default())
        .expect("rules")
        .with_nurture(NURTURE)
        .expect("nurture");
    Engine::new(config)
}

/// A touchpoint by the person with this e-mail address.
pub(super) fn touch(
    id: &str,
    email: &str,
    channel: Channel,
    kind: TouchpointKind,
    at: Timestamp,
) -> Touchpoint {
    Touchpoint {
        external_id: id.into(),
        occurred_at: Some(at),
        channel,
        kind,
        identities: Identities {
            email: Some(email.into()),
            ..Identities::default()
        },
        traits: Traits::default(),
        properties: Properties::default(),
        consent: vec![],
    }
}

/// The touchpoint with UTM-style properties.
pub(super) fn utm(
    mut t: Touchpoint,
    source: Option<&str>,
    medium: Option<Acquisition>,
    campaign: Option<&str>,
) -> Touchpoint {
    t.properties.source = source.map(String::from);
    t.properties.medium = medium;
    t.properties.campaign = campaign.map(String::from);
    t
}

/// Whether two amounts agree within a relative 1e-9.
pub(super) fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn times_parse_as_dates_months_instants_and_milliseconds() {
    use super::parse_time;
    assert_eq!(parse_time("2025-10-01"), Some(T0));
    assert_eq!(parse_time("2025-10"), Some(T0));
    assert_eq!(parse_time(&T0.to_string()), Some(T0));
    assert_eq!(parse_time("2025-10-02T06:30:00Z"), Some(at(1, 6, 30)));
    assert_eq!(
        parse_time("2025-10-02T06:30:00.250Z"),
        Some(at(1, 6, 30) + 250)
    );
    // 08:30 at +02:00 is 06:30 UTC.
    assert_eq!(parse_time("2025-10-02T08:30:00+02:00"), Some(at(1, 6, 30)));
    // 2024-02-29 is 580 days before 2025-10-01: the rest of 2024 after it
    // (366 - 31 - 29 = 306 days, counting 03-01 on) plus 2025 to 10-01 (273).
    assert_eq!(parse_time("2024-02-29"), Some(T0 - (1 + 306 + 273) * DAY));
    for bad in [
        "",
        "yesterday",
        "2025-13-01",
        "2025-10-01T25:00:00Z",
        "2025-10-01T06:30",
        "2025/10/01",
    ] {
        assert_eq!(parse_time(bad), None, "{bad}");
    }
}

#[test]
fn a_free_mail_lead_s_won_deal_and_order_count_as_revenue_and_survive_a_snapshot() {
    use super::{ReportQuery, channels};
    use crate::leads::Command;
    let mut e = engine();
    // A gmail address: no account is formed, yet the revenue is the lead's.
    let mut quote = touch(
        "q",
        "ville@gmail.com",
        Channel::Web,
        TouchpointKind::QuoteRequested,
        at(0, 9, 0),
    );
    quote.properties.campaign = Some("spring".into());
    e.apply(&quote, at(0, 9, 0));
    let mut order = touch(
        "o",
        "ville@gmail.com",
        Channel::Eservices,
        TouchpointKind::OrderPlaced,
        at(1, 9, 0),
    );
    order.properties.amount = Some(120.0);
    order.properties.currency = Some("EUR".into());
    e.apply(&order, at(1, 9, 0));
    let person = crate::identity::PersonId(1);
    e.command(
        &Command::Won {
            person,
            amount: Some(880.0),
            currency: Some("eur".into()),
        },
        at(2, 9, 0),
    )
    .unwrap();
    assert!(e.accounts.is_empty(), "free mail forms no account");
    // 120 from the order and 880 from the deal, in the lead's campaign.
    let r = channels(&e, &ReportQuery::default());
    assert!(close(r.totals.revenue, 1000.0), "{}", r.totals.revenue);
    let spring = r.by_campaign.iter().find(|p| p.key == "spring").unwrap();
    assert!(close(spring.revenue, 1000.0));

    // A restored snapshot gives the same report.
    let copy = Engine::from_json(&e.to_json().unwrap()).unwrap();
    assert_eq!(channels(&copy, &ReportQuery::default()), r);
}
