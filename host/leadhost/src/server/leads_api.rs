//! The lead API under `/v1/tenants/{tenant}/`: leads, accounts, merges,
//! hand-offs, the lead settings, the predictive model and the outbox. The
//! admin key or the tenant's own key.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use leadhost_core::identity::{MergeId, PersonId};
use leadhost_core::leads::{Command, CommandError, LeadFilter, TenantConfig, Versions};
use leadhost_core::lifecycle::{Actor, Policy, RoutingRules, Stage};
use leadhost_core::scoring::{Grade, Rules};
use leadhost_store::Tenant;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::Caller;
use super::{ApiError, App};
use crate::leads::worker::CommandFailure;

/// The lead settings a tenant can set, each versioned.
pub(crate) const SETTINGS: [&str; 5] = ["scoring", "policy", "routing", "handoff", "nurture"];

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/v1/tenants/{tenant}/leads", get(list_leads))
        .route("/v1/tenants/{tenant}/leads/stats", get(stats))
        .route("/v1/tenants/{tenant}/leads/sync", post(sync))
        .route("/v1/tenants/{tenant}/leads/{id}", get(lead))
        .route(
            "/v1/tenants/{tenant}/leads/{id}/{action}",
            post(lead_action),
        )
        .route("/v1/tenants/{tenant}/accounts", get(accounts))
        .route("/v1/tenants/{tenant}/accounts/{id}", get(account))
        .route("/v1/tenants/{tenant}/merges", get(merges))
        .route("/v1/tenants/{tenant}/merges/{id}/undo", post(unmerge))
        .route("/v1/tenants/{tenant}/handoffs", get(handoffs))
        .route(
            "/v1/tenants/{tenant}/lead-settings/{name}",
            get(get_setting).put(put_setting),
        )
        .route("/v1/tenants/{tenant}/model", get(model))
        .route("/v1/tenants/{tenant}/model/train", post(train))
        .route("/v1/tenants/{tenant}/care-models", get(care_models))
        .route(
            "/v1/tenants/{tenant}/care-models/{name}",
            get(care_model)
                .put(put_care_model)
                .delete(delete_care_model),
        )
        .route("/v1/tenants/{tenant}/outbox", get(outbox))
        .route("/v1/tenants/{tenant}/outbox/{key}/redrive", post(redrive))
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-found", message)
}

/// A view as JSON, or 404 naming what was not found.
fn found<T: serde::Serialize>(
    view: Option<T>,
    tenant: &str,
    what: &str,
    id: u64,
) -> Result<Json<Value>, ApiError> {
    view.map(|v| Json(json!(v)))
        .ok_or_else(|| not_found(format!("tenant {tenant:?} has no {what} {id}")))
}

/// The query of a lead list; text fields so that errors can name the value.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ListQuery {
    stage: Option<String>,
    grade: Option<String>,
    owner: Option<String>,
    min_score: Option<f64>,
    account: Option<u64>,
    offset: Option<usize>,
    limit: Option<usize>,
}

fn parse_stage(name: &str) -> Result<Stage, ApiError> {
    Stage::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Stage::ALL.iter().map(|s| s.name()).collect();
        bad(
            "unknown-stage",
            format!("no stage {name:?} (stages: {})", names.join(", ")),
        )
    })
}

async fn list_leads(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let grade = match q.grade.as_deref() {
        None => None,
        Some("hot") => Some(Grade::Hot),
        Some("warm") => Some(Grade::Warm),
        Some("cold") => Some(Grade::Cold),
        Some(other) => {
            return Err(bad(
                "unknown-grade",
                format!("no grade {other:?} (grades: hot, warm, cold)"),
            ));
        }
    };
    let filter = LeadFilter {
        stage: q.stage.as_deref().map(parse_stage).transpose()?,
        grade,
        owner: q.owner,
        min_score: q.min_score,
        account: q.account,
        offset: q.offset.unwrap_or(0),
        limit: q.limit,
    };
    let page = app.leads.read(t.id, |e| e.leads(&filter));
    Ok(Json(json!(page)))
}

async fn stats(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let counts = app.leads.read(t.id, |e| e.counts());
    let stages: serde_json::Map<String, Value> = counts
        .stages
        .iter()
        .map(|(s, n)| (s.name().to_string(), json!(n)))
        .collect();
    let outbox = app.store.outbox_counts(t.id)?;
    Ok(Json(json!({
        "leads": counts.leads,
        "stages": stages,
        "grades": counts.grades,
        "accounts": counts.accounts,
        "touchpoints": counts.touchpoints,
        "merges": counts.merges,
        "outbox": outbox,
        "worker": app.leads.status(),
    })))
}

/// Waits (up to 30 s) until the lead engines have applied every touchpoint
/// stored before the call; for scripts, tests and the demo.
async fn sync(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.tenant(&app, &tenant)?;
    let caught_up = app
        .leads
        .caught_up(&app.store, Duration::from_secs(30))
        .await;
    if !caught_up {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "behind",
            "the lead engines are still catching up with the touchpoint log; retry",
        )
        .retry_after(2));
    }
    Ok(Json(json!({"worker": app.leads.status()})))
}

async fn lead(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, u64)>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    found(app.leads.read(t.id, |e| e.lead(id)), &tenant, "lead", id)
}

/// The body of a lead action; which fields are needed depends on the action.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ActionBody {
    by: Option<String>,
    reason: Option<String>,
    amount: Option<f64>,
    currency: Option<String>,
    to: Option<String>,
    note: Option<String>,
}

fn required(value: Option<String>, field: &str, action: &str) -> Result<String, ApiError> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            bad(
                "missing-field",
                format!("`{action}` needs a non-empty `{field}`"),
            )
        })
}

async fn lead_action(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id, action)): Path<(String, u64, String)>,
    body: Option<Json<ActionBody>>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let person = PersonId(id);
    let actor = Actor::Operator;
    let command = match action.as_str() {
        "accept" => Command::Accept {
            person,
            by: required(body.by, "by", "accept")?,
        },
        "reject" => Command::Reject {
            person,
            by: required(body.by, "by", "reject")?,
            reason: required(body.reason, "reason", "reject")?,
        },
        "won" => {
            if body.amount.is_some_and(|a| !a.is_finite() || a < 0.0) {
                return Err(bad("invalid", "`amount` must be a number of 0 or more"));
            }
            Command::Won {
                person,
                amount: body.amount,
                currency: body.currency,
            }
        }
        "lost" => Command::Lost {
            person,
            reason: required(body.reason, "reason", "lost")?,
        },
        "disqualify" => Command::Disqualify {
            person,
            actor: actor(required(body.by, "by", "disqualify")?),
            reason: required(body.reason, "reason", "disqualify")?,
        },
        "move" => Command::Move {
            person,
            to: parse_stage(&required(body.to, "to", "move")?)?,
            actor: actor(required(body.by, "by", "move")?),
            note: body.note.unwrap_or_default(),
        },
        other => {
            return Err(not_found(format!(
                "no lead action {other:?} (actions: accept, reject, won, lost, disqualify, move)"
            )));
        }
    };
    let done = run(&app, &t, command).await?;
    let view = app.leads.read(t.id, |e| e.lead(id));
    Ok(Json(json!({"done": done, "lead": view})))
}

/// Runs a command, mapping a refusal to the status it deserves.
async fn run(
    app: &App,
    t: &Tenant,
    command: Command,
) -> Result<crate::leads::worker::CommandDone, ApiError> {
    app.leads.command(t.id, command).await.map_err(|e| match e {
        CommandFailure::Refused(CommandError::UnknownLead(id)) => {
            not_found(format!("tenant {:?} has no lead {id}", t.name))
        }
        CommandFailure::Refused(e @ CommandError::Identity(_)) => {
            ApiError::new(StatusCode::CONFLICT, "unmerge-refused", e.to_string())
        }
        CommandFailure::Refused(e @ CommandError::Train(_)) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-enough-outcomes",
            e.to_string(),
        ),
        CommandFailure::Refused(e) => {
            ApiError::new(StatusCode::CONFLICT, "illegal-move", e.to_string())
        }
        CommandFailure::Worker(m) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "lead-worker", m).retry_after(2)
        }
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LimitQuery {
    limit: Option<usize>,
    status: Option<String>,
}

async fn accounts(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let limit = q.limit.unwrap_or(50).min(1000);
    let items = app.leads.read(t.id, |e| e.accounts(limit));
    Ok(Json(json!({"items": items})))
}

async fn account(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, u64)>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    found(
        app.leads.read(t.id, |e| e.account(id)),
        &tenant,
        "account",
        id,
    )
}

async fn merges(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let items = app.leads.read(t.id, |e| e.graph().merges().to_vec());
    Ok(Json(json!({"items": items})))
}

async fn unmerge(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, u64)>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let done = run(&app, &t, Command::Unmerge { merge: MergeId(id) }).await?;
    let merge = app.leads.read(t.id, |e| {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        e.graph().merges().get(index).cloned()
    });
    Ok(Json(json!({"done": done, "merge": merge})))
}

async fn handoffs(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let items = app.store.lead_handoffs(t.id, q.status.as_deref())?;
    Ok(Json(json!({"items": items})))
}

fn check_setting_name(name: &str) -> Result<(), ApiError> {
    if SETTINGS.contains(&name) {
        Ok(())
    } else {
        Err(not_found(format!(
            "no lead setting {name:?} (settings: {})",
            SETTINGS.join(", ")
        )))
    }
}

async fn get_setting(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    check_setting_name(&name)?;
    let stored = app.store.lead_setting(t.id, &name)?;
    let (version, document) = match stored {
        Some(s) => (
            s.version,
            serde_json::from_str(&s.document).unwrap_or(Value::Null),
        ),
        None => (0, default_setting(&name)),
    };
    Ok(Json(
        json!({"name": name, "version": version, "document": document}),
    ))
}

/// What a tenant has until it sets its own.
fn default_setting(name: &str) -> Value {
    match name {
        "scoring" => {
            serde_json::from_str(leadhost_core::leads::DEFAULT_RULES).unwrap_or(Value::Null)
        }
        "policy" => json!(Policy::default()),
        _ => Value::Null,
    }
}

/// Validates a setting document, answering 400 with the reason.
fn validate_setting(name: &str, document: &str) -> Result<(), ApiError> {
    let invalid = |e: String| bad("invalid-setting", format!("{name}: {e}"));
    match name {
        "scoring" => Rules::from_json(document)
            .map(|_| ())
            .map_err(|e| invalid(e.to_string())),
        "policy" => Policy::from_json(document)
            .map(|_| ())
            .map_err(|e| invalid(e.to_string())),
        "routing" => RoutingRules::from_json(document)
            .map(|_| ())
            .map_err(|e| invalid(e.to_string())),
        "handoff" => crate::leads::handoff::parse(document)
            .map(|_| ())
            .map_err(invalid),
        "nurture" => leadhost_core::nurture::NurtureConfig::from_json(document)
            .map(|_| ())
            .map_err(|e| bad("invalid-setting", e.to_string())),
        _ => check_setting_name(name),
    }
}

/// The tenant's configuration from its latest stored settings.
pub(crate) fn tenant_config(app: &App, tenant_id: i64) -> Result<TenantConfig, ApiError> {
    let scoring = app.store.lead_setting(tenant_id, "scoring")?;
    let policy = app.store.lead_setting(tenant_id, "policy")?;
    let routing = app.store.lead_setting(tenant_id, "routing")?;
    let nurture = app.store.lead_setting(tenant_id, "nurture")?;
    let stored_invalid = |name: &str, e: String| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored-setting-invalid",
            format!("the stored {name} setting no longer parses: {e}"),
        )
    };
    let versions = Versions {
        scoring: scoring.as_ref().map_or(0, |s| s.version),
        policy: policy.as_ref().map_or(0, |s| s.version),
        routing: routing.as_ref().map_or(0, |s| s.version),
        nurture: nurture.as_ref().map_or(0, |s| s.version),
    };
    let policy = match policy {
        Some(p) => {
            Policy::from_json(&p.document).map_err(|e| stored_invalid("policy", e.to_string()))?
        }
        None => Policy::default(),
    };
    let routing = routing
        .map(|r| RoutingRules::from_json(&r.document))
        .transpose()
        .map_err(|e| stored_invalid("routing", e.to_string()))?;
    let scoring = scoring.map_or_else(
        || leadhost_core::leads::DEFAULT_RULES.to_string(),
        |s| s.document,
    );
    let config = TenantConfig::new(&scoring, policy, routing, versions)
        .map_err(|e| stored_invalid("scoring", e.to_string()))?;
    match nurture {
        None => Ok(config),
        Some(n) => config
            .with_nurture(&n.document)
            .map_err(|e| stored_invalid("nurture", e.to_string())),
    }
}

async fn put_setting(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    check_setting_name(&name)?;
    if name == "handoff" {
        // It names the URLs the host will call: an operator's decision, not
        // a tenant's (a tenant key could otherwise point the host at
        // internal addresses).
        caller.admin()?;
    }
    validate_setting(&name, &body)?;
    // One configuration change at a time: each reads every part back.
    let _guard = app.leads.config_lock.lock().await;
    let version = app.store.put_lead_setting(t.id, &name, &body)?;
    tracing::info!(tenant = %t.name, setting = %name, version, "lead setting saved");
    // Hand-off settings are read by the outbox dispatcher; the others
    // reach the lead engines as a logged configuration change.
    let done = if name == "handoff" {
        None
    } else {
        let config = tenant_config(&app, t.id)?;
        Some(
            run(
                &app,
                &t,
                Command::Configure {
                    config: Box::new(config),
                },
            )
            .await?,
        )
    };
    Ok(Json(
        json!({"name": name, "version": version, "applied": done}),
    ))
}

async fn model(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let model = app.leads.read(t.id, |e| e.model().cloned());
    match model {
        Some(m) => Ok(Json(json!({
            "trained": true,
            "auc": m.auc,
            "lift_top_decile": m.lift_top_decile,
            "trained_on": m.trained_on,
            "tested_on": m.tested_on,
            "split_at": m.split_at,
            "features": m.feature_names,
            "weights": m.weights(),
        }))),
        None => Ok(Json(json!({"trained": false}))),
    }
}

async fn train(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    run(&app, &t, Command::Train).await?;
    model(State(app), caller, Path(tenant)).await
}

async fn outbox(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    if let Some(s) = q.status.as_deref()
        && !leadhost_store::OUTBOX_STATUSES.contains(&s)
    {
        return Err(bad(
            "unknown-status",
            format!(
                "no outbox status {s:?} (statuses: {})",
                leadhost_store::OUTBOX_STATUSES.join(", ")
            ),
        ));
    }
    let limit = q.limit.unwrap_or(100).min(1000);
    let items = app.store.outbox_items(t.id, q.status.as_deref(), limit)?;
    let counts = app.store.outbox_counts(t.id)?;
    Ok(Json(json!({"items": items, "counts": counts})))
}

async fn redrive(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    app.store.outbox_redrive(t.id, &key, crate::now_ms())?;
    let item = app.store.outbox_item(t.id, &key)?;
    Ok(Json(json!({"item": item})))
}

/// The tenant's nurturing document as JSON (`{}` until one is set) and its
/// version.
fn nurture_document(app: &App, tenant_id: i64) -> Result<(i64, Value), ApiError> {
    Ok(match app.store.lead_setting(tenant_id, "nurture")? {
        Some(s) => (
            s.version,
            serde_json::from_str(&s.document).unwrap_or_else(|_| json!({})),
        ),
        None => (0, json!({})),
    })
}

/// Hands the tenant's stored configuration to its lead engine.
async fn reconfigure(app: &App, t: &Tenant) -> Result<(), ApiError> {
    let config = tenant_config(app, t.id)?;
    run(
        app,
        t,
        Command::Configure {
            config: Box::new(config),
        },
    )
    .await?;
    Ok(())
}

fn models_of(document: &Value) -> Vec<Value> {
    document["models"].as_array().cloned().unwrap_or_default()
}

async fn care_models(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let (version, document) = nurture_document(&app, t.id)?;
    let items: Vec<Value> = models_of(&document)
        .iter()
        .map(|m| {
            json!({
                "name": m["name"],
                "description": m["description"],
                "revision": m["revision"],
                "priority": m["priority"],
                "steps": m["steps"].as_array().map_or(0, Vec::len),
            })
        })
        .collect();
    Ok(Json(json!({"version": version, "items": items})))
}

async fn care_model(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let (_, document) = nurture_document(&app, t.id)?;
    models_of(&document)
        .into_iter()
        .find(|m| m["name"] == name.as_str())
        .map(Json)
        .ok_or_else(|| not_found(format!("tenant {tenant:?} has no care model {name:?}")))
}

/// Stores `models` in the tenant's nurturing document after validating the
/// whole document; answers with the new version.
fn save_models(
    app: &App,
    t: &Tenant,
    mut document: Value,
    models: Vec<Value>,
) -> Result<i64, ApiError> {
    if !document.is_object() {
        document = json!({});
    }
    document["models"] = Value::Array(models);
    let text = document.to_string();
    leadhost_core::nurture::NurtureConfig::from_json(&text)
        .map_err(|e| bad("invalid-care-model", e.to_string()))?;
    Ok(app.store.put_lead_setting(t.id, "nurture", &text)?)
}

async fn put_care_model(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    // The model alone first, so its errors name its steps without the
    // document's prefix.
    leadhost_core::nurture::CareModel::from_json(&body)
        .map_err(|e| bad("invalid-care-model", e.to_string()))?;
    let model: Value =
        serde_json::from_str(&body).map_err(|e| bad("invalid-care-model", e.to_string()))?;
    if model["name"] != name.as_str() {
        return Err(bad(
            "name-mismatch",
            format!(
                "the model is named {} but the path says {name:?}",
                model["name"]
            ),
        ));
    }
    let _guard = app.leads.config_lock.lock().await;
    let (_, document) = nurture_document(&app, t.id)?;
    let mut models = models_of(&document);
    let created = match models.iter_mut().find(|m| m["name"] == name.as_str()) {
        Some(existing) => {
            *existing = model;
            false
        }
        None => {
            models.push(model);
            true
        }
    };
    let version = save_models(&app, &t, document, models)?;
    reconfigure(&app, &t).await?;
    tracing::info!(tenant = %t.name, model = %name, version, "care model saved");
    Ok(Json(
        json!({"name": name, "created": created, "version": version}),
    ))
}

async fn delete_care_model(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let _guard = app.leads.config_lock.lock().await;
    let (_, document) = nurture_document(&app, t.id)?;
    let mut models = models_of(&document);
    let before = models.len();
    models.retain(|m| m["name"] != name.as_str());
    if models.len() == before {
        return Err(not_found(format!(
            "tenant {tenant:?} has no care model {name:?}"
        )));
    }
    let version = save_models(&app, &t, document, models)?;
    reconfigure(&app, &t).await?;
    Ok(Json(
        json!({"name": name, "deleted": true, "version": version}),
    ))
}
