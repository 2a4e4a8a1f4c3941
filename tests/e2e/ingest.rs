//! Segment traffic through the web connector lands durably and idempotently;
//! bad input gets a clear error and stores nothing.

use serde_json::Value;

use crate::support::{Server, all_touchpoints, fixture, header, http};

const WRITE_KEY: &str = "wk-e2e";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn web(server: &Server, tenant: &str, extra: &[&str]) {
    let mut args = vec!["connector", "enable", tenant, "website", "--plugin", "web"];
    let secret = format!("write-key={WRITE_KEY}");
    args.extend(["--secret", secret.as_str()]);
    args.extend(extra);
    let out = server.cli_ok(&args);
    assert!(out.contains("ingest at /ingest/"), "{out}");
}

#[tokio::test]
async fn segment_batches_land_durably_and_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let key = server.tenant("acme");
    web(&server, "acme", &[]);

    let batch = fixture("segment/batch.json");
    let events = serde_json::from_str::<Value>(&batch).unwrap()["batch"]
        .as_array()
        .unwrap()
        .len();
    let url = format!("{}/ingest/acme/website/v1/batch", server.url);
    let first = http()
        .post(&url)
        .basic_auth(WRITE_KEY, Some(""))
        .header("content-type", "application/json")
        .body(batch.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(header::<usize>(&first, "x-leadhost-stored"), events);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"success": true}));

    // A client retry, gzip-compressed as Segment's libraries can send it:
    // acknowledged again, stored once.
    let again = http()
        .post(&url)
        .basic_auth(WRITE_KEY, Some(""))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(batch.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(header::<usize>(&again, "x-leadhost-stored"), 0);
    assert_eq!(header::<usize>(&again, "x-leadhost-duplicates"), events);

    // The single-event endpoints, as Segment's libraries call them.
    for (path, file) in [
        ("track", "track"),
        ("page", "page"),
        ("identify", "identify"),
    ] {
        let r = http()
            .post(format!("{}/ingest/acme/website/v1/{path}", server.url))
            .basic_auth(WRITE_KEY, Some(""))
            .body(fixture(&format!("segment/{file}.json")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 1, "{path}");
    }
    let expected = events + 3;

    // The tenant's own key reads what landed, page by page.
    let items = all_touchpoints(&server, &key, "acme", 2).await;
    assert_eq!(items.len(), expected);
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    for kind in [
        "identified",
        "page-view",
        "video-played",
        "download",
        "quote-requested",
        "screen-view",
        "account-linked",
        "alias",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let video = items.iter().find(|i| i["kind"] == "video-played").unwrap();
    assert_eq!(video["channel"], "web");
    assert!(video["touchpoint"]["identities"]["anonymous_id"].is_string());

    // Kill the process without a graceful stop: everything acknowledged is there.
    server.kill();
    let server = Server::start(dir.path(), &[]);
    let after_restart = all_touchpoints(&server, &key, "acme", 1000).await;
    assert_eq!(after_restart.len(), expected);
    assert_eq!(
        after_restart
            .iter()
            .map(|i| i["id"].clone())
            .collect::<Vec<_>>(),
        items.iter().map(|i| i["id"].clone()).collect::<Vec<_>>()
    );
    // And a redelivery after the restart is still recognised.
    let r = http()
        .post(format!("{}/ingest/acme/website/v1/batch", server.url))
        .basic_auth(WRITE_KEY, Some(""))
        .body(fixture("segment/batch.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(header::<usize>(&r, "x-leadhost-duplicates"), events);
}

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-body-bytes", "65536"]);
    let key = server.tenant("acme");
    web(&server, "acme", &[]);
    let track = fixture("segment/track.json");
    let post = |path: &str, body: String, write_key: &str| {
        http()
            .post(format!("{}{path}", server.url))
            .basic_auth(write_key, Some(""))
            .body(body)
            .send()
    };

    let cases: Vec<(&str, String, &str, u16, &str)> = vec![
        (
            "/ingest/nobody/website/v1/track",
            track.clone(),
            WRITE_KEY,
            404,
            "unknown-tenant",
        ),
        (
            "/ingest/acme/nothing/v1/track",
            track.clone(),
            WRITE_KEY,
            404,
            "unknown-connector",
        ),
        (
            "/ingest/acme/website/v1/track",
            track.clone(),
            "wrong",
            401,
            "unauthorized",
        ),
        (
            "/ingest/acme/website/v1/track",
            "{\"type\": ".into(),
            WRITE_KEY,
            400,
            "malformed",
        ),
        (
            "/ingest/acme/website/v1/nowhere",
            track.clone(),
            WRITE_KEY,
            404,
            "not-found",
        ),
        (
            "/ingest/acme/website/v1/batch",
            format!("{{\"batch\":[{}]}}", vec![track.as_str(); 400].join(",")),
            WRITE_KEY,
            413,
            "body-too-large",
        ),
    ];
    for (path, body, write_key, status, code) in cases {
        let got = error_of(post(path, body, write_key).await.unwrap()).await;
        assert_eq!(got, (status, code.to_string()), "{path}");
    }
    // A small gzip body that inflates past the limit, and one that is not gzip.
    for (body, status, code) in [
        (gzip(&vec![b' '; 1 << 20]), 413, "body-too-large"),
        (b"not gzip at all".to_vec(), 400, "malformed"),
    ] {
        let r = http()
            .post(format!("{}/ingest/acme/website/v1/track", server.url))
            .basic_auth(WRITE_KEY, Some(""))
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await, (status, code.to_string()));
    }

    // A disabled connector refuses traffic until it is enabled again.
    server.cli_ok(&["connector", "disable", "acme", "website"]);
    let got = error_of(
        post("/ingest/acme/website/v1/track", track.clone(), WRITE_KEY)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got, (403, "connector-disabled".to_string()));
    assert!(
        all_touchpoints(&server, &key, "acme", 100).await.is_empty(),
        "nothing stored"
    );

    web(&server, "acme", &[]);
    let ok = post("/ingest/acme/website/v1/track", track, WRITE_KEY)
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(all_touchpoints(&server, &key, "acme", 100).await.len(), 1);

    // The management API checks keys and requests too.
    let other = server.tenant("other");
    let r = http()
        .get(format!("{}/v1/tenants/acme/touchpoints", server.url))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await, (403, "forbidden".to_string()));
    let out = server.cli(&[
        "connector",
        "enable",
        "acme",
        "x",
        "--plugin",
        "web",
        "--config",
        "no-such-key=1",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-key") && err.contains("write-key"),
        "{err}"
    );
}

/// Makes sure Segment's Python library is importable, installing it from
/// PyPI when it is not (the test needs the real client, unchanged).
fn segment_python() -> std::path::PathBuf {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let importable = |python: &str| {
        std::process::Command::new(python)
            .args(["-c", "import segment.analytics"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !importable(&python) {
        let out = std::process::Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "segment-analytics-python==2.4.0",
            ])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success() && importable(&python),
            "could not install segment-analytics-python: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    python.into()
}

#[tokio::test]
async fn segments_own_python_library_works_unchanged() {
    let python = segment_python();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let key = server.tenant("acme");
    web(&server, "acme", &[]);
    let host = format!("{}/ingest/acme/website", server.url);
    let script = crate::support::root().join("tests/clients/segment_python.py");
    // The server is another process: blocking here is fine.
    let out = std::process::Command::new(python)
        .arg(script)
        .args([host.as_str(), WRITE_KEY])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let items = all_touchpoints(&server, &key, "acme", 100).await;
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["identified", "download", "page-view", "account-linked"]
    );
    let download = &items[1]["touchpoint"];
    assert_eq!(download["identities"]["user_id"], "u-1");
    assert_eq!(download["properties"]["medium"], "paid");
    assert_eq!(download["properties"]["campaign"], "spring");
    assert_eq!(items[2]["touchpoint"]["properties"]["medium"], "email");
    assert_eq!(
        items[0]["touchpoint"]["identities"]["email"],
        "aino.virtanen@nordicpulp.fi"
    );
}
