//! Reports end to end: Segment traffic through the web connector, spend
//! imported as CSV through the CLI (a bad file stores nothing), the funnel,
//! channel and cost reports through the API and the CLI (table and CSV), and
//! the same numbers after the server is killed and its engines are rebuilt
//! from the store.

use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, Server, enable_web, get_json, http, post_batch, warm_data_dir};

const WRITE_KEY: &str = "wk-reports";
const MARCH: &str = "from=2026-03-01&to=2026-04-01";

fn page(id: &str, anon: &str, at: &str, campaign: Option<&str>) -> Value {
    let mut e = json!({"type": "page", "messageId": id, "anonymousId": anon, "timestamp": at,
                       "properties": {"url": "https://shop.example/pricing"}});
    if let Some(c) = campaign {
        e["context"] = json!({"campaign": {"name": c, "source": "google", "medium": "cpc"}});
    }
    e
}

fn identify(id: &str, anon: &str, at: &str, email: &str) -> Value {
    json!({"type": "identify", "messageId": id, "anonymousId": anon, "timestamp": at,
           "traits": {"email": email}})
}

async fn send(server: &Server, events: Vec<Value>) {
    post_batch(server, "shop", WRITE_KEY, Value::Array(events)).await;
}

async fn synced(server: &Server) {
    let r = http()
        .post(format!("{}/v1/tenants/shop/leads/sync", server.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A row of a report's per-group list by its key field.
fn row<'a>(rows: &'a Value, field: &str, key: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[field] == key)
        .unwrap_or_else(|| panic!("no row {field}={key} in {rows}"))
}

#[tokio::test]
async fn reports_come_from_the_history_and_survive_a_rebuild() {
    let dir = warm_data_dir();
    let server = Server::start(dir.path(), &[]);
    server.tenant("shop");
    enable_web(&server, "shop", WRITE_KEY);

    // Three people in March 2026:
    // - ann arrives from the "spring" campaign, then identifies herself;
    // - bob comes with no campaign and identifies himself;
    // - a third visitor from "spring" stays anonymous.
    // And one in February, outside the range: dora.
    send(
        &server,
        vec![
            page("p1", "anon-ann", "2026-03-02T09:00:00Z", Some("spring")),
            identify("i1", "anon-ann", "2026-03-02T09:05:00Z", "ann@shop.example"),
            page("p2", "anon-bob", "2026-03-10T12:00:00Z", None),
            identify("i2", "anon-bob", "2026-03-10T12:01:00Z", "bob@shop.example"),
            page("p3", "anon-cyd", "2026-03-20T18:00:00Z", Some("spring")),
            page("p4", "anon-dora", "2026-02-20T08:00:00Z", Some("spring")),
            identify(
                "i4",
                "anon-dora",
                "2026-02-20T08:01:00Z",
                "dora@shop.example",
            ),
        ],
    )
    .await;
    synced(&server).await;

    // A bad spend file (line 3's amount is not a number) stores nothing.
    let bad = dir.path().join("bad-spend.csv");
    std::fs::write(
        &bad,
        "channel,campaign,from,to,amount,currency,note\n\
         web,spring,2026-03-01,2026-04-01,310,EUR,ads\n\
         email,,2026-03-01,2026-04-01,lots,EUR,newsletter\n",
    )
    .unwrap();
    let out = server.cli(&["spend", "import", "shop", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    assert_eq!(
        get_json(&server, "/v1/tenants/shop/spend").await["items"],
        json!([])
    );

    let good = dir.path().join("spend.csv");
    std::fs::write(
        &good,
        "channel,campaign,from,to,amount,currency,note\n\
         web,spring,2026-03-01,2026-04-01,310,EUR,ads\n\
         email,,2026-03-01,2026-04-01,93,eur,newsletter\n",
    )
    .unwrap();
    let out = server.cli_ok(&["spend", "import", "shop", good.to_str().unwrap()]);
    assert!(out.contains("2 spend entries imported"), "{out}");

    // The funnel of March: ann, bob and the anonymous visitor (dora was
    // created in February). Every lead has exactly one current stage.
    let funnel = get_json(&server, &format!("/v1/tenants/shop/reports/funnel?{MARCH}")).await;
    assert_eq!(funnel["report"], "funnel");
    assert_eq!(funnel["leads"], 3, "{funnel}");
    let current: u64 = funnel["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["current"].as_u64().unwrap())
        .sum();
    assert_eq!(current, 3);
    // All three reached visitor; the two who identified reached suspect.
    assert_eq!(row(&funnel["stages"], "stage", "visitor")["reached"], 3);
    assert_eq!(row(&funnel["stages"], "stage", "suspect")["reached"], 2);

    // Channels by first touch: all three came through the web; by campaign
    // ann and the anonymous visitor are "spring", bob none.
    let channels = get_json(
        &server,
        &format!("/v1/tenants/shop/reports/channels?{MARCH}"),
    )
    .await;
    assert_eq!(
        row(&channels["by_channel"], "key", "web")["leads"],
        3,
        "{channels}"
    );
    assert_eq!(row(&channels["by_campaign"], "key", "spring")["leads"], 2);

    // Cost of March: web 310 EUR over 3 web leads is 103.33 a lead; email 93
    // EUR brought none (no cost per lead); 403 EUR in all.
    let cost = get_json(&server, &format!("/v1/tenants/shop/reports/cost?{MARCH}")).await;
    assert_eq!(cost["currency"], "EUR", "{cost}");
    let web = row(&cost["by_channel"], "key", "web");
    assert_eq!(web["spend"], 310.0);
    assert!((web["cost_per_lead"].as_f64().unwrap() - 310.0 / 3.0).abs() < 1e-9);
    let email = row(&cost["by_channel"], "key", "email");
    assert_eq!(
        (email["spend"].clone(), email["cost_per_lead"].clone()),
        (json!(93.0), Value::Null)
    );
    assert_eq!(cost["totals"]["spend"], 403.0);
    // The first half of March (15 of 31 days) carries 15/31 of the spend.
    let half = get_json(
        &server,
        "/v1/tenants/shop/reports/cost?from=2026-03-01&to=2026-03-16",
    )
    .await;
    let web_half = row(&half["by_channel"], "key", "web")["spend"]
        .as_f64()
        .unwrap();
    assert!((web_half - 310.0 * 15.0 / 31.0).abs() < 1e-9, "{web_half}");

    // The CLI prints the same as a table and as CSV.
    let table = server.cli_ok(&[
        "report", "cost", "shop", "--from", "2026-03", "--to", "2026-04",
    ]);
    assert!(table.contains("Cost by channel"), "{table}");
    let csv = server.cli_ok(&[
        "report", "cost", "shop", "--from", "2026-03", "--to", "2026-04", "--format", "csv",
    ]);
    assert!(csv.lines().any(|l| l.starts_with("web,310.00,3,")), "{csv}");
    // Bad queries are refused with words that say why.
    let out = server.cli(&["report", "funnel", "shop", "--channel", "fax"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no channel \"fax\""));
    let out = server.cli(&["report", "budget", "shop"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown report"));

    // Killed and started again, the engines are rebuilt from the store: the
    // same numbers, to the last field (open durations included: `now`
    // defaults to the latest time the logs hold).
    const ALL: [&str; 6] = [
        "funnel",
        "channels",
        "cost",
        "attribution",
        "sla",
        "nurture",
    ];
    let mut before = Vec::new();
    for name in ALL {
        let path = format!("/v1/tenants/shop/reports/{name}?{MARCH}");
        before.push(get_json(&server, &path).await);
    }
    server.kill();
    let server = Server::start(dir.path(), &[]);
    synced(&server).await;
    for (name, before) in ALL.iter().zip(before) {
        let path = format!("/v1/tenants/shop/reports/{name}?{MARCH}");
        let again = get_json(&server, &path).await;
        assert_eq!(again["report"], *name);
        assert_eq!(again, before, "{name}");
    }
}
