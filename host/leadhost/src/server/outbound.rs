//! Deliveries through a connector's `deliver`, recorded by idempotency key so
//! a message accepted once is never handed to the plugin again; and polls of
//! a connector's `poll`, whose cursor advances only after the commit.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use leadhost_core::{DeliveryOutcome, Message, MessageProblem};
use leadhost_runtime::InvokeError;
use leadhost_store::{DeliveryRecord, NewTouchpoint, StoreError};
use serde_json::{Value, json};

use super::api::Caller;
use super::ingest::{invoke_error, rows};
use super::{ApiError, App, Bound};
use crate::now_ms;

/// The most pages one poll request pulls.
const MAX_POLL_PAGES: usize = 20;

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route(
            "/v1/tenants/{tenant}/connectors/{name}/deliveries",
            post(deliver),
        )
        .route(
            "/v1/tenants/{tenant}/connectors/{name}/deliveries/{key}",
            get(delivery),
        )
        .route("/v1/tenants/{tenant}/connectors/{name}/poll", post(poll))
}

/// The enabled connector `name` of `tenant`, for an admin.
fn connector(app: &App, caller: &Caller, tenant: &str, name: &str) -> Result<Arc<Bound>, ApiError> {
    caller.admin()?;
    let t = caller.tenant(app, tenant)?;
    let bound = app.bound(t.id, &t.name, name)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-connector",
            format!("tenant {tenant:?} has no connector named {name:?}"),
        )
    })?;
    if !bound.connector.enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "connector-disabled",
            format!("connector {name:?} is disabled"),
        ));
    }
    Ok(bound)
}

/// Removes a key from the in-flight set when the attempt ends, however it ends.
struct InFlight<'a> {
    app: &'a App,
    key: (i64, String),
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.app
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

fn answer(record: DeliveryRecord, duplicate: bool) -> Json<Value> {
    Json(json!({"delivery": record, "duplicate": duplicate}))
}

async fn deliver(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    Json(message): Json<Message>,
) -> Result<Json<Value>, ApiError> {
    let bound = connector(&app, &caller, &tenant, &name)?;
    let logged = app.deliver_logged(&bound, message, false).await?;
    Ok(answer(logged.record, logged.duplicate))
}

/// A delivery as the log has it after [`App::deliver_logged`].
pub(crate) struct Logged {
    /// The log's record of the key.
    pub(crate) record: DeliveryRecord,
    /// Answered from the log: the plugin was not called.
    pub(crate) duplicate: bool,
}

/// Why [`App::deliver_logged`] did not get an answer from the plugin.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliverError {
    /// The connector's plugin has no `deliver`.
    #[error("the {0} plugin does not deliver messages")]
    Unsupported(String),
    /// The message cannot be sent as given.
    #[error(transparent)]
    Invalid(#[from] MessageProblem),
    /// Another attempt with the same key is under way in this process.
    #[error("message {0:?} is being delivered right now")]
    InProgress(String),
    /// The server is stopping.
    #[error("the server is stopping")]
    Stopping,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The host failed around the call.
    #[error("{0}")]
    Host(String),
    /// The plugin call failed (logged as `failed`).
    #[error(transparent)]
    Invoke(InvokeError),
}

impl DeliverError {
    /// How long to wait before trying again, when the connector says.
    pub(crate) fn retry_in(&self) -> Option<std::time::Duration> {
        match self {
            DeliverError::Invoke(InvokeError::CircuitOpen { retry_in }) => Some(*retry_in),
            _ => None,
        }
    }
}

impl From<DeliverError> for ApiError {
    fn from(e: DeliverError) -> Self {
        let message = e.to_string();
        match e {
            DeliverError::Unsupported(_) => {
                ApiError::new(StatusCode::CONFLICT, "unsupported", message)
            }
            DeliverError::Invalid(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid-message", message)
            }
            DeliverError::InProgress(_) => {
                ApiError::new(StatusCode::CONFLICT, "in-progress", message)
            }
            DeliverError::Stopping => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting-down", message)
            }
            DeliverError::Store(e) => e.into(),
            DeliverError::Host(m) => super::ingest::host_error(m),
            DeliverError::Invoke(e) => invoke_error(e),
        }
    }
}

// Here rather than beside `ApiError` only because this change was limited to
// this file; the lead dispatcher shows these errors in its log and outbox.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

// A method rather than a function of this module so that the lead
// dispatcher, outside `server`, can reach it.
impl App {
    /// Delivers `message` through `bound` at most once per idempotency key:
    /// one attempt per key at a time in this process, and a key the log has
    /// as accepted (or, unless `retry_rejected`, rejected) is answered from
    /// the log without calling the plugin again.
    pub(crate) async fn deliver_logged(
        &self,
        bound: &Bound,
        message: Message,
        retry_rejected: bool,
    ) -> Result<Logged, DeliverError> {
        if !bound.plugin.manifest().operations.deliver {
            return Err(DeliverError::Unsupported(bound.connector.plugin.clone()));
        }
        message.validate()?;
        let connector_id = bound.connector.id;
        let key = message.idempotency_key.clone();

        // One attempt per key at a time, in this process.
        let claimed = self
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((connector_id, key.clone()));
        if !claimed {
            return Err(DeliverError::InProgress(key));
        }
        let _guard = InFlight {
            app: self,
            key: (connector_id, key.clone()),
        };

        // Accepted (or rejected) before: answer from the log, do not call again.
        if let Some(record) = self.store.delivery(connector_id, &key)?
            && (record.status == "accepted" || (record.status == "rejected" && !retry_rejected))
        {
            return Ok(Logged {
                record,
                duplicate: true,
            });
        }

        let message_json =
            serde_json::to_string(&message).map_err(|e| DeliverError::Host(e.to_string()))?;
        self.store
            .begin_delivery(connector_id, &key, &message_json, now_ms())?;
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| DeliverError::Stopping)?;
        let (runtime, plugin, binding) = (
            Arc::clone(&self.runtime),
            Arc::clone(&bound.plugin),
            Arc::clone(&bound.binding),
        );
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            runtime.deliver(&plugin, &binding, &message)
        })
        .await
        .map_err(|e| DeliverError::Host(e.to_string()))?;

        let now = now_ms();
        let record = match outcome {
            Ok(DeliveryOutcome::Accepted { provider_id }) => self.store.finish_delivery(
                connector_id,
                &key,
                "accepted",
                Some(&provider_id),
                None,
                now,
            )?,
            Ok(DeliveryOutcome::RetryAfter { seconds }) => self.store.finish_delivery(
                connector_id,
                &key,
                "retry-after",
                None,
                Some(&seconds.to_string()),
                now,
            )?,
            Ok(DeliveryOutcome::Rejected { reason, message }) => {
                let reason = serde_json::to_value(reason).unwrap_or_default();
                let detail = format!("{}: {message}", reason.as_str().unwrap_or("other"));
                self.store.finish_delivery(
                    connector_id,
                    &key,
                    "rejected",
                    None,
                    Some(&detail),
                    now,
                )?
            }
            Err(e) => {
                self.store.finish_delivery(
                    connector_id,
                    &key,
                    "failed",
                    None,
                    Some(&e.to_string()),
                    now,
                )?;
                return Err(DeliverError::Invoke(e));
            }
        };
        Ok(Logged {
            record,
            duplicate: false,
        })
    }
}

async fn delivery(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name, key)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let bound = connector(&app, &caller, &tenant, &name)?;
    let record = app
        .store
        .delivery(bound.connector.id, &key)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown-delivery",
                format!("no delivery {key:?}"),
            )
        })?;
    Ok(answer(record, false))
}

async fn poll(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let bound = connector(&app, &caller, &tenant, &name)?;
    if !bound.plugin.manifest().operations.poll {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "unsupported",
            format!("the {} plugin does not poll", bound.connector.plugin),
        ));
    }
    let connector_id = bound.connector.id;
    let mut cursor = app.store.poll_cursor(connector_id)?;
    let (mut pages, mut stored, mut duplicates) = (0, 0, 0);
    loop {
        let permit = Arc::clone(&app.slots).acquire_owned().await.map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting-down",
                "the server is stopping",
            )
        })?;
        let (runtime, plugin, binding) = (
            Arc::clone(&app.runtime),
            Arc::clone(&bound.plugin),
            Arc::clone(&bound.binding),
        );
        let from = cursor.clone();
        let received_at = now_ms();
        let polled = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            runtime.poll(&plugin, &binding, from.as_deref())
        })
        .await
        .map_err(super::ingest::host_error)?
        .map_err(invoke_error)?
        .map_err(|refusal| {
            let status = match refusal.kind {
                "unauthorized" | "misconfigured" => StatusCode::SERVICE_UNAVAILABLE,
                "retry-after" => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_GATEWAY,
            };
            let error = ApiError::new(status, refusal.kind, refusal.message);
            match refusal.retry_after {
                Some(s) => error.retry_after(s.into()),
                None => error,
            }
        })?;
        pages += 1;
        let new: Vec<NewTouchpoint> = rows(&polled.touchpoints)?;
        if !new.is_empty() {
            let receipt = app
                .store
                .append(bound.connector.tenant_id, connector_id, received_at, new)?
                .finish()
                .await?;
            stored += receipt.stored;
            duplicates += receipt.duplicates;
        }
        // The cursor moves only once what it covers is committed.
        if let Some(next) = polled.next_cursor {
            app.store.set_poll_cursor(connector_id, &next, now_ms())?;
            cursor = Some(next);
        }
        if !polled.more || pages >= MAX_POLL_PAGES {
            return Ok(Json(json!({
                "pages": pages,
                "stored": stored,
                "duplicates": duplicates,
                "cursor": cursor,
                "more": polled.more,
            })));
        }
    }
}
