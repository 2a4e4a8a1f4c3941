//! Each portal fixture maps to the touchpoints it should.

// MockHost answers host calls natively; on wasm the tests have no host.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_sdk::prelude::*;

const LOGIN: &str = include_str!("../../../tests/fixtures/portal/login.json");
const DOWNLOAD: &str = include_str!("../../../tests/fixtures/portal/document-downloaded.json");
const EQUIPMENT: &str = include_str!("../../../tests/fixtures/portal/equipment-registered.json");
const SERVICE: &str = include_str!("../../../tests/fixtures/portal/service-request-opened.json");
const ALERT: &str = include_str!("../../../tests/fixtures/portal/usage-alert.json");
const BATCH: &str = include_str!("../../../tests/fixtures/portal/batch.json");

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
/// 2024-05-06T00:00:00Z and 2024-05-07T00:00:00Z in epoch milliseconds.
const MAY_6: i64 = 1_714_953_600_000;
const MAY_7: i64 = MAY_6 + 24 * HOUR;

const PORTAL: &str = "https://portal.nordmill.example/eu";

/// Mikko Lahti of Kaskinen Board, as most fixtures name him.
fn mikko(email: bool) -> Identities {
    Identities {
        user_id: Some("u-20931".into()),
        email: email.then(|| "mikko.lahti@kaskinen-board.example".into()),
        account_id: Some("ACC-100482".into()),
        company_domain: Some("kaskinen-board.example".into()),
        ..Identities::default()
    }
}

#[test]
fn a_login_carries_the_user_the_account_and_the_crm_id() {
    let tp = one(LOGIN);
    assert_eq!(
        tp.external_id,
        format!("{PORTAL}#evt_01HX3M8Q2N7V5K9T4B6C1D0E2F")
    );
    assert_eq!(
        tp.occurred_at,
        Some(MAY_6 + 7 * HOUR + 42 * MINUTE + 13 * SECOND + 120)
    );
    assert_eq!(tp.channel, Channel::Portal);
    assert_eq!(tp.kind, TouchpointKind::PortalLogin);
    assert_eq!(
        tp.identities,
        Identities {
            crm_id: Some("0035e00000AbCdEfGH".into()),
            ..mikko(true)
        }
    );
    assert_eq!(
        tp.traits,
        Traits {
            first_name: Some("Mikko".into()),
            last_name: Some("Lahti".into()),
            job_title: Some("Maintenance Manager".into()),
            company: Some("Kaskinen Board Oy".into()),
            industry: Some("Pulp & Paper".into()),
            country: Some("FI".into()),
            ..Traits::default()
        }
    );
    assert_eq!(
        tp.properties,
        Properties {
            other: vec![Attribute::new("subject", "users/u-20931")],
            ..Properties::default()
        }
    );
    assert!(tp.consent.is_empty());
}

#[test]
fn a_manual_download_is_educating_content() {
    let tp = one(DOWNLOAD);
    assert_eq!(
        tp.external_id,
        format!("{PORTAL}#evt_01HX3MB7R4W2Y8Z6A0C3E5G7J9")
    );
    // 09:44:05+02:00 is 07:44:05 UTC.
    assert_eq!(
        tp.occurred_at,
        Some(MAY_6 + 7 * HOUR + 44 * MINUTE + 5 * SECOND)
    );
    assert_eq!(tp.kind, TouchpointKind::Download);
    // `www.` is dropped from the account's domain.
    assert_eq!(tp.identities, mikko(true));
    assert_eq!(tp.traits.first_name.as_deref(), Some("Mikko"));
    assert_eq!(tp.traits.last_name.as_deref(), Some("Lahti"));
    let p = &tp.properties;
    assert_eq!(p.content_id.as_deref(), Some("DOC-MAN-4471"));
    assert_eq!(
        p.title.as_deref(),
        Some("RollMaster 800 Operating Manual, rev. C")
    );
    assert_eq!(p.topic.as_deref(), Some("RollMaster 800"));
    assert_eq!(p.content_stage, Some(ContentStage::Educating));
    assert_eq!(
        p.url.as_deref(),
        Some("https://portal.nordmill.example/eu/documents/DOC-MAN-4471.pdf")
    );
    assert_eq!(
        pairs(&p.other),
        [
            ("subject", "documents/DOC-MAN-4471"),
            ("document_kind", "manual")
        ]
    );
}

#[test]
fn an_equipment_registration_grows_the_installed_base() {
    let tp = one(EQUIPMENT);
    assert_eq!(
        tp.external_id,
        format!("{PORTAL}#evt_01HX3N0F6H8K2M4P6R8T0V2X4Z")
    );
    assert_eq!(tp.occurred_at, Some(MAY_6 + 8 * HOUR + 15 * MINUTE));
    assert_eq!(tp.kind, TouchpointKind::EquipmentRegistered);
    assert_eq!(tp.identities, mikko(true));
    assert_eq!(tp.identities.account_id.as_deref(), Some("ACC-100482"));
    assert_eq!(tp.traits.company.as_deref(), Some("Kaskinen Board Oy"));
    assert_eq!(tp.properties.topic.as_deref(), Some("Winders"));
    assert_eq!(
        pairs(&tp.properties.other),
        [
            ("subject", "equipment/RM800-2024-00917"),
            ("serial", "RM800-2024-00917"),
            ("model", "RollMaster 800"),
            ("product_line", "Winders"),
            ("site", "Kaskinen mill, PM2"),
            ("commissioned_at", "2024-04-22"),
        ]
    );
}

#[test]
fn a_service_request_is_a_support_ticket() {
    let tp = one(SERVICE);
    assert_eq!(
        tp.external_id,
        format!("{PORTAL}#evt_01HX3P2A4C6E8G0J2L4N6Q8S0U")
    );
    assert_eq!(
        tp.occurred_at,
        Some(MAY_6 + 10 * HOUR + 3 * MINUTE + 27 * SECOND + 500)
    );
    assert_eq!(tp.kind, TouchpointKind::SupportTicket);
    assert_eq!(
        tp.identities,
        Identities {
            phone: Some("+358401112233".into()),
            ..mikko(true)
        }
    );
    assert_eq!(
        tp.properties.title.as_deref(),
        Some("Vibration on drive side bearing after grade change")
    );
    assert_eq!(
        pairs(&tp.properties.other),
        [
            ("subject", "service-requests/SR-58812"),
            ("ticket_id", "SR-58812"),
            ("ticket_kind", "service_request"),
            ("priority", "high"),
            ("equipment_serial", "RM800-2024-00917"),
        ]
    );
}

#[test]
fn a_usage_alert_concerns_the_equipment_s_contact() {
    let tp = one(ALERT);
    assert_eq!(
        tp.external_id,
        "urn:nordmill:iiot:gateway:kaskinen-pm2#7c1e4b52-9a3d-4f0e-8b61-2d5a9c7e3f10"
    );
    assert_eq!(
        tp.occurred_at,
        Some(MAY_6 + 9 * HOUR + 58 * MINUTE + 41 * SECOND + 7)
    );
    assert_eq!(tp.kind, TouchpointKind::UsageAlert);
    assert_eq!(tp.identities, mikko(true));
    assert_eq!(tp.traits.first_name.as_deref(), Some("Mikko"));
    assert_eq!(tp.properties.content_id.as_deref(), Some("VIB-HIGH-DS"));
    assert_eq!(
        pairs(&tp.properties.other),
        [
            ("subject", "equipment/RM800-2024-00917"),
            ("alert_code", "VIB-HIGH-DS"),
            ("severity", "warning"),
            ("metric", "bearing_vibration_mm_s"),
            ("value", "7.8"),
            ("threshold", "7.1"),
            ("equipment_serial", "RM800-2024-00917"),
        ]
    );
}

#[test]
fn a_batch_mixing_every_type_maps_each_event_in_order() {
    let tps = accepted(signed(BATCH, "application/cloudevents-batch+json"));
    let kinds: Vec<_> = tps.iter().map(|t| t.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            TouchpointKind::PortalLogin,
            TouchpointKind::Download,
            TouchpointKind::EquipmentRegistered,
            TouchpointKind::SupportTicket,
            TouchpointKind::SupportTicket,
            TouchpointKind::UsageAlert,
            TouchpointKind::Custom("com.portal.quote.viewed".into()),
            TouchpointKind::Download,
        ]
    );
    let ids: Vec<_> = tps.iter().map(|t| t.external_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "https://portal.nordmill.example/eu#evt_01HX4A0B1C2D3E4F5G6H7J8K9M",
            "https://portal.nordmill.example/eu#evt_01HX4A1N2P3Q4R5S6T7V8W9X0Y",
            "https://portal.nordmill.example/eu#evt_01HX4A2Z3A4B5C6D7E8F9G0H1J",
            "https://portal.nordmill.example/eu#evt_01HX4A3K4L5M6N7P8Q9R0S1T2U",
            "https://portal.nordmill.example/eu#evt_01HX4A4V5W6X7Y8Z9A0B1C2D3E",
            "urn:nordmill:iiot:gateway:sundsvik-tm3#0b9d6f1a-3c4e-4a7b-9e2d-5f8a1c3b7d60",
            "https://portal.nordmill.example/eu#evt_01HX4A5F6G7H8J9K0L1M2N3P4Q",
            "https://portal.nordmill.example/eu#evt_01HX4A6R7S8T9U0V1W2X3Y4Z5A",
        ]
    );
    let times: Vec<_> = tps.iter().map(|t| t.occurred_at.unwrap() - MAY_7).collect();
    assert_eq!(
        times,
        [
            6 * HOUR + 30 * MINUTE,
            6 * HOUR + 34 * MINUTE + 12 * SECOND,
            6 * HOUR + 40 * MINUTE + 55 * SECOND,
            6 * HOUR + 52 * MINUTE + 8 * SECOND,
            7 * HOUR + 5 * MINUTE + 31 * SECOND,
            7 * HOUR + 12 * MINUTE + 44 * SECOND + 250,
            7 * HOUR + 20 * MINUTE,
            7 * HOUR + 31 * MINUTE + 19 * SECOND,
        ]
    );
    assert!(tps.iter().all(|t| t.channel == Channel::Portal));
    assert!(
        tps.iter()
            .all(|t| t.identities.account_id.as_deref() == Some("ACC-100517"))
    );

    // The login: the person and the account.
    let login = &tps[0];
    assert_eq!(login.identities.user_id.as_deref(), Some("u-31877"));
    assert_eq!(
        login.identities.email.as_deref(),
        Some("anna.berg@sundsvik-tissue.example")
    );
    assert_eq!(
        login.identities.company_domain.as_deref(),
        Some("sundsvik-tissue.example")
    );
    assert_eq!(login.traits.first_name.as_deref(), Some("Anna"));
    assert_eq!(login.traits.last_name.as_deref(), Some("Berg"));
    assert_eq!(login.traits.company.as_deref(), Some("Sundsvik Tissue AB"));
    assert_eq!(login.traits.country.as_deref(), Some("SE"));

    // A datasheet has no stage of its own; a manual is educating.
    let datasheet = &tps[1].properties;
    assert_eq!(datasheet.content_id.as_deref(), Some("DOC-DS-2210"));
    assert_eq!(
        datasheet.title.as_deref(),
        Some("SoftCrepe Doctor Blade Datasheet")
    );
    assert_eq!(datasheet.topic.as_deref(), Some("SoftCrepe Doctor Blades"));
    assert_eq!(datasheet.content_stage, None);
    assert_eq!(attr(&datasheet.other, "document_kind"), Some("datasheet"));
    let manual = &tps[7].properties;
    assert_eq!(manual.content_id.as_deref(), Some("DOC-MAN-1187"));
    assert_eq!(manual.content_stage, Some(ContentStage::Educating));

    // The installed base: serial, model and site.
    let equipment = &tps[2];
    assert_eq!(equipment.identities.user_id.as_deref(), Some("u-31877"));
    assert_eq!(equipment.identities.email, None);
    assert_eq!(
        attr(&equipment.properties.other, "serial"),
        Some("YD-2019-00342")
    );
    assert_eq!(
        attr(&equipment.properties.other, "model"),
        Some("Yankee Dryer 18ft")
    );
    assert_eq!(
        attr(&equipment.properties.other, "site"),
        Some("Sundsvik TM3")
    );
    assert_eq!(
        equipment.properties.topic.as_deref(),
        Some("Tissue Machines")
    );

    // Tickets of both types; the top-level crm_id is the person's.
    let ticket = &tps[3];
    assert_eq!(
        ticket.identities.crm_id.as_deref(),
        Some("0035e00000XyZaBcDE")
    );
    assert_eq!(
        ticket.properties.title.as_deref(),
        Some("Portal invoice copy missing for order 4500123987")
    );
    assert_eq!(
        pairs(&ticket.properties.other),
        [
            ("ticket_id", "T-90417"),
            ("ticket_kind", "ticket"),
            ("priority", "low")
        ]
    );
    let service = &tps[4];
    assert_eq!(
        attr(&service.properties.other, "ticket_kind"),
        Some("service_request")
    );
    assert_eq!(
        attr(&service.properties.other, "equipment_serial"),
        Some("YD-2019-00342")
    );

    // An alert without a contact concerns the account only.
    let alert = &tps[5];
    assert_eq!(
        alert.identities,
        Identities {
            account_id: Some("ACC-100517".into()),
            company_domain: Some("sundsvik-tissue.example".into()),
            ..Identities::default()
        }
    );
    assert_eq!(alert.traits, Traits::default());
    assert_eq!(attr(&alert.properties.other, "severity"), Some("critical"));
    assert_eq!(attr(&alert.properties.other, "value"), Some("512"));
    assert_eq!(attr(&alert.properties.other, "threshold"), Some("500"));

    // Another com.portal type: custom, with who did it.
    let custom = &tps[6];
    assert_eq!(custom.identities.user_id.as_deref(), Some("u-31877"));
    assert_eq!(
        pairs(&custom.properties.other),
        [("subject", "quotes/Q-2024-0771")]
    );
}

#[test]
fn redelivery_gives_identical_touchpoints() {
    for body in [LOGIN, DOWNLOAD, EQUIPMENT, SERVICE, ALERT, BATCH] {
        let first = accepted(post(body));
        let again = accepted(post(body));
        assert_eq!(first, again);
    }
}

#[test]
fn every_single_fixture_is_also_a_batch_of_one() {
    for body in [LOGIN, DOWNLOAD, EQUIPMENT, SERVICE, ALERT] {
        let single = one(body);
        let batch = accepted(signed(
            &format!("[{body}]"),
            "application/cloudevents-batch+json",
        ));
        assert_eq!(batch, [single]);
    }
}
