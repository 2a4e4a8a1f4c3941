//! Real components, compiled from tests/plugins by the build: misbehaving
//! calls fail alone, capabilities are deny-by-default, foreign worlds are
//! refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leadhost_core::HostGrant;
use leadhost_plugins::test_plugins;
use leadhost_runtime::{
    Binding, BreakerPolicy, Grants, HttpRequest, InvokeError, LoadError, Plugin, Runtime,
    RuntimeConfig, StateBackend,
};

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig::default()).unwrap()
}

fn load(rt: &Runtime, path: &str) -> Plugin {
    rt.load(&std::fs::read(path).unwrap()).unwrap()
}

fn binding(name: &str) -> Binding {
    let mut b = Binding::new("acme", name);
    b.grants = Grants {
        timeout: Duration::from_millis(300),
        memory_bytes: 16 << 20,
        ..Grants::default()
    };
    b
}

fn get(path: &str) -> HttpRequest {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        query: query.into(),
        ..HttpRequest::default()
    }
}

fn reply_text(rt: &Runtime, p: &Plugin, b: &Arc<Binding>, path: &str) -> Result<String, String> {
    match rt.ingest(p, b, get(path)).unwrap() {
        Ok(ok) => Ok(String::from_utf8(ok.reply.body).unwrap()),
        Err(refusal) => Err(format!("{} {}", refusal.status, refusal.message)),
    }
}

#[test]
fn each_misbehaviour_fails_its_own_call_only() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    // A generous breaker so this test sees every failure kind.
    let bad = Arc::new(binding("bad").with_breaker(BreakerPolicy {
        failure_threshold: 100,
        cooldown: Duration::from_secs(60),
    }));
    let good = Arc::new(binding("good"));

    type Expect = fn(&InvokeError) -> bool;
    let cases: [(&str, Expect); 5] = [
        ("/loop", |e| matches!(e, InvokeError::Timeout(_))),
        ("/bomb", |e| matches!(e, InvokeError::MemoryLimit(_))),
        ("/panic", |e| matches!(e, InvokeError::Trap(_))),
        ("/huge", |e| matches!(e, InvokeError::OutputTooLarge(_))),
        ("/bad-id", |e| matches!(e, InvokeError::InvalidOutput(_))),
    ];
    for (path, expected) in cases {
        let err = rt.ingest(&chaos, &bad, get(path)).unwrap_err();
        assert!(expected(&err), "{path}: unexpected {err:?}");
        assert!(err.is_plugin_fault());
        // The same plugin keeps serving another binding, and this one too.
        let ok = rt
            .ingest(&chaos, &good, get("/ok?id=after"))
            .unwrap()
            .unwrap();
        assert_eq!(ok.touchpoints[0].external_id, "after");
    }
    let health = bad.health_report();
    assert_eq!(
        (
            health.timeouts,
            health.memory_limit_hits,
            health.traps,
            health.bad_output
        ),
        (1, 1, 1, 2)
    );
    assert_eq!(good.health_report().failures, 0);
}

#[test]
fn misbehaving_calls_run_concurrently_with_good_ones() {
    let rt = Arc::new(runtime());
    let chaos = Arc::new(load(&rt, test_plugins::CHAOS));
    let bad = Arc::new(binding("bad"));
    let good = Arc::new(binding("good"));
    let looping = {
        let (rt, chaos, bad) = (rt.clone(), chaos.clone(), bad.clone());
        std::thread::spawn(move || rt.ingest(&chaos, &bad, get("/loop")))
    };
    let mut served = 0;
    while !looping.is_finished() {
        let ok = rt.ingest(&chaos, &good, get("/ok")).unwrap().unwrap();
        assert_eq!(ok.touchpoints.len(), 1);
        served += 1;
    }
    assert!(matches!(
        looping.join().unwrap(),
        Err(InvokeError::Timeout(_))
    ));
    assert!(served > 0, "the good binding was served while the loop ran");
}

#[test]
fn the_breaker_opens_after_repeated_failures_and_recovers() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    let b = Arc::new(binding("flaky").with_breaker(BreakerPolicy {
        failure_threshold: 3,
        cooldown: Duration::from_millis(300),
    }));
    for _ in 0..3 {
        assert!(matches!(
            rt.ingest(&chaos, &b, get("/panic")),
            Err(InvokeError::Trap(_))
        ));
    }
    assert!(matches!(
        rt.ingest(&chaos, &b, get("/ok")),
        Err(InvokeError::CircuitOpen { .. })
    ));
    assert_eq!(b.health_report().breaker, "open");
    std::thread::sleep(Duration::from_millis(350));
    // The trial call succeeds and closes it.
    assert!(rt.ingest(&chaos, &b, get("/ok")).unwrap().is_ok());
    assert_eq!(b.health_report().breaker, "closed");
    assert_eq!(b.health_report().refused_open, 1);
}

fn message(key: &str, text: &str) -> leadhost_core::Message {
    leadhost_core::Message {
        idempotency_key: key.into(),
        recipient: leadhost_core::Identities {
            email: Some("jane@mill.example".into()),
            ..Default::default()
        },
        recipient_name: None,
        subject: None,
        text: text.into(),
        html: None,
        content_id: None,
        campaign: None,
        other: Vec::new(),
    }
}

fn accepted(id: &str) -> leadhost_core::DeliveryOutcome {
    leadhost_core::DeliveryOutcome::Accepted {
        provider_id: id.into(),
    }
}

#[test]
fn a_component_built_against_0_1_0_loads_and_works_unchanged() {
    let rt = runtime();
    let legacy = load(&rt, test_plugins::LEGACY);
    assert_eq!(legacy.contract(), "leadhost:channel@0.1.0");
    assert!(!legacy.batches());
    let b = Arc::new(binding("legacy"));
    // Its imports, named @0.1.0, are served by the host's @0.1.1 ones.
    assert_eq!(reply_text(&rt, &legacy, &b, "/hello"), Ok("/hello".into()));
    assert_eq!(
        rt.deliver(&legacy, &b, &message("k1", "hi")).unwrap(),
        accepted("legacy:k1")
    );
    // Without `deliver-batch` a batch is its `deliver`, message by message.
    let batch = [message("k2", "a"), message("k3", "b")];
    assert_eq!(
        rt.deliver_batch(&legacy, &b, &batch).unwrap(),
        [accepted("legacy:k2"), accepted("legacy:k3")]
    );
}

#[test]
fn a_batch_goes_to_deliver_batch_and_a_short_answer_fails_the_call() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    assert!(chaos.batches());
    assert_eq!(chaos.contract(), "leadhost:channel@0.1.1");
    let b = Arc::new(binding("batch"));
    let batch = [message("a", "x"), message("b", "x"), message("c", "x")];
    assert_eq!(
        rt.deliver_batch(&chaos, &b, &batch).unwrap(),
        [
            accepted("batch:a"),
            accepted("batch:b"),
            accepted("batch:c")
        ]
    );
    let short = [message("a", "x"), message("b", "short")];
    match rt.deliver_batch(&chaos, &b, &short) {
        Err(InvokeError::InvalidOutput(m)) => {
            assert!(m.contains("1 deliveries for 2 messages"), "{m}")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        rt.deliver_batch(&chaos, &b, &[message("a", "panic")]),
        Err(InvokeError::Trap(_))
    ));
    let too_many: Vec<_> = (0..=leadhost_runtime::MAX_BATCH)
        .map(|i| message(&i.to_string(), "x"))
        .collect();
    assert!(matches!(
        rt.deliver_batch(&chaos, &b, &too_many),
        Err(InvokeError::Host(_))
    ));
    // Each failure was its own call: the next batch goes through.
    assert_eq!(
        rt.deliver_batch(&chaos, &b, &batch[..1]).unwrap(),
        [accepted("batch:a")]
    );
}

#[test]
fn a_component_of_another_world_is_refused_by_name() {
    let rt = runtime();
    let err = rt
        .load(&std::fs::read(test_plugins::FOREIGN).unwrap())
        .unwrap_err();
    match &err {
        LoadError::WrongWorld { expected, found } => {
            assert_eq!(expected, "leadhost:channel/plugin@0.1.1");
            assert_eq!(found, "run");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        rt.load(b"not wasm"),
        Err(LoadError::NotAComponent(_))
    ));
}

#[test]
fn config_defaults_and_secrets_stay_on_the_host() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    let mut b = binding("cfg");
    b.config.insert("greeting".into(), "hei".into());
    b.secrets.insert("signing-key".into(), b"k3y".to_vec());
    let b = Arc::new(b);
    assert_eq!(reply_text(&rt, &chaos, &b, "/config"), Ok("hei".into()));

    let body = br#"{"event":"x"}"#.to_vec();
    let sig: String = leadhost_core::signature::mac(
        leadhost_core::signature::MacAlgorithm::HmacSha256,
        b"k3y",
        &body,
    )
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect();
    let signed = |signature: &str| HttpRequest {
        headers: vec![("x-signature".into(), signature.into())],
        body: body.clone(),
        ..get("/signed")
    };
    let ok = rt.ingest(&chaos, &b, signed(&sig)).unwrap().unwrap();
    assert_eq!(ok.reply.body, b"signed");
    let refused = rt
        .ingest(&chaos, &b, signed(&"00".repeat(32)))
        .unwrap()
        .unwrap_err();
    assert_eq!((refused.status, refused.kind), (401, "unauthorized"));

    // The host computes a MAC for handshakes without handing out the key.
    let signing = HttpRequest {
        body: b"challenge-123".to_vec(),
        ..get("/sign")
    };
    let out = rt.ingest(&chaos, &b, signing).unwrap().unwrap();
    let expected: String = leadhost_core::signature::mac(
        leadhost_core::signature::MacAlgorithm::HmacSha256,
        b"k3y",
        b"challenge-123",
    )
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect();
    assert_eq!(
        String::from_utf8(out.reply.body).unwrap(),
        format!("{expected} ecdsa-refused:true")
    );

    let bare = Arc::new(binding("bare"));
    let refused = rt.ingest(&chaos, &bare, signed(&sig)).unwrap().unwrap_err();
    assert_eq!(refused.status, 503, "no secret configured: {refused:?}");
}

#[test]
fn no_filesystem_environment_or_sockets_without_grants() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    let b = Arc::new(binding("escape"));
    assert_eq!(
        reply_text(&rt, &chaos, &b, "/escape"),
        Ok("fs:denied file:denied env:0 args:0 socket:denied".into())
    );
}

#[derive(Default)]
struct MemoryState(Mutex<BTreeMap<String, Vec<u8>>>);

impl StateBackend for MemoryState {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.0.lock().unwrap().insert(key.into(), value.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), String> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
}

#[test]
fn state_needs_a_grant() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryState::default());
    let mut denied = binding("no-state");
    denied.state = Some(backend.clone());
    let denied = Arc::new(denied);
    let err = reply_text(&rt, &chaos, &denied, "/state").unwrap_err();
    assert!(
        err.starts_with("500") && err.contains("not granted"),
        "{err}"
    );

    let mut granted = binding("state");
    granted.grants.state = true;
    granted.state = Some(backend.clone());
    let granted = Arc::new(granted);
    assert_eq!(reply_text(&rt, &chaos, &granted, "/state"), Ok("1".into()));
    assert_eq!(reply_text(&rt, &chaos, &granted, "/state"), Ok("2".into()));
    assert_eq!(
        backend.get("counter").unwrap(),
        Some(2u64.to_le_bytes().to_vec())
    );
}

/// A loopback server that answers 200 and records each request's head.
fn recording_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            );
        }
    });
    (port, seen)
}

#[test]
fn outbound_http_goes_only_where_granted() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    let (port, seen) = recording_server();
    let url = format!("/fetch?url=http://127.0.0.1:{port}/hook");

    // Nothing granted: refused before any connection.
    let none = Arc::new(binding("none"));
    let err = reply_text(&rt, &chaos, &none, &url).unwrap_err();
    assert!(err.contains("denied"), "{err}");

    // The host is granted, but loopback is private and was not.
    let mut host_only = binding("host-only");
    host_only.grants.outbound = vec![HostGrant::parse("127.0.0.1").unwrap()];
    let host_only = Arc::new(host_only);
    let err = reply_text(&rt, &chaos, &host_only, &url).unwrap_err();
    assert!(
        err.contains("denied") || err.contains("Prohibited"),
        "{err}"
    );
    assert_eq!(host_only.health_report().denied_requests, 1);
    assert!(
        seen.lock().unwrap().is_empty(),
        "no request reached the server"
    );

    // Granted with private networks: it goes out, the secret filled in.
    let mut full = binding("full");
    full.grants.outbound = vec![HostGrant::parse(&format!("127.0.0.1:{port}")).unwrap()];
    full.grants.allow_private_networks = true;
    full.secrets.insert("signing-key".into(), b"t0ken".to_vec());
    let full = Arc::new(full);
    assert_eq!(reply_text(&rt, &chaos, &full, &url), Ok("200 hello".into()));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].starts_with("GET /hook HTTP/1.1"), "{}", seen[0]);
    assert!(
        seen[0]
            .to_ascii_lowercase()
            .contains("authorization: bearer t0ken"),
        "{}",
        seen[0]
    );
}

#[test]
fn a_silent_provider_cannot_hold_a_call_past_its_deadline() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    // Accepts the connection, reads the request, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let mut b = binding("slow");
    b.grants.outbound = vec![HostGrant::parse(&format!("127.0.0.1:{port}")).unwrap()];
    b.grants.allow_private_networks = true;
    b.grants.timeout = Duration::from_millis(400);
    b.secrets.insert("signing-key".into(), b"x".to_vec());
    let b = Arc::new(b);
    let err = reply_text(
        &rt,
        &chaos,
        &b,
        &format!("/fetch?url=http://127.0.0.1:{port}/"),
    )
    .unwrap_err();
    // The network wait was capped by the call's deadline and surfaced as a
    // timeout to the plugin, which answered with its own error.
    assert!(err.starts_with("500") && err.contains("Timeout"), "{err}");
}

/// A loopback server that keeps connections open (HTTP/1.1 keep-alive) and
/// counts them and the requests on them; with `close_after_one`, it drops
/// each connection after its first answer without saying so.
fn keep_alive_server(close_after_one: bool) -> (u16, Arc<Mutex<(usize, usize)>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let counts = Arc::new(Mutex::new((0, 0)));
    let seen = counts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            seen.lock().unwrap().0 += 1;
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                // Requests here are small GETs: one read is one request.
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.lock().unwrap().1 += 1;
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
                    if close_after_one {
                        break;
                    }
                }
            });
        }
    });
    (port, counts)
}

fn granted(name: &str, port: u16) -> Arc<Binding> {
    let mut b = binding(name);
    b.grants.outbound = vec![HostGrant::parse(&format!("127.0.0.1:{port}")).unwrap()];
    b.grants.allow_private_networks = true;
    b.secrets.insert("signing-key".into(), b"k".to_vec());
    Arc::new(b)
}

#[test]
fn a_binding_keeps_its_connections_for_the_next_calls() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    let (port, counts) = keep_alive_server(false);
    let b = granted("kept", port);
    let url = format!("/fetch?url=http://127.0.0.1:{port}/");
    for _ in 0..3 {
        assert_eq!(reply_text(&rt, &chaos, &b, &url), Ok("200 hello".into()));
    }
    // Three fresh instances, one connection.
    assert_eq!(*counts.lock().unwrap(), (1, 3));

    // Another binding (another connector) never shares it.
    let other = granted("other", port);
    assert_eq!(
        reply_text(&rt, &chaos, &other, &url),
        Ok("200 hello".into())
    );
    assert_eq!(*counts.lock().unwrap(), (2, 4));
}

#[test]
fn a_kept_connection_the_server_dropped_is_replaced_without_losing_the_call() {
    let rt = runtime();
    let chaos = load(&rt, test_plugins::CHAOS);
    let (port, counts) = keep_alive_server(true);
    let b = granted("dropped", port);
    let url = format!("/fetch?url=http://127.0.0.1:{port}/");
    for _ in 0..3 {
        assert_eq!(reply_text(&rt, &chaos, &b, &url), Ok("200 hello".into()));
    }
    // Each call found its kept connection closed and took a new one.
    assert_eq!(*counts.lock().unwrap(), (3, 3));
}
