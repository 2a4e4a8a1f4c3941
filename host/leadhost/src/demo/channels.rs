//! The demo's traffic for the five channels beside the web: for the people
//! the web traffic identified, in each provider's real format, signed as the
//! provider signs it (shapes from `tests/fixtures/`).

use base64::Engine;
use leadhost_core::signature::{MacAlgorithm, mac};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};

use crate::traffic::{Seeded, iso};

const META_FEED: &str = include_str!("../../../../tests/fixtures/meta/feed.json");
const SHOPIFY_ORDER: &str = include_str!("../../../../tests/fixtures/shopify/orders-create.json");
const PORTAL_LOGIN: &str = include_str!("../../../../tests/fixtures/portal/login.json");
const PORTAL_DOWNLOAD: &str =
    include_str!("../../../../tests/fixtures/portal/document-downloaded.json");

/// A person the web traffic identified.
#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub first: String,
    pub last: String,
    pub company: String,
}

/// A connector to enable: name, plugin and its settings.
pub struct Setup {
    pub connector: &'static str,
    pub plugin: &'static str,
    pub settings: Value,
}

/// One signed request for a connector.
pub struct Signed {
    pub connector: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub events: usize,
}

/// The secrets the demo's senders sign with.
pub struct Keys {
    sendgrid: SigningKey,
}

const SHOP_SECRET: &[u8] = b"demo-shop-secret";
const META_SECRET: &[u8] = b"demo-meta-app-secret";
const PORTAL_SECRET: &[u8] = b"demo-portal-signing-key";
const SCAN_TOKEN: &str = "demo-scan-token";

impl Keys {
    pub fn new() -> anyhow::Result<Keys> {
        Ok(Keys {
            sendgrid: SigningKey::from_slice(&[11u8; 32])?,
        })
    }

    /// The five connectors, configured with the keys their senders use.
    pub fn setups(&self) -> anyhow::Result<Vec<Setup>> {
        let public = self
            .sendgrid
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)?;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(vec![
            Setup {
                connector: "newsletter",
                plugin: "email",
                settings: json!({"plugin": "email", "config": {"from-email": "news@example-drying.com"},
                    "secrets": {"sendgrid-verification-key": public}}),
            },
            Setup {
                connector: "facebook",
                plugin: "social",
                settings: json!({"plugin": "social", "secrets": {"meta-app-secret": text(META_SECRET)}}),
            },
            Setup {
                connector: "shop",
                plugin: "eservices",
                settings: json!({"plugin": "eservices", "secrets": {"webhook-secret": text(SHOP_SECRET)}}),
            },
            Setup {
                connector: "portal",
                plugin: "portal",
                settings: json!({"plugin": "portal", "secrets": {"signing-key": text(PORTAL_SECRET)}}),
            },
            Setup {
                connector: "expo",
                plugin: "events",
                settings: json!({"plugin": "events", "secrets": {"webhook-token": SCAN_TOKEN}}),
            },
        ])
    }

    /// Signed traffic for `people`: newsletter events, social comments, shop
    /// orders, portal logins and downloads, and badge scans at a fair.
    pub fn traffic(
        &self,
        people: &[Person],
        rng: &mut Seeded,
        start_ms: i64,
    ) -> anyhow::Result<Vec<Signed>> {
        let mut out = Vec::new();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();

        // SendGrid: delivered and opened for everyone, some clicks.
        let mut events = Vec::new();
        for (i, p) in people.iter().enumerate() {
            let t = start_ms / 1000 + 86_400 * 7 + i as i64 * 60;
            let message_id = format!("demo-{i}.filter0001p1las1");
            for (n, event) in ["delivered", "open", "click"].iter().enumerate() {
                if *event == "click" && rng.below(2) == 0 {
                    continue;
                }
                let mut e = json!({"email": p.email, "timestamp": t + n as i64 * 300, "event": event,
                    "sg_event_id": format!("demo-{i}-{event}"), "sg_message_id": message_id,
                    "category": ["spring-newsletter"]});
                if *event == "click" {
                    e["url"] =
                        json!("https://www.example-drying.com/webinars/predictive-maintenance");
                }
                events.push(e);
            }
        }
        for chunk in events.chunks(100) {
            let body = Value::Array(chunk.to_vec()).to_string();
            let timestamp = (start_ms / 1000).to_string();
            let signature: Signature = self.sendgrid.sign(format!("{timestamp}{body}").as_bytes());
            out.push(Signed {
                connector: "newsletter",
                path: "/sendgrid".into(),
                headers: vec![
                    (
                        "x-twilio-email-event-webhook-signature",
                        base64::engine::general_purpose::STANDARD
                            .encode(signature.to_der().as_bytes()),
                    ),
                    ("x-twilio-email-event-webhook-timestamp", timestamp),
                    ("content-type", "application/json".into()),
                ],
                body: body.into_bytes(),
                events: chunk.len(),
            });
        }

        // Meta: comments on the company page, from people on Facebook.
        let feed: Value = serde_json::from_str(META_FEED)?;
        let template = &feed["entry"][0];
        let entries: Vec<Value> = people
            .iter()
            .enumerate()
            .filter(|_| rng.below(3) == 0)
            .map(|(i, p)| {
                let mut e = template.clone();
                let change = &mut e["changes"][0]["value"];
                change["from"] = json!({"id": format!("70000000{i:06}"), "name": format!("{} {}", p.first, p.last)});
                change["comment_id"] = json!(format!("822233445566778_{i}"));
                change["created_time"] = json!(start_ms / 1000 + i as i64 * 97);
                e["changes"] = json!([e["changes"][0].clone()]);
                e
            })
            .collect();
        let count = entries.len();
        if count > 0 {
            let body = json!({"object": "page", "entry": entries}).to_string();
            let signature = hex(&mac(MacAlgorithm::HmacSha256, META_SECRET, body.as_bytes()));
            out.push(Signed {
                connector: "facebook",
                path: "/meta".into(),
                headers: vec![("x-hub-signature-256", format!("sha256={signature}"))],
                body: body.into_bytes(),
                events: count,
            });
        }

        // Shopify: spare-part orders from a quarter of the people.
        for (i, p) in people.iter().enumerate().filter(|_| rng.below(4) == 0) {
            let body = SHOPIFY_ORDER
                .replace("jane.koski@pohjola-paper.example", &p.email)
                .replace("Jane", &p.first)
                .replace("Koski", &p.last)
                .replace("Pohjola Paper Oy", &p.company)
                .replace(
                    "2026-03-02T10:15:00+02:00",
                    &iso(start_ms + 86_400_000 * 20 + i as i64 * 3_600_000),
                );
            let signature = base64::engine::general_purpose::STANDARD.encode(mac(
                MacAlgorithm::HmacSha256,
                SHOP_SECRET,
                body.as_bytes(),
            ));
            out.push(Signed {
                connector: "shop",
                path: "/webhooks".into(),
                headers: vec![
                    ("x-shopify-topic", "orders/create".into()),
                    ("x-shopify-hmac-sha256", signature),
                    ("x-shopify-webhook-id", format!("demo-order-{i}")),
                    ("content-type", "application/json".into()),
                ],
                body: body.into_bytes(),
                events: 1,
            });
        }

        // Portal: customers log in and download manuals.
        let mut cloud_events = Vec::new();
        for (i, p) in people.iter().enumerate().filter(|_| rng.below(3) == 0) {
            for (n, template) in [PORTAL_LOGIN, PORTAL_DOWNLOAD].iter().enumerate() {
                let mut e: Value = serde_json::from_str(
                    &template
                        .replace("Mikko.Lahti@kaskinen-board.example", &p.email)
                        .replace("mikko.lahti@kaskinen-board.example", &p.email),
                )?;
                e["id"] = json!(format!("demo-{i}-{n}"));
                e["time"] = json!(iso(start_ms
                    + 86_400_000 * 10
                    + i as i64 * 600_000
                    + n as i64 * 60_000));
                cloud_events.push(e);
            }
        }
        if !cloud_events.is_empty() {
            let count = cloud_events.len();
            let body = Value::Array(cloud_events).to_string();
            let signature = hex(&mac(
                MacAlgorithm::HmacSha256,
                PORTAL_SECRET,
                body.as_bytes(),
            ));
            out.push(Signed {
                connector: "portal",
                path: "/events".into(),
                headers: vec![
                    ("x-portal-signature", format!("sha256={signature}")),
                    ("content-type", "application/cloudevents-batch+json".into()),
                ],
                body: body.into_bytes(),
                events: count,
            });
        }

        // A fair: badge scans at the booth, uploaded as CSV.
        let mut csv = String::from(
            "scanned_at,badge_id,email,first_name,last_name,company,event_id,booth,rating\r\n",
        );
        let mut rows = 0;
        let scanned: Vec<(usize, &Person)> = people
            .iter()
            .enumerate()
            .filter(|_| rng.below(3) == 0)
            .collect();
        for (i, p) in scanned {
            let rating = ["hot", "warm", "cold"][rng.below(3)];
            csv.push_str(&format!(
                "{},B-{i:05},{},{},{},\"{}\",pulp-expo-2026,H2-114,{rating}\r\n",
                iso(start_ms + 86_400_000 * 14 + i as i64 * 120_000),
                p.email,
                p.first,
                p.last,
                p.company
            ));
            rows += 1;
        }
        if rows > 0 {
            out.push(Signed {
                connector: "expo",
                path: format!("/scans?token={SCAN_TOKEN}"),
                headers: vec![("content-type", "text/csv".into())],
                body: csv.into_bytes(),
                events: rows,
            });
        }
        Ok(out)
    }
}
