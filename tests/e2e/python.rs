//! The contract assumes no Rust: a plugin written in Python, built against
//! `wit/` with componentize-py (from PyPI), is checked, loaded and served by
//! the real binary like any other.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{BIN, Server, all_touchpoints, http, root};

/// componentize-py, installed from PyPI when it is not on the machine.
fn componentize_py() -> PathBuf {
    let works = |tool: &std::path::Path| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let on_path = PathBuf::from("componentize-py");
    if works(&on_path) {
        return on_path;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "componentize-py==0.25.1"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "could not install componentize-py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scripts = Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .expect("python3 runs");
    let tool =
        PathBuf::from(String::from_utf8_lossy(&scripts.stdout).trim()).join("componentize-py");
    assert!(works(&tool), "componentize-py is not at {}", tool.display());
    tool
}

fn sign(body: &str) -> String {
    leadhost_core::signature::mac(
        leadhost_core::signature::MacAlgorithm::HmacSha256,
        b"py-key",
        body.as_bytes(),
    )
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect()
}

#[tokio::test]
async fn a_python_plugin_is_checked_loaded_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("py-hooks.wasm");
    let out = Command::new(componentize_py())
        .current_dir(dir.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg("--wit-path")
        .arg(root().join("wit"))
        .args([
            "--world",
            "leadhost:channel/connector",
            "componentize",
            "-p",
        ])
        .arg(root().join("examples/python-hooks"))
        .args(["app", "-o"])
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let check = Command::new(BIN)
        .args(["plugin", "check"])
        .arg(&wasm)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{report}");
    assert!(report.contains("✓ py-hooks 0.1.0"), "{report}");
    assert!(report.contains("no leadhost-sdk stamp"), "{report}");

    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--plugin", wasm.to_str().unwrap()]);
    let key = server.tenant("acme");
    server.cli_ok(&[
        "connector",
        "enable",
        "acme",
        "hooks",
        "--plugin",
        "py-hooks",
        "--secret",
        "signing-key=py-key",
    ]);

    let body = r#"[{"id": "e1", "email": "aino@nordicpulp.fi", "action": "signup", "at": 1772359200000},
                   {"id": "e2", "email": "aino@nordicpulp.fi", "action": "download"}]"#;
    let post = |signature: String| {
        http()
            .post(format!("{}/ingest/acme/hooks/events", server.url))
            .header("x-signature", signature)
            .body(body)
            .send()
    };
    let r = post(sign(body)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "thanks");
    let r = post("00".repeat(32)).await.unwrap();
    assert_eq!(r.status(), 401);

    let items = all_touchpoints(&server, &key, "acme", 100).await;
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["form-submitted", "download"]);
    assert_eq!(items[0]["occurred_at"], 1772359200000i64);
    assert_eq!(
        items[0]["touchpoint"]["identities"]["email"],
        "aino@nordicpulp.fi"
    );
}
