//! Operator commands: thin clients of a running server's management API.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Where the server is and how to authenticate.
#[derive(Args, Clone)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(long, env = "LEADHOST_URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The admin key (or a tenant key for reads).
    #[arg(long, env = "LEADHOST_ADMIN_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints its API key once.
    Create {
        /// Lower-case kebab name.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
pub enum ConnectorCommand {
    /// Enable (or reconfigure) a connector for a tenant.
    Enable(EnableArgs),
    /// Disable a connector; its traffic is refused with 403 until enabled.
    Disable {
        /// The tenant.
        tenant: String,
        /// The connector's name.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List a tenant's connectors with their health.
    List {
        /// The tenant.
        tenant: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Args)]
pub struct EnableArgs {
    /// The tenant.
    pub tenant: String,
    /// The connector's name (its ingest URL is /ingest/TENANT/NAME).
    pub name: String,
    /// The plugin to run (see `leadhost plugin list`).
    #[arg(long)]
    pub plugin: String,
    /// Configuration, KEY=VALUE (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// A secret, NAME=VALUE or NAME=@FILE (repeatable).
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    pub secrets: Vec<String>,
    /// Grant outbound HTTP to a host pattern the plugin asks for (repeatable).
    #[arg(long = "grant-host", value_name = "HOST[:PORT]")]
    pub grant_hosts: Vec<String>,
    /// Allow granted hosts to resolve to loopback or private addresses.
    #[arg(long)]
    pub grant_private_networks: bool,
    /// Grant plugin key-value state.
    #[arg(long)]
    pub grant_state: bool,
    /// Memory limit per call, MiB.
    #[arg(long)]
    pub memory_mib: Option<u32>,
    /// Deadline per call, milliseconds.
    #[arg(long)]
    pub timeout_ms: Option<u32>,
    /// Messages delivered through it at once (default 16).
    #[arg(long)]
    pub in_flight: Option<u32>,
    /// Messages per batch call, for plugins that deliver in batches
    /// (default 100).
    #[arg(long)]
    pub batch: Option<u32>,
    /// Save it disabled.
    #[arg(long)]
    pub disabled: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args)]
pub struct DeliverArgs {
    /// The tenant.
    pub tenant: String,
    /// The connector to send through.
    pub connector: String,
    /// The idempotency key: the same key is sent at most once.
    #[arg(long)]
    pub idempotency_key: String,
    /// The recipient's email.
    #[arg(long)]
    pub to: Option<String>,
    /// The recipient's user id on the channel.
    #[arg(long)]
    pub user_id: Option<String>,
    /// The recipient's name.
    #[arg(long)]
    pub name: Option<String>,
    /// The subject.
    #[arg(long)]
    pub subject: Option<String>,
    /// The plain-text body.
    #[arg(long)]
    pub text: String,
    /// An HTML body.
    #[arg(long)]
    pub html: Option<String>,
    /// Channel extras, NAME=VALUE (repeatable).
    #[arg(long = "attr", value_name = "NAME=VALUE")]
    pub attrs: Vec<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args)]
pub struct PollArgs {
    /// The tenant.
    pub tenant: String,
    /// The connector to poll.
    pub connector: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args)]
pub struct TouchpointsArgs {
    /// The tenant.
    pub tenant: String,
    /// Only this connector's.
    #[arg(long)]
    pub connector: Option<String>,
    /// Start after this id (the `next` of the previous page).
    #[arg(long)]
    pub after: Option<i64>,
    /// Page size (at most 1000).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Calls the API; non-2xx answers become errors carrying the server's words.
pub async fn call(
    server: &ServerArgs,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    send(server, method, path, |request| match body {
        Some(body) => request.json(&body),
        None => request,
    })
    .await
}

/// POSTs `csv` as `text/csv`; answers as [`call`] does.
pub async fn post_csv(server: &ServerArgs, path: &str, csv: String) -> anyhow::Result<Value> {
    send(server, reqwest::Method::POST, path, |request| {
        request
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv)
    })
    .await
}

async fn send(
    server: &ServerArgs,
    method: reqwest::Method,
    path: &str,
    body: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> anyhow::Result<Value> {
    let key = server
        .key
        .as_deref()
        .context("no key: pass --key or set LEADHOST_ADMIN_KEY (see DATA_DIR/admin.key)")?;
    let url = format!("{}{path}", server.server.trim_end_matches('/'));
    let request = crate::http_client()
        .build()?
        .request(method, &url)
        .bearer_auth(key);
    let response = body(request)
        .send()
        .await
        .with_context(|| format!("calling {url}: is `leadhost serve` running?"))?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "{status}: {}",
            value["message"].as_str().unwrap_or("no details")
        );
    }
    Ok(value)
}

fn pairs(items: &[String], what: &str) -> anyhow::Result<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    for item in items {
        let (k, v) = item
            .split_once('=')
            .with_context(|| format!("{what} {item:?} is not NAME=VALUE"))?;
        let v = match v.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading {path}"))?
                .trim_end()
                .to_string(),
            None => v.to_string(),
        };
        out.insert(k.to_string(), Value::String(v));
    }
    Ok(out)
}

pub async fn tenant(cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Create { name, server } => {
            let v = call(
                &server,
                reqwest::Method::POST,
                "/v1/tenants",
                Some(json!({"name": name})),
            )
            .await?;
            println!(
                "created tenant {}",
                v["tenant"]["name"].as_str().unwrap_or("?")
            );
            println!(
                "api key (shown once): {}",
                v["api_key"].as_str().unwrap_or("?")
            );
        }
        TenantCommand::List { server } => {
            let v = call(&server, reqwest::Method::GET, "/v1/tenants", None).await?;
            for t in v["tenants"].as_array().into_iter().flatten() {
                println!("{}", t["name"].as_str().unwrap_or("?"));
            }
        }
    }
    Ok(())
}

pub async fn connector(cmd: ConnectorCommand) -> anyhow::Result<()> {
    match cmd {
        ConnectorCommand::Enable(a) => {
            let body = json!({
                "plugin": a.plugin,
                "config": pairs(&a.config, "config")?,
                "secrets": pairs(&a.secrets, "secret")?,
                "grants": {
                    "outbound_hosts": a.grant_hosts,
                    "allow_private_networks": a.grant_private_networks,
                    "state": a.grant_state,
                    "memory_mib": a.memory_mib,
                    "timeout_ms": a.timeout_ms,
                    "in_flight": a.in_flight,
                    "batch": a.batch,
                },
                "enabled": !a.disabled,
            });
            let path = format!("/v1/tenants/{}/connectors/{}", a.tenant, a.name);
            let v = call(&a.server, reqwest::Method::PUT, &path, Some(body)).await?;
            println!(
                "connector {} ({} {}) revision {} {}; ingest at {}",
                a.name,
                v["plugin"].as_str().unwrap_or("?"),
                v["plugin_version"].as_str().unwrap_or("?"),
                v["revision"],
                if v["enabled"] == json!(true) {
                    "enabled"
                } else {
                    "disabled"
                },
                v["ingest_url"].as_str().unwrap_or("?"),
            );
        }
        ConnectorCommand::Disable {
            tenant,
            name,
            server,
        } => {
            let path = format!("/v1/tenants/{tenant}/connectors/{name}/disable");
            call(&server, reqwest::Method::POST, &path, None).await?;
            println!("connector {name} disabled");
        }
        ConnectorCommand::List { tenant, server } => {
            let v = call(
                &server,
                reqwest::Method::GET,
                &format!("/v1/tenants/{tenant}/connectors"),
                None,
            )
            .await?;
            println!(
                "{:<16} {:<10} {:<9} {:<8} HEALTH",
                "NAME", "PLUGIN", "ENABLED", "REV"
            );
            for c in v["connectors"].as_array().into_iter().flatten() {
                let health = if c["health"].is_null() {
                    "no calls yet".to_string()
                } else {
                    format!(
                        "{} calls, {} failures, breaker {}",
                        c["health"]["calls"],
                        c["health"]["failures"],
                        c["health"]["breaker"].as_str().unwrap_or("?")
                    )
                };
                println!(
                    "{:<16} {:<10} {:<9} {:<8} {}",
                    c["name"].as_str().unwrap_or("?"),
                    c["plugin"].as_str().unwrap_or("?"),
                    c["enabled"],
                    c["revision"],
                    health
                );
            }
        }
    }
    Ok(())
}

pub async fn deliver(a: DeliverArgs) -> anyhow::Result<()> {
    let other: Vec<Value> = pairs(&a.attrs, "attr")?
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let message = json!({
        "idempotency_key": a.idempotency_key,
        "recipient": {"email": a.to, "user_id": a.user_id},
        "recipient_name": a.name,
        "subject": a.subject,
        "text": a.text,
        "html": a.html,
        "other": other,
    });
    let path = format!(
        "/v1/tenants/{}/connectors/{}/deliveries",
        a.tenant, a.connector
    );
    let v = call(&a.server, reqwest::Method::POST, &path, Some(message)).await?;
    let d = &v["delivery"];
    println!(
        "{} {} after {} attempt(s){}{}{}",
        d["idempotency_key"].as_str().unwrap_or("?"),
        d["status"].as_str().unwrap_or("?"),
        d["attempts"],
        d["provider_id"]
            .as_str()
            .map(|p| format!(", provider id {p}"))
            .unwrap_or_default(),
        d["detail"]
            .as_str()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default(),
        if v["duplicate"] == json!(true) {
            "; already done, not sent again"
        } else {
            ""
        },
    );
    Ok(())
}

pub async fn poll(a: PollArgs) -> anyhow::Result<()> {
    let path = format!("/v1/tenants/{}/connectors/{}/poll", a.tenant, a.connector);
    let v = call(&a.server, reqwest::Method::POST, &path, None).await?;
    println!(
        "{} page(s): {} stored, {} duplicates; cursor {}{}",
        v["pages"],
        v["stored"],
        v["duplicates"],
        v["cursor"],
        if v["more"] == json!(true) {
            "; more waiting"
        } else {
            ""
        }
    );
    Ok(())
}

pub async fn touchpoints(a: TouchpointsArgs) -> anyhow::Result<()> {
    let mut path = format!("/v1/tenants/{}/touchpoints?limit={}", a.tenant, a.limit);
    if let Some(c) = &a.connector {
        path.push_str(&format!("&connector={c}"));
    }
    if let Some(after) = a.after {
        path.push_str(&format!("&after={after}"));
    }
    let v = call(&a.server, reqwest::Method::GET, &path, None).await?;
    for t in v["items"].as_array().into_iter().flatten() {
        let tp = &t["touchpoint"];
        let who = ["email", "user_id", "anonymous_id"]
            .iter()
            .find_map(|k| tp["identities"][k].as_str())
            .unwrap_or("-");
        println!(
            "{:>8} {:<10} {:<16} {:<28} {}",
            t["id"],
            t["connector"].as_str().unwrap_or("?"),
            t["kind"].as_str().unwrap_or("?"),
            who,
            tp["properties"]["url"].as_str().unwrap_or("")
        );
    }
    println!("total {}; next page: {}", v["total"], v["next"]);
    Ok(())
}
