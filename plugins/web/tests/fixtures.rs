//! Each Segment fixture maps to the touchpoints it should.

// MockHost answers host calls natively; on wasm the tests have no host.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use leadhost_sdk::prelude::*;

const IDENTIFY: &str = include_str!("../../../tests/fixtures/segment/identify.json");
const TRACK: &str = include_str!("../../../tests/fixtures/segment/track.json");
const PAGE: &str = include_str!("../../../tests/fixtures/segment/page.json");
const SCREEN: &str = include_str!("../../../tests/fixtures/segment/screen.json");
const GROUP: &str = include_str!("../../../tests/fixtures/segment/group.json");
const ALIAS: &str = include_str!("../../../tests/fixtures/segment/alias.json");
const BATCH: &str = include_str!("../../../tests/fixtures/segment/batch.json");

/// 2024-05-01T00:00:00Z and 2024-05-02T00:00:00Z in epoch milliseconds.
const MAY_1: i64 = 1_714_521_600_000;
const MAY_2: i64 = MAY_1 + 86_400_000;
const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

fn one(path: &str, body: &str) -> Touchpoint {
    let mut touchpoints = accepted(post(path, body));
    assert_eq!(touchpoints.len(), 1);
    touchpoints.remove(0)
}

#[test]
fn identify_maps_person_company_and_consent() {
    let tp = one("/v1/identify", IDENTIFY);
    assert_eq!(
        tp.external_id,
        "ajs-next-1714566600250-6f1c2a9e-4b7d-4c1e-9a2f-3d5e8b7c6a10"
    );
    assert_eq!(tp.occurred_at, Some(MAY_1 + 12 * HOUR + 30 * MINUTE + 250));
    assert_eq!(tp.channel, Channel::Web);
    assert_eq!(tp.kind, TouchpointKind::Identified);
    assert_eq!(
        tp.identities,
        Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            phone: Some("+358401234567".into()),
            anonymous_id: Some("507f191e-810c-4972-9de8-60ea3c2b1a90".into()),
            user_id: Some("u-48213".into()),
            company_domain: Some("pohjola-paper.example".into()),
            account_id: Some("acct-7731".into()),
            ..Identities::default()
        }
    );
    let t = &tp.traits;
    assert_eq!(t.first_name.as_deref(), Some("Jane"));
    assert_eq!(t.last_name.as_deref(), Some("Koski"));
    assert_eq!(t.job_title.as_deref(), Some("Mill Manager"));
    assert_eq!(t.company.as_deref(), Some("Pohjola Paper Oy"));
    assert_eq!(t.industry.as_deref(), Some("Pulp & Paper"));
    assert_eq!(t.company_size, Some(1200));
    assert_eq!(t.country.as_deref(), Some("FI"));
    // Scalars without a field of their own; JSON text for non-strings.
    assert_eq!(names(&t.other), ["createdAt", "plan", "logins"]);
    assert_eq!(
        attr(&t.other, "createdAt"),
        Some("2024-03-11T08:15:00.000Z")
    );
    assert_eq!(attr(&t.other, "logins"), Some("5"));
    assert_eq!(tp.consent, [consent("marketing", true)]);
    assert_eq!(tp.properties, Properties::default());
}

#[test]
fn track_maps_form_campaign_and_page_context() {
    let tp = one("/v1/track", TRACK);
    assert_eq!(
        tp.external_id,
        "ajs-next-1714566670000-0b6f5c1d-2e8a-4f3b-a7c9-1d4e6f8a2b3c"
    );
    assert_eq!(tp.occurred_at, Some(1_714_566_670_000));
    assert_eq!(tp.kind, TouchpointKind::FormSubmitted);
    assert_eq!(tp.identities.user_id.as_deref(), Some("u-48213"));
    assert_eq!(
        tp.identities.email.as_deref(),
        Some("jane.koski@pohjola-paper.example")
    );
    assert_eq!(
        tp.identities.company_domain.as_deref(),
        Some("pohjola-paper.example")
    );
    assert_eq!(tp.traits.company.as_deref(), Some("Pohjola Paper Oy"));

    let p = &tp.properties;
    assert_eq!(p.campaign.as_deref(), Some("pm-rebuild-2024"));
    assert_eq!(p.source.as_deref(), Some("google"));
    assert_eq!(p.medium, Some(Acquisition::Paid));
    assert_eq!(p.topic.as_deref(), Some("Paper machine rebuilds"));
    assert_eq!(p.content_stage, Some(ContentStage::Closing));
    assert_eq!(
        p.url.as_deref(),
        Some(
            "https://www.nordmill.example/demo?utm_source=google&utm_medium=cpc&utm_campaign=pm-rebuild-2024&utm_term=paper+machine+rebuild&utm_content=headline-b"
        )
    );
    assert_eq!(p.title.as_deref(), Some("Request a demo | Nordmill"));
    assert_eq!(p.referrer.as_deref(), Some("https://www.google.com/"));
    assert_eq!(p.amount, None);
    assert_eq!(
        names(&p.other),
        [
            "form_id",
            "product",
            "preferred_date",
            "attendees",
            "onsite",
            "event",
            "utm_term",
            "utm_content"
        ]
    );
    assert_eq!(attr(&p.other, "event"), Some("Demo Requested"));
    assert_eq!(attr(&p.other, "attendees"), Some("3"));
    assert_eq!(attr(&p.other, "onsite"), Some("true"));
    assert_eq!(attr(&p.other, "utm_term"), Some("paper machine rebuild"));
    assert!(tp.consent.is_empty());
}

#[test]
fn page_takes_utm_from_the_url_and_consent_per_category() {
    let tp = one("/v1/page", PAGE);
    assert_eq!(tp.kind, TouchpointKind::PageView);
    assert_eq!(tp.occurred_at, Some(MAY_1 + 12 * HOUR + 32 * MINUTE + 50));
    assert_eq!(
        tp.identities.anonymous_id.as_deref(),
        Some("c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f")
    );
    assert_eq!(tp.identities.user_id, None);
    assert_eq!(tp.identities.email, None);
    let p = &tp.properties;
    // No context.campaign: the utm_* parameters of the page URL.
    assert_eq!(p.campaign.as_deref(), Some("q2-webinar"));
    assert_eq!(p.source.as_deref(), Some("linkedin"));
    assert_eq!(p.medium, Some(Acquisition::Paid));
    assert_eq!(p.title.as_deref(), Some("Pricing | Nordmill"));
    assert_eq!(p.referrer.as_deref(), Some("https://www.linkedin.com/"));
    assert_eq!(p.topic.as_deref(), Some("Service contracts"));
    assert_eq!(names(&p.other), ["name", "path", "search"]);
    assert_eq!(attr(&p.other, "name"), Some("Pricing"));
    assert_eq!(
        tp.consent,
        [
            consent("Advertising", false),
            consent("Analytics", true),
            consent("Functional", true),
            consent("Marketing", true),
        ]
    );
}

#[test]
fn screen_falls_back_to_the_original_timestamp() {
    let tp = one("/v1/screen", SCREEN);
    assert_eq!(tp.external_id, "3B2A1908-F7E6-4D5C-B4A3-928170F6E5D4");
    assert_eq!(tp.kind, TouchpointKind::ScreenView);
    // No `timestamp`: `originalTimestamp`, not `sentAt`.
    assert_eq!(tp.occurred_at, Some(MAY_1 + 12 * HOUR + 33 * MINUTE + 500));
    assert_eq!(tp.properties.title.as_deref(), Some("Spare Parts Catalog"));
    assert_eq!(tp.properties.topic.as_deref(), Some("Spare parts"));
    assert_eq!(tp.properties.content_id.as_deref(), Some("catalog-2024-q2"));
    assert_eq!(attr(&tp.properties.other, "items_shown"), Some("48"));
    assert_eq!(
        tp.identities.email.as_deref(),
        Some("jane.koski@pohjola-paper.example")
    );
    assert_eq!(
        tp.identities.anonymous_id.as_deref(),
        Some("E5D4C3B2-A190-4F8E-9D7C-6B5A49382716")
    );
}

#[test]
fn group_links_the_account() {
    let tp = one("/v1/group", GROUP);
    assert_eq!(tp.kind, TouchpointKind::AccountLinked);
    assert_eq!(tp.occurred_at, Some(MAY_1 + 12 * HOUR + 34 * MINUTE));
    assert_eq!(
        tp.identities,
        Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            user_id: Some("u-48213".into()),
            company_domain: Some("pohjola-paper.example".into()),
            account_id: Some("acct-7731".into()),
            ..Identities::default()
        }
    );
    let t = &tp.traits;
    assert_eq!(t.company.as_deref(), Some("Pohjola Paper Oy"));
    assert_eq!(t.industry.as_deref(), Some("Pulp & Paper"));
    assert_eq!(t.company_size, Some(1200));
    assert_eq!(t.country.as_deref(), Some("FI"));
    // The person's traits come from context.traits.
    assert_eq!(t.first_name.as_deref(), Some("Jane"));
    assert_eq!(t.last_name.as_deref(), Some("Koski"));
    assert_eq!(names(&t.other), ["plan", "tier"]);
    assert_eq!(attr(&t.other, "tier"), Some("key account"));
}

#[test]
fn alias_puts_the_previous_anonymous_id_beside_the_user_id() {
    let tp = one("/v1/alias", ALIAS);
    assert_eq!(tp.kind, TouchpointKind::Alias);
    assert_eq!(tp.occurred_at, Some(MAY_1 + 12 * HOUR + 35 * MINUTE));
    assert_eq!(
        tp.identities,
        Identities {
            anonymous_id: Some("507f191e-810c-4972-9de8-60ea3c2b1a90".into()),
            user_id: Some("u-48213".into()),
            ..Identities::default()
        }
    );
}

#[test]
fn batch_maps_every_call_in_order() {
    let tps = accepted(post("/v1/batch", BATCH));
    let kinds: Vec<_> = tps.iter().map(|t| t.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            TouchpointKind::Identified,
            TouchpointKind::PageView,
            TouchpointKind::VideoPlayed,
            TouchpointKind::Download,
            TouchpointKind::QuoteRequested,
            TouchpointKind::ScreenView,
            TouchpointKind::AccountLinked,
            TouchpointKind::Alias,
        ]
    );
    let at: Vec<_> = tps.iter().map(|t| t.occurred_at).collect();
    assert_eq!(
        at,
        [
            Some(MAY_2 + 9 * HOUR),
            Some(MAY_2 + 9 * HOUR + MINUTE), // originalTimestamp
            Some(MAY_2 + 9 * HOUR + 2 * MINUTE),
            Some(MAY_2 + 7 * HOUR + 3 * MINUTE), // 09:03+02:00
            Some(MAY_2 + 9 * HOUR + 5 * MINUTE),
            Some(MAY_2 + 9 * HOUR + 6 * MINUTE),
            Some(MAY_2 + 9 * HOUR + 7 * MINUTE),
            Some(MAY_2 + 9 * HOUR + 8 * MINUTE),
        ]
    );
    let ids: Vec<_> = tps.iter().map(|t| t.external_id.as_str()).collect();
    let message_id =
        |millis: &str, n: u8| format!("node-next-{millis}-a1b2c3d4-000{n}-4e5f-8a9b-0c1d2e3f4a5b");
    assert_eq!(ids[0], message_id("1714640400000", 1));
    assert_eq!(ids[1], message_id("1714640460000", 2));
    assert_eq!(ids[2], message_id("1714640520000", 3));
    assert_eq!(ids[4], message_id("1714640700000", 5));
    assert_eq!(ids[5], message_id("1714640760000", 6));
    assert_eq!(ids[6], message_id("1714640820000", 7));
    assert_eq!(ids[7], message_id("1714640880000", 8));
    for tp in &tps {
        assert_eq!(tp.channel, Channel::Web);
        assert_eq!(tp.identities.user_id.as_deref(), Some("u-90017"));
    }

    let identify = &tps[0];
    assert_eq!(identify.traits.first_name.as_deref(), Some("Maria"));
    assert_eq!(identify.traits.last_name.as_deref(), Some("Lindqvist"));
    assert_eq!(
        identify.traits.job_title.as_deref(),
        Some("Maintenance Engineer")
    );
    assert_eq!(identify.traits.company_size, Some(340));
    assert_eq!(identify.traits.country.as_deref(), Some("SE"));
    assert_eq!(identify.consent, [consent("marketing", true)]);
    assert_eq!(
        identify.identities.company_domain.as_deref(),
        Some("kvarn-board.example")
    );

    let page = &tps[1].properties;
    assert_eq!(page.campaign.as_deref(), Some("spring-newsletter-2024"));
    assert_eq!(page.source.as_deref(), Some("newsletter"));
    assert_eq!(page.medium, Some(Acquisition::Email));
    assert_eq!(attr(&page.other, "utm_content"), Some("hero-image"));
    assert_eq!(page.content_stage, Some(ContentStage::Educating));
    assert_eq!(
        page.url.as_deref(),
        Some("https://www.nordmill.example/products/doctor-blades")
    );
    assert_eq!(page.referrer, None, "an empty referrer is no referrer");
    assert_eq!(
        tps[1].consent,
        [consent("Advertising", false), consent("Marketing", true)]
    );

    let video = &tps[2].properties;
    assert_eq!(video.content_id.as_deref(), Some("vid-blade-change-101"));
    assert_eq!(video.content_stage, Some(ContentStage::Educating));
    assert_eq!(
        video.title.as_deref(),
        Some("Changing a doctor blade in 90 seconds")
    );
    assert_eq!(
        video.url.as_deref(),
        Some("https://www.nordmill.example/products/doctor-blades")
    );
    assert_eq!(attr(&video.other, "event"), Some("Video Playback Started"));
    assert_eq!(attr(&video.other, "full_screen"), Some("false"));

    let download = &tps[3];
    assert!(
        download.external_id.starts_with("h:"),
        "{}",
        download.external_id
    );
    assert_eq!(download.external_id.len(), 18);
    assert_eq!(
        download.identities.email.as_deref(),
        Some("m.lindqvist@kvarn-board.example")
    );
    let d = &download.properties;
    assert_eq!(d.content_id.as_deref(), Some("wp-felt-life-2024"));
    assert_eq!(d.topic.as_deref(), Some("Press felts"));
    assert_eq!(d.content_stage, Some(ContentStage::Connecting));
    assert_eq!(attr(&d.other, "file_type"), Some("pdf"));

    let quote = &tps[4];
    assert_eq!(quote.identities.anonymous_id, None);
    assert_eq!(quote.identities.account_id.as_deref(), Some("acct-5120"));
    let q = &quote.properties;
    assert_eq!(q.amount, Some(52_000.5), "revenue wins over value");
    assert_eq!(q.currency.as_deref(), Some("EUR"));
    assert_eq!(q.content_id.as_deref(), Some("felt-pm3-press"));
    assert_eq!(q.campaign.as_deref(), Some("pulp-paper-expo-2024"));
    assert_eq!(q.source.as_deref(), Some("booth-qr"));
    assert_eq!(q.medium, None, "trade-fair has no agreed meaning");
    assert_eq!(attr(&q.other, "utm_medium"), Some("trade-fair"));
    assert_eq!(attr(&q.other, "value"), Some("48500"));
    assert_eq!(attr(&q.other, "quantity"), Some("2"));

    assert_eq!(tps[5].properties.title.as_deref(), Some("Order history"));

    let group = &tps[6];
    assert_eq!(group.identities.account_id.as_deref(), Some("acct-5120"));
    assert_eq!(
        group.identities.company_domain.as_deref(),
        Some("kvarn-board.example")
    );
    assert_eq!(group.traits.company.as_deref(), Some("Kvarn Board AB"));

    assert_eq!(
        tps[7].identities.anonymous_id.as_deref(),
        Some("8f14e45f-ceea-467f-a0f7-1b5c3d2e9a61")
    );
}

#[test]
fn a_redelivered_batch_maps_identically() {
    let first = accepted(post("/v1/batch", BATCH));
    let second = accepted(post("/v1/batch", BATCH));
    let key = |tps: &[Touchpoint]| {
        tps.iter()
            .map(|t| (t.external_id.clone(), t.occurred_at))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&first), key(&second));
    assert_eq!(first, second);
    // Through /v1/import, Segment's other name for batch, too.
    assert_eq!(key(&first), key(&accepted(post("/v1/import", BATCH))));
}

#[test]
fn calls_without_message_id_get_stable_distinct_ids() {
    let a = r#"{"userId":"u1","event":"Signed Up","timestamp":"2024-05-02T09:00:00Z"}"#;
    let b = r#"{"userId":"u1","event":"Signed Up","timestamp":"2024-05-02T09:00:01Z"}"#;
    let id = |body: &str, path: &str| one(path, body).external_id;
    assert_eq!(id(a, "/v1/track"), id(a, "/v1/track"));
    assert!(id(a, "/v1/track").starts_with("h:"));
    assert_ne!(id(a, "/v1/track"), id(b, "/v1/track"));
    // The same bytes as another call type are another event.
    assert_ne!(id(a, "/v1/track"), id(a, "/v1/identify"));
}
