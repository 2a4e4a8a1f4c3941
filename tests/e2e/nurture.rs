//! Care models through the real binary: created, listed, shown, replaced
//! and deleted with the CLI and the API; an invalid one is refused with the
//! faulty step named, and nothing of it is stored.

use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, Server, enable_web, get_json, http, warm_data_dir};

const MODEL: &str = r#"{ "version": 1, "name": "mill-managers",
  "description": "Energy savings for mill managers",
  "entry": { "job_title": ["mill manager"], "stage": ["prospect", "lead"] },
  "steps": [
    { "id": "welcome", "send": { "content": "wp-energy", "stage": "connecting", "subject": "Energy", "text": "…" } },
    { "id": "pause", "wait": { "days": 3 } },
    { "id": "check", "branch": { "if": { "clicked": "welcome" }, "then": "closing", "else": "educate" } },
    { "id": "educate", "send": { "content": "case-nordic-mill", "stage": "educating", "text": "…" } },
    { "id": "closing", "send": { "content": "pricing-guide", "stage": "closing", "text": "…" } }
  ],
  "goal": { "stage": ["sales-ready"] } }"#;

#[tokio::test]
async fn care_models_are_managed_and_validated_by_step() {
    let dir = warm_data_dir();
    let server = Server::start(dir.path(), &[]);
    server.tenant("mill");
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };

    // A wait of zero days in step 2: refused, naming the step and field.
    let bad = write("bad.json", &MODEL.replace(r#""days": 3"#, r#""days": 0"#));
    let out = server.cli(&["nurture", "set", "mill", &bad]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("step 2") && err.contains("pause") && err.contains("days"),
        "{err}"
    );
    // A branch to a step that does not exist.
    let bad = write(
        "bad2.json",
        &MODEL.replace(r#""then": "closing""#, r#""then": "nope""#),
    );
    let err =
        String::from_utf8_lossy(&server.cli(&["nurture", "set", "mill", &bad]).stderr).into_owned();
    assert!(err.contains("step 3") && err.contains("nope"), "{err}");
    assert!(
        server
            .cli_ok(&["nurture", "models", "mill"])
            .contains("version 0")
    );

    let good = write("good.json", MODEL);
    let out = server.cli_ok(&["nurture", "set", "mill", &good]);
    assert!(
        out.contains("created") && out.contains("version 1"),
        "{out}"
    );
    let list = server.cli_ok(&["nurture", "models", "mill"]);
    assert!(
        list.contains("mill-managers") && list.contains("5 steps"),
        "{list}"
    );
    let shown: Value =
        serde_json::from_str(&server.cli_ok(&["nurture", "show", "mill", "mill-managers"]))
            .unwrap();
    assert_eq!(shown["steps"][2]["branch"]["then"], "closing");
    let out = server.cli_ok(&["nurture", "set", "mill", &good]);
    assert!(
        out.contains("replaced") && out.contains("version 2"),
        "{out}"
    );

    // The whole nurturing document: a channel messages cannot go out on is
    // refused; a valid one keeps the models.
    let url = format!("{}/v1/tenants/mill/lead-settings/nurture", server.url);
    let r = http()
        .put(&url)
        .bearer_auth(ADMIN_KEY)
        .body(json!({"channels": {"web": "website"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("channels.web"),
        "{body}"
    );

    let out = server.cli_ok(&["nurture", "delete", "mill", "mill-managers"]);
    assert!(out.contains("deleted"), "{out}");
    let out = server.cli(&["nurture", "delete", "mill", "mill-managers"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("404"),
        "{out:?}"
    );
    let r = http()
        .get(format!("{}/v1/tenants/mill/care-models", server.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["items"], json!([]));
    assert_eq!(v["version"], 3);
}

/// Enables tenant mill's e-mail connector `mail` against the SendGrid
/// stand-in at `url` (`http://HOST:PORT`), with state, plus `extra` flags.
fn enable_mail(server: &Server, url: &str, extra: &[&str]) {
    let base_url = format!("base-url={url}");
    let mut args = vec![
        "connector",
        "enable",
        "mill",
        "mail",
        "--plugin",
        "email",
        "--secret",
        "sendgrid-api-key=SG.nurture",
        "--config",
        &base_url,
        "--config",
        "from-email=news@mill.example",
        "--grant-host",
        url.trim_start_matches("http://"),
        "--grant-private-networks",
        "--grant-state",
    ];
    args.extend_from_slice(extra);
    server.cli_ok(&args);
}

#[tokio::test]
async fn a_prospect_gets_its_first_message_once_through_the_email_connector() {
    const WRITE_KEY: &str = "wk-nurture";
    let sendgrid = crate::support::StandIn::start(vec![(202, "x-message-id: sg-1\r\n", "")]);
    let dir = warm_data_dir();
    let server = Server::start(dir.path(), &[]);
    server.tenant("mill");
    enable_web(&server, "mill", WRITE_KEY);
    enable_mail(&server, &sendgrid.url, &[]);
    let nurture = json!({
        "channels": {"email": "mail"},
        "models": [{"version": 1, "name": "prospects",
            "entry": {"stage": ["prospect"]},
            "steps": [
                {"id": "hello", "send": {"content": "intro", "stage": "connecting",
                                          "subject": "Drying, explained", "text": "Hello"}},
                {"id": "pause", "wait": {"days": 2}},
                {"id": "more", "send": {"content": "case", "stage": "educating", "text": "More"}}
            ]}]
    });
    let r = http()
        .put(format!(
            "{}/v1/tenants/mill/lead-settings/nurture",
            server.url
        ))
        .bearer_auth(ADMIN_KEY)
        .body(nurture.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Ann identifies herself and fills in a form: a prospect (default rules).
    let r = http()
        .post(format!("{}/ingest/mill/website/v1/batch", server.url))
        .basic_auth(WRITE_KEY, Some(""))
        .json(&json!({"batch": [
            {"type": "identify", "messageId": "i1", "anonymousId": "a-1",
             "traits": {"email": "ann@mill.example"}},
            {"type": "track", "messageId": "f1", "anonymousId": "a-1", "event": "Form Submitted"}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Within a few seconds the worker's tick plans the first step and the
    // dispatcher hands it to the e-mail connector, which calls SendGrid.
    let mut waited = 0;
    while sendgrid.requests().is_empty() && waited < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let requests = sendgrid.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].contains("ann@mill.example"), "{}", requests[0]);
    assert!(
        requests[0].contains("nurture:1:prospects:1:1:hello"),
        "{}",
        requests[0]
    );
    let lead = get_json(&server, "/v1/tenants/mill/leads/1").await;
    let journey = &lead["journey"][0];
    assert_eq!(journey["model"], "prospects");
    assert_eq!(journey["sent"][0]["channel"], "email");
    assert_eq!(journey["sent"][0]["step"], "hello");
    let shown = server.cli_ok(&["lead", "show", "mill", "1"]);
    assert!(
        shown.contains("care model prospects") && shown.contains("sent    hello"),
        "{shown}"
    );

    // Killed and restarted: the schedule survives and nothing goes twice
    // (the next step is two days away).
    server.kill();
    let server = Server::start(dir.path(), &[]);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(sendgrid.requests().len(), 1);
    let outbox = get_json(&server, "/v1/tenants/mill/outbox").await;
    assert_eq!(outbox["counts"]["sent"], 1, "{outbox}");
}

/// A slow SendGrid stand-in: answers 202 after `delay`, one request at a
/// time, and records the idempotency keys (the personalizations'
/// `custom_args`) of each request.
fn slow_sendgrid(
    delay: std::time::Duration,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Vec<String>>>>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let keys = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = keys.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let text = crate::support::read_request(&mut stream);
            std::thread::sleep(delay);
            if let Some(body) = text.split("\r\n\r\n").nth(1)
                && let Ok(v) = serde_json::from_str::<Value>(body)
            {
                let keys = v["personalizations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["custom_args"]["idempotency_key"].as_str())
                    .map(str::to_string)
                    .collect();
                log.lock().unwrap().push(keys);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (url, keys)
}

#[tokio::test]
async fn a_send_burst_killed_midway_delivers_every_message_after_a_restart() {
    const WRITE_KEY: &str = "wk-burst";
    const PEOPLE: usize = 60;
    const IN_FLIGHT: usize = 2;
    const BATCH: usize = 4;
    let (sendgrid, requests) = slow_sendgrid(std::time::Duration::from_millis(40));
    let keys = || -> Vec<String> { requests.lock().unwrap().concat() };
    let dir = warm_data_dir();
    let server = Server::start(dir.path(), &[]);
    server.tenant("mill");
    enable_web(&server, "mill", WRITE_KEY);
    let (in_flight, batch) = (IN_FLIGHT.to_string(), BATCH.to_string());
    enable_mail(
        &server,
        &sendgrid,
        &["--in-flight", &in_flight, "--batch", &batch],
    );
    let nurture = json!({
        "channels": {"email": "mail"},
        "models": [{"version": 1, "name": "prospects", "entry": {"stage": ["prospect"]},
            "steps": [{"id": "hello", "send": {"content": "intro", "stage": "connecting",
                                                "subject": "Hello", "text": "Hello"}}]}]
    });
    let r = http()
        .put(format!(
            "{}/v1/tenants/mill/lead-settings/nurture",
            server.url
        ))
        .bearer_auth(ADMIN_KEY)
        .body(nurture.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut batch = Vec::new();
    for i in 0..PEOPLE {
        batch.push(
            json!({"type": "identify", "messageId": format!("i{i}"), "anonymousId": format!("a{i}"),
                          "traits": {"email": format!("p{i}@mill.example")}}),
        );
        batch.push(
            json!({"type": "track", "messageId": format!("f{i}"), "anonymousId": format!("a{i}"),
                          "event": "Form Submitted"}),
        );
    }
    let r = http()
        .post(format!("{}/ingest/mill/website/v1/batch", server.url))
        .basic_auth(WRITE_KEY, Some(""))
        .json(&json!({ "batch": batch }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Killed without warning once a part of the burst has gone out.
    let mut waited = 0;
    while keys().len() < 10 && waited < 300 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    server.kill();
    let before = keys().len();
    assert!(
        (10..PEOPLE).contains(&before),
        "the kill came mid-burst ({before} sent)"
    );

    // Restarted: the rest goes out, and what went out before does not again.
    let server = Server::start(dir.path(), &[]);
    let mut waited = 0;
    loop {
        let distinct: std::collections::BTreeSet<String> = keys().into_iter().collect();
        if distinct.len() >= PEOPLE || waited > 600 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let all = keys();
    let distinct: std::collections::BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        distinct.len(),
        PEOPLE,
        "every due message went out: {all:?}"
    );
    assert!(
        distinct
            .iter()
            .all(|k| k.starts_with("nurture:") && k.ends_with(":prospects:1:1:hello"))
    );
    // Only what was unrecorded when the process died can have gone out
    // twice: the calls in flight and the answers of the group being
    // committed, each at most IN_FLIGHT calls of BATCH messages. A repeat
    // carries the same key for the provider to recognise.
    assert!(
        all.len() <= PEOPLE + 2 * IN_FLIGHT * BATCH,
        "{} sends for {PEOPLE} messages: {all:?}",
        all.len()
    );
    // The e-mail connector delivers in batches: a Mail Send per call, each
    // of at most BATCH recipients.
    let sizes: Vec<usize> = requests.lock().unwrap().iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|&n| (1..=BATCH).contains(&n)), "{sizes:?}");
    assert!(sizes.iter().any(|&n| n > 1), "{sizes:?}");
    let outbox = get_json(&server, "/v1/tenants/mill/outbox?limit=1000").await;
    assert_eq!(outbox["counts"]["sent"], PEOPLE, "{}", outbox["counts"]);
}
