//! One end-to-end test per bundled connector (email, social, eservices,
//! portal, events): the real binary and components, signed provider fixtures
//! over real HTTP, stand-in provider APIs on loopback, and what landed read
//! back through the API.

use base64::Engine;
use leadhost_core::signature::{MacAlgorithm, mac};
use serde_json::{Value, json};

use crate::support::{
    ADMIN_KEY, Server, StandIn, all_touchpoints, fixture, header, http, request_header, root,
    warm_data_dir,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The HMAC-SHA256 of `message` under `key`.
fn hmac(key: &str, message: &[u8]) -> Vec<u8> {
    mac(MacAlgorithm::HmacSha256, key.as_bytes(), message)
}

/// POSTs `body` to `url` with these headers.
async fn post(url: &str, headers: &[(&str, &str)], body: &str) -> reqwest::Response {
    let mut request = http().post(url).body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// POSTs a message to a connector's deliveries and returns the answer.
async fn deliver(server: &Server, tenant: &str, connector: &str, message: &Value) -> Value {
    let r = http()
        .post(format!(
            "{}/v1/tenants/{tenant}/connectors/{connector}/deliveries",
            server.url
        ))
        .bearer_auth(ADMIN_KEY)
        .json(message)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The stored kinds, sorted.
fn kinds(items: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = items
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    kinds
}

/// The touchpoint stored under `external_id`.
fn by_id<'a>(items: &'a [Value], external_id: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["external_id"] == external_id)
        .unwrap_or_else(|| panic!("no touchpoint {external_id} in {items:#?}"))
}

/// Checks the requests a stand-in recorded: each starts with `line` and
/// carries every (header, value) given.
fn assert_requests(seen: &[String], line: &str, headers: &[(&str, &str)]) {
    for request in seen {
        assert!(request.starts_with(line), "{request}");
        for (name, value) in headers {
            assert_eq!(request_header(request, name), Some(*value), "{request}");
        }
        assert!(!request.contains("{{secret:"), "{request}");
    }
}

#[tokio::test]
async fn email_webhooks_land_signed_and_once_and_sendgrid_deliveries_retry() {
    const API_KEY: &str = "SG.e2e-api-key.7c1d";
    let sendgrid = StandIn::start(vec![
        (429, "retry-after: 5\r\n", ""),
        (202, "x-message-id: sg-msg-4471\r\n", ""),
    ]);
    let dir = warm_data_dir();
    let server = Server::start(dir.path(), &[]);
    let key = server.tenant("acme");
    let pem = root().join("tests/fixtures/sendgrid/verification-key.pem");
    server.cli_ok(&[
        "connector",
        "enable",
        "acme",
        "mail",
        "--plugin",
        "email",
        "--secret",
        &format!("sendgrid-verification-key=@{}", pem.display()),
        "--secret",
        "mailgun-signing-key=mg-fixture-signing-key-3f9a7c2e",
        "--secret",
        &format!("sendgrid-api-key={API_KEY}"),
        "--config",
        &format!("base-url={}", sendgrid.url),
        "--config",
        "from-email=news@nordmill.example",
        "--grant-host",
        sendgrid.authority(),
        "--grant-private-networks",
        "--grant-state",
    ]);

    // SendGrid: the batch with the two headers of its recorded signing.
    let signature = fixture("sendgrid/events.json.signature");
    let signed: Vec<(&str, &str)> = signature
        .lines()
        .filter_map(|l| l.split_once(": "))
        .collect();
    assert_eq!(signed.len(), 2, "{signature}");
    let mut headers = signed.clone();
    headers.push(("content-type", "application/json"));
    let events = fixture("sendgrid/events.json");
    let url = format!("{}/ingest/acme/mail/sendgrid", server.url);
    let r = post(&url, &headers, &events).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 11);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"accepted": 11}));

    // Mailgun: the fixtures carry their own signature blocks.
    for file in ["clicked", "failed-permanent"] {
        let r = post(
            &format!("{}/ingest/acme/mail/mailgun", server.url),
            &[("content-type", "application/json")],
            &fixture(&format!("mailgun/{file}.json")),
        )
        .await;
        assert_eq!(r.status(), 200, "{file}");
        assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 1, "{file}");
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"accepted": 1}));
    }

    // SendGrid delivers the same batch again: acknowledged, stored once.
    let r = post(&url, &headers, &events).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 0);
    assert_eq!(header::<usize>(&r, "x-leadhost-duplicates"), 11);

    // A body changed after signing, and a Mailgun webhook whose signature
    // does not match: refused, nothing stored.
    let forged = events.replace("pm-rebuild-2024", "pm-rebuild-2025");
    assert_ne!(forged, events);
    let r = post(&url, &headers, &forged).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unauthorized");
    let mut tampered: Value = serde_json::from_str(&fixture("mailgun/opened.json")).unwrap();
    let hex_mac = tampered["signature"]["signature"].as_str().unwrap();
    let flipped = if hex_mac.starts_with('0') { "1" } else { "0" };
    tampered["signature"]["signature"] = json!(format!("{flipped}{}", &hex_mac[1..]));
    let tampered = tampered.to_string();
    let r = post(
        &format!("{}/ingest/acme/mail/mailgun", server.url),
        &[("content-type", "application/json")],
        &tampered,
    )
    .await;
    assert_eq!(r.status(), 401);

    let items = all_touchpoints(&server, &key, "acme", 1000).await;
    assert_eq!(items.len(), 13);
    assert_eq!(
        kinds(&items),
        [
            "custom:email-deferred",
            "custom:email-processed",
            "custom:email-resubscribed",
            "email-bounced",
            "email-bounced",
            "email-bounced",
            "email-clicked",
            "email-clicked",
            "email-complained",
            "email-delivered",
            "email-opened",
            "unsubscribed",
            "unsubscribed",
        ]
    );
    assert!(items.iter().all(|i| i["channel"] == "email"));
    let click = by_id(&items, "kCAi1KttyQdEKHhdC-nuEA");
    assert_eq!(click["kind"], "email-clicked");
    assert_eq!(click["occurred_at"], 1_714_570_260_000_i64);
    let tp = &click["touchpoint"];
    assert_eq!(
        tp["identities"]["email"],
        "jane.koski@pohjola-paper.example"
    );
    assert_eq!(tp["properties"]["campaign"], "pm-rebuild-2024");
    assert_eq!(tp["properties"]["content_id"], "whitepaper-pm-rebuild");
    assert_eq!(tp["properties"]["medium"], "email");
    let mailgun_click = by_id(&items, "Ase7i2zsRYeDXztHGENqRB");
    assert_eq!(mailgun_click["kind"], "email-clicked");
    // Mailgun's float seconds, 1714570260.5, kept to the millisecond.
    assert_eq!(mailgun_click["occurred_at"], 1_714_570_260_500_i64);
    assert_eq!(
        mailgun_click["touchpoint"]["identities"]["email"],
        "jane.koski@pohjola-paper.example"
    );
    let unsubscribe = by_id(&items, "zz_BjPgU_5pS-J8vlfB1sg");
    assert_eq!(unsubscribe["kind"], "unsubscribed");
    assert_eq!(
        unsubscribe["touchpoint"]["consent"],
        json!([{"purpose": "marketing", "channel": "email", "granted": false}])
    );

    // Deliver: SendGrid answers 429, then 202 with its message id.
    let message = json!({
        "idempotency_key": "nurture-7731-step-2",
        "recipient": {"email": "jane.koski@pohjola-paper.example"},
        "recipient_name": "Jane Koski",
        "subject": "Rebuild your paper machine, not your budget",
        "text": "Hei Jane, the whitepaper is ready.",
        "content_id": "whitepaper-pm-rebuild",
    });
    let first = deliver(&server, "acme", "mail", &message).await;
    assert_eq!(first["delivery"]["status"], "retry-after", "{first}");
    assert_eq!(first["delivery"]["detail"], "5", "{first}");
    assert_eq!(first["duplicate"], false);
    let second = deliver(&server, "acme", "mail", &message).await;
    assert_eq!(second["delivery"]["status"], "accepted", "{second}");
    assert_eq!(second["delivery"]["provider_id"], "sg-msg-4471");
    assert_eq!(second["delivery"]["attempts"], 2);
    assert_eq!(second["duplicate"], false);
    let third = deliver(&server, "acme", "mail", &message).await;
    assert_eq!(third["delivery"]["status"], "accepted", "{third}");
    assert_eq!(third["delivery"]["provider_id"], "sg-msg-4471");
    assert_eq!(third["duplicate"], true);

    let seen = sendgrid.requests();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let bearer = format!("Bearer {API_KEY}");
    assert_requests(
        &seen,
        "POST /v3/mail/send HTTP/1.1",
        &[
            ("authorization", bearer.as_str()),
            ("idempotency-key", "nurture-7731-step-2"),
        ],
    );
    for request in &seen {
        let body: Value = serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(
            body["personalizations"][0]["to"][0],
            json!({"email": "jane.koski@pohjola-paper.example", "name": "Jane Koski"})
        );
        assert_eq!(body["from"]["email"], "news@nordmill.example");
        assert_eq!(
            body["subject"],
            "Rebuild your paper machine, not your budget"
        );
    }
}

#[tokio::test]
async fn social_meta_leads_are_read_from_graph_and_linkedin_polls_resume() {
    const VERIFY_TOKEN: &str = "vt-e2e-7f3a9c";
    const APP_SECRET: &str = "meta-app-secret-e2e";
    const PAGE_TOKEN: &str = "EAAGpagetoken-e2e";
    const LI_TOKEN: &str = "AQVlinkedin-e2e";
    const LI_CLIENT_SECRET: &str = "li-client-secret-e2e";
    // The sweep after the first: LinkedIn answers the leads submitted since
    // the newest one seen, i.e. that one again.
    let mut since: Value =
        serde_json::from_str(&fixture("linkedin/lead-form-responses-page-2.json")).unwrap();
    since["paging"]["start"] = json!(0);
    since["paging"]["total"] = json!(1);
    let api = StandIn::routed(vec![
        (
            "GET /v19.0/444444444444?",
            200,
            "",
            fixture("meta/graph-lead-444444444444.json"),
        ),
        (
            "GET /v19.0/555555555555?",
            200,
            "",
            fixture("meta/graph-lead-555555555555.json"),
        ),
        ("submittedAtTimeRange=(start:", 200, "", since.to_string()),
        (
            "&start=2&",
            200,
            "",
            fixture("linkedin/lead-form-responses-page-2.json"),
        ),
        (
            "GET /rest/leadFormResponses?",
            200,
            "",
            fixture("linkedin/lead-form-responses-page-1.json"),
        ),
    ]);
    let dir = warm_data_dir();
    let server = Server::start(dir.path(), &[]);
    let key = server.tenant("acme");
    server.cli_ok(&[
        "connector",
        "enable",
        "acme",
        "social",
        "--plugin",
        "social",
        "--secret",
        &format!("meta-verify-token={VERIFY_TOKEN}"),
        "--secret",
        &format!("meta-app-secret={APP_SECRET}"),
        "--secret",
        &format!("meta-page-token={PAGE_TOKEN}"),
        "--secret",
        &format!("linkedin-token={LI_TOKEN}"),
        "--secret",
        &format!("linkedin-client-secret={LI_CLIENT_SECRET}"),
        "--config",
        &format!("graph-base-url={}", api.url),
        "--config",
        &format!("linkedin-base-url={}", api.url),
        "--config",
        "linkedin-organization=5515715",
        "--config",
        "page-size=2",
        "--grant-host",
        api.authority(),
        "--grant-private-networks",
    ]);

    // Meta's verification handshake.
    let meta = format!("{}/ingest/acme/social/meta", server.url);
    let r = http()
        .get(format!(
            "{meta}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    let r = http()
        .get(format!(
            "{meta}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A signed leadgen notification: both leads are read from the Graph API.
    let leadgen = fixture("meta/leadgen.json");
    let signature = format!("sha256={}", hex(&hmac(APP_SECRET, leadgen.as_bytes())));
    let r = post(
        &meta,
        &[
            ("content-type", "application/json"),
            ("x-hub-signature-256", &signature),
        ],
        &leadgen,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 2);
    assert_eq!(r.text().await.unwrap(), "EVENT_RECEIVED");
    // The same body under another key is refused.
    let bad = format!(
        "sha256={}",
        hex(&hmac("not-the-secret", leadgen.as_bytes()))
    );
    let r = post(
        &meta,
        &[
            ("content-type", "application/json"),
            ("x-hub-signature-256", &bad),
        ],
        &leadgen,
    )
    .await;
    assert_eq!(r.status(), 401);

    let graph: Vec<String> = api.requests();
    assert_eq!(graph.len(), 2, "{graph:#?}");
    let page_bearer = format!("Bearer {PAGE_TOKEN}");
    assert_requests(
        &graph[..1],
        "GET /v19.0/444444444444?fields=created_time,id,ad_id,adset_id,campaign_id,campaign_name,form_id,platform,is_organic,field_data HTTP/1.1",
        &[("authorization", page_bearer.as_str())],
    );
    assert_requests(
        &graph[1..],
        "GET /v19.0/555555555555?",
        &[("authorization", page_bearer.as_str())],
    );

    let items = all_touchpoints(&server, &key, "acme", 1000).await;
    assert_eq!(items.len(), 2);
    let jane = by_id(&items, "meta:444444444444");
    assert_eq!(jane["kind"], "social-lead-form");
    assert_eq!(jane["channel"], "social");
    let tp = &jane["touchpoint"];
    assert_eq!(
        tp["identities"]["email"],
        "jane.koski@pohjola-paper.example"
    );
    assert_eq!(tp["identities"]["phone"], "+358401234567");
    assert_eq!(tp["identities"]["company_domain"], "pohjola-paper.example");
    assert_eq!(tp["traits"]["first_name"], "Jane");
    assert_eq!(tp["traits"]["company"], "Pohjola Paper Oy");
    assert_eq!(tp["properties"]["campaign"], "PM rebuild 2024 - lead ads");
    assert_eq!(tp["properties"]["source"], "facebook");
    assert_eq!(tp["properties"]["medium"], "paid");
    // occurred at the Graph answer's created_time, 2024-05-01T12:30:00Z
    assert_eq!(jane["occurred_at"], 1_714_566_600_000_i64);
    let matti = by_id(&items, "meta:555555555555");
    assert_eq!(matti["kind"], "social-lead-form");
    assert_eq!(
        matti["touchpoint"]["identities"]["email"],
        "matti.virtanen@savo-board.example"
    );
    assert_eq!(matti["touchpoint"]["traits"]["last_name"], "Virtanen");

    // LinkedIn Lead Sync: two pages, then a new sweep finds nothing new.
    let out = server.cli_ok(&["poll", "acme", "social"]);
    assert!(
        out.starts_with("2 page(s): 3 stored, 0 duplicates"),
        "{out}"
    );
    let out = server.cli_ok(&["poll", "acme", "social"]);
    assert!(
        out.starts_with("1 page(s): 0 stored, 1 duplicates"),
        "{out}"
    );

    let seen = api.requests();
    assert_eq!(seen.len(), 5, "{seen:#?}");
    let li_bearer = format!("Bearer {LI_TOKEN}");
    assert_requests(
        &seen[2..],
        "GET /rest/leadFormResponses?q=owner&owner=(organization:urn%3Ali%3Aorganization%3A5515715)&leadType=(leadType:SPONSORED)",
        &[
            ("authorization", li_bearer.as_str()),
            ("linkedin-version", "202401"),
            ("x-restli-protocol-version", "2.0.0"),
        ],
    );
    assert!(seen[2].contains("&start=0&count=2 "), "{}", seen[2]);
    assert!(seen[3].contains("&start=2&count=2 "), "{}", seen[3]);
    assert!(
        seen[4].contains("&submittedAtTimeRange=(start:1714653000000)&"),
        "{}",
        seen[4]
    );

    // LinkedIn's webhook validation, answered with the host's MAC.
    let linkedin = format!("{}/ingest/acme/social/linkedin", server.url);
    let r = http()
        .get(format!("{linkedin}?challengeCode=890e4d62-3a9c"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({
            "challengeCode": "890e4d62-3a9c",
            "challengeResponse": hex(&hmac(LI_CLIENT_SECRET, b"890e4d62-3a9c")),
        })
    );
    // A signed organization social-action notification: the comment, like
    // and share are engagement, the admin's own comment is not.
    let actions = fixture("linkedin/social-actions.json");
    let signature = hex(&hmac(
        LI_CLIENT_SECRET,
        format!("hmacsha256={actions}").as_bytes(),
    ));
    let r = post(
        &linkedin,
        &[
            ("content-type", "application/json"),
            ("x-li-signature", &signature),
        ],
        &actions,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 3);
    let r = post(
        &linkedin,
        &[
            ("content-type", "application/json"),
            ("x-li-signature", &hex(&hmac("wrong", actions.as_bytes()))),
        ],
        &actions,
    )
    .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        api.requests().len(),
        5,
        "no lead was read for social actions"
    );

    let items = all_touchpoints(&server, &key, "acme", 1000).await;
    assert_eq!(items.len(), 8);
    let comment = by_id(&items, "linkedin:notification:1204567831");
    assert_eq!(comment["kind"], "social-engagement");
    assert_eq!(comment["occurred_at"], 1_714_652_990_000_i64);
    assert_eq!(
        comment["touchpoint"]["properties"]["content_id"],
        "urn:li:share:7191234567890123456"
    );
    assert!(
        comment["touchpoint"]["identities"]["social_handle"]
            .as_str()
            .unwrap()
            .contains("urn:li:person:aVx1Yq3ZkL"),
        "{comment}"
    );
    by_id(&items, "linkedin:notification:1204567832");
    by_id(&items, "linkedin:notification:1204567833");
    let items: Vec<Value> = items
        .into_iter()
        .filter(|i| i["kind"] != "social-engagement")
        .collect();
    assert_eq!(items.len(), 5);
    assert_eq!(
        kinds(&items),
        ["social-lead-form"; 5].map(String::from).to_vec()
    );
    let first = by_id(&items, "linkedin:7c1c5d32-5b0c-4f2a-9c1e-3a6c2f1b9e01-1");
    assert_eq!(first["occurred_at"], 1_714_566_600_000_i64);
    assert_eq!(first["touchpoint"]["properties"]["source"], "linkedin");
    assert!(
        first["touchpoint"]["identities"]["email"].is_string(),
        "{first}"
    );
    by_id(&items, "linkedin:0b6f5c1d-2e8a-4f3b-a7c9-1d4e6f8a2b3c-1");
    by_id(&items, "linkedin:9d8e7f6a-5b4c-4d3e-8f2a-1b0c9d8e7f6a-1");
}

#[tokio::test]
async fn eservices_shopify_orders_land_with_their_value() {
    const SECRET: &str = "shpss_e2e_7c1d0e9a4b2f";
    let dir = warm_data_dir();
    let server = Server::start(dir.path(), &[]);
    let key = server.tenant("acme");
    server.cli_ok(&[
        "connector",
        "enable",
        "acme",
        "shop",
        "--plugin",
        "eservices",
        "--secret",
        &format!("webhook-secret={SECRET}"),
    ]);

    let order = fixture("shopify/orders-create.json");
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let url = format!("{}/ingest/acme/shop/webhooks", server.url);
    let send = |signature: String, webhook_id: &'static str| {
        let (url, order) = (url.clone(), order.clone());
        async move {
            post(
                &url,
                &[
                    ("content-type", "application/json"),
                    ("x-shopify-topic", "orders/create"),
                    ("x-shopify-hmac-sha256", &signature),
                    ("x-shopify-webhook-id", webhook_id),
                    ("x-shopify-shop-domain", "nordmill-spares.myshopify.com"),
                    ("x-shopify-triggered-at", "2026-03-02T08:15:03.000000Z"),
                ],
                &order,
            )
            .await
        }
    };
    let good = b64(&hmac(SECRET, order.as_bytes()));
    let r = send(good.clone(), "b39d2c2f-2871-4f2e-9f8c-8d2e3f4a5b6c").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 1);
    // Shopify retries the same delivery: the same webhook id, stored once.
    let r = send(good, "b39d2c2f-2871-4f2e-9f8c-8d2e3f4a5b6c").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-duplicates"), 1);
    // Signed with another key (and a new webhook id): refused.
    let bad = b64(&hmac("shpss_someone_else", order.as_bytes()));
    let r = send(bad, "0c7e1f44-aaaa-4bbb-8ccc-000000000001").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unauthorized");
    let r = send("not base64!".into(), "0c7e1f44-aaaa-4bbb-8ccc-000000000002").await;
    assert_eq!(r.status(), 401);

    let items = all_touchpoints(&server, &key, "acme", 1000).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    let placed = &items[0];
    assert_eq!(placed["kind"], "order-placed");
    assert_eq!(placed["channel"], "eservices");
    assert_eq!(
        placed["external_id"],
        "b39d2c2f-2871-4f2e-9f8c-8d2e3f4a5b6c"
    );
    let tp = &placed["touchpoint"];
    assert_eq!(tp["properties"]["amount"], 1304.6);
    assert_eq!(tp["properties"]["currency"], "EUR");
    assert_eq!(tp["properties"]["content_id"], "#1001");
    assert_eq!(tp["properties"]["campaign"], "spring-maintenance-2026");
    assert_eq!(
        tp["identities"]["email"],
        "jane.koski@pohjola-paper.example"
    );
    assert_eq!(tp["identities"]["user_id"], "shopify:7420194242");
    assert_eq!(tp["identities"]["account_id"], "PPO-4471");
    // 2026-03-02T10:15:00+02:00
    assert_eq!(placed["occurred_at"], 1_772_439_300_000_i64);
}

#[tokio::test]
async fn portal_cloudevents_land_and_notifications_are_retried() {
    const SIGNING_KEY: &str = "whsec_portal_e2e_9fK2";
    const API_KEY: &str = "portal-api-key-e2e";
    let portal = StandIn::start(vec![
        (500, "", "{\"error\":\"try later\"}"),
        (201, "", "{\"id\":\"notif-20931-77\"}"),
    ]);
    let dir = warm_data_dir();
    let server = Server::start(dir.path(), &[]);
    let key = server.tenant("acme");
    server.cli_ok(&[
        "connector",
        "enable",
        "acme",
        "portal",
        "--plugin",
        "portal",
        "--secret",
        &format!("signing-key={SIGNING_KEY}"),
        "--secret",
        &format!("api-key={API_KEY}"),
        "--config",
        &format!("base-url={}", portal.url),
        "--grant-host",
        portal.authority(),
        "--grant-private-networks",
    ]);

    let batch = fixture("portal/batch.json");
    let url = format!("{}/ingest/acme/portal/events", server.url);
    let signature = format!("sha256={}", hex(&hmac(SIGNING_KEY, batch.as_bytes())));
    let r = post(
        &url,
        &[
            ("content-type", "application/cloudevents-batch+json"),
            ("x-portal-signature", &signature),
        ],
        &batch,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 8);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"accepted": 8}));
    // Signed under another key: refused.
    let bad = format!("sha256={}", hex(&hmac("wrong", batch.as_bytes())));
    let r = post(
        &url,
        &[
            ("content-type", "application/cloudevents-batch+json"),
            ("x-portal-signature", &bad),
        ],
        &batch,
    )
    .await;
    assert_eq!(r.status(), 401);

    let items = all_touchpoints(&server, &key, "acme", 1000).await;
    assert_eq!(items.len(), 8);
    assert_eq!(
        kinds(&items),
        [
            "custom:com.portal.quote.viewed",
            "download",
            "download",
            "equipment-registered",
            "portal-login",
            "support-ticket",
            "support-ticket",
            "usage-alert",
        ]
    );
    assert!(items.iter().all(|i| i["channel"] == "portal"));
    let login = by_id(
        &items,
        "https://portal.nordmill.example/eu#evt_01HX4A0B1C2D3E4F5G6H7J8K9M",
    );
    assert_eq!(login["kind"], "portal-login");
    let alert = by_id(
        &items,
        "urn:nordmill:iiot:gateway:sundsvik-tm3#0b9d6f1a-3c4e-4a7b-9e2d-5f8a1c3b7d60",
    );
    assert_eq!(alert["kind"], "usage-alert");
    // An alert without a contact concerns the account only.
    assert!(
        alert["touchpoint"]["identities"]["email"].is_null(),
        "{alert}"
    );
    assert!(
        alert["touchpoint"]["identities"]["account_id"].is_string(),
        "{alert}"
    );

    // Deliver an in-portal notification: 500, then 201 with the id.
    let message = json!({
        "idempotency_key": "portal-nurture-1",
        "recipient": {"user_id": "u-20931", "email": "mikko.lahti@kaskinen-board.example"},
        "subject": "New datasheet for your RM800",
        "text": "The updated datasheet is in your documents.",
    });
    let first = deliver(&server, "acme", "portal", &message).await;
    assert_eq!(first["delivery"]["status"], "retry-after", "{first}");
    assert_eq!(first["delivery"]["detail"], "30", "{first}");
    let second = deliver(&server, "acme", "portal", &message).await;
    assert_eq!(second["delivery"]["status"], "accepted", "{second}");
    assert_eq!(second["delivery"]["provider_id"], "notif-20931-77");
    assert_eq!(second["delivery"]["attempts"], 2);
    let third = deliver(&server, "acme", "portal", &message).await;
    assert_eq!(third["duplicate"], true, "{third}");

    let seen = portal.requests();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let bearer = format!("Bearer {API_KEY}");
    assert_requests(
        &seen,
        "POST /api/v1/notifications HTTP/1.1",
        &[
            ("idempotency-key", "portal-nurture-1"),
            ("authorization", bearer.as_str()),
        ],
    );
    for request in &seen {
        let body: Value = serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(
            body["recipient"],
            json!({"user_id": "u-20931", "email": "mikko.lahti@kaskinen-board.example"})
        );
        assert_eq!(body["title"], "New datasheet for your RM800");
    }
}

#[tokio::test]
async fn events_eventbrite_webhooks_and_badge_scans_land_behind_the_token() {
    const TOKEN: &str = "tok_e2e_9Qw2xLp4";
    const EB_TOKEN: &str = "EBPRIVATE-e2e";
    let eventbrite = StandIn::routed(vec![
        (
            "POST /v3/events/735511950087/invitations/ ",
            201,
            "",
            r#"{"id": "inv-5501"}"#.to_string(),
        ),
        (
            "GET /v3/events/735511950087/attendees/10522000101/ ",
            200,
            "",
            fixture("eventbrite/attendee-attending.json"),
        ),
        (
            "GET /v3/events/735511950087/attendees/10522000202/ ",
            200,
            "",
            fixture("eventbrite/attendee-not-attending.json"),
        ),
        (
            "GET /v3/orders/8812345001/?expand=attendees ",
            200,
            "",
            fixture("eventbrite/order-placed.json"),
        ),
    ]);
    let dir = warm_data_dir();
    let server = Server::start(dir.path(), &[]);
    let key = server.tenant("acme");
    server.cli_ok(&[
        "connector",
        "enable",
        "acme",
        "fairs",
        "--plugin",
        "events",
        "--secret",
        &format!("webhook-token={TOKEN}"),
        "--secret",
        &format!("eventbrite-token={EB_TOKEN}"),
        "--config",
        &format!("api-base-url={}", eventbrite.url),
        "--grant-host",
        eventbrite.authority(),
        "--grant-private-networks",
    ]);
    let base = format!("{}/ingest/acme/fairs", server.url);
    let json_type = [("content-type", "application/json")];

    // A wrong or missing token: refused before anything is fetched.
    let updated = fixture("eventbrite/webhook-attendee-updated.json");
    for query in ["?token=wrong", ""] {
        let r = post(&format!("{base}/eventbrite{query}"), &json_type, &updated).await;
        assert_eq!(r.status(), 401, "{query:?}");
    }
    let scans = fixture("badge-scans/scans.csv");
    let r = post(
        &format!("{base}/scans?token=wrong"),
        &[("content-type", "text/csv")],
        &scans,
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(eventbrite.requests().is_empty());

    // attendee.updated: the attendee is fetched from the stand-in API.
    let r = post(
        &format!("{base}/eventbrite?token={TOKEN}"),
        &json_type,
        &updated,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 1);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"action": "attendee.updated", "status": "ok", "touchpoints": 1})
    );
    let r = post(
        &format!("{base}/eventbrite?token={TOKEN}"),
        &json_type,
        &fixture("eventbrite/webhook-attendee-not-attending.json"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 1);
    // order.placed: the order is fetched with its attendees, one each.
    let r = post(
        &format!("{base}/eventbrite?token={TOKEN}"),
        &json_type,
        &fixture("eventbrite/webhook-order-placed.json"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 2);
    let seen = eventbrite.requests();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    let bearer = format!("Bearer {EB_TOKEN}");
    assert_requests(
        &seen[..1],
        "GET /v3/events/735511950087/attendees/10522000101/ HTTP/1.1",
        &[("authorization", bearer.as_str())],
    );
    assert_requests(
        &seen[1..2],
        "GET /v3/events/735511950087/attendees/10522000202/ HTTP/1.1",
        &[("authorization", bearer.as_str())],
    );
    assert_requests(
        &seen[2..],
        "GET /v3/orders/8812345001/?expand=attendees HTTP/1.1",
        &[("authorization", bearer.as_str())],
    );

    // The lead-retrieval app's CSV export.
    let r = post(
        &format!("{base}/scans?token={TOKEN}"),
        &[("content-type", "text/csv")],
        &scans,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-stored"), 3);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"accepted": 3}));
    // Uploaded twice: the same rows, stored once.
    let r = post(
        &format!("{base}/scans?token={TOKEN}"),
        &[("content-type", "text/csv")],
        &scans,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header::<usize>(&r, "x-leadhost-duplicates"), 3);

    let items = all_touchpoints(&server, &key, "acme", 1000).await;
    assert_eq!(items.len(), 7, "{items:#?}");
    assert!(items.iter().all(|i| i["channel"] == "events"));
    assert_eq!(
        kinds(&items),
        [
            "badge-scanned",
            "badge-scanned",
            "event-attended",
            "event-no-show",
            "event-registered",
            "event-registered",
            "event-registered",
        ]
    );
    let mut ordered: Vec<&str> = items
        .iter()
        .filter(|i| {
            i["external_id"]
                .as_str()
                .unwrap()
                .contains(":order.placed:")
        })
        .map(|i| i["touchpoint"]["identities"]["email"].as_str().unwrap())
        .collect();
    ordered.sort_unstable();
    assert_eq!(
        ordered,
        [
            "jane.koski@pohjola-paper.example",
            "pekka.niemi@pohjola-paper.example"
        ]
    );
    let registered = items
        .iter()
        .find(|i| {
            i["kind"] == "event-registered"
                && i["external_id"]
                    .as_str()
                    .unwrap()
                    .starts_with("eventbrite:10522000101:attendee.updated:")
        })
        .unwrap_or_else(|| panic!("no attendee.updated registration in {items:#?}"));
    assert_eq!(
        registered["touchpoint"]["identities"]["email"],
        "jane.koski@pohjola-paper.example"
    );
    assert_eq!(
        registered["touchpoint"]["properties"]["content_id"],
        "735511950087"
    );
    // Registered at the attendee's `created`, 2024-04-18T13:04:10Z.
    assert_eq!(registered["occurred_at"], 1_713_445_450_000_i64);
    let scanned: Vec<&Value> = items
        .iter()
        .filter(|i| i["kind"] == "badge-scanned")
        .collect();
    let mut emails: Vec<&str> = scanned
        .iter()
        .map(|i| i["touchpoint"]["identities"]["email"].as_str().unwrap())
        .collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        [
            "jane.koski@pohjola-paper.example",
            "pekka.niemi@pohjola-paper.example"
        ]
    );
    assert!(
        scanned
            .iter()
            .all(|i| i["external_id"].as_str().unwrap().starts_with("scan:"))
    );
    // Row 2: 2024-05-14T10:05:00+03:00.
    assert!(
        scanned
            .iter()
            .any(|i| i["occurred_at"] == 1_715_670_300_000_i64)
    );
    let session = items
        .iter()
        .find(|i| i["kind"] == "event-attended")
        .unwrap();
    assert_eq!(
        session["touchpoint"]["identities"]["email"],
        "mikko.lahti@gmail.com"
    );
    assert_eq!(session["touchpoint"]["properties"]["content_id"], "S-07");

    // Invitations go out through the same platform's API, once per key.
    let message = json!({
        "idempotency_key": "invite-jane-expo",
        "recipient": {"email": "jane.koski@pohjola-paper.example"},
        "recipient_name": "Jane Koski",
        "subject": "See the PM3 rebuild at Pulp Expo",
        "text": "Meet us at booth H2-114.",
        "other": [{"name": "event_id", "value": "735511950087"}],
    });
    let first = deliver(&server, "acme", "fairs", &message).await;
    assert_eq!(first["delivery"]["status"], "accepted", "{first}");
    assert_eq!(first["delivery"]["provider_id"], "inv-5501");
    let again = deliver(&server, "acme", "fairs", &message).await;
    assert_eq!(again["duplicate"], true);
    let invitations: Vec<String> = eventbrite
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("POST /v3/events/735511950087/invitations/ "))
        .collect();
    assert_eq!(invitations.len(), 1, "one key, one send");
    let lower = invitations[0].to_ascii_lowercase();
    assert!(
        lower.contains("idempotency-key: invite-jane-expo"),
        "{}",
        invitations[0]
    );
    assert!(
        lower.contains(&format!(
            "authorization: bearer {}",
            EB_TOKEN.to_ascii_lowercase()
        )),
        "{}",
        invitations[0]
    );
    assert!(
        invitations[0].contains("jane.koski@pohjola-paper.example"),
        "{}",
        invitations[0]
    );
}
