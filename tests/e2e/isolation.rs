//! A misbehaving plugin inside the real server fails its own calls only: the
//! web connector of the same tenant keeps landing traffic meanwhile, and the
//! breaker stops calling the failing connector.

use serde_json::Value;

use crate::support::{Server, all_touchpoints, fixture, http};

#[tokio::test]
async fn a_misbehaving_connector_does_not_disturb_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        dir.path(),
        &["--plugin", leadhost_plugins::test_plugins::CHAOS],
    );
    let key = server.tenant("acme");
    server.cli_ok(&[
        "connector",
        "enable",
        "acme",
        "website",
        "--plugin",
        "web",
        "--secret",
        "write-key=wk",
    ]);
    server.cli_ok(&[
        "connector",
        "enable",
        "acme",
        "chaos",
        "--plugin",
        "chaos",
        "--timeout-ms",
        "300",
        "--memory-mib",
        "16",
    ]);

    let base = server.url.clone();
    let chaos = |path: &'static str| {
        let url = format!("{base}/ingest/acme/chaos{path}");
        async move {
            let r = http().post(url).send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (
                status,
                body["error"].as_str().unwrap_or("").to_string(),
                body["message"].as_str().unwrap_or("").to_string(),
            )
        }
    };
    let web = || {
        http()
            .post(format!("{base}/ingest/acme/website/v1/track"))
            .basic_auth("wk", Some(""))
            .body(fixture("segment/track.json"))
            .send()
    };

    // Forbidden outbound host: refused by the gate (a typed error, not a fault).
    let (status, _, message) = chaos("/fetch?url=http://example.com/").await;
    assert_eq!(status, 500);
    assert!(message.contains("denied"), "{message}");

    // The four misbehaviours run at the same time as good traffic.
    let (l, b, p, h, w) = tokio::join!(
        chaos("/loop"),
        chaos("/bomb"),
        chaos("/panic"),
        chaos("/huge"),
        web()
    );
    assert_eq!(w.unwrap().status(), 200);
    for (what, (status, code, message)) in [("loop", l), ("bomb", b), ("panic", p), ("huge", h)] {
        assert_eq!(
            (status, code.as_str()),
            (502, "plugin-failed"),
            "{what}: {message}"
        );
    }
    assert!(server.alive());

    // Five plugin faults in a row: the breaker opens and says when to retry.
    let (status, code, _) = chaos("/panic").await;
    assert_eq!((status, code.as_str()), (502, "plugin-failed"));
    let r = http()
        .post(format!("{base}/ingest/acme/chaos/ok"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());

    // The web connector was never affected; its touchpoint is stored.
    assert_eq!(web().await.unwrap().status(), 200);
    let items = all_touchpoints(&server, &key, "acme", 100).await;
    assert_eq!(items.len(), 1, "the same track twice is one touchpoint");
    assert!(items.iter().all(|i| i["connector"] == "website"));

    let list = server.cli_ok(&["connector", "list", "acme"]);
    assert!(list.contains("breaker open"), "{list}");
    assert!(server.alive());
}
