//! Compiles every guest crate of the workspace to `wasm32-wasip2` with the
//! `plugin` profile, in a target directory of its own (a nested cargo must not
//! wait on the outer build's lock), installs the target first when rustup
//! lacks it, and copies the components into OUT_DIR for `include_bytes!`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, file stem, bundled into the binary)
const GUESTS: &[(&str, &str, bool)] = &[
    ("leadhost-plugin-web", "web", true),
    ("leadhost-plugin-email", "email", true),
    ("leadhost-plugin-portal", "portal", true),
    ("leadhost-plugin-events", "events", true),
    ("leadhost-plugin-social", "social", true),
    ("leadhost-plugin-eservices", "eservices", true),
    ("test-plugin-chaos", "chaos", false),
    ("test-plugin-trivial", "trivial", false),
    ("test-plugin-foreign", "foreign", false),
    ("test-plugin-legacy", "legacy", false),
];

const TARGET: &str = "wasm32-wasip2";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: building the plugins failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .map_err(|e| format!("workspace root: {e}"))?;
    for watched in [
        "plugins",
        "sdk",
        "wit",
        "tests/plugins",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out_dir = PathBuf::from(env("OUT_DIR")?);
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out: share <target>.
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map(|t| t.join("plugin-wasm"))
        .ok_or("unexpected OUT_DIR layout")?;

    ensure_target()?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--target", TARGET, "--profile", "plugin"])
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _, _) in GUESTS {
        cmd.args(["-p", package]);
    }
    // The outer build's settings are not the guests': drop them.
    for (key, _) in std::env::vars() {
        let outer = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_FEATURE_")
            || key.starts_with("CARGO_MANIFEST_")
            || key.starts_with("DEP_")
            || matches!(
                key.as_str(),
                "CARGO_TARGET_DIR"
                    | "CARGO_BUILD_TARGET"
                    | "CARGO_ENCODED_RUSTFLAGS"
                    | "CARGO_BUILD_RUSTFLAGS"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_CRATE_NAME"
                    | "RUSTFLAGS"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "OUT_DIR"
                    | "TARGET"
                    | "HOST"
                    | "NUM_JOBS"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
                    | "RUSTC_LINKER"
            );
        if outer {
            cmd.env_remove(&key);
        }
    }
    let status = cmd
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --target {TARGET} failed ({status})"));
    }

    let built = target_dir.join(TARGET).join("plugin");
    let mut bundled = String::from(
        "/// The first-party plugins, compiled from `plugins/`.\npub const BUNDLED: &[Bundled] = &[\n",
    );
    let mut test_paths = String::new();
    for (package, stem, is_bundled) in GUESTS {
        let file = format!("{}.wasm", package.replace('-', "_"));
        let from = built.join(&file);
        let to = out_dir.join(format!("{stem}.wasm"));
        copy_if_changed(&from, &to)?;
        if *is_bundled {
            bundled.push_str(&format!(
                "    Bundled {{ name: {stem:?}, wasm: include_bytes!({:?}) }},\n",
                to.display().to_string()
            ));
        } else {
            test_paths.push_str(&format!(
                "    /// The `{stem}` test plugin, built from `tests/plugins/{stem}`.\n    pub const {}: &str = {:?};\n",
                stem.to_ascii_uppercase(),
                to.display().to_string()
            ));
        }
    }
    bundled.push_str("];\n\n/// Paths of the test plugins (not bundled into the binary).\npub mod test_plugins {\n");
    bundled.push_str(&test_paths);
    bundled.push_str("}\n");
    std::fs::write(out_dir.join("plugins.rs"), bundled).map_err(|e| e.to_string())?;
    Ok(())
}

fn env(key: &str) -> Result<String, String> {
    std::env::var(key).map_err(|_| format!("{key} is not set"))
}

/// Adds the wasm target through rustup when the toolchain lacks it.
fn ensure_target() -> Result<(), String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run {rustc}: {e}"))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .exists()
    {
        return Ok(());
    }
    println!("cargo:warning=installing the {TARGET} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map_err(|e| format!("the {TARGET} target is missing and rustup could not be run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`rustup target add {TARGET}` failed ({status})"))
    }
}

fn copy_if_changed(from: &Path, to: &Path) -> Result<(), String> {
    let new = std::fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    if std::fs::read(to).ok().as_deref() != Some(new.as_slice()) {
        std::fs::write(to, new).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(())
}
