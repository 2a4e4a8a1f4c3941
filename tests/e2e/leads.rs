//! The lead engine end to end: real connector payloads (Segment through the
//! web connector, a signed Shopify order through eservices) become leads with
//! the expected stages, owners and hand-offs; the CRM stand-in receives each
//! hand-off once despite failures; sales answers through the CLI; a killed
//! server comes back with the same leads; a rules change rescores.

use base64::Engine;
use leadhost_core::signature::{MacAlgorithm, mac};
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Server, StandIn, enable_web, fixture, header, http, post_batch, request_header,
    warm_data_dir,
};

const WRITE_KEY: &str = "wk-leads-e2e";
const SHOP_SECRET: &str = "shpss_leads_e2e";
const JANE: &str = "jane.koski@pohjola-paper.example";

/// Page views 5 each, a form 30, an order 40; a director fits for 20.
/// Nothing decays, so the scores of these March touchpoints are exact
/// whenever the test runs (decay has its own tests in the core).
const RULES: &str = r#"{
  "version": 1, "half_life_days": 30,
  "grades": { "hot": 60, "warm": 25, "hysteresis": 5 },
  "fit": [ { "name": "director", "points": 20, "job_title": ["director"] } ],
  "engagement": [
    { "name": "page view", "points": 5, "kind": ["page-view"], "decay": false },
    { "name": "form", "points": 30, "kind": ["form-submitted"], "decay": false },
    { "name": "order", "points": 40, "kind": ["order-placed"], "decay": false }
  ]
}"#;

async fn api(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<String>,
) -> (u16, Value) {
    let mut request = http()
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(ADMIN_KEY);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(server: &Server, path: &str) -> Value {
    let (status, body) = api(server, reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

async fn put_setting(server: &Server, name: &str, document: &str) -> (u16, Value) {
    api(
        server,
        reqwest::Method::PUT,
        &format!("/v1/tenants/mill/lead-settings/{name}"),
        Some(document.to_string()),
    )
    .await
}

async fn sync(server: &Server) {
    let (status, body) = api(
        server,
        reqwest::Method::POST,
        "/v1/tenants/mill/leads/sync",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn segment(server: &Server, events: Value) {
    post_batch(server, "mill", WRITE_KEY, events).await;
}

fn page(id: &str, anon: &str, at: &str, url: &str) -> Value {
    json!({"type": "page", "messageId": id, "anonymousId": anon, "timestamp": at,
           "properties": {"url": url}})
}

/// The lead holding `email`, found through the list.
async fn lead_of(server: &Server, email: &str) -> Value {
    let page = get(server, "/v1/tenants/mill/leads?limit=100").await;
    let id = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["email"] == email)
        .unwrap_or_else(|| panic!("no lead for {email} in {page}"))["id"]
        .as_u64()
        .unwrap();
    get(server, &format!("/v1/tenants/mill/leads/{id}")).await
}

/// Waits until the outbox has nothing pending (or 20 s pass).
async fn drain_outbox(server: &Server) -> Value {
    for _ in 0..200 {
        let outbox = get(server, "/v1/tenants/mill/outbox").await;
        if outbox["counts"]["pending"] == 0 {
            return outbox;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the outbox did not drain");
}

async fn shopify_order(server: &Server) {
    let order = fixture("shopify/orders-create.json");
    let signature = base64::engine::general_purpose::STANDARD.encode(mac(
        MacAlgorithm::HmacSha256,
        SHOP_SECRET.as_bytes(),
        order.as_bytes(),
    ));
    let r = http()
        .post(format!("{}/ingest/mill/shop/webhooks", server.url))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-hmac-sha256", signature)
        .header("x-shopify-webhook-id", "6f1b0c3e-leads-e2e")
        .header("x-shopify-shop-domain", "nordmill-spares.myshopify.com")
        .body(order)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 1);
}

#[tokio::test]
async fn touchpoints_become_routed_leads_with_hand_offs_that_survive_a_crash() {
    // The CRM fails once, then accepts; the alert hook accepts.
    let crm = StandIn::start(vec![
        (500, "", r#"{"error":"busy"}"#),
        (200, "", r#"{"id":"crm-lead-1"}"#),
    ]);
    let hook = StandIn::start(vec![(200, "", "{}")]);
    let dir = warm_data_dir();
    let mut server = Server::start(dir.path(), &[]);
    let tenant_key = server.tenant("mill");
    enable_web(&server, "mill", WRITE_KEY);
    server.cli_ok(&[
        "connector",
        "enable",
        "mill",
        "shop",
        "--plugin",
        "eservices",
        "--secret",
        &format!("webhook-secret={SHOP_SECRET}"),
    ]);

    // Settings through the CLI, from files; a bad one is refused by name.
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let bad = write(
        "bad.json",
        &RULES.replace(r#""points": 30,"#, r#""points": "thirty","#),
    );
    let out = server.cli(&["lead", "settings", "mill", "scoring", "--set", &bad]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("engagement rule 1") && err.contains("points"),
        "{err}"
    );
    let rules = write("rules.json", RULES);
    server.cli_ok(&["lead", "settings", "mill", "scoring", "--set", &rules]);
    let policy = write(
        "policy.json",
        r#"{"mql_threshold": 25, "sql_threshold": 50, "sla_minutes": 240,
            "on_sla_expiry": {"action": "reassign"}}"#,
    );
    server.cli_ok(&["lead", "settings", "mill", "policy", "--set", &policy]);
    let routing = write(
        "routing.json",
        r#"{"rules": [{"name": "pulp", "industry": ["Pulp & Paper"], "team": "pulp"}],
            "default_team": "inside",
            "teams": {"pulp": {"members": [{"id": "anna", "capacity": 2, "active": true},
                                           {"id": "mikko", "capacity": 1, "active": true}]},
                      "inside": {"members": [{"id": "sara", "capacity": 1, "active": true}]}}}"#,
    );
    server.cli_ok(&["lead", "settings", "mill", "routing", "--set", &routing]);
    let (status, _) = put_setting(
        &server,
        "handoff",
        &json!({
            "crm": {"url": format!("{}/crm/leads", crm.url)},
            "alerts": {"url": format!("{}/alerts", hook.url)},
            "retry": {"max_attempts": 5, "base_seconds": 1, "max_seconds": 2}
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, 200);
    // The tenant's own key may read its leads but not choose the URLs the
    // host calls.
    let r = http()
        .put(format!(
            "{}/v1/tenants/mill/lead-settings/handoff",
            server.url
        ))
        .bearer_auth(&tenant_key)
        .body(r#"{"crm": {"url": "http://10.0.0.1/"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http()
        .get(format!("{}/v1/tenants/mill/leads", server.url))
        .bearer_auth(&tenant_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Jane browses anonymously, identifies herself and fills in a form;
    // Pekka only browses and identifies.
    segment(
        &server,
        json!([
            page("p1", "anon-jane", "2026-03-01T08:00:00Z", "https://mill.example/"),
            page("p2", "anon-jane", "2026-03-01T08:01:00Z", "https://mill.example/dryers"),
            page("p3", "anon-jane", "2026-03-01T08:02:00Z", "https://mill.example/pricing"),
            {"type": "identify", "messageId": "i1", "anonymousId": "anon-jane", "userId": null,
             "timestamp": "2026-03-01T08:03:00Z",
             "traits": {"email": JANE, "title": "Mill Director", "industry": "Pulp & Paper",
                        "firstName": "Jane", "lastName": "Koski"}},
            {"type": "track", "messageId": "f1", "anonymousId": "anon-jane",
             "event": "Form Submitted", "timestamp": "2026-03-01T08:04:00Z",
             "properties": {"email": JANE}},
            page("p4", "anon-pekka", "2026-03-01T09:00:00Z", "https://mill.example/"),
            {"type": "identify", "messageId": "i2", "anonymousId": "anon-pekka",
             "timestamp": "2026-03-01T09:01:00Z",
             "traits": {"email": "pekka@sawmill.example", "title": "Operator",
                        "industry": "Sawmills"}}
        ]),
    )
    .await;
    sync(&server).await;

    // Jane: 3 anonymous page views count for her (15) + director (20) +
    // form (30) = 65 ≥ SQL 50: sales-ready, routed to the pulp team.
    let jane = lead_of(&server, JANE).await;
    assert_eq!(jane["stage"], "sales-ready", "{jane}");
    assert_eq!(jane["score"], 65.0);
    assert_eq!(jane["owner"], "anna");
    assert_eq!(jane["handoffs"][0]["team"], "pulp");
    let kinds: Vec<&str> = jane["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"email") && kinds.contains(&"anonymous-id"),
        "{kinds:?}"
    );
    let views: Vec<&Value> = jane["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "page view")
        .collect();
    assert_eq!(views.len(), 3, "the anonymous page views count");
    let path: Vec<&str> = jane["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transition"]["to"].as_str().unwrap())
        .collect();
    assert_eq!(path.last(), Some(&"sales-ready"));
    // Pekka: one page view, no fit: a prospect, no hand-off.
    let pekka = lead_of(&server, "pekka@sawmill.example").await;
    assert_eq!(pekka["stage"], "prospect");
    assert_eq!(pekka["handoffs"], json!([]));

    // The CRM got the hand-off twice (a 500, then accepted) under one key;
    // the owner's alert went to the alert hook once.
    let outbox = drain_outbox(&server).await;
    assert_eq!(outbox["counts"]["sent"], 2, "{outbox}");
    let requests = crm.requests();
    let crm_calls: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("/crm/leads"))
        .collect();
    assert_eq!(crm_calls.len(), 2, "{requests:?}");
    let keys: Vec<&str> = crm_calls
        .iter()
        .map(|r| request_header(r, "idempotency-key").unwrap())
        .collect();
    let jane_id = jane["id"].as_u64().unwrap();
    assert!(
        keys.iter()
            .all(|k| *k == format!("crm-handoff:{jane_id}:1")),
        "{keys:?}"
    );
    assert!(crm_calls[0].contains(JANE));
    let alerts = hook.requests();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("\"owner\":\"anna\""), "{}", alerts[0]);

    // Sales answers through the CLI; wrong moves are refused.
    let id = jane_id.to_string();
    let out = server.cli(&["lead", "accept", "mill", "9999", "--by", "anna"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
    let pekka_id = pekka["id"].to_string();
    let out = server.cli(&["lead", "accept", "mill", &pekka_id, "--by", "anna"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no open hand-off"),
        "{out:?}"
    );
    let explained = server.cli_ok(&["lead", "explain", "mill", &id]);
    assert!(
        explained.contains("director") && explained.contains("form"),
        "{explained}"
    );
    let accepted = server.cli_ok(&["lead", "accept", "mill", &id, "--by", "anna"]);
    assert!(accepted.contains("opportunity"), "{accepted}");

    // Her order through the shop: a customer; the account has the revenue.
    shopify_order(&server).await;
    sync(&server).await;
    let jane = lead_of(&server, JANE).await;
    assert_eq!(jane["stage"], "customer");
    let account = get(
        &server,
        &format!("/v1/tenants/mill/accounts/{}", jane["account"]),
    )
    .await;
    assert_eq!(account["orders"], 1);
    assert_eq!(account["owner"], "anna");
    assert!(
        account["revenue"]
            .as_object()
            .is_some_and(|r| !r.is_empty()),
        "{account}"
    );

    // Killed without warning, then restarted: the same leads, and no call is
    // sent again.
    let before = get(&server, &format!("/v1/tenants/mill/leads/{id}")).await;
    let sent_before = crm.requests().len() + hook.requests().len();
    server.kill();
    server = Server::start(dir.path(), &[]);
    sync(&server).await;
    let after = get(&server, &format!("/v1/tenants/mill/leads/{id}")).await;
    assert_eq!(after["history"], before["history"]);
    assert_eq!(after["handoffs"], before["handoffs"]);
    assert_eq!(after["score"], before["score"]);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        crm.requests().len() + hook.requests().len(),
        sent_before,
        "nothing sent twice"
    );
    assert!(server.alive());

    // A rules change rescores every lead: page views now 50 make Pekka
    // sales-ready (his industry routes him to the default team); Jane, a
    // customer, requalifies only on what she did after buying.
    let (status, body) = put_setting(
        &server,
        "scoring",
        &RULES.replace(r#""points": 5,"#, r#""points": 50,"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    let pekka = get(&server, &format!("/v1/tenants/mill/leads/{pekka_id}")).await;
    assert_eq!(pekka["stage"], "sales-ready", "{pekka}");
    assert_eq!(pekka["owner"], "sara", "Sawmills: the default team");
    let stats = get(&server, "/v1/tenants/mill/leads/stats").await;
    assert_eq!(stats["stages"]["customer"], 1);
    assert_eq!(stats["stages"]["sales-ready"], 1);
    let list = server.cli_ok(&["lead", "list", "mill", "--stage", "sales-ready"]);
    assert!(list.contains("pekka@sawmill.example"), "{list}");
}
