//! A plugin that misbehaves on request, for the host's isolation tests. The
//! ingest path picks the misbehaviour; `/ok` behaves.

use leadhost_sdk::prelude::*;

struct Chaos;

fn touchpoint(id: String) -> Touchpoint {
    Touchpoint {
        external_id: id,
        occurred_at: Some(1_700_000_000_000),
        channel: Channel::Other,
        kind: TouchpointKind::Custom("chaos".into()),
        ..Touchpoint::default()
    }
}

fn ok(body: &str) -> Response {
    Response::text(200, body.as_bytes().to_vec())
}

impl Connector for Chaos {
    fn describe() -> Manifest {
        Manifest {
            name: "chaos".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Misbehaves on request (tests only)".into(),
            channels: vec![Channel::Other],
            operations: Operations {
                ingest: true,
                poll: true,
                deliver: true,
            },
            config: vec![
                ConfigField {
                    name: "base-url".into(),
                    description: "where deliveries go".into(),
                    value_type: ConfigType::Url,
                    required: false,
                    default_value: Some("http://127.0.0.1:9".into()),
                },
                ConfigField {
                    name: "greeting".into(),
                    description: "echoed by /config".into(),
                    value_type: ConfigType::Text,
                    required: false,
                    default_value: None,
                },
            ],
            secrets: vec![SecretField {
                name: "signing-key".into(),
                description: "signs /signed bodies".into(),
                required: false,
            }],
            capabilities: Capabilities {
                outbound_hosts: vec!["127.0.0.1".into(), "{config:base-url}".into()],
                state: true,
            },
        }
    }

    fn ingest(request: Request) -> Result<Ingested, IngestError> {
        let reply = match request.path.as_str() {
            "/ok" => {
                let id = request.query_param("id").unwrap_or_else(|| "ok-1".into());
                return Ok(Ingested {
                    touchpoints: vec![touchpoint(id)],
                    reply: ok("fine"),
                });
            }
            "/loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "/bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "/panic" => panic!("chaos plugin panics on purpose"),
            "/huge" => {
                let touchpoints = (0..20_000)
                    .map(|i| touchpoint(format!("huge-{i}")))
                    .collect();
                return Ok(Ingested {
                    touchpoints,
                    reply: ok("huge"),
                });
            }
            "/bad-id" => {
                return Ok(Ingested {
                    touchpoints: vec![touchpoint(String::new())],
                    reply: ok("bad"),
                });
            }
            "/fetch" => {
                let url = request
                    .query_param("url")
                    .ok_or_else(|| IngestError::Malformed("url= is required".into()))?;
                match http::send(
                    http::OutboundRequest::new("GET", &url)
                        .with_header("authorization", "Bearer {{secret:signing-key}}"),
                ) {
                    Ok(r) => ok(&format!(
                        "{} {}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    )),
                    Err(e) => return Err(IngestError::Internal(e.to_string())),
                }
            }
            "/state" => {
                let n = state::get("counter")
                    .map_err(|e| IngestError::Internal(e.to_string()))?
                    .map(|v| u64::from_le_bytes(v.try_into().unwrap_or_default()))
                    .unwrap_or(0);
                state::set("counter", &(n + 1).to_le_bytes())
                    .map_err(|e| IngestError::Internal(e.to_string()))?;
                ok(&format!("{}", n + 1))
            }
            "/signed" => {
                let secret = Secret::open("signing-key")
                    .map_err(|e| IngestError::Misconfigured(e.to_string()))?;
                let signature = request
                    .header("x-signature")
                    .and_then(|h| {
                        (0..h.len())
                            .step_by(2)
                            .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                            .collect::<Option<Vec<u8>>>()
                    })
                    .ok_or_else(|| IngestError::Unauthorized("x-signature is missing".into()))?;
                if !secret.verify(Algorithm::HmacSha256, &request.body, &signature) {
                    return Err(IngestError::Unauthorized("bad signature".into()));
                }
                ok("signed")
            }
            "/config" => ok(&config::get("greeting").unwrap_or_else(|| "none".into())),
            "/sign" => {
                let secret = Secret::open("signing-key")
                    .map_err(|e| IngestError::Misconfigured(e.to_string()))?;
                let mac = secret
                    .sign(Algorithm::HmacSha256, &request.body)
                    .map_err(|e| IngestError::Internal(e.to_string()))?;
                let refused = secret
                    .sign(Algorithm::EcdsaP256Sha256, &request.body)
                    .is_err();
                let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
                ok(&format!("{hex} ecdsa-refused:{refused}"))
            }
            "/escape" => {
                // What a plugin can reach without grants: nothing.
                let fs = match std::fs::read_dir("/") {
                    Ok(_) => "fs:open",
                    Err(_) => "fs:denied",
                };
                let file = match std::fs::read("/etc/passwd") {
                    Ok(_) => "file:open",
                    Err(_) => "file:denied",
                };
                let env = format!("env:{}", std::env::vars().count());
                let args = format!("args:{}", std::env::args().count());
                let socket = match std::net::TcpStream::connect("127.0.0.1:80") {
                    Ok(_) => "socket:open",
                    Err(_) => "socket:denied",
                };
                ok(&format!("{fs} {file} {env} {args} {socket}"))
            }
            other => return Err(IngestError::NotFound(format!("no such chaos: {other}"))),
        };
        Ok(Ingested {
            touchpoints: Vec::new(),
            reply,
        })
    }
    /// Three pages of ten touchpoints; the cursor is the page number.
    fn poll(cursor: Option<String>) -> Result<Polled, PollError> {
        let page: u32 = match cursor {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| PollError::Internal(format!("bad cursor {c:?}")))?,
        };
        let touchpoints = (page * 10..page * 10 + 10)
            .map(|i| touchpoint(format!("polled-{i}")))
            .collect();
        Ok(Polled {
            touchpoints,
            next_cursor: Some((page + 1).to_string()),
            more: page < 2,
        })
    }

    /// Posts the message to `base-url`/send with its idempotency key.
    fn deliver(message: Message) -> Delivery {
        let Some(base) = config::get("base-url") else {
            return Delivery::Rejected(Rejection {
                reason: RejectionReason::Misconfigured,
                message: "no base-url".into(),
            });
        };
        let body = format!(
            "{{\"to\":{:?},\"text\":{:?}}}",
            message.recipient.email.unwrap_or_default(),
            message.text
        );
        let request = http::OutboundRequest::new("POST", &format!("{base}/send"))
            .with_header("idempotency-key", &message.idempotency_key)
            .with_body(body);
        match http::send(request) {
            Ok(r) if (200..300).contains(&r.status) => {
                Delivery::Accepted(String::from_utf8_lossy(&r.body).into_owned())
            }
            Ok(r) if r.status == 429 || r.status >= 500 => Delivery::RetryAfter(
                r.header("retry-after")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(30),
            ),
            Ok(r) => Delivery::Rejected(Rejection {
                reason: RejectionReason::ContentRefused,
                message: format!("status {}", r.status),
            }),
            Err(_) => Delivery::RetryAfter(30),
        }
    }
}

/// Answers without calling anyone, so a test sees which export the host
/// used: `batch:KEY` per message, or one answer short when any message's
/// text is `short`, or a panic for `panic`.
impl BatchConnector for Chaos {
    fn deliver_batch(messages: Vec<Message>) -> Vec<Delivery> {
        if messages.iter().any(|m| m.text == "panic") {
            panic!("deliver-batch was told to panic");
        }
        let short = messages.iter().any(|m| m.text == "short");
        let mut out: Vec<Delivery> = messages
            .into_iter()
            .map(|m| Delivery::Accepted(format!("batch:{}", m.idempotency_key)))
            .collect();
        if short {
            out.pop();
        }
        out
    }
}

export_batch_connector!(Chaos);

/// The SDK's native harness, exercised through this plugin's well-behaved paths.
#[cfg(test)]
mod tests {
    use super::*;
    use leadhost_sdk::http::OutboundResponse;
    use leadhost_sdk::testing::{MockHost, mac};

    fn fetch(url: &str) -> Request {
        Request::new("POST", &format!("/fetch?url={url}"))
    }

    #[test]
    fn outbound_calls_are_recorded_with_secrets_filled_in() {
        let mut host = MockHost::new()
            .secret("signing-key", "t0ken")
            .grant_host("127.0.0.1:9")
            .respond("http://127.0.0.1:9/", OutboundResponse::new(200, "pong"));
        let out = host
            .ingest::<Chaos>(fetch("http://127.0.0.1:9/ping"))
            .unwrap();
        assert_eq!(out.reply.body, b"200 pong");
        let sent = host.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].url, "http://127.0.0.1:9/ping");
        assert_eq!(
            sent[0].headers,
            vec![("authorization".to_string(), "Bearer t0ken".to_string())]
        );
    }

    #[test]
    fn ungranted_hosts_are_denied_and_not_recorded() {
        let mut host = MockHost::new().secret("signing-key", "t0ken");
        let err = host
            .ingest::<Chaos>(fetch("http://example.com/"))
            .unwrap_err();
        assert!(
            matches!(&err, IngestError::Internal(m) if m.contains("denied")),
            "{err:?}"
        );
        assert!(host.requests().is_empty());
    }

    #[test]
    fn state_needs_the_grant_and_persists_across_calls() {
        let mut denied = MockHost::new();
        assert!(
            denied
                .ingest::<Chaos>(Request::new("POST", "/state"))
                .is_err()
        );
        let mut host = MockHost::new().grant_state();
        for expected in ["1", "2", "3"] {
            let out = host
                .ingest::<Chaos>(Request::new("POST", "/state"))
                .unwrap();
            assert_eq!(out.reply.body, expected.as_bytes());
        }
        assert_eq!(host.state()["counter"], 3u64.to_le_bytes().to_vec());
    }

    #[test]
    fn signatures_are_checked_with_the_secret() {
        let mut host = MockHost::new().secret("signing-key", "k");
        let body = b"{}".to_vec();
        let hex: String = mac(Algorithm::HmacSha256, b"k", &body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let ok = host
            .ingest::<Chaos>(
                Request::new("POST", "/signed")
                    .with_header("X-Signature", &hex)
                    .with_body(body.clone()),
            )
            .unwrap();
        assert_eq!(ok.reply.body, b"signed");
        let bad = host.ingest::<Chaos>(
            Request::new("POST", "/signed")
                .with_header("x-signature", "00")
                .with_body(body),
        );
        assert!(matches!(bad, Err(IngestError::Unauthorized(_))));
    }

    #[test]
    fn config_falls_back_to_nothing_without_a_default() {
        let mut host = MockHost::new().config("greeting", "moi");
        let out = host
            .ingest::<Chaos>(Request::new("POST", "/config"))
            .unwrap();
        assert_eq!(out.reply.body, b"moi");
        let out = MockHost::new()
            .ingest::<Chaos>(Request::new("POST", "/config"))
            .unwrap();
        assert_eq!(out.reply.body, b"none");
    }
}
