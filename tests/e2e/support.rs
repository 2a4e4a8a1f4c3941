//! Drives the real `leadhost` binary: starts `leadhost serve` on a loopback
//! port with a real SQLite file, and runs CLI commands against it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_leadhost");
pub const ADMIN_KEY: &str = "lha_test_admin_key";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fixture file's text.
pub fn fixture(path: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures").join(path))
        .unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// A running `leadhost serve`, killed when dropped.
pub struct Server {
    pub url: String,
    child: Child,
}

impl Server {
    /// Starts the binary on `data_dir` with extra arguments and waits until it listens.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--admin-key",
                ADMIN_KEY,
                "--data-dir",
            ])
            .arg(data_dir)
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("E2E_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the leadhost binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints its address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { url, child }
    }

    /// Kills the process at once (no graceful shutdown): what was
    /// acknowledged must survive this.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().map(|s| s.is_none()).unwrap_or(false)
    }

    /// Runs a CLI command against this server with the admin key.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("LEADHOST_URL", &self.url)
            .env("LEADHOST_ADMIN_KEY", ADMIN_KEY)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the CLI runs")
    }

    /// Runs a CLI command and returns its stdout, failing on a non-zero exit.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "leadhost {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates a tenant through the CLI and returns its API key.
    pub fn tenant(&self, name: &str) -> String {
        let out = self.cli_ok(&["tenant", "create", name]);
        out.lines()
            .find_map(|l| l.strip_prefix("api key (shown once): "))
            .unwrap_or_else(|| panic!("no key in {out:?}"))
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client with a sane timeout.
pub fn http() -> reqwest::Client {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// GETs an API path with the admin key and returns its JSON.
pub async fn get_json(server: &Server, path: &str) -> serde_json::Value {
    http()
        .get(format!("{}{path}", server.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Enables the web connector `website` for `tenant` with a write key.
pub fn enable_web(server: &Server, tenant: &str, write_key: &str) {
    server.cli_ok(&[
        "connector",
        "enable",
        tenant,
        "website",
        "--plugin",
        "web",
        "--secret",
        &format!("write-key={write_key}"),
    ]);
}

/// Posts a Segment `/v1/batch` of `events` to the tenant's `website`
/// connector (see [`enable_web`]) and checks it was taken.
pub async fn post_batch(server: &Server, tenant: &str, write_key: &str, events: serde_json::Value) {
    let r = http()
        .post(format!("{}/ingest/{tenant}/website/v1/batch", server.url))
        .basic_auth(write_key, Some(""))
        .json(&serde_json::json!({ "batch": events }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A header's value parsed, or the default.
pub fn header<T: std::str::FromStr + Default>(r: &reqwest::Response, name: &str) -> T {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

/// Every touchpoint of a tenant, through the paged API, `limit` per page.
pub async fn all_touchpoints(
    server: &Server,
    key: &str,
    tenant: &str,
    limit: u32,
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let mut url = format!(
            "{}/v1/tenants/{tenant}/touchpoints?limit={limit}",
            server.url
        );
        if let Some(a) = after {
            url.push_str(&format!("&after={a}"));
        }
        let page: serde_json::Value = http()
            .get(url)
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next"].as_i64() {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

/// A stand-in provider on loopback: answers requests from a script (the last
/// answer repeats) and records each request's text.
pub struct StandIn {
    pub url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl StandIn {
    /// Starts it with answers of (status, extra header lines, body).
    pub fn start(answers: Vec<(u16, &'static str, &'static str)>) -> StandIn {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let request = read_request(&mut stream);
                log.lock().unwrap().push(request);
                let (status, headers, body) = answers[n.min(answers.len() - 1)];
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        StandIn { url, seen }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Its `host:port`.
    pub fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

/// Reads one HTTP request (head, then the body content-length or chunked
/// encoding says) from `stream` and returns its text.
pub fn read_request(stream: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0;
    while let Ok(k) = stream.read(&mut buf[len..]) {
        if k == 0 {
            break;
        }
        len += k;
        let text = String::from_utf8_lossy(&buf[..len]);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let head = text[..head_end].to_ascii_lowercase();
            let want = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            let chunked = head.contains("transfer-encoding: chunked");
            if (chunked && text.ends_with("0\r\n\r\n")) || (!chunked && len >= head_end + 4 + want)
            {
                break;
            }
        }
        if len == buf.len() {
            break;
        }
    }
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

impl StandIn {
    /// Starts a stand-in that answers by path: the first route whose pattern
    /// the request line (`GET /path?query HTTP/1.1`) contains answers with
    /// its (status, extra header lines, body); no match answers 404. Every
    /// request is recorded, as with [`StandIn::start`].
    pub fn routed(routes: Vec<(&'static str, u16, &'static str, String)>) -> StandIn {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let request = read_request(&mut stream);
                let line = request.lines().next().unwrap_or("").to_string();
                log.lock().unwrap().push(request);
                let (status, headers, body) = routes
                    .iter()
                    .find(|(pattern, ..)| line.contains(pattern))
                    .map(|(_, s, h, b)| (*s, *h, b.as_str()))
                    .unwrap_or((404, "", "{}"));
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        StandIn { url, seen }
    }
}

/// The value of header `name` (any case) in a recorded request's text.
pub fn request_header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    let head = request.split("\r\n\r\n").next().unwrap_or("");
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A fresh data directory whose compile cache is already warm. The first call
/// starts a server once so it compiles the bundled components into its cache;
/// every call then hard-links (or copies) those compiled files into a new
/// temporary directory, so a test's server starts without compiling again.
pub fn warm_data_dir() -> tempfile::TempDir {
    static WARM: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let warm = WARM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        Server::start(dir.path(), &[]).kill();
        dir
    });
    let data = tempfile::tempdir().unwrap();
    let cache = data.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    for entry in std::fs::read_dir(warm.path().join("cache")).unwrap() {
        let from = entry.unwrap().path();
        if from.extension().is_some_and(|e| e == "cwasm") {
            let to = cache.join(from.file_name().unwrap());
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).unwrap();
            }
        }
    }
    data
}
