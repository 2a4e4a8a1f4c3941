//! The management API under `/v1/`: tenants, connectors, plugins and the
//! touchpoints that landed. `Authorization: Bearer <key>`: the admin key for
//! everything, a tenant's key for that tenant's reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use leadhost_core::{HostGrant, Manifest};
use leadhost_store::{Connector, ConnectorSpec, Grants, Tenant, TouchpointQuery};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, App};

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/v1/plugins", get(plugins))
        .route("/v1/tenants", post(create_tenant).get(list_tenants))
        .route("/v1/tenants/{tenant}/connectors", get(list_connectors))
        .route(
            "/v1/tenants/{tenant}/connectors/{name}",
            put(put_connector).get(get_connector),
        )
        .route(
            "/v1/tenants/{tenant}/connectors/{name}/enable",
            post(enable),
        )
        .route(
            "/v1/tenants/{tenant}/connectors/{name}/disable",
            post(disable),
        )
        .route("/v1/tenants/{tenant}/touchpoints", get(touchpoints))
}

/// Who is calling.
pub(crate) enum Caller {
    Admin,
    Tenant(Tenant),
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "send `Authorization: Bearer <admin or tenant key>`",
                )
            })?;
        if leadhost_core::signature::constant_time_eq(key.as_bytes(), app.admin_key.as_bytes()) {
            return Ok(Caller::Admin);
        }
        match app.store.tenant_by_api_key(key)? {
            Some(t) => Ok(Caller::Tenant(t)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unknown key",
            )),
        }
    }
}

impl Caller {
    pub(crate) fn admin(&self) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Tenant(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this needs the admin key",
            )),
        }
    }

    /// The tenant named, if this caller may read it.
    pub(crate) fn tenant(&self, app: &App, name: &str) -> Result<Tenant, ApiError> {
        let tenant = app.store.tenant(name)?.ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown-tenant",
                format!("no tenant named {name:?}"),
            )
        })?;
        match self {
            Caller::Admin => Ok(tenant),
            Caller::Tenant(t) if t.id == tenant.id => Ok(tenant),
            Caller::Tenant(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "a tenant key reads only its own tenant",
            )),
        }
    }
}

fn manifest_json(m: &Manifest) -> Value {
    json!({
        "name": m.name,
        "version": m.version,
        "description": m.description,
        "channels": m.channels,
        "operations": m.operations,
        "config": m.config,
        "secrets": m.secrets,
        "capabilities": m.capabilities,
    })
}

async fn plugins(State(app): State<Arc<App>>, _caller: Caller) -> Json<Value> {
    let mut list: Vec<_> = app
        .plugins
        .values()
        .map(|p| {
            let mut v = manifest_json(p.manifest());
            v["digest"] = json!(p.digest());
            v["contract"] = json!(p.contract());
            v["batches"] = json!(p.batches());
            v
        })
        .collect();
    list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Json(json!({ "plugins": list }))
}

#[derive(Deserialize)]
struct NewTenant {
    name: String,
}

async fn create_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Json(body): Json<NewTenant>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.admin()?;
    let (tenant, api_key) = app.store.create_tenant(&body.name)?;
    tracing::info!(tenant = %tenant.name, "tenant created");
    Ok((
        StatusCode::CREATED,
        Json(json!({"tenant": tenant, "api_key": api_key})),
    ))
}

async fn list_tenants(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.admin()?;
    Ok(Json(json!({ "tenants": app.store.list_tenants()? })))
}

fn connector_json(app: &App, tenant: &str, c: &Connector) -> Value {
    let health = app
        .cached(tenant, &c.name)
        .filter(|b| b.connector.revision == c.revision)
        .map(|b| json!(b.binding.health_report()));
    json!({
        "name": c.name,
        "plugin": c.plugin,
        "plugin_version": c.plugin_version,
        "enabled": c.enabled,
        "revision": c.revision,
        "config": c.config,
        "secrets": c.secret_names(),
        "grants": c.grants,
        "health": health,
        "ingest_url": format!("/ingest/{tenant}/{}", c.name),
    })
}

async fn list_connectors(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let list: Vec<_> = app
        .store
        .list_connectors(t.id)?
        .iter()
        .map(|c| connector_json(&app, &t.name, c))
        .collect();
    Ok(Json(json!({ "connectors": list })))
}

async fn get_connector(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let c = app.store.connector(t.id, &name)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-connector",
            format!("no connector named {name:?}"),
        )
    })?;
    Ok(Json(connector_json(&app, &t.name, &c)))
}

/// What an operator sends to enable or reconfigure a connector.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectorRequest {
    plugin: String,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    #[serde(default)]
    grants: Grants,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// Parses granted host patterns.
pub(crate) fn parse_hosts(hosts: &[String]) -> Result<Vec<HostGrant>, ApiError> {
    hosts
        .iter()
        .map(|h| HostGrant::parse(h))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid-grant", e.to_string()))
}

/// Every problem of a connector request against its plugin's manifest.
fn problems(m: &Manifest, req: &ConnectorRequest) -> Vec<String> {
    let mut out = Vec::new();
    let known: Vec<&str> = m.config.iter().map(|c| c.name.as_str()).collect();
    for (key, value) in &req.config {
        match m.config.iter().find(|c| &c.name == key) {
            None => out.push(format!(
                "config {key:?} is not read by {} (it reads: {})",
                m.name,
                if known.is_empty() {
                    "nothing".into()
                } else {
                    known.join(", ")
                }
            )),
            Some(field) if !field.value_type.accepts(value) => out.push(format!(
                "config {key:?} must be {} (got {value:?})",
                field.value_type.name()
            )),
            Some(_) => {}
        }
    }
    for field in &m.config {
        if field.required && field.default_value.is_none() && !req.config.contains_key(&field.name)
        {
            out.push(format!(
                "config {:?} is required: {}",
                field.name, field.description
            ));
        }
    }
    for name in req.secrets.keys() {
        if !m.secrets.iter().any(|s| &s.name == name) {
            out.push(format!("secret {name:?} is not used by {}", m.name));
        }
    }
    for field in &m.secrets {
        if field.required && !req.secrets.contains_key(&field.name) {
            out.push(format!(
                "secret {:?} is required: {}",
                field.name, field.description
            ));
        }
    }
    // `{config:KEY}` entries ask for the host the operator configures.
    let asked = m.requested_hosts(&req.config);
    let requested: Vec<HostGrant> = asked
        .iter()
        .filter_map(|h| HostGrant::parse(h).ok())
        .collect();
    for host in &req.grants.outbound_hosts {
        match HostGrant::parse(host) {
            Err(e) => out.push(e.to_string()),
            Ok(_) => {
                let (name, port) = match host.rsplit_once(':') {
                    Some((n, p)) => (n, p.parse().unwrap_or(0)),
                    None => (host.as_str(), 0),
                };
                let covered = asked.iter().any(|r| r == host)
                    || requested.iter().any(|r| r.covers(name, port));
                if !covered {
                    out.push(format!(
                        "{} does not ask for outbound host {host:?} (it asks for: {})",
                        m.name,
                        if asked.is_empty() {
                            "none".into()
                        } else {
                            asked.join(", ")
                        }
                    ));
                }
            }
        }
    }
    if req.grants.state && !m.capabilities.state {
        out.push(format!("{} does not ask for state", m.name));
    }
    if let Some(mib) = req.grants.memory_mib
        && !(1..=256).contains(&mib)
    {
        out.push(format!("memory_mib must be 1 to 256 (got {mib})"));
    }
    if let Some(n) = req.grants.in_flight
        && !(1..=256).contains(&n)
    {
        out.push(format!("in_flight must be 1 to 256 (got {n})"));
    }
    if let Some(n) = req.grants.batch
        && !(1..=leadhost_runtime::MAX_BATCH as u32).contains(&n)
    {
        out.push(format!(
            "batch must be 1 to {} (got {n})",
            leadhost_runtime::MAX_BATCH
        ));
    }
    if let Some(ms) = req.grants.timeout_ms
        && !(10..=60_000).contains(&ms)
    {
        out.push(format!("timeout_ms must be 10 to 60000 (got {ms})"));
    }
    out
}

async fn put_connector(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    Json(req): Json<ConnectorRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.admin()?;
    let t = caller.tenant(&app, &tenant)?;
    let plugin = app.plugins.get(&req.plugin).ok_or_else(|| {
        let mut names: Vec<_> = app.plugins.keys().cloned().collect();
        names.sort();
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown-plugin",
            format!(
                "no plugin named {:?} (loaded: {})",
                req.plugin,
                names.join(", ")
            ),
        )
    })?;
    let found = problems(plugin.manifest(), &req);
    if !found.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-connector",
            found.join("; "),
        ));
    }
    let spec = ConnectorSpec {
        name: name.clone(),
        plugin: req.plugin,
        plugin_version: plugin.manifest().version.clone(),
        config: req.config,
        secrets: req.secrets,
        grants: req.grants,
        enabled: req.enabled,
    };
    let c = app.store.put_connector(t.id, &spec)?;
    app.forget(&t.name, &name);
    tracing::info!(tenant = %t.name, connector = %name, revision = c.revision, "connector saved");
    Ok(Json(connector_json(&app, &t.name, &c)))
}

async fn set_enabled(
    app: &App,
    caller: &Caller,
    tenant: &str,
    name: &str,
    enabled: bool,
) -> Result<Json<Value>, ApiError> {
    caller.admin()?;
    let t = caller.tenant(app, tenant)?;
    let c = app.store.set_connector_enabled(t.id, name, enabled)?;
    app.forget(&t.name, name);
    tracing::info!(tenant = %t.name, connector = %name, enabled, "connector switched");
    Ok(Json(connector_json(app, &t.name, &c)))
}

async fn enable(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_enabled(&app, &caller, &tenant, &name, true).await
}

async fn disable(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_enabled(&app, &caller, &tenant, &name, false).await
}

async fn touchpoints(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(query): Query<TouchpointQuery>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let page = app.store.touchpoints(t.id, &query)?;
    let total = app.store.count_touchpoints(t.id, None)?;
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|s| {
            let touchpoint: Value = serde_json::from_str(&s.document).unwrap_or(Value::Null);
            json!({
                "id": s.id,
                "connector": s.connector,
                "external_id": s.external_id,
                "occurred_at": s.occurred_at,
                "received_at": s.received_at,
                "channel": s.channel,
                "kind": s.kind,
                "touchpoint": touchpoint,
            })
        })
        .collect();
    Ok(Json(
        json!({"items": items, "next": page.next, "total": total}),
    ))
}
