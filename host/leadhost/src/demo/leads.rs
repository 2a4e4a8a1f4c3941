//! The demo's lead part: the tenant's qualification policy, routing and
//! hand-off settings, a stand-in CRM on loopback that records the hand-offs
//! it receives, and the leads the traffic produced.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::client::{ServerArgs, call};
use crate::lead_client::{print_explanation_summary, print_leads, print_stages};

/// A local HTTP endpoint standing in for the tenant's CRM and alert hook.
pub struct StandInCrm {
    /// Its base URL.
    pub url: String,
    received: Arc<Mutex<Vec<(String, Value)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StandInCrm {
    /// Starts it on an ephemeral loopback port.
    pub async fn start() -> anyhow::Result<StandInCrm> {
        let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let log = Arc::clone(&received);
        let app = axum::Router::new().route(
            "/{*path}",
            axum::routing::post(
                move |axum::extract::Path(path): axum::extract::Path<String>,
                      headers: HeaderMap,
                      axum::Json(body): axum::Json<Value>| {
                    let log = Arc::clone(&log);
                    async move {
                        let key = headers
                            .get("idempotency-key")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        log.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((format!("{path} {key}"), body));
                        axum::Json(json!({"ok": true}))
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(StandInCrm {
            url,
            received,
            task,
        })
    }

    /// What it received: `("path key", body)`.
    pub fn received(&self) -> Vec<(String, Value)> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for StandInCrm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn put_setting(api: &ServerArgs, name: &str, document: Value) -> anyhow::Result<Value> {
    call(
        api,
        reqwest::Method::PUT,
        &format!("/v1/tenants/acme/lead-settings/{name}"),
        Some(document),
    )
    .await
}

/// Sets the demo tenant's policy, routing and hand-off settings.
pub async fn configure(api: &ServerArgs, crm: &StandInCrm) -> anyhow::Result<()> {
    put_setting(
        api,
        "policy",
        json!({
            "mql_threshold": 30, "sql_threshold": 55, "sla_minutes": 240,
            "on_sla_expiry": {"action": "reassign"},
            "buying_roles": {
                "decision-maker": ["director", "vp", "head of *", "chief *", "manager"],
                "influencer": ["engineer", "specialist", "planner"],
                "user": ["operator", "technician"]
            }
        }),
    )
    .await?;
    put_setting(
        api,
        "routing",
        json!({
            "rules": [
                {"name": "pulp and paper", "industry": ["Pulp & Paper"], "team": "pulp",
                 "account_owner_wins": true}
            ],
            "default_team": "inside",
            "teams": {
                "pulp": {"members": [
                    {"id": "anna", "capacity": 2, "active": true},
                    {"id": "mikko", "capacity": 1, "active": true}
                ]},
                "inside": {"members": [{"id": "sara", "capacity": 1, "active": true}]}
            }
        }),
    )
    .await?;
    put_setting(
        api,
        "handoff",
        json!({
            "crm": {"url": format!("{}/crm/leads", crm.url), "secret": "demo-crm-secret"},
            "alerts": {"url": format!("{}/alerts", crm.url)},
            "users": {
                "anna": {"email": "anna@acme.example", "name": "Anna"},
                "mikko": {"email": "mikko@acme.example", "name": "Mikko"},
                "sara": {"email": "sara@acme.example", "name": "Sara"}
            }
        }),
    )
    .await?;
    println!(
        "  lead settings: MQL at 30, SQL at 55, 4 h to accept; teams pulp (anna 2, mikko 1) and inside (sara); CRM at {}/crm/leads",
        crm.url
    );
    Ok(())
}

/// Shows what the traffic made of the leads: stages, the hottest leads
/// with their explanations, hand-offs with owners and SLA, and what the CRM
/// received.
pub async fn show(api: &ServerArgs, crm: &StandInCrm) -> anyhow::Result<()> {
    call(
        api,
        reqwest::Method::POST,
        "/v1/tenants/acme/leads/sync",
        None,
    )
    .await?;
    let stats = call(
        api,
        reqwest::Method::GET,
        "/v1/tenants/acme/leads/stats",
        None,
    )
    .await?;
    println!("\nLeads:");
    print_stages(&stats);

    let hot = call(
        api,
        reqwest::Method::GET,
        "/v1/tenants/acme/leads?limit=5",
        None,
    )
    .await?;
    println!("\nThe top leads, and why:");
    print_leads(&hot["items"]);
    for item in hot["items"].as_array().into_iter().flatten().take(2) {
        let lead = call(
            api,
            reqwest::Method::GET,
            &format!("/v1/tenants/acme/leads/{}", item["id"]),
            None,
        )
        .await?;
        println!();
        print_explanation_summary(&lead);
    }

    let ready = call(
        api,
        reqwest::Method::GET,
        "/v1/tenants/acme/leads?stage=sales-ready&limit=100",
        None,
    )
    .await?;
    let ready: Vec<Value> = ready["items"].as_array().cloned().unwrap_or_default();
    println!("\nHand-offs to sales ({} sales-ready):", ready.len());
    let handoffs = call(api, reqwest::Method::GET, "/v1/tenants/acme/handoffs", None).await?;
    let now = crate::now_ms();
    for h in handoffs["items"].as_array().into_iter().flatten().take(8) {
        let due = h["due_at"].as_i64().unwrap_or(0);
        println!(
            "  lead {:>5} → {:<6} (team {:<6}) {:<9} SLA: {}",
            h["person_id"].as_i64().unwrap_or(0),
            h["owner"].as_str().unwrap_or("-"),
            h["team"].as_str().unwrap_or("-"),
            h["status"].as_str().unwrap_or("?"),
            if due > now {
                format!("{} min left", (due - now) / 60_000)
            } else {
                "overdue".to_string()
            }
        );
    }

    // Sales answers two of them.
    let mut answered = Vec::new();
    if let Some(first) = ready.first() {
        let owner = first["owner"].as_str().unwrap_or("anna").to_string();
        call(
            api,
            reqwest::Method::POST,
            &format!("/v1/tenants/acme/leads/{}/accept", first["id"]),
            Some(json!({"by": owner})),
        )
        .await?;
        answered.push(format!(
            "{owner} accepted lead {}: an opportunity",
            first["id"]
        ));
    }
    if let Some(second) = ready.get(1) {
        let owner = second["owner"].as_str().unwrap_or("anna").to_string();
        call(
            api,
            reqwest::Method::POST,
            &format!("/v1/tenants/acme/leads/{}/reject", second["id"]),
            Some(json!({"by": owner, "reason": "student project, no budget"})),
        )
        .await?;
        answered.push(format!(
            "{owner} rejected lead {}: recycled into nurturing",
            second["id"]
        ));
    }
    for line in &answered {
        println!("  {line}");
    }

    // The outbox delivers the hand-offs and alerts to the stand-in CRM.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let outbox = call(api, reqwest::Method::GET, "/v1/tenants/acme/outbox", None).await?;
        let pending = outbox["counts"]["pending"].as_u64().unwrap_or(0);
        if pending == 0 || tokio::time::Instant::now() >= deadline {
            let received = crm.received();
            let crm_calls = received
                .iter()
                .filter(|(k, _)| k.starts_with("crm/"))
                .count();
            let alerts = received.len() - crm_calls;
            println!(
                "\n  the CRM received {crm_calls} hand-off(s) and the alert hook {alerts} alert(s), each once under its idempotency key; outbox: {} sent, {} pending, {} dead",
                outbox["counts"]["sent"], pending, outbox["counts"]["dead"]
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
