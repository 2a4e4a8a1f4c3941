//! Lead commands: thin clients of a running server's lead API, with the
//! terminal renderings the demo shares.

use anyhow::Context;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{ServerArgs, call};

#[derive(Subcommand)]
pub enum LeadCommand {
    /// List leads, highest score first.
    List(ListArgs),
    /// Counts by stage and grade, the outbox and the lead worker's progress.
    Stats {
        /// The tenant.
        tenant: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Everything about one lead: identities, stage history, hand-offs, touchpoints.
    Show(LeadArgs),
    /// Why a lead has its score: every rule, touchpoint and time.
    Explain(LeadArgs),
    /// Accept a hand-off for sales: the lead becomes an opportunity.
    Accept {
        #[command(flatten)]
        lead: LeadRef,
        /// The sales user.
        #[arg(long)]
        by: String,
    },
    /// Reject a hand-off: the lead goes back to nurturing with the reason.
    Reject {
        #[command(flatten)]
        lead: LeadRef,
        /// The sales user.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Record the opportunity won: the lead becomes a customer.
    Won {
        #[command(flatten)]
        lead: LeadRef,
        /// The deal's amount.
        #[arg(long)]
        amount: Option<f64>,
        /// Its currency.
        #[arg(long)]
        currency: Option<String>,
    },
    /// Record the opportunity lost: the lead is recycled.
    Lost {
        #[command(flatten)]
        lead: LeadRef,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Disqualify a lead.
    Disqualify {
        #[command(flatten)]
        lead: LeadRef,
        /// Who decided.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Move a lead by hand along a legal edge of the lifecycle.
    Move {
        #[command(flatten)]
        lead: LeadRef,
        /// The stage to enter.
        #[arg(long)]
        to: String,
        /// Who.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Undo a merge of two people.
    Unmerge {
        /// The tenant.
        tenant: String,
        /// The merge's id (see `leadhost lead show`).
        merge: u64,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show or change a lead setting: scoring, policy, routing or handoff.
    Settings(SettingsArgs),
    /// Train the predictive model on the tenant's own outcomes.
    Train {
        /// The tenant.
        tenant: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Args)]
pub struct ListArgs {
    /// The tenant.
    pub tenant: String,
    /// Only this stage (visitor, suspect, prospect, lead, sales-ready, ...).
    #[arg(long)]
    pub stage: Option<String>,
    /// Only this grade (hot, warm, cold).
    #[arg(long)]
    pub grade: Option<String>,
    /// Only leads handed to this owner.
    #[arg(long)]
    pub owner: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print the API's JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args)]
pub struct LeadRef {
    /// The tenant.
    pub tenant: String,
    /// The lead's id.
    pub id: u64,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args)]
pub struct LeadArgs {
    #[command(flatten)]
    pub lead: LeadRef,
    /// Print the API's JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct SettingsArgs {
    /// The tenant.
    pub tenant: String,
    /// scoring, policy, routing or handoff.
    pub name: String,
    /// A JSON file to set it from (without it: show the current one).
    #[arg(long)]
    pub set: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Accounts by engagement.
    List {
        /// The tenant.
        tenant: String,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One account: people, buying group, orders and installed base.
    Show {
        /// The tenant.
        tenant: String,
        /// The account's id.
        id: u64,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
pub enum NurtureCommand {
    /// The tenant's care models.
    Models {
        /// The tenant.
        tenant: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One care model as stored.
    Show {
        /// The tenant.
        tenant: String,
        /// The model's name.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Create or replace a care model from a JSON file (its `name` names it).
    Set {
        /// The tenant.
        tenant: String,
        /// The care model's JSON file.
        file: std::path::PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete a care model.
    Delete {
        /// The tenant.
        tenant: String,
        /// The model's name.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Outbound calls (CRM hand-offs, alerts) with their state.
    List {
        /// The tenant.
        tenant: String,
        /// Only pending, sent or dead ones.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Send a dead call again.
    Redrive {
        /// The tenant.
        tenant: String,
        /// Its idempotency key.
        #[arg(value_name = "KEY")]
        item: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn lead_path(r: &LeadRef) -> String {
    format!("/v1/tenants/{}/leads/{}", r.tenant, r.id)
}

async fn action(r: &LeadRef, name: &str, body: Value) -> anyhow::Result<()> {
    let v = call(
        &r.server,
        Method::POST,
        &format!("{}/{name}", lead_path(r)),
        Some(body),
    )
    .await?;
    let lead = &v["lead"];
    println!(
        "lead {} is now {} ({} transition(s), {} outbound call(s) queued)",
        lead["id"],
        lead["stage"].as_str().unwrap_or("?"),
        v["done"]["transitions"],
        v["done"]["outbound"],
    );
    Ok(())
}

pub async fn lead(cmd: LeadCommand) -> anyhow::Result<()> {
    match cmd {
        LeadCommand::List(a) => {
            let mut path = format!("/v1/tenants/{}/leads?limit={}", a.tenant, a.limit);
            for (k, v) in [
                ("stage", &a.stage),
                ("grade", &a.grade),
                ("owner", &a.owner),
            ] {
                if let Some(v) = v {
                    path.push_str(&format!("&{k}={}", encode(v)));
                }
            }
            let v = call(&a.server, Method::GET, &path, None).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_leads(&v["items"]);
                println!("{} lead(s) match", v["total"]);
            }
        }
        LeadCommand::Stats { tenant, server } => {
            let v = call(
                &server,
                Method::GET,
                &format!("/v1/tenants/{tenant}/leads/stats"),
                None,
            )
            .await?;
            print_stages(&v);
            println!(
                "outbox: {} pending, {} sent, {} dead; worker at touchpoint {}{}",
                v["outbox"]["pending"],
                v["outbox"]["sent"],
                v["outbox"]["dead"],
                v["worker"]["cursor"],
                if v["worker"]["replaying"] == json!(true) {
                    " (replaying)"
                } else {
                    ""
                }
            );
        }
        LeadCommand::Show(a) => {
            let v = call(&a.lead.server, Method::GET, &lead_path(&a.lead), None).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_lead(&v);
            }
        }
        LeadCommand::Explain(a) => {
            let v = call(&a.lead.server, Method::GET, &lead_path(&a.lead), None).await?;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "id": v["id"], "score": v["score"], "fit": v["fit"],
                        "engagement": v["engagement"], "scored_at": v["scored_at"],
                        "explanation": v["explanation"],
                    }))?
                );
            } else {
                print_explanation(&v, usize::MAX);
            }
        }
        LeadCommand::Accept { lead, by } => action(&lead, "accept", json!({"by": by})).await?,
        LeadCommand::Reject { lead, by, reason } => {
            action(&lead, "reject", json!({"by": by, "reason": reason})).await?
        }
        LeadCommand::Won {
            lead,
            amount,
            currency,
        } => {
            action(
                &lead,
                "won",
                json!({"amount": amount, "currency": currency}),
            )
            .await?
        }
        LeadCommand::Lost { lead, reason } => {
            action(&lead, "lost", json!({"reason": reason})).await?
        }
        LeadCommand::Disqualify { lead, by, reason } => {
            action(&lead, "disqualify", json!({"by": by, "reason": reason})).await?
        }
        LeadCommand::Move { lead, to, by, note } => {
            action(&lead, "move", json!({"to": to, "by": by, "note": note})).await?
        }
        LeadCommand::Unmerge {
            tenant,
            merge,
            server,
        } => {
            let v = call(
                &server,
                Method::POST,
                &format!("/v1/tenants/{tenant}/merges/{merge}/undo"),
                None,
            )
            .await?;
            println!(
                "merge {merge} undone: person {} is separate from {} again",
                v["merge"]["absorbed"], v["merge"]["survivor"]
            );
        }
        LeadCommand::Settings(a) => settings(a).await?,
        LeadCommand::Train { tenant, server } => {
            let v = call(
                &server,
                Method::POST,
                &format!("/v1/tenants/{tenant}/model/train"),
                None,
            )
            .await?;
            println!(
                "trained on {} leads, tested on the {} latest: AUC {:.3}, top-decile lift {:.2}",
                v["trained_on"],
                v["tested_on"],
                v["auc"].as_f64().unwrap_or(0.0),
                v["lift_top_decile"].as_f64().unwrap_or(0.0)
            );
        }
    }
    Ok(())
}

async fn settings(a: SettingsArgs) -> anyhow::Result<()> {
    let path = format!("/v1/tenants/{}/lead-settings/{}", a.tenant, a.name);
    match &a.set {
        None => {
            let v = call(&a.server, Method::GET, &path, None).await?;
            println!("# {} version {}", a.name, v["version"]);
            println!("{}", serde_json::to_string_pretty(&v["document"])?);
        }
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let key = a
                .server
                .key
                .as_deref()
                .context("no key: pass --key or set LEADHOST_ADMIN_KEY")?;
            let url = format!("{}{path}", a.server.server.trim_end_matches('/'));
            let response = crate::http_client()
                .build()?
                .put(&url)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(text)
                .send()
                .await
                .with_context(|| format!("calling {url}: is `leadhost serve` running?"))?;
            let status = response.status();
            let v: Value = response.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                anyhow::bail!(
                    "{status}: {}",
                    v["message"].as_str().unwrap_or("no details")
                );
            }
            println!(
                "{} set to version {}; {} lead transition(s) from re-evaluation",
                a.name, v["version"], v["applied"]["transitions"]
            );
        }
    }
    Ok(())
}

pub async fn account(cmd: AccountCommand) -> anyhow::Result<()> {
    match cmd {
        AccountCommand::List {
            tenant,
            limit,
            server,
        } => {
            let v = call(
                &server,
                Method::GET,
                &format!("/v1/tenants/{tenant}/accounts?limit={limit}"),
                None,
            )
            .await?;
            println!(
                "{:>5}  {:<24} {:>6} {:>10} {:>8}  best stage",
                "id", "domain", "people", "engagement", "coverage"
            );
            for a in v["items"].as_array().into_iter().flatten() {
                println!(
                    "{:>5}  {:<24} {:>6} {:>10.1} {:>7.0}%  {}",
                    a["id"],
                    a["domain"].as_str().unwrap_or("-"),
                    a["people"].as_array().map_or(0, Vec::len),
                    a["engagement"].as_f64().unwrap_or(0.0),
                    a["coverage"].as_f64().unwrap_or(0.0) * 100.0,
                    a["best_stage"].as_str().unwrap_or("-"),
                );
            }
        }
        AccountCommand::Show { tenant, id, server } => {
            let v = call(
                &server,
                Method::GET,
                &format!("/v1/tenants/{tenant}/accounts/{id}"),
                None,
            )
            .await?;
            println!(
                "account {} {} (owner {})",
                v["id"],
                v["domain"].as_str().unwrap_or("-"),
                v["owner"].as_str().unwrap_or("none")
            );
            println!(
                "engagement {:.1}; buying-group coverage {:.0}%; orders {}; revenue {}",
                v["engagement"].as_f64().unwrap_or(0.0),
                v["coverage"].as_f64().unwrap_or(0.0) * 100.0,
                v["orders"],
                v["revenue"]
            );
            if let Some(roles) = v["buying_group"].as_object() {
                for (role, people) in roles {
                    println!("  {role:<16} {people}");
                }
            }
            for (serial, e) in v["installed_base"].as_object().into_iter().flatten() {
                println!(
                    "  installed {serial}: {} {}",
                    e["model"].as_str().unwrap_or("?"),
                    e["product_line"].as_str().unwrap_or("")
                );
            }
            print_leads(&v["people"]);
        }
    }
    Ok(())
}

pub async fn outbox(cmd: OutboxCommand) -> anyhow::Result<()> {
    match cmd {
        OutboxCommand::List {
            tenant,
            status,
            server,
        } => {
            let mut path = format!("/v1/tenants/{tenant}/outbox");
            if let Some(s) = status {
                path.push_str(&format!("?status={}", encode(&s)));
            }
            let v = call(&server, Method::GET, &path, None).await?;
            for i in v["items"].as_array().into_iter().flatten() {
                println!(
                    "{:<24} {:<12} {:<8} attempts {:<2} {}",
                    i["key"].as_str().unwrap_or("?"),
                    i["kind"].as_str().unwrap_or("?"),
                    i["status"].as_str().unwrap_or("?"),
                    i["attempts"],
                    i["last_error"].as_str().unwrap_or("")
                );
            }
            println!(
                "{} pending, {} sent, {} dead",
                v["counts"]["pending"], v["counts"]["sent"], v["counts"]["dead"]
            );
        }
        OutboxCommand::Redrive {
            tenant,
            item,
            server,
        } => {
            call(
                &server,
                Method::POST,
                &format!("/v1/tenants/{tenant}/outbox/{}/redrive", encode(&item)),
                None,
            )
            .await?;
            println!("{item} will be sent again");
        }
    }
    Ok(())
}

pub async fn nurture(cmd: NurtureCommand) -> anyhow::Result<()> {
    match cmd {
        NurtureCommand::Models { tenant, server } => {
            let v = call(
                &server,
                Method::GET,
                &format!("/v1/tenants/{tenant}/care-models"),
                None,
            )
            .await?;
            for m in v["items"].as_array().into_iter().flatten() {
                println!(
                    "{:<24} {:>3} steps  priority {:<4} {}",
                    m["name"].as_str().unwrap_or("?"),
                    m["steps"],
                    m["priority"].as_i64().unwrap_or(0),
                    m["description"].as_str().unwrap_or("")
                );
            }
            println!("nurture settings version {}", v["version"]);
        }
        NurtureCommand::Show {
            tenant,
            name,
            server,
        } => {
            let v = call(
                &server,
                Method::GET,
                &format!("/v1/tenants/{tenant}/care-models/{}", encode(&name)),
                None,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        NurtureCommand::Set {
            tenant,
            file,
            server,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let model: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let name = model["name"]
                .as_str()
                .with_context(|| format!("{} has no `name`", file.display()))?;
            let v = call(
                &server,
                Method::PUT,
                &format!("/v1/tenants/{tenant}/care-models/{}", encode(name)),
                Some(model.clone()),
            )
            .await?;
            println!(
                "care model {name} {} (nurture settings version {})",
                if v["created"] == json!(true) {
                    "created"
                } else {
                    "replaced"
                },
                v["version"]
            );
        }
        NurtureCommand::Delete {
            tenant,
            name,
            server,
        } => {
            let v = call(
                &server,
                Method::DELETE,
                &format!("/v1/tenants/{tenant}/care-models/{}", encode(&name)),
                None,
            )
            .await?;
            println!(
                "care model {name} deleted (nurture settings version {})",
                v["version"]
            );
        }
    }
    Ok(())
}

/// Percent-encodes a path or query value.
pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Prints leads as a table.
pub fn print_leads(items: &Value) {
    println!(
        "{:>6}  {:<12} {:<5} {:>6}  {:<30} {:<22} {:<10} hand-off",
        "id", "stage", "grade", "score", "email", "title", "owner"
    );
    for l in items.as_array().into_iter().flatten() {
        println!(
            "{:>6}  {:<12} {:<5} {:>6.1}  {:<30} {:<22} {:<10} {}",
            l["id"].as_u64().unwrap_or(0),
            l["stage"].as_str().unwrap_or("?"),
            l["grade"].as_str().unwrap_or("-"),
            l["score"].as_f64().unwrap_or(0.0),
            truncate(l["email"].as_str().unwrap_or("(anonymous)"), 30),
            truncate(l["job_title"].as_str().unwrap_or("-"), 22),
            l["owner"].as_str().unwrap_or("-"),
            l["handoff"].as_str().unwrap_or("-"),
        );
    }
}

/// Prints counts by stage and grade from a stats answer.
pub fn print_stages(v: &Value) {
    let mut line = String::new();
    for stage in leadhost_core::lifecycle::Stage::ALL {
        let n = v["stages"][stage.name()].as_u64().unwrap_or(0);
        line.push_str(&format!("{stage} {n} · "));
    }
    println!("{} leads: {}", v["leads"], line.trim_end_matches(" · "));
    let grades = &v["grades"];
    println!(
        "grades: hot {} · warm {} · cold {}; {} accounts; {} merges",
        grades["hot"].as_u64().unwrap_or(0),
        grades["warm"].as_u64().unwrap_or(0),
        grades["cold"].as_u64().unwrap_or(0),
        v["accounts"],
        v["merges"]
    );
}

/// Prints a lead's score explanation rule by rule: how many touchpoints
/// each rule counted and what it added, largest first.
pub fn print_explanation_summary(v: &Value) {
    println!(
        "lead {} ({}) score {:.1} = fit {:.1} + engagement {:.1}",
        v["id"],
        v["email"].as_str().unwrap_or("anonymous"),
        v["score"].as_f64().unwrap_or(0.0),
        v["fit"].as_f64().unwrap_or(0.0),
        v["engagement"].as_f64().unwrap_or(0.0)
    );
    let mut rules: Vec<(String, usize, f64)> = Vec::new();
    for d in v["explanation"].as_array().into_iter().flatten() {
        let name = format!(
            "{} {}",
            d["section"].as_str().unwrap_or("?"),
            d["rule"].as_str().unwrap_or("?")
        );
        let applied = d["applied"].as_f64().unwrap_or(0.0);
        match rules.iter_mut().find(|(n, ..)| *n == name) {
            Some((_, count, sum)) => {
                *count += 1;
                *sum += applied;
            }
            None => rules.push((name, 1, applied)),
        }
    }
    rules.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
    for (name, count, sum) in rules {
        let times = if name.starts_with("fit") {
            String::new()
        } else {
            format!(" × {count}")
        };
        println!("  {sum:>+7.1}  {name}{times}");
    }
}

/// Prints a lead's score explanation, at most `lines` lines of it.
pub fn print_explanation(v: &Value, lines: usize) {
    println!(
        "lead {} score {:.1} = fit {:.1} + engagement {:.1}",
        v["id"],
        v["score"].as_f64().unwrap_or(0.0),
        v["fit"].as_f64().unwrap_or(0.0),
        v["engagement"].as_f64().unwrap_or(0.0)
    );
    let all = v["explanation"].as_array().cloned().unwrap_or_default();
    for d in all.iter().take(lines) {
        println!(
            "  {:>+7.2}  {:<10} {:<22} {}{}",
            d["applied"].as_f64().unwrap_or(0.0),
            d["section"].as_str().unwrap_or("?"),
            truncate(d["rule"].as_str().unwrap_or("?"), 22),
            d["kind"].as_str().unwrap_or(""),
            d["touchpoint"]
                .as_str()
                .map(|t| format!(" ({})", truncate(t, 36)))
                .unwrap_or_default()
        );
    }
    if all.len() > lines {
        println!("  … {} more line(s)", all.len() - lines);
    }
}

/// Prints everything about a lead.
pub fn print_lead(v: &Value) {
    println!(
        "lead {}: {} {} — {} (score {:.1}, {})",
        v["id"],
        v["name"].as_str().unwrap_or(""),
        v["email"].as_str().unwrap_or("(anonymous)"),
        v["stage"].as_str().unwrap_or("?"),
        v["score"].as_f64().unwrap_or(0.0),
        v["grade"].as_str().unwrap_or("-")
    );
    if let Some(p) = v["predicted"].as_f64() {
        println!("predicted to convert: {:.1}%", p * 100.0);
    }
    let ids: Vec<String> = v["identities"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            format!(
                "{}={}",
                i["kind"].as_str().unwrap_or("?"),
                i["value"].as_str().unwrap_or("?")
            )
        })
        .collect();
    println!("identities: {}", ids.join(", "));
    if let Some(a) = v["account_domain"].as_str() {
        println!("account: {a} (id {})", v["account"]);
    }
    println!("stage history:");
    for t in v["history"].as_array().into_iter().flatten() {
        let tr = &t["transition"];
        println!(
            "  {:<12} → {:<12} {} by {}",
            tr["from"].as_str().unwrap_or("?"),
            tr["to"].as_str().unwrap_or("?"),
            tr["cause"]["kind"].as_str().unwrap_or("?"),
            tr["actor"]["id"]
                .as_str()
                .unwrap_or(tr["actor"]["kind"].as_str().unwrap_or("?"))
        );
    }
    for h in v["handoffs"].as_array().into_iter().flatten() {
        println!(
            "hand-off {}: team {} owner {} — {} (due {})",
            h["seq"],
            h["team"].as_str().unwrap_or("-"),
            h["owner"].as_str().unwrap_or("-"),
            h["status"]["status"].as_str().unwrap_or("?"),
            h["due_at"]
        );
    }
    print_explanation_summary(v);
    for e in v["journey"].as_array().into_iter().flatten() {
        let status = &e["status"];
        println!(
            "care model {} (enrollment {}): {}",
            e["model"].as_str().unwrap_or("?"),
            e["seq"],
            match status["status"].as_str() {
                Some("active") => format!("at step {}", e["step_id"].as_str().unwrap_or("?")),
                _ => format!("ended: {}", status["outcome"]),
            }
        );
        for sent in e["sent"].as_array().into_iter().flatten() {
            println!(
                "  sent    {:<16} by {}",
                sent["step"].as_str().unwrap_or("?"),
                sent["channel"].as_str().unwrap_or("?")
            );
        }
        for skipped in e["skipped"].as_array().into_iter().flatten() {
            println!(
                "  skipped {:<16} {}",
                skipped["step"].as_str().unwrap_or("?"),
                skipped["reason"].as_str().unwrap_or("?")
            );
        }
    }
    println!("latest touchpoints:");
    for t in v["recent_touchpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .take(10)
    {
        println!(
            "  {:<10} {:<20} {}",
            t["channel"].as_str().unwrap_or("?"),
            t["kind"].as_str().unwrap_or("?"),
            t["url"].as_str().or(t["topic"].as_str()).unwrap_or("")
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let cut: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
