//! `leadhost demo`: a temporary instance, a tenant with all six connectors,
//! seeded traffic in each channel's real format over real HTTP, and what
//! landed.

mod channels;
mod leads;
mod nurture;
mod reports;

use crate::now_ms;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::client::{ServerArgs, call};
use crate::server::{LocalServer, ServerConfig};
use crate::traffic::{Seeded, batches, count_header, journey, post_segment};

#[derive(Args)]
pub struct DemoArgs {
    /// How many visitors to simulate.
    #[arg(long, default_value_t = 400)]
    visitors: usize,
    /// The seed of the traffic (the same seed, the same traffic).
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Keep the instance's data here instead of a temporary directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

const WRITE_KEY: &str = "demo-write-key";

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    println!("Leadhost demo: data in {}", data_dir.display());
    let server = LocalServer::start(ServerConfig::new(data_dir)).await?;
    println!("  server listening on {}", server.url);
    let api = ServerArgs {
        server: server.url.clone(),
        key: Some(server.app.admin_key().to_string()),
    };

    let tenant = call(
        &api,
        reqwest::Method::POST,
        "/v1/tenants",
        Some(json!({"name": "acme"})),
    )
    .await?;
    println!(
        "  tenant acme created (api key {}…)",
        &tenant["api_key"].as_str().unwrap_or("?")[..8]
    );
    call(
        &api,
        reqwest::Method::PUT,
        "/v1/tenants/acme/connectors/website",
        Some(json!({"plugin": "web", "secrets": {"write-key": WRITE_KEY}})),
    )
    .await?;
    println!(
        "  web connector enabled at {}/ingest/acme/website",
        server.url
    );

    let crm = leads::StandInCrm::start().await?;
    leads::configure(&api, &crm).await?;

    let mut rng = Seeded::new(args.seed);
    // The traffic runs over the last 30 days, so scores have not decayed
    // and hand-offs start their SLA now (whole days: the same seed gives
    // the same journeys on any day).
    let day = 86_400_000;
    let start = (now_ms() / day - 30) * day;
    let mut events = Vec::new();
    for visitor in 0..args.visitors {
        events.extend(journey(
            &mut rng,
            visitor,
            start + (visitor as i64) * 900_000,
        ));
    }
    let bodies = batches(&events, 100);
    println!(
        "\nSending {} Segment events in {} /v1/batch requests…",
        events.len(),
        bodies.len()
    );

    let bar = ProgressBar::new(events.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("  {bar:40} {pos}/{len} events {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let client = crate::http_client().build()?;
    let url = format!("{}/ingest/acme/website/v1/batch", server.url);
    let stored = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::<anyhow::Result<_>>::new();
    let per_task = bodies.len().div_ceil(4);
    for chunk in bodies.chunks(per_task.max(1)) {
        let (client, url, bar, stored) = (client.clone(), url.clone(), bar.clone(), stored.clone());
        let chunk = chunk.to_vec();
        tasks.spawn(async move {
            for body in chunk {
                let n = serde_json::from_str::<Value>(&body)?["batch"]
                    .as_array()
                    .map_or(0, Vec::len);
                let response = post_segment(&client, &url, WRITE_KEY, body).await?;
                stored.fetch_add(
                    count_header(&response, "x-leadhost-stored"),
                    Ordering::Relaxed,
                );
                bar.inc(n as u64);
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    bar.finish_with_message("committed");

    // A client retrying what it already sent: nothing is counted twice.
    let mut duplicates = 0;
    for body in bodies.iter().take(3) {
        let response = post_segment(&client, &url, WRITE_KEY, body.clone()).await?;
        duplicates += count_header(&response, "x-leadhost-duplicates");
    }
    // And a client with the wrong key.
    let refused = client
        .post(format!("{}/ingest/acme/website/v1/track", server.url))
        .basic_auth("wrong-key", Some(""))
        .body(r#"{"type":"track","event":"x","anonymousId":"a"}"#)
        .send()
        .await?;
    let refused_status = refused.status();

    // The people the web traffic identified now show up on the other channels.
    let people: Vec<channels::Person> = events
        .iter()
        .filter(|e| e["type"] == "identify")
        .filter_map(|e| {
            let t = &e["traits"];
            Some(channels::Person {
                email: t["email"].as_str()?.to_string(),
                first: t["firstName"].as_str()?.to_string(),
                last: t["lastName"].as_str()?.to_string(),
                company: t["company"].as_str()?.to_string(),
            })
        })
        .collect();
    let keys = channels::Keys::new()?;
    for setup in keys.setups()? {
        let path = format!("/v1/tenants/acme/connectors/{}", setup.connector);
        call(&api, reqwest::Method::PUT, &path, Some(setup.settings)).await?;
        println!(
            "  {} connector enabled as {:?}",
            setup.plugin, setup.connector
        );
    }
    let requests = keys.traffic(&people, &mut rng, start)?;
    let total: usize = requests.iter().map(|r| r.events).sum();
    println!(
        "\nSending {total} events from {} identified people through email, social, eservices, portal and events…",
        people.len()
    );
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("  {bar:40} {pos}/{len} events {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for r in requests {
        bar.set_message(r.connector);
        let mut request = client
            .post(format!(
                "{}/ingest/acme/{}{}",
                server.url, r.connector, r.path
            ))
            .body(r.body);
        for (name, value) in &r.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await?;
        if !response.status().is_success() {
            anyhow::bail!(
                "{} refused the demo traffic: {} {}",
                r.connector,
                response.status(),
                response.text().await.unwrap_or_default()
            );
        }
        stored.fetch_add(
            count_header(&response, "x-leadhost-stored"),
            Ordering::Relaxed,
        );
        bar.inc(r.events as u64);
    }
    bar.finish_with_message("committed");
    let refused_body: Value = refused.json().await.unwrap_or(Value::Null);

    println!("\nWhat landed:");
    println!(
        "  {} touchpoints stored durably",
        stored.load(Ordering::Relaxed)
    );
    println!("  {duplicates} redelivered events recognised as duplicates and stored once");
    println!(
        "  a request with a wrong write key: {} {}",
        refused_status.as_u16(),
        refused_body["message"].as_str().unwrap_or("")
    );

    let all = fetch_all(&api).await?;
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
    let mut people = std::collections::BTreeSet::new();
    for item in &all {
        *by_kind
            .entry(item["kind"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        *by_channel
            .entry(item["channel"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        let p = &item["touchpoint"]["properties"];
        let source = format!(
            "{} / {}",
            p["source"].as_str().unwrap_or("(none)"),
            p["medium"].as_str().unwrap_or("-")
        );
        *by_source.entry(source).or_default() += 1;
        if let Some(email) = item["touchpoint"]["identities"]["email"].as_str() {
            people.insert(email.to_string());
        }
    }
    println!("\n  by channel:");
    for (channel, n) in &by_channel {
        println!("    {channel:<18} {n:>6}");
    }
    println!("\n  by kind:");
    for (kind, n) in &by_kind {
        println!("    {kind:<18} {n:>6}");
    }
    println!("\n  by source / medium:");
    for (source, n) in &by_source {
        println!("    {source:<40} {n:>6}");
    }
    println!(
        "\n  {} visitors identified themselves with an email",
        people.len()
    );
    if let Some(form) = all.iter().find(|i| i["kind"] == "form-submitted") {
        println!("\n  one touchpoint as stored:");
        let pretty = serde_json::to_string_pretty(&form["touchpoint"])?;
        for line in pretty.lines() {
            println!("    {line}");
        }
    }
    let connectors = call(
        &api,
        reqwest::Method::GET,
        "/v1/tenants/acme/connectors",
        None,
    )
    .await?;
    println!("\n  connector health:");
    for c in connectors["connectors"].as_array().into_iter().flatten() {
        let health = &c["health"];
        println!(
            "    {:<12} {:<10} {} plugin calls, {} failures, breaker {}",
            c["name"].as_str().unwrap_or("?"),
            c["plugin"].as_str().unwrap_or("?"),
            health["calls"],
            health["failures"],
            health["breaker"].as_str().unwrap_or("?")
        );
    }
    leads::show(&api, &crm).await?;
    let tenant = server
        .app
        .store
        .tenant("acme")?
        .context("the demo tenant is gone")?;
    let engine = server.app.leads.read(tenant.id, Clone::clone);
    let seed = args.seed;
    tokio::task::spawn_blocking(move || nurture::simulate(engine, now_ms(), 4, seed)).await??;
    reports::show(&api, start, start + 31 * day).await?;
    server.stop().await.context("stopping the demo server")?;
    println!("\nDone. Try it yourself: `cargo run -p leadhost -- serve`, then see the README.");
    Ok(())
}

async fn fetch_all(api: &ServerArgs) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let mut path = "/v1/tenants/acme/touchpoints?limit=1000".to_string();
        if let Some(a) = after {
            path.push_str(&format!("&after={a}"));
        }
        let page = call(api, reqwest::Method::GET, &path, None).await?;
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next"].as_i64() {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}
