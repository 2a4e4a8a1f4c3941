//! `leadhost plugin new`: a plugin crate from the template, ready to build.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

#[derive(Args)]
pub struct NewArgs {
    /// The connector's name, lower-case kebab (e.g. `acme-webhooks`).
    pub name: String,
    /// Where to create the crate (default: ./NAME).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Path to the leadhost-sdk crate (default: the one this binary was built from).
    #[arg(long)]
    pub sdk_path: Option<PathBuf>,
}

const CARGO_TOML: &str = include_str!("../templates/plugin/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("../templates/plugin/lib.rs.tmpl");
const README: &str = include_str!("../templates/plugin/README.md.tmpl");
const TOOLCHAIN: &str = include_str!("../../../rust-toolchain.toml");

fn type_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

pub fn create(args: &NewArgs) -> anyhow::Result<()> {
    if !leadhost_core::manifest::is_kebab(&args.name) {
        bail!(
            "{:?} is not a lower-case kebab name (a-z, 0-9, '-')",
            args.name
        );
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!("{} exists and is not empty", dir.display());
    }
    let sdk = match &args.sdk_path {
        Some(p) => p.clone(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk"),
    };
    let sdk = sdk
        .canonicalize()
        .with_context(|| format!("the SDK is not at {} (pass --sdk-path)", sdk.display()))?;
    let krate = format!("{}-plugin", args.name);
    let fill = |t: &str| {
        t.replace("{{name}}", &args.name)
            .replace("{{crate}}", &krate)
            .replace("{{crate_file}}", &krate.replace('-', "_"))
            .replace("{{type_name}}", &type_name(&args.name))
            .replace("{{sdk_path}}", &sdk.display().to_string())
    };
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("Cargo.toml"), fill(CARGO_TOML))?;
    std::fs::write(dir.join("src/lib.rs"), fill(LIB_RS))?;
    std::fs::write(dir.join("README.md"), fill(README))?;
    std::fs::write(dir.join("rust-toolchain.toml"), TOOLCHAIN)?;
    std::fs::write(dir.join(".gitignore"), "/target\n")?;
    println!("created {} in {}", krate, dir.display());
    println!(
        "  cd {} && cargo test && cargo build --release --target wasm32-wasip2",
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_type_names() {
        assert_eq!(type_name("acme-webhooks"), "AcmeWebhooks");
        assert_eq!(type_name("x2"), "X2");
    }
}
