//! LinkedIn: Lead Sync polling across pages with the cursor, and signed
//! webhook notifications (lead actions and organization social actions).

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_social::Social;
use leadhost_plugin_social::linkedin::LEAD_FIELDS;
use leadhost_sdk::http::OutboundResponse;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

const OWNER: &str = "(organization:urn%3Ali%3Aorganization%3A5515715)";

fn page_url(extra: &str, start: u64) -> String {
    format!(
        "{STAND_IN}/rest/leadFormResponses?q=owner&owner={OWNER}&leadType=(leadType:SPONSORED)&limitedToTestLeads=false{extra}&fields={LEAD_FIELDS}&start={start}&count=2"
    )
}

fn lead_url(id: &str) -> String {
    format!("{STAND_IN}/rest/leadFormResponses/{id}?fields={LEAD_FIELDS}")
}

fn paging_host() -> MockHost {
    host()
        .config("page-size", "2")
        .respond(&page_url("", 0), ok(LI_PAGE_1))
        .respond(&page_url("", 2), ok(LI_PAGE_2))
}

// --- poll ----------------------------------------------------------------------

#[test]
fn poll_pages_through_leads_with_the_cursor() {
    let mut host = paging_host().respond(
        &page_url("&submittedAtTimeRange=(start:1714653000000)", 0),
        ok(r#"{"paging":{"start":0,"count":2,"links":[],"total":0},"elements":[]}"#),
    );

    let first = host.poll::<Social>(None).unwrap();
    assert_eq!(first.touchpoints.len(), 2);
    assert!(first.more);
    assert_eq!(first.next_cursor.as_deref(), Some("v1:0:2:1714570200000"));

    let second = host.poll::<Social>(first.next_cursor.clone()).unwrap();
    assert_eq!(second.touchpoints.len(), 1);
    assert!(!second.more);
    // The sweep is done: the next one asks only for leads from the newest seen.
    assert_eq!(
        second.next_cursor.as_deref(),
        Some("v1:1714653000000:0:1714653000000")
    );

    let third = host.poll::<Social>(second.next_cursor.clone()).unwrap();
    assert!(third.touchpoints.is_empty());
    assert!(!third.more);
    assert_eq!(third.next_cursor, second.next_cursor);

    let requests = host.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].url, page_url("", 0));
    assert_eq!(requests[1].url, page_url("", 2));
    assert_eq!(
        requests[2].url,
        page_url("&submittedAtTimeRange=(start:1714653000000)", 0)
    );
    for r in requests {
        assert_eq!(r.method, "GET");
        assert_eq!(
            header(r, "authorization"),
            Some(format!("Bearer {LI_TOKEN}").as_str())
        );
        assert_eq!(header(r, "linkedin-version"), Some("202401"));
        assert_eq!(header(r, "x-restli-protocol-version"), Some("2.0.0"));
    }

    let ids: Vec<_> = first
        .touchpoints
        .iter()
        .chain(&second.touchpoints)
        .map(|tp| tp.external_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "linkedin:7c1c5d32-5b0c-4f2a-9c1e-3a6c2f1b9e01-1",
            "linkedin:0b6f5c1d-2e8a-4f3b-a7c9-1d4e6f8a2b3c-1",
            "linkedin:9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a-1",
        ]
    );
}

#[test]
fn a_lead_maps_answers_by_the_form_s_questions() {
    let polled = paging_host().poll::<Social>(None).unwrap();
    let tp = &polled.touchpoints[0];
    assert_eq!(tp.kind, TouchpointKind::SocialLeadForm);
    assert_eq!(tp.channel, Channel::Social);
    assert_eq!(tp.occurred_at, Some(1_714_566_600_000));
    assert_eq!(
        tp.identities,
        Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            social_handle: Some("linkedin:urn:li:person:aVx1Yq3ZkL".into()),
            company_domain: Some("pohjola-paper.example".into()),
            ..Identities::default()
        }
    );
    assert_eq!(tp.traits.first_name.as_deref(), Some("Jane"));
    assert_eq!(tp.traits.last_name.as_deref(), Some("Koski"));
    assert_eq!(tp.traits.company.as_deref(), Some("Pohjola Paper Oy"));
    assert_eq!(tp.traits.job_title.as_deref(), Some("Mill Manager"));
    assert_eq!(tp.traits.other, [Attribute::new("mill", "Kemi PM3")]);
    assert_eq!(
        tp.consent,
        [ConsentSignal {
            purpose: "linkedin-consent:41".into(),
            channel: None,
            granted: true
        }]
    );
    let p = &tp.properties;
    assert_eq!(p.source.as_deref(), Some("linkedin"));
    assert_eq!(p.medium, Some(Acquisition::Paid));
    assert_eq!(
        p.campaign.as_deref(),
        Some("urn:li:sponsoredCampaign:248119375")
    );
    assert_eq!(
        p.content_id.as_deref(),
        Some("urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)")
    );
    assert_eq!(p.title.as_deref(), Some("Paper machine rebuild guide"));
    assert_eq!(
        p.other,
        [
            Attribute::new("leadType", "SPONSORED"),
            Attribute::new("owner", "urn:li:organization:5515715"),
            Attribute::new("associatedCreative", "urn:li:sponsoredCreative:312984756"),
            Attribute::new("hidden:utm_campaign", "pm-rebuild-2024"),
        ]
    );

    // Without the form, an answer that is an address is taken as the email.
    let tp = &polled.touchpoints[1];
    assert_eq!(
        tp.identities.email.as_deref(),
        Some("matti.virtanen@savo-board.example")
    );
    assert_eq!(
        tp.traits.other,
        [Attribute::new("question:107234246", "Matti")]
    );
}

#[test]
fn test_leads_are_marked() {
    let host = paging_host();
    let mut host = host;
    let first = host.poll::<Social>(None).unwrap();
    let second = host.poll::<Social>(first.next_cursor).unwrap();
    let tp = &second.touchpoints[0];
    assert_eq!(attr(&tp.properties.other, "testLead"), Some("true"));
    assert!(!tp.consent[0].granted);
}

#[test]
fn a_sponsored_account_is_the_owner_when_configured() {
    let mut host = host()
        .config(
            "linkedin-sponsored-account",
            "urn:li:sponsoredAccount:11223344",
        )
        .respond(STAND_IN, ok(r#"{"elements":[]}"#));
    let polled = host.poll::<Social>(None).unwrap();
    assert!(!polled.more);
    assert!(
        host.requests()[0]
            .url
            .contains("&owner=(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A11223344)&"),
        "{}",
        host.requests()[0].url
    );
}

#[test]
fn provider_answers_map_to_poll_errors() {
    let answer = |status: u16, headers: Vec<(String, String)>| OutboundResponse {
        status,
        headers,
        body: br#"{"status":0,"message":"x"}"#.to_vec(),
    };
    let poll = |response: OutboundResponse| host().respond(STAND_IN, response).poll::<Social>(None);
    assert!(matches!(
        poll(answer(401, vec![])),
        Err(PollError::Unauthorized(_))
    ));
    assert_eq!(
        poll(answer(429, vec![("retry-after".into(), "120".into())])),
        Err(PollError::RetryAfter(120))
    );
    assert_eq!(poll(answer(429, vec![])), Err(PollError::RetryAfter(60)));
    assert_eq!(poll(answer(503, vec![])), Err(PollError::RetryAfter(30)));
    assert!(matches!(
        poll(answer(400, vec![])),
        Err(PollError::Internal(_))
    ));
    assert!(matches!(poll(ok("[")), Err(PollError::Internal(_))));
}

#[test]
fn poll_without_owner_token_or_grant_is_misconfigured() {
    let no_owner = MockHost::new()
        .secret("linkedin-token", LI_TOKEN)
        .grant_host("127.0.0.1:9")
        .config("linkedin-base-url", STAND_IN)
        .poll::<Social>(None);
    assert!(
        matches!(no_owner, Err(PollError::Misconfigured(m)) if m.contains("linkedin-organization"))
    );

    let mut no_token = MockHost::new()
        .grant_host("127.0.0.1:9")
        .config("linkedin-base-url", STAND_IN)
        .config("linkedin-organization", "5515715");
    assert!(
        matches!(no_token.poll::<Social>(None), Err(PollError::Misconfigured(m)) if m.contains("linkedin-token"))
    );
    assert!(no_token.requests().is_empty());

    let not_granted = MockHost::new()
        .secret("linkedin-token", LI_TOKEN)
        .config("linkedin-organization", "5515715")
        .poll::<Social>(None);
    assert!(matches!(not_granted, Err(PollError::Misconfigured(m)) if m.contains("not granted")));
}

#[test]
fn a_foreign_cursor_is_refused() {
    assert!(matches!(
        paging_host().poll::<Social>(Some("start:5".into())),
        Err(PollError::Internal(_))
    ));
}

// --- webhooks ----------------------------------------------------------------------

#[test]
fn a_lead_notification_reads_the_lead_as_poll_would() {
    let id = "7c1c5d32-5b0c-4f2a-9c1e-3a6c2f1b9e01-1";
    let mut host = host().respond(&lead_url(id), ok(LI_LEAD));
    let tps = accepted(&mut host, linkedin_post(LI_LEAD_NOTIFICATION));
    assert_eq!(tps.len(), 1);
    assert_eq!(host.requests()[0].url, lead_url(id));
    assert_eq!(
        header(&host.requests()[0], "authorization"),
        Some(format!("Bearer {LI_TOKEN}").as_str())
    );
    // The same touchpoint as the poll gives, so the host stores it once.
    let polled = paging_host().poll::<Social>(None).unwrap();
    assert_eq!(tps[0], polled.touchpoints[0]);
}

#[test]
fn a_lead_notification_fails_whole_when_the_lead_cannot_be_read() {
    let mut host = host().respond(STAND_IN, OutboundResponse::new(500, "oops"));
    assert!(matches!(
        host.ingest::<Social>(linkedin_post(LI_LEAD_NOTIFICATION)),
        Err(IngestError::Internal(_))
    ));
}

#[test]
fn a_deleted_lead_stores_nothing() {
    let body = LI_LEAD_NOTIFICATION.replace("CREATED", "DELETED");
    let mut host = host();
    assert!(accepted(&mut host, linkedin_post(&body)).is_empty());
    assert!(host.requests().is_empty());
}

#[test]
fn organization_social_actions_are_engagement() {
    let tps = accepted(&mut host(), linkedin_post(LI_SOCIAL_ACTIONS));
    // ADMIN_COMMENT is the organization itself, not engagement.
    assert_eq!(tps.len(), 3);
    let ids: Vec<_> = tps.iter().map(|t| t.external_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "linkedin:notification:1204567831",
            "linkedin:notification:1204567832",
            "linkedin:notification:1204567833",
        ]
    );
    for tp in &tps {
        assert_eq!(tp.kind, TouchpointKind::SocialEngagement);
        assert_eq!(
            tp.properties.content_id.as_deref(),
            Some("urn:li:share:7191234567890123456")
        );
        assert_eq!(tp.properties.source.as_deref(), Some("linkedin"));
        assert_eq!(tp.properties.medium, Some(Acquisition::Social));
    }
    assert_eq!(tps[0].occurred_at, Some(1_714_652_990_000));
    assert_eq!(
        tps[0].identities.social_handle.as_deref(),
        Some("linkedin:urn:li:person:aVx1Yq3ZkL")
    );
    assert_eq!(attr(&tps[0].properties.other, "action"), Some("comment"));
    // LinkedIn does not say who liked.
    assert_eq!(tps[1].identities.social_handle, None);
    assert_eq!(
        tps[2].identities.social_handle.as_deref(),
        Some("linkedin:urn:li:person:Zp0oLk9MjN")
    );
    // Redelivery: the same ids.
    assert_eq!(accepted(&mut host(), linkedin_post(LI_SOCIAL_ACTIONS)), tps);
}

#[test]
fn linkedin_signatures_are_checked() {
    let body = LI_SOCIAL_ACTIONS;
    let with = |sig: Option<&str>| {
        let r = Request::new("POST", "/linkedin").with_body(body);
        match sig {
            Some(s) => r.with_header("x-li-signature", s),
            None => r,
        }
    };
    // Over the bare body (without the `hmacsha256=` prefix LinkedIn signs).
    let bare = hex(&leadhost_sdk::testing::mac(
        Algorithm::HmacSha256,
        LI_CLIENT_SECRET.as_bytes(),
        body.as_bytes(),
    ));
    let wrong_key = linkedin_signature("another-secret", body);
    for request in [
        with(None),
        with(Some("zz-not-hex")),
        with(Some(&wrong_key)),
        with(Some(&bare)),
    ] {
        assert!(matches!(
            host().ingest::<Social>(request),
            Err(IngestError::Unauthorized(_))
        ));
    }
    let right = linkedin_signature(LI_CLIENT_SECRET, body);
    assert_eq!(
        accepted(&mut host(), with(Some(&right.to_ascii_uppercase()))).len(),
        3
    );
}

#[test]
fn linkedin_refusals() {
    assert!(matches!(
        MockHost::new().ingest::<Social>(linkedin_post(LI_SOCIAL_ACTIONS)),
        Err(IngestError::Misconfigured(m)) if m.contains("linkedin-client-secret")
    ));
    for body in ["{", &LI_SOCIAL_ACTIONS[..200], r#"{"notifications":[]}"#] {
        assert!(matches!(
            host().ingest::<Social>(linkedin_post(body)),
            Err(IngestError::Malformed(_))
        ));
    }
    assert!(matches!(
        host()
            .config("max-body-bytes", "64")
            .ingest::<Social>(linkedin_post(LI_SOCIAL_ACTIONS)),
        Err(IngestError::TooLarge(_))
    ));
    let empty = r#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notifications":[]}"#;
    assert!(accepted(&mut host(), linkedin_post(empty)).is_empty());
    // GET /linkedin is the webhook validation now (see below), not a 404.
    assert!(matches!(
        host().ingest::<Social>(Request::new("PUT", "/linkedin?challengeCode=890e4665")),
        Err(IngestError::NotFound(_))
    ));
}

// --- manifest ------------------------------------------------------------------------

#[test]
fn the_manifest_says_what_the_connector_needs() {
    let m = MockHost::new().describe::<Social>();
    assert_eq!(m.name, "social");
    assert_eq!(m.channels, [Channel::Social]);
    assert_eq!(
        m.operations,
        Operations {
            ingest: true,
            poll: true,
            deliver: false
        }
    );
    assert_eq!(
        m.capabilities.outbound_hosts,
        [
            "graph.facebook.com",
            "api.linkedin.com",
            "{config:graph-base-url}",
            "{config:linkedin-base-url}"
        ]
    );
    assert!(!m.capabilities.state);
    let default = |name: &str| {
        m.config
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.default_value.clone())
    };
    assert_eq!(
        default("graph-base-url").as_deref(),
        Some("https://graph.facebook.com")
    );
    assert_eq!(default("graph-version").as_deref(), Some("v19.0"));
    assert_eq!(
        default("linkedin-base-url").as_deref(),
        Some("https://api.linkedin.com")
    );
    assert_eq!(default("page-size").as_deref(), Some("100"));
    assert!(default("max-body-bytes").is_some());
    let secrets: Vec<_> = m.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        secrets,
        [
            "meta-verify-token",
            "meta-app-secret",
            "meta-page-token",
            "linkedin-token",
            "linkedin-client-secret"
        ]
    );
    assert!(m.secrets.iter().all(|s| !s.required));
}

// --- webhook validation ------------------------------------------------------------

const CHALLENGE: &str = "890e4665-4dfe-4ab1-b689-ed553bceeed3";

#[test]
fn the_challenge_is_answered_with_the_hmac_of_the_code() {
    let out = host()
        .ingest::<Social>(Request::new(
            "GET",
            &format!("/linkedin?challengeCode={CHALLENGE}"),
        ))
        .unwrap();
    assert_eq!(out.reply.status, 200);
    assert_eq!(out.reply.header("content-type"), Some("application/json"));
    assert!(out.touchpoints.is_empty());
    let expected = hex(&leadhost_sdk::testing::mac(
        Algorithm::HmacSha256,
        LI_CLIENT_SECRET.as_bytes(),
        CHALLENGE.as_bytes(),
    ));
    let body: serde_json::Value = serde_json::from_slice(&out.reply.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"challengeCode": CHALLENGE, "challengeResponse": expected})
    );
    // Nothing leaves the plugin for it.
    let mut host = host();
    host.ingest::<Social>(Request::new(
        "GET",
        &format!("/linkedin/?challengeCode={CHALLENGE}&applicationId=12345"),
    ))
    .unwrap();
    assert!(host.requests().is_empty());
}

#[test]
fn a_percent_encoded_challenge_is_decoded_before_signing() {
    let out = host()
        .ingest::<Social>(Request::new("GET", "/linkedin?challengeCode=a%2Bb%20c"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&out.reply.body).unwrap();
    let expected = hex(&leadhost_sdk::testing::mac(
        Algorithm::HmacSha256,
        LI_CLIENT_SECRET.as_bytes(),
        b"a+b c",
    ));
    assert_eq!(body["challengeCode"], "a+b c");
    assert_eq!(body["challengeResponse"], expected);
}

#[test]
fn a_validation_without_challenge_code_is_malformed() {
    for path in [
        "/linkedin",
        "/linkedin?challengeCode=",
        "/linkedin?challenge=abc",
    ] {
        match host().ingest::<Social>(Request::new("GET", path)) {
            Err(IngestError::Malformed(m)) => assert!(m.contains("challengeCode"), "{m}"),
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[test]
fn a_validation_without_the_client_secret_is_misconfigured() {
    let host = MockHost::new()
        .secret("linkedin-token", LI_TOKEN)
        .grant_host("127.0.0.1:9");
    match host.clone().ingest::<Social>(Request::new(
        "GET",
        &format!("/linkedin?challengeCode={CHALLENGE}"),
    )) {
        Err(IngestError::Misconfigured(m)) => {
            assert!(m.contains("linkedin-client-secret"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}
