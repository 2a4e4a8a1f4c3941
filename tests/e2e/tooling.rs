//! `plugin check` and `plugin new` through the real binary.

use std::process::Command;

use crate::support::{BIN, root};

fn check(path: &std::path::Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["plugin", "check"])
        .arg(path)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn plugin_check_accepts_the_first_party_plugins_and_rejects_another_world() {
    let dir = tempfile::tempdir().unwrap();
    for bundled in leadhost_plugins::BUNDLED {
        let path = dir.path().join(format!("{}.wasm", bundled.name));
        std::fs::write(&path, bundled.wasm).unwrap();
        let (ok, out) = check(&path);
        assert!(ok, "{out}");
        assert!(out.contains(&format!("✓ {}", bundled.name)), "{out}");
        assert!(
            out.contains("contract:     leadhost:channel@0.1.1"),
            "{out}"
        );
        assert!(
            out.contains("contract=leadhost:channel@0.1.1;sdk=0.1.0"),
            "{out}"
        );
        // Only the e-mail connector's provider takes many messages at once.
        assert_eq!(
            out.contains("deliver-batch"),
            bundled.name == "email",
            "{out}"
        );
    }
    // A component of the first release still fits.
    let (ok, out) = check(std::path::Path::new(leadhost_plugins::test_plugins::LEGACY));
    assert!(ok, "{out}");
    assert!(
        out.contains("contract:     leadhost:channel@0.1.0"),
        "{out}"
    );
    let (ok, out) = check(std::path::Path::new(
        leadhost_plugins::test_plugins::FOREIGN,
    ));
    assert!(!ok, "{out}");
    assert!(
        out.contains("does not export `leadhost:channel/plugin@0.1.1`"),
        "{out}"
    );
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm junk").unwrap();
    let (ok, out) = check(&junk);
    assert!(!ok && out.contains("not a loadable"), "{out}");
}

/// Runs cargo in a generated crate, with the outer test's cargo settings removed.
fn cargo(dir: &std::path::Path, args: &[&str]) {
    let target = root().join("target/plugin-template");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", &target);
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_MANIFEST_")
            || k == "CARGO_PRIMARY_PACKAGE"
            || k == "CARGO_CRATE_NAME"
        {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plugin_new_creates_a_crate_that_builds_passes_its_tests_and_fits() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("acme-hooks");
    let out = Command::new(BIN)
        .args(["plugin", "new", "acme-hooks", "--dir"])
        .arg(&crate_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    cargo(&crate_dir, &["test", "--quiet"]);
    cargo(
        &crate_dir,
        &["build", "--release", "--target", "wasm32-wasip2"],
    );
    let wasm = root().join("target/plugin-template/wasm32-wasip2/release/acme_hooks_plugin.wasm");
    let (ok, out) = check(&wasm);
    assert!(ok, "{out}");
    assert!(out.contains("✓ acme-hooks"), "{out}");

    // Creating it again over a non-empty folder is refused.
    let again = Command::new(BIN)
        .args(["plugin", "new", "acme-hooks", "--dir"])
        .arg(&crate_dir)
        .output()
        .unwrap();
    assert!(!again.status.success());
}
