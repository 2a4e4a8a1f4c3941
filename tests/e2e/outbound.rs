//! Deliveries and polls through the real server: a retry after 429 reaches
//! the stand-in provider again, an accepted key is never sent twice, and a
//! poll continues from where the last one stopped.

use serde_json::{Value, json};

use crate::support::{Server, StandIn, all_touchpoints, http};

#[tokio::test]
async fn deliveries_are_retried_then_never_sent_twice_and_polls_resume() {
    let provider = StandIn::start(vec![(429, "retry-after: 7\r\n", ""), (202, "", "prov-1")]);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--plugin", leadhost_plugins::test_plugins::CHAOS],
    );
    let key = server.tenant("acme");
    let base = format!("base-url={}", provider.url);
    server.cli_ok(&[
        "connector",
        "enable",
        "acme",
        "outbox",
        "--plugin",
        "chaos",
        "--config",
        &base,
        "--grant-host",
        provider.authority(),
        "--grant-private-networks",
    ]);

    // A host the plugin did not ask for is refused when granting.
    let out = server.cli(&[
        "connector",
        "enable",
        "acme",
        "x",
        "--plugin",
        "chaos",
        "--grant-host",
        "evil.example.com",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not ask for outbound host"));

    let deliver = || async {
        let r = http()
            .post(format!("{}/v1/tenants/acme/connectors/outbox/deliveries", server.url))
            .bearer_auth(crate::support::ADMIN_KEY)
            .json(&json!({"idempotency_key": "m-1", "recipient": {"email": "aino@nordicpulp.fi"}, "text": "Hei"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()
    };
    let first = deliver().await;
    assert_eq!(first["delivery"]["status"], "retry-after");
    assert_eq!(
        first["delivery"]["detail"],
        "7",
        "{first} {:?}",
        provider.requests()
    );
    let second = deliver().await;
    assert_eq!(second["delivery"]["status"], "accepted");
    assert_eq!(second["delivery"]["provider_id"], "prov-1");
    assert_eq!(second["delivery"]["attempts"], 2);
    // Through the CLI, the same key: answered from the log, nothing sent.
    let out = server.cli_ok(&[
        "deliver",
        "acme",
        "outbox",
        "--idempotency-key",
        "m-1",
        "--to",
        "aino@nordicpulp.fi",
        "--text",
        "Hei",
    ]);
    assert!(
        out.contains("accepted") && out.contains("not sent again"),
        "{out}"
    );

    let seen = provider.requests();
    assert_eq!(seen.len(), 2, "one try, one retry, no duplicate send");
    for request in &seen {
        assert!(request.starts_with("POST /send HTTP/1.1"), "{request}");
        assert!(
            request
                .to_ascii_lowercase()
                .contains("idempotency-key: m-1"),
            "{request}"
        );
        assert!(
            request.contains(r#""to":"aino@nordicpulp.fi""#),
            "{request}"
        );
    }

    // A message without a recipient is refused before any call.
    let r = http()
        .post(format!(
            "{}/v1/tenants/acme/connectors/outbox/deliveries",
            server.url
        ))
        .bearer_auth(crate::support::ADMIN_KEY)
        .json(&json!({"idempotency_key": "m-2", "recipient": {}, "text": "?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(provider.requests().len(), 2);

    // Polling pulls the three pages, commits them, and moves the cursor.
    let out = server.cli_ok(&["poll", "acme", "outbox"]);
    assert!(out.starts_with("3 page(s): 30 stored"), "{out}");
    // The next poll resumes at page 3 (the plugin's fourth page).
    let out = server.cli_ok(&["poll", "acme", "outbox"]);
    assert!(out.starts_with("1 page(s): 10 stored"), "{out}");
    let items = all_touchpoints(&server, &key, "acme", 1000).await;
    assert_eq!(items.len(), 40);
    assert_eq!(items[39]["external_id"], "polled-39");
}
