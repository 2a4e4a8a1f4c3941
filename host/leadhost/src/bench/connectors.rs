//! `leadhost bench connectors`: each bundled connector's main inbound format,
//! signed as its provider signs it, parsed through the runtime (a fresh
//! instance per request, as the server does). Prints touchpoints per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use leadhost_core::signature::{MacAlgorithm, mac};
use leadhost_runtime::{Binding, HttpRequest, Plugin, Runtime, RuntimeConfig};
use serde_json::{Value, json};

const SEGMENT_BATCH: &str = include_str!("../../../../tests/fixtures/segment/batch.json");
const SENDGRID_EVENTS: &str = include_str!("../../../../tests/fixtures/sendgrid/events.json");
const META_FEED: &str = include_str!("../../../../tests/fixtures/meta/feed.json");
const SHOPIFY_ORDER: &str = include_str!("../../../../tests/fixtures/shopify/orders-create.json");
const PORTAL_BATCH: &str = include_str!("../../../../tests/fixtures/portal/batch.json");
const BADGE_SCANS: &str = include_str!("../../../../tests/fixtures/badge-scans/scans.csv");

/// One connector's benchmark input: its secrets and a request.
struct Case {
    plugin: &'static str,
    format: &'static str,
    secrets: Vec<(&'static str, Vec<u8>)>,
    request: HttpRequest,
}

impl Case {
    /// A binding as an operator would set it up for the benchmark.
    fn binding(&self) -> Binding {
        let mut b = Binding::new("bench", self.plugin);
        b.grants.timeout = Duration::from_secs(10);
        b.grants.memory_bytes = 128 << 20;
        for (name, value) in &self.secrets {
            b.secrets.insert((*name).to_string(), value.clone());
        }
        b
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn post(path: &str, headers: Vec<(&str, String)>, body: String) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        headers: headers
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
        body: body.into_bytes(),
    }
}

/// Repeats the items of a JSON array `n` times, giving each copy new ids.
fn replicate(items: &[Value], n: usize, renumber: impl Fn(&mut Value, usize)) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut item = items[i % items.len()].clone();
            renumber(&mut item, i);
            item
        })
        .collect()
}

fn cases(per_request: usize) -> anyhow::Result<Vec<Case>> {
    let mut out = Vec::new();

    // web: a Segment /v1/batch.
    let batch: Value = serde_json::from_str(SEGMENT_BATCH)?;
    let events = replicate(
        batch["batch"].as_array().context("batch")?,
        per_request,
        |e, i| {
            e["messageId"] = json!(format!("bench-{i}"));
        },
    );
    let auth = base64::engine::general_purpose::STANDARD.encode("wk:");
    out.push(Case {
        plugin: "web",
        format: "Segment /v1/batch",
        secrets: vec![("write-key", b"wk".to_vec())],
        request: post(
            "/v1/batch",
            vec![("authorization", format!("Basic {auth}"))],
            json!({"batch": events}).to_string(),
        ),
    });

    // email: a SendGrid event batch, signed with ECDSA P-256.
    use p256::ecdsa::{Signature, SigningKey, signature::Signer};
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let key = SigningKey::from_slice(&[42u8; 32]).context("a P-256 key")?;
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .context("PEM")?;
    let events: Vec<Value> = serde_json::from_str(SENDGRID_EVENTS)?;
    let events = replicate(&events, per_request, |e, i| {
        e["sg_event_id"] = json!(format!("bench-{i}"));
    });
    let body = Value::Array(events).to_string();
    let timestamp = "1714566600";
    let signature: Signature = key.sign(format!("{timestamp}{body}").as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes());
    out.push(Case {
        plugin: "email",
        format: "SendGrid event webhook (ECDSA-signed)",
        secrets: vec![("sendgrid-verification-key", public.as_bytes().to_vec())],
        request: post(
            "/sendgrid",
            vec![
                ("x-twilio-email-event-webhook-signature", signature),
                ("x-twilio-email-event-webhook-timestamp", timestamp.into()),
                ("content-type", "application/json".into()),
            ],
            body,
        ),
    });

    // social: a Meta page feed notification (engagement), HMAC-signed.
    let feed: Value = serde_json::from_str(META_FEED)?;
    let entries = replicate(
        feed["entry"].as_array().context("entry")?,
        per_request,
        |e, i| {
            e["time"] = json!(1_714_653_000 + i);
        },
    );
    let body = json!({"object": "page", "entry": entries}).to_string();
    let signature = hex(&mac(
        MacAlgorithm::HmacSha256,
        b"app-secret",
        body.as_bytes(),
    ));
    out.push(Case {
        plugin: "social",
        format: "Meta page feed webhook (HMAC-signed)",
        secrets: vec![("meta-app-secret", b"app-secret".to_vec())],
        request: post(
            "/meta",
            vec![("x-hub-signature-256", format!("sha256={signature}"))],
            body,
        ),
    });

    // eservices: one Shopify orders/create webhook (one order per request).
    let signature = base64::engine::general_purpose::STANDARD.encode(mac(
        MacAlgorithm::HmacSha256,
        b"shop-secret",
        SHOPIFY_ORDER.as_bytes(),
    ));
    out.push(Case {
        plugin: "eservices",
        format: "Shopify orders/create webhook (HMAC-signed, 1 order)",
        secrets: vec![("webhook-secret", b"shop-secret".to_vec())],
        request: post(
            "/webhooks",
            vec![
                ("x-shopify-topic", "orders/create".into()),
                ("x-shopify-hmac-sha256", signature),
                ("x-shopify-webhook-id", "bench-1".into()),
                ("content-type", "application/json".into()),
            ],
            SHOPIFY_ORDER.to_string(),
        ),
    });

    // portal: a CloudEvents batch, HMAC-signed.
    let events: Vec<Value> = serde_json::from_str(PORTAL_BATCH)?;
    let events = replicate(&events, per_request, |e, i| {
        e["id"] = json!(format!("bench-{i}"));
    });
    let body = Value::Array(events).to_string();
    let signature = hex(&mac(
        MacAlgorithm::HmacSha256,
        b"portal-key",
        body.as_bytes(),
    ));
    out.push(Case {
        plugin: "portal",
        format: "CloudEvents batch (HMAC-signed)",
        secrets: vec![("signing-key", b"portal-key".to_vec())],
        request: post(
            "/events",
            vec![
                ("x-portal-signature", format!("sha256={signature}")),
                ("content-type", "application/cloudevents-batch+json".into()),
            ],
            body,
        ),
    });

    // events: a CSV upload of badge scans.
    let mut lines = BADGE_SCANS.lines();
    let header = lines.next().context("a header row")?;
    let first_row = lines.next().context("a row")?;
    let mut csv = format!("{header}\r\n");
    for i in 0..per_request {
        // Give each row its own badge id so it is its own scan.
        csv.push_str(&first_row.replacen("B-20417", &format!("B-{i:06}"), 1));
        csv.push_str("\r\n");
    }
    let mut request = post("/scans", vec![("content-type", "text/csv".into())], csv);
    request.query = "token=scan-token".into();
    out.push(Case {
        plugin: "events",
        format: "badge-scan CSV upload",
        secrets: vec![("webhook-token", b"scan-token".to_vec())],
        request,
    });
    Ok(out)
}

/// Runs one case for `duration` on `threads` threads; touchpoints per second.
fn measure(
    runtime: &Arc<Runtime>,
    plugin: &Arc<Plugin>,
    case: &Case,
    threads: usize,
    duration: Duration,
) -> anyhow::Result<(f64, usize)> {
    let binding = Arc::new(case.binding());
    // One call first: it must succeed and say how many touchpoints a request gives.
    let per_request = match runtime.ingest(plugin, &binding, case.request.clone())? {
        Ok(out) => out.touchpoints.len(),
        Err(refusal) => bail!(
            "{} refused the benchmark request: {} {}",
            case.plugin,
            refusal.kind,
            refusal.message
        ),
    };
    let started = Instant::now();
    let totals: Vec<anyhow::Result<usize>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<usize> {
                    let mut touchpoints = 0;
                    while started.elapsed() < duration {
                        match runtime.ingest(plugin, &binding, case.request.clone())? {
                            Ok(out) => touchpoints += out.touchpoints.len(),
                            Err(r) => bail!("refused: {}", r.message),
                        }
                    }
                    Ok(touchpoints)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a worker panicked")))
            })
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut total = 0;
    for t in totals {
        total += t?;
    }
    Ok((total as f64 / elapsed, per_request))
}

pub fn run(per_request: usize, seconds: f64, threads: usize) -> anyhow::Result<()> {
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default())?);
    let duration = Duration::from_secs_f64(seconds);
    println!(
        "{:<10} {:<48} {:>8} {:>16} {:>16}",
        "connector",
        "format",
        "per req",
        "1 thread tp/s",
        format!("{threads} threads tp/s")
    );
    for case in cases(per_request)? {
        let bundled = leadhost_plugins::bundled(case.plugin)
            .with_context(|| format!("{} is not bundled", case.plugin))?;
        let plugin = Arc::new(runtime.load(bundled.wasm)?);
        let (one, per) = measure(&runtime, &plugin, &case, 1, duration)?;
        let (many, _) = measure(&runtime, &plugin, &case, threads, duration)?;
        println!(
            "{:<10} {:<48} {:>8} {:>16.0} {:>16.0}",
            case.plugin, case.format, per, one, many
        );
    }
    Ok(())
}
