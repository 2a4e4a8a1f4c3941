//! `leadhost`: the lead-management engine's one binary.

mod bench;
mod client;
mod demo;
mod lead_client;
mod leads;
mod population;
mod report_client;
mod scaffold;
mod server;
mod traffic;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

/// Leadhost: a lead-management engine whose channels are WebAssembly plugins.
#[derive(Parser)]
#[command(version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: ingest under /ingest/, the management API under /v1/.
    Serve(ServeArgs),
    /// Start a temporary instance, send it realistic traffic, show what landed.
    Demo(demo::DemoArgs),
    /// Work with plugin components.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Manage tenants (through a running server).
    #[command(subcommand)]
    Tenant(client::TenantCommand),
    /// Enable, disable and list a tenant's connectors (through a running server).
    #[command(subcommand)]
    Connector(client::ConnectorCommand),
    /// List the touchpoints that landed for a tenant (through a running server).
    Touchpoints(client::TouchpointsArgs),
    /// Send a message through a connector; the idempotency key makes retries safe.
    Deliver(client::DeliverArgs),
    /// Pull new touchpoints from a connector that polls, from where it stopped.
    Poll(client::PollArgs),
    /// Leads: list, show, explain a score, answer hand-offs, change settings.
    #[command(subcommand)]
    Lead(lead_client::LeadCommand),
    /// Accounts: engagement, buying group, orders and installed base.
    #[command(subcommand)]
    Account(lead_client::AccountCommand),
    /// Care models for nurturing: list, show, set from a file, delete.
    #[command(subcommand)]
    Nurture(lead_client::NurtureCommand),
    /// The outbox of CRM hand-offs and alerts: list, redrive dead calls.
    #[command(subcommand)]
    Outbox(lead_client::OutboxCommand),
    /// Reports: funnel, channels, cost, attribution, sla, nurture.
    Report(report_client::ReportArgs),
    /// Marketing spend for the cost reports: list, add, import CSV, delete.
    #[command(subcommand)]
    Spend(report_client::SpendCommand),
    /// Measure ingest throughput end to end and print the figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Where the store, admin key and compile cache live.
    #[arg(long, env = "LEADHOST_DATA_DIR", default_value = "leadhost-data")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "LEADHOST_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The operators' key (default: generated into DATA_DIR/admin.key).
    #[arg(long, env = "LEADHOST_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// Extra plugin components (.wasm) to load beside the bundled ones.
    #[arg(long = "plugin")]
    plugins: Vec<PathBuf>,
    /// The largest ingest body accepted, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    max_body_bytes: usize,
    /// Plugin instances that may run at once.
    #[arg(long, default_value_t = 64)]
    max_instances: u32,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Check that a component fits this host; exits non-zero with reasons if not.
    Check {
        /// The component file.
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a plugin crate from the template (it builds and passes its tests).
    New(scaffold::NewArgs),
    /// List the plugins bundled into this binary.
    List,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The server logs what it does; the other commands print their own output.
    let default_filter = match cli.command {
        Command::Serve(_) => "info,wasmtime=warn,cranelift=warn",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// An HTTP client builder with TLS ready: installs the process's TLS
/// provider (ring) on first use, which reqwest needs before any client.
pub(crate) fn http_client() -> reqwest::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Fails only when another provider was installed first, which is
        // as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A touchpoint as the store appends it: its key columns and its JSON.
pub(crate) fn touchpoint_row(
    t: &leadhost_core::Touchpoint,
) -> serde_json::Result<leadhost_store::NewTouchpoint> {
    Ok(leadhost_store::NewTouchpoint {
        external_id: t.external_id.clone(),
        occurred_at: t.occurred_at,
        channel: t.channel.as_str().to_string(),
        kind: t.kind.name().into_owned(),
        document: serde_json::to_string(t)?,
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    use std::process::ExitCode;
    match cli.command {
        Command::Serve(args) => {
            runtime()?.block_on(serve(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            runtime()?.block_on(demo::run(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::Check { file, json }) => check(&file, json),
        Command::Plugin(PluginCommand::New(args)) => {
            scaffold::create(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::List) => {
            let rt = leadhost_runtime::Runtime::new(Default::default())?;
            for bundled in leadhost_plugins::BUNDLED {
                let plugin = rt.load(bundled.wasm)?;
                let m = plugin.manifest();
                println!("{:<12} {:<8} {}", m.name, m.version, m.description);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(cmd) => runtime()?
            .block_on(client::tenant(cmd))
            .map(|()| ExitCode::SUCCESS),
        Command::Connector(cmd) => runtime()?
            .block_on(client::connector(cmd))
            .map(|()| ExitCode::SUCCESS),
        Command::Touchpoints(args) => runtime()?
            .block_on(client::touchpoints(args))
            .map(|()| ExitCode::SUCCESS),
        Command::Deliver(args) => runtime()?
            .block_on(client::deliver(args))
            .map(|()| ExitCode::SUCCESS),
        Command::Poll(args) => runtime()?
            .block_on(client::poll(args))
            .map(|()| ExitCode::SUCCESS),
        Command::Lead(cmd) => runtime()?
            .block_on(lead_client::lead(cmd))
            .map(|()| ExitCode::SUCCESS),
        Command::Account(cmd) => runtime()?
            .block_on(lead_client::account(cmd))
            .map(|()| ExitCode::SUCCESS),
        Command::Nurture(cmd) => runtime()?
            .block_on(lead_client::nurture(cmd))
            .map(|()| ExitCode::SUCCESS),
        Command::Outbox(cmd) => runtime()?
            .block_on(lead_client::outbox(cmd))
            .map(|()| ExitCode::SUCCESS),
        Command::Report(args) => runtime()?
            .block_on(report_client::report(args))
            .map(|()| ExitCode::SUCCESS),
        Command::Spend(cmd) => runtime()?
            .block_on(report_client::spend(cmd))
            .map(|()| ExitCode::SUCCESS),
        Command::Bench(cmd) => runtime()?
            .block_on(bench::run(cmd))
            .map(|()| ExitCode::SUCCESS),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = server::ServerConfig {
        data_dir: args.data_dir.clone(),
        admin_key: args.admin_key,
        extra_plugins: args.plugins,
        max_body_bytes: args.max_body_bytes,
        max_instances: args.max_instances,
    };
    let app = tokio::task::spawn_blocking(move || server::App::open(&config)).await??;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %args.data_dir.display(), "leadhost is serving");
    // A line for scripts and tests to wait on.
    println!("listening on http://{addr}");
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
    };
    server::serve(app, listener, shutdown).await
}

fn check(file: &std::path::Path, as_json: bool) -> anyhow::Result<std::process::ExitCode> {
    use std::process::ExitCode;
    let wasm = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let rt = leadhost_runtime::Runtime::new(Default::default())?;
    let report = match rt.check(&wasm) {
        Ok(r) => r,
        Err(e) => {
            if as_json {
                println!(
                    "{}",
                    serde_json::json!({"fits": false, "problems": [e.to_string()]})
                );
            } else {
                println!("✗ {} does not fit this host", file.display());
                println!("  - {e}");
                println!(
                    "  this host speaks: {}",
                    leadhost_runtime::SUPPORTED_CONTRACTS.join(", ")
                );
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let m = &report.manifest;
    let fits = report.problems.is_empty();
    if as_json {
        println!(
            "{}",
            serde_json::json!({
                "fits": fits,
                "contract": report.contract,
                "batches": report.batches,
                "digest": report.digest,
                "manifest": m,
                "imports": report.imports,
                "sdk_stamp": report.sdk_stamp,
                "problems": report.problems,
            })
        );
    } else {
        let mark = if fits { "✓" } else { "✗" };
        println!("{mark} {} {} ({})", m.name, m.version, file.display());
        println!("  contract:     {}", report.contract);
        println!("  sha256:       {}", report.digest);
        println!(
            "  built with:   {}",
            report
                .sdk_stamp
                .as_deref()
                .unwrap_or("another toolchain (no leadhost-sdk stamp)")
        );
        println!("  description:  {}", m.description);
        let ops: Vec<&str> = [
            (m.operations.ingest, "ingest"),
            (m.operations.poll, "poll"),
            (m.operations.deliver, "deliver"),
            (report.batches, "deliver-batch"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
        println!("  operations:   {}", ops.join(", "));
        let channels: Vec<&str> = m.channels.iter().map(|c| c.as_str()).collect();
        println!("  channels:     {}", channels.join(", "));
        println!("  asks for:");
        if m.capabilities.outbound_hosts.is_empty() {
            println!("    outbound http: none");
        } else {
            println!(
                "    outbound http: {}",
                m.capabilities.outbound_hosts.join(", ")
            );
        }
        println!(
            "    state:         {}",
            if m.capabilities.state { "yes" } else { "no" }
        );
        for c in &m.config {
            let default = c
                .default_value
                .as_deref()
                .map(|d| format!(" (default {d})"))
                .unwrap_or_default();
            let req = if c.required { " required" } else { "" };
            println!(
                "    config  {:<20} {}{req}{default}: {}",
                c.name,
                c.value_type.name(),
                c.description
            );
        }
        for s in &m.secrets {
            let req = if s.required { " required" } else { "" };
            println!("    secret  {:<20}{req}: {}", s.name, s.description);
        }
        println!("  imports:      {}", report.imports.join(", "));
        for p in &report.problems {
            println!("  problem: {p}");
        }
    }
    Ok(if fits {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
