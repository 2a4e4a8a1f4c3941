//! Meta: the verification handshake, signed leadgen notifications with the
//! Graph API lookup, feed engagement, and every way a request is refused.

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_social::Social;
use leadhost_sdk::http::OutboundResponse;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

/// 2024-05-01T12:30:00Z in epoch milliseconds.
const LEAD_4_AT: i64 = 1_714_566_600_000;

fn handshake(token: &str) -> Request {
    Request::new(
        "GET",
        &format!("/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={token}"),
    )
}

// --- the handshake -----------------------------------------------------------

#[test]
fn the_right_verify_token_echoes_the_challenge() {
    let out = host().ingest::<Social>(handshake(VERIFY_TOKEN)).unwrap();
    assert_eq!(out.reply.status, 200);
    assert_eq!(out.reply.body, b"1158201444");
    assert!(
        out.reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(out.touchpoints.is_empty());
}

#[test]
fn a_wrong_or_missing_verify_token_is_unauthorized() {
    for request in [
        handshake("not-the-token"),
        Request::new("GET", "/meta?hub.mode=subscribe&hub.challenge=1158201444"),
    ] {
        match host().ingest::<Social>(request) {
            Err(IngestError::Unauthorized(m)) => assert!(m.contains("verify_token"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn the_handshake_without_a_stored_token_is_misconfigured() {
    match MockHost::new().ingest::<Social>(handshake(VERIFY_TOKEN)) {
        Err(IngestError::Misconfigured(m)) => assert!(m.contains("meta-verify-token"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// --- leadgen -------------------------------------------------------------------

#[test]
fn signed_leadgen_reads_each_lead_from_the_graph_api() {
    let mut host = graph_host();
    let tps = accepted(&mut host, meta_post(LEADGEN));
    assert_eq!(tps.len(), 2);

    let tp = &tps[0];
    assert_eq!(tp.external_id, "meta:444444444444");
    assert_eq!(tp.occurred_at, Some(LEAD_4_AT));
    assert_eq!(tp.channel, Channel::Social);
    assert_eq!(tp.kind, TouchpointKind::SocialLeadForm);
    assert_eq!(
        tp.identities,
        Identities {
            email: Some("jane.koski@pohjola-paper.example".into()),
            phone: Some("+358401234567".into()),
            company_domain: Some("pohjola-paper.example".into()),
            ..Identities::default()
        }
    );
    let t = &tp.traits;
    assert_eq!(t.first_name.as_deref(), Some("Jane"));
    assert_eq!(t.last_name.as_deref(), Some("Koski"));
    assert_eq!(t.job_title.as_deref(), Some("Mill Manager"));
    assert_eq!(t.company.as_deref(), Some("Pohjola Paper Oy"));
    assert_eq!(t.country.as_deref(), Some("FI"));
    assert_eq!(
        t.other,
        [
            Attribute::new("which_machine_do_you_run?", "PM3 (board)"),
            Attribute::new("topics_of_interest", "rebuilds, automation"),
        ]
    );
    let p = &tp.properties;
    assert_eq!(p.source.as_deref(), Some("facebook"));
    assert_eq!(p.medium, Some(Acquisition::Paid));
    assert_eq!(p.campaign.as_deref(), Some("PM rebuild 2024 - lead ads"));
    assert_eq!(p.content_id.as_deref(), Some("812374650918273"));
    assert_eq!(
        p.other,
        [
            Attribute::new("ad_id", "120208734561230187"),
            Attribute::new("adgroup_id", "120208734561230187"),
            Attribute::new("adset_id", "120208734561230150"),
            Attribute::new("campaign_id", "120208734561230122"),
            Attribute::new("form_id", "812374650918273"),
            Attribute::new("page_id", "104729385316204"),
            Attribute::new("platform", "fb"),
        ]
    );

    // Ids sent as JSON numbers work the same.
    let tp = &tps[1];
    assert_eq!(tp.external_id, "meta:555555555555");
    assert_eq!(tp.occurred_at, Some(LEAD_4_AT + 3_600_000));
    assert_eq!(
        tp.identities.email.as_deref(),
        Some("matti.virtanen@savo-board.example")
    );
    assert_eq!(tp.traits.first_name.as_deref(), Some("Matti"));
    assert_eq!(tp.traits.last_name.as_deref(), Some("Virtanen"));
    assert_eq!(tp.properties.campaign, None);
    assert_eq!(
        attr(&tp.properties.other, "page_id"),
        Some("104729385316204")
    );

    // One Graph call per lead, with the Page token filled in by the host.
    let requests = host.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].url, graph_url("444444444444"));
    assert_eq!(requests[1].url, graph_url("555555555555"));
    assert_eq!(
        header(&requests[0], "authorization"),
        Some(format!("Bearer {PAGE_TOKEN}").as_str())
    );
}

#[test]
fn redelivery_gives_the_same_ids_and_times() {
    let first = accepted(&mut graph_host(), meta_post(LEADGEN));
    let again = accepted(&mut graph_host(), meta_post(LEADGEN));
    assert_eq!(first, again);
}

#[test]
fn a_graph_failure_refuses_the_whole_notification() {
    let mut failing = host()
        .respond(&graph_url("444444444444"), ok(GRAPH_LEAD_4))
        .respond(
            &graph_url("555555555555"),
            OutboundResponse::new(
                500,
                r#"{"error":{"message":"An unexpected error has occurred."}}"#,
            ),
        );
    match failing.ingest::<Social>(meta_post(LEADGEN)) {
        Err(IngestError::Internal(m)) => {
            assert!(m.contains("entry[0].changes[1]"), "{m}");
            assert!(m.contains("500"), "{m}");
        }
        other => panic!("expected internal, got {other:?}"),
    }
    // Unreachable Graph API (no answer at all) and a garbled answer too.
    let mut unreachable = host();
    assert!(matches!(
        unreachable.ingest::<Social>(meta_post(LEADGEN)),
        Err(IngestError::Internal(_))
    ));
    let mut garbled = host().respond(&format!("{STAND_IN}/v19.0/"), ok("<html>"));
    assert!(matches!(
        garbled.ingest::<Social>(meta_post(LEADGEN)),
        Err(IngestError::Internal(_))
    ));
}

#[test]
fn leadgen_without_a_page_token_is_misconfigured() {
    let mut host = MockHost::new()
        .secret("meta-app-secret", APP_SECRET)
        .grant_host("127.0.0.1:9")
        .config("graph-base-url", STAND_IN);
    match host.ingest::<Social>(meta_post(LEADGEN)) {
        Err(IngestError::Misconfigured(m)) => assert!(m.contains("meta-page-token"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(host.requests().is_empty());
}

#[test]
fn the_graph_host_must_be_granted() {
    let mut host = MockHost::new()
        .secret("meta-app-secret", APP_SECRET)
        .secret("meta-page-token", PAGE_TOKEN);
    // The default base URL, graph.facebook.com, is not granted here.
    match host.ingest::<Social>(meta_post(LEADGEN)) {
        Err(IngestError::Internal(m)) => assert!(m.contains("graph.facebook.com"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// --- feed -----------------------------------------------------------------------

#[test]
fn feed_comments_reactions_and_shares_are_engagement() {
    let tps = accepted(&mut host(), meta_post(FEED));
    // The Page's own post and the removed reaction are not engagement.
    assert_eq!(tps.len(), 3);
    for tp in &tps {
        assert_eq!(tp.kind, TouchpointKind::SocialEngagement);
        assert_eq!(tp.channel, Channel::Social);
        assert_eq!(tp.properties.source.as_deref(), Some("facebook"));
        assert_eq!(tp.properties.medium, Some(Acquisition::Social));
    }

    let comment = &tps[0];
    assert_eq!(
        comment.external_id,
        "facebook:comment:822233445566778_1029384756102938:6312458790123456"
    );
    assert_eq!(comment.occurred_at, Some(1_714_652_990_000));
    assert_eq!(
        comment.identities.social_handle.as_deref(),
        Some("facebook:6312458790123456")
    );
    assert_eq!(comment.traits.first_name.as_deref(), Some("Jane"));
    assert_eq!(comment.traits.last_name.as_deref(), Some("Koski"));
    assert_eq!(
        comment.properties.content_id.as_deref(),
        Some("104729385316204_822233445566778")
    );
    assert_eq!(attr(&comment.properties.other, "action"), Some("comment"));
    assert_eq!(
        attr(&comment.properties.other, "message"),
        Some("Does the retrofit also cover the press section?")
    );

    let reaction = &tps[1];
    assert_eq!(
        reaction.external_id,
        "facebook:reaction:104729385316204_822233445566778:7423569801234567"
    );
    assert_eq!(reaction.occurred_at, Some(1_714_653_000_000));
    assert_eq!(
        attr(&reaction.properties.other, "reaction_type"),
        Some("like")
    );

    let share = &tps[2];
    assert_eq!(
        share.external_id,
        "facebook:share:998877665544332:7423569801234567"
    );
    assert_eq!(
        share.properties.url.as_deref(),
        Some("https://www.nordmill.example/rebuilds")
    );
    assert_eq!(
        share.identities.social_handle.as_deref(),
        Some("facebook:7423569801234567")
    );
}

#[test]
fn a_video_view_is_engagement_too() {
    let body = r#"{"object":"page","entry":[{"id":"1","time":1714653000,"changes":[{"field":"feed","value":{"item":"video","verb":"add","video_id":"3344","post_id":"1_3344","from":{"id":"77","name":"Ann"},"created_time":1714653000}}]}]}"#;
    let tps = accepted(&mut host(), meta_post(body));
    assert_eq!(tps.len(), 1);
    assert_eq!(tps[0].external_id, "facebook:video:3344:77");
    assert_eq!(attr(&tps[0].properties.other, "video_id"), Some("3344"));
}

// --- refusals ----------------------------------------------------------------------

#[test]
fn wrong_missing_and_malformed_signatures_are_unauthorized() {
    let wrong = Request::new("POST", "/meta")
        .with_header(
            "x-hub-signature-256",
            &meta_signature("another-secret", FEED),
        )
        .with_body(FEED);
    let missing = Request::new("POST", "/meta").with_body(FEED);
    let not_hex = Request::new("POST", "/meta")
        .with_header("x-hub-signature-256", "sha256=not-hex")
        .with_body(FEED);
    let sha1 = Request::new("POST", "/meta")
        .with_header(
            "x-hub-signature-256",
            &meta_signature(APP_SECRET, FEED).replace("sha256=", "sha1="),
        )
        .with_body(FEED);
    // A body changed after signing.
    let tampered = {
        let mut r = meta_post(FEED);
        r.body = FEED.replace("Jane", "Joan").into_bytes();
        r
    };
    for request in [wrong, missing, not_hex, sha1, tampered] {
        match host().ingest::<Social>(request) {
            Err(IngestError::Unauthorized(_)) => {}
            other => panic!("expected unauthorized, got {other:?}"),
        }
    }
}

#[test]
fn without_the_app_secret_notifications_are_misconfigured() {
    match MockHost::new().ingest::<Social>(meta_post(FEED)) {
        Err(IngestError::Misconfigured(m)) => assert!(m.contains("meta-app-secret"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_and_truncated_bodies_are_malformed() {
    for body in [
        "not json",
        &LEADGEN[..LEADGEN.len() / 2],
        r#"{"object":"page"}"#,
        r#"{"object":"page","entry":[{"changes":[{"field":"leadgen"}]}]}"#,
        r#"{"object":"page","entry":[{"changes":[{"field":"leadgen","value":{}}]}]}"#,
        r#"{"object":"page","entry":[{"changes":[{"field":"feed","value":{"item":"comment","verb":"add","post_id":"1_2"}}]}]}"#,
    ] {
        match host().ingest::<Social>(meta_post(body)) {
            Err(IngestError::Malformed(_)) => {}
            other => panic!("{body}: expected malformed, got {other:?}"),
        }
    }
}

#[test]
fn oversized_bodies_are_too_large() {
    let mut small = host().config("max-body-bytes", "100");
    match small.ingest::<Social>(meta_post(LEADGEN)) {
        Err(IngestError::TooLarge(m)) => assert!(m.contains("max-body-bytes"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn empty_and_foreign_notifications_store_nothing() {
    for body in [
        r#"{"object":"page","entry":[]}"#,
        r#"{"object":"page","entry":[{"id":"1","time":1,"changes":[]}]}"#,
        r#"{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"ratings","value":{}}]}]}"#,
        r#"{"object":"instagram","entry":[{"id":"1","time":1,"changes":[]}]}"#,
    ] {
        assert!(accepted(&mut host(), meta_post(body)).is_empty(), "{body}");
    }
}

#[test]
fn other_paths_and_methods_are_not_found() {
    for request in [
        Request::new("POST", "/facebook"),
        Request::new("PUT", "/meta"),
        Request::new("DELETE", "/linkedin"),
    ] {
        assert!(matches!(
            host().ingest::<Social>(request),
            Err(IngestError::NotFound(_))
        ));
    }
}
