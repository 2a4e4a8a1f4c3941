//! The HTTP side and the manifest.

#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use leadhost_plugin_email::Email;
use leadhost_sdk::prelude::*;
use leadhost_sdk::testing::MockHost;

#[test]
fn other_paths_and_methods_are_not_found() {
    for (method, path) in [
        ("POST", "/"),
        ("POST", "/sendgrid/events"),
        ("POST", "/postmark"),
        ("GET", "/sendgrid"),
        ("GET", "/mailgun"),
    ] {
        let request = sendgrid_post(SENDGRID_EVENTS);
        let request = Request {
            method: method.into(),
            path: path.into(),
            ..request
        };
        match ingest(request) {
            Err(IngestError::NotFound(m)) => assert!(m.contains(path), "{m}"),
            other => panic!("{method} {path}: expected not found, got {other:?}"),
        }
    }
}

#[test]
fn a_trailing_slash_is_fine() {
    let mut request = sendgrid_post("[]");
    request.path = "/sendgrid/".into();
    assert!(accepted(request).is_empty());
}

#[test]
fn a_bad_size_limit_is_misconfiguration() {
    let mut host = host().config("max-body-bytes", "lots");
    let m = misconfigured(host.ingest::<Email>(sendgrid_post("[]")));
    assert!(m.contains("max-body-bytes"), "{m}");
}

#[test]
fn the_manifest_says_what_the_connector_needs() {
    let m = MockHost::new().describe::<Email>();
    assert_eq!(m.name, "email");
    assert_eq!(m.channels, [Channel::Email]);
    assert_eq!(
        m.operations,
        Operations {
            ingest: true,
            poll: false,
            deliver: true
        }
    );
    let config: Vec<_> = m
        .config
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.value_type,
                c.required,
                c.default_value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        config,
        [
            (
                "base-url",
                ConfigType::Url,
                false,
                Some("https://api.sendgrid.com")
            ),
            ("from-email", ConfigType::Text, false, None),
            ("from-name", ConfigType::Text, false, None),
            (
                "max-body-bytes",
                ConfigType::Integer,
                false,
                Some("4194304")
            ),
        ]
    );
    let secrets: Vec<_> = m
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.required))
        .collect();
    assert_eq!(
        secrets,
        [
            ("sendgrid-verification-key", false),
            ("mailgun-signing-key", false),
            ("sendgrid-api-key", false),
        ]
    );
    assert_eq!(
        m.capabilities,
        Capabilities {
            outbound_hosts: vec!["api.sendgrid.com".into(), "{config:base-url}".into()],
            state: true,
        }
    );
}

#[test]
fn each_path_needs_only_its_own_secret() {
    let mut sendgrid_only = MockHost::new().secret("sendgrid-verification-key", SENDGRID_KEY_PEM);
    assert_eq!(
        accepted_on(&mut sendgrid_only, sendgrid_post(SENDGRID_EVENTS)).len(),
        11
    );
    let mut mailgun_only = MockHost::new().secret("mailgun-signing-key", MAILGUN_KEY);
    assert_eq!(
        accepted_on(&mut mailgun_only, mailgun_post(MG_DELIVERED)).len(),
        1
    );
}
