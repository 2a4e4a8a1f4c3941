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

/// One message for [`App::deliver_many`].
pub(crate) struct Job {
    /// The connector to send through.
    pub(crate) bound: Arc<Bound>,
    /// What to send.
    pub(crate) message: Message,
}

/// Deliveries through one connector at once when its grants do not say.
pub(crate) const DEFAULT_IN_FLIGHT: u32 = 16;
/// Messages per `deliver-batch` call when the connector's grants do not say.
pub(crate) const DEFAULT_BATCH: u32 = 100;

/// A message and its index in [`App::deliver_many`]'s jobs.
type Place = (usize, Message);

/// Keys claimed in [`App::in_flight`], released however the attempt ends.
struct Claims<'a> {
    app: &'a App,
    keys: Vec<(i64, String)>,
}

impl Claims<'_> {
    /// Claims `key` on `connector_id`; false when another attempt has it.
    fn claim(&mut self, connector_id: i64, key: &str) -> bool {
        let claimed = self
            .app
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((connector_id, key.to_string()));
        if claimed {
            self.keys.push((connector_id, key.to_string()));
        }
        claimed
    }
}

impl Drop for Claims<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.app.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        for key in &self.keys {
            in_flight.remove(key);
        }
    }
}

/// The log columns (status, provider id, detail) of what a plugin call came to.
fn log_columns(
    outcome: &Result<DeliveryOutcome, InvokeError>,
) -> (&'static str, Option<String>, Option<String>) {
    match outcome {
        Ok(DeliveryOutcome::Accepted { provider_id }) => {
            ("accepted", Some(provider_id.clone()), None)
        }
        Ok(DeliveryOutcome::RetryAfter { seconds }) => {
            ("retry-after", None, Some(seconds.to_string()))
        }
        Ok(DeliveryOutcome::Rejected { reason, message }) => {
            let reason = serde_json::to_value(reason).unwrap_or_default();
            let detail = format!("{}: {message}", reason.as_str().unwrap_or("other"));
            ("rejected", None, Some(detail))
        }
        Err(e) => ("failed", None, Some(e.to_string())),
    }
}

/// What an attempt comes to once its outcome is in the log.
fn logged(
    outcome: Result<DeliveryOutcome, InvokeError>,
    record: DeliveryRecord,
) -> Result<Logged, DeliverError> {
    match outcome {
        Err(e) => Err(DeliverError::Invoke(e)),
        Ok(_) => Ok(Logged {
            record,
            duplicate: false,
        }),
    }
}

// Methods rather than functions of this module so that the lead
// dispatcher, outside `server`, can reach them.
impl App {
    /// Checks `message` for `bound` and claims its key in `claims`. `Ok(Some)`
    /// is the answer from the log (accepted before, or rejected unless
    /// `retry_rejected`): the plugin is not to be called. `Ok(None)`: send it.
    fn prepare(
        &self,
        bound: &Bound,
        message: &Message,
        retry_rejected: bool,
        claims: &mut Claims<'_>,
    ) -> Result<Option<Logged>, DeliverError> {
        if !bound.plugin.manifest().operations.deliver {
            return Err(DeliverError::Unsupported(bound.connector.plugin.clone()));
        }
        message.validate()?;
        let key = &message.idempotency_key;
        // One attempt per key at a time, in this process.
        if !claims.claim(bound.connector.id, key) {
            return Err(DeliverError::InProgress(key.clone()));
        }
        Ok(self
            .store
            .delivery(bound.connector.id, key)?
            .filter(|r| r.status == "accepted" || (r.status == "rejected" && !retry_rejected))
            .map(|record| Logged {
                record,
                duplicate: true,
            }))
    }

    /// Runs `call` on a blocking thread, within the server's instance slots.
    async fn call_plugin<R: Send + 'static>(
        &self,
        bound: &Bound,
        call: impl FnOnce(
            &leadhost_runtime::Runtime,
            &leadhost_runtime::Plugin,
            &Arc<leadhost_runtime::Binding>,
        ) -> R
        + Send
        + 'static,
    ) -> Result<R, DeliverError> {
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| DeliverError::Stopping)?;
        let (runtime, plugin, binding) = (
            Arc::clone(&self.runtime),
            Arc::clone(&bound.plugin),
            Arc::clone(&bound.binding),
        );
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            call(&runtime, &plugin, &binding)
        })
        .await
        .map_err(|e| DeliverError::Host(e.to_string()))
    }

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
        let mut claims = Claims {
            app: self,
            keys: Vec::new(),
        };
        if let Some(answer) = self.prepare(bound, &message, retry_rejected, &mut claims)? {
            return Ok(answer);
        }
        let connector_id = bound.connector.id;
        let key = message.idempotency_key.clone();
        let message_json =
            serde_json::to_string(&message).map_err(|e| DeliverError::Host(e.to_string()))?;
        self.store
            .begin_delivery(connector_id, &key, &message_json, now_ms())?;
        let outcome = self
            .call_plugin(bound, move |runtime, plugin, binding| {
                runtime.deliver(plugin, binding, &message)
            })
            .await?;
        let (status, provider_id, detail) = log_columns(&outcome);
        let record = self.store.finish_delivery(
            connector_id,
            &key,
            status,
            provider_id.as_deref(),
            detail.as_deref(),
            now_ms(),
        )?;
        logged(outcome, record)
    }

    /// Delivers `jobs` as [`App::deliver_logged`] does each (a rejected key
    /// is tried again), several at once: each connector at most its
    /// `in_flight` grant ([`DEFAULT_IN_FLIGHT`]) calls at a time, all within
    /// the server's instance slots. A connector that exports `deliver-batch`
    /// gets its messages in batches of at most its `batch` grant
    /// ([`DEFAULT_BATCH`]), smaller when there are too few to keep every
    /// call in flight busy; any other gets one `deliver` per message.
    ///
    /// The log's writes are grouped: one transaction marks every message as
    /// being sent, and outcomes are committed in groups as they come in
    /// (what has finished while the last group was being committed). `done`
    /// gets each group — `(index in jobs, result)` — once it is committed; a
    /// job whose task failed gets no answer.
    ///
    /// A crash can thus lose the answers of the calls in flight and of the
    /// group being committed: those messages are sent again, under their
    /// idempotency keys.
    pub(crate) async fn deliver_many(
        self: &Arc<Self>,
        jobs: Vec<Job>,
        mut done: impl FnMut(Vec<(usize, Result<Logged, DeliverError>)>),
    ) {
        let mut claims = Claims {
            app: self,
            keys: Vec::new(),
        };
        let mut answered = Vec::new();
        let mut to_send = Vec::new();
        for (i, job) in jobs.into_iter().enumerate() {
            match self.prepare(&job.bound, &job.message, true, &mut claims) {
                Ok(Some(answer)) => answered.push((i, Ok(answer))),
                Err(error) => answered.push((i, Err(error))),
                Ok(None) => match serde_json::to_string(&job.message) {
                    Ok(json) => to_send.push((i, job, json)),
                    Err(e) => answered.push((i, Err(DeliverError::Host(e.to_string())))),
                },
            }
        }
        if !answered.is_empty() {
            done(answered);
        }
        if to_send.is_empty() {
            return;
        }
        let rows: Vec<(i64, &str, &str)> = to_send
            .iter()
            .map(|(_, job, json)| {
                let key = job.message.idempotency_key.as_str();
                (job.bound.connector.id, key, json.as_str())
            })
            .collect();
        if let Err(error) = self.store.begin_deliveries(&rows, now_ms()) {
            let error = format!("the delivery log: {error}");
            done(
                to_send
                    .into_iter()
                    .map(|(i, _, _)| (i, Err(DeliverError::Host(error.clone()))))
                    .collect(),
            );
            return;
        }

        // Each connector's messages in the order they came, cut into calls.
        let mut per_connector: Vec<(Arc<Bound>, Vec<Place>)> = Vec::new();
        for (i, job, _) in to_send {
            let id = job.bound.connector.id;
            match per_connector.iter_mut().find(|(b, _)| b.connector.id == id) {
                Some((_, queue)) => queue.push((i, job.message)),
                None => per_connector.push((job.bound, vec![(i, job.message)])),
            }
        }
        let mut running = tokio::task::JoinSet::new();
        for (bound, queue) in per_connector {
            let grants = &bound.connector.grants;
            let in_flight = grants.in_flight.unwrap_or(DEFAULT_IN_FLIGHT).max(1) as usize;
            let size = if bound.plugin.batches() {
                let batch = grants.batch.unwrap_or(DEFAULT_BATCH).max(1) as usize;
                queue.len().div_ceil(in_flight).clamp(1, batch)
            } else {
                1
            };
            let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
            let mut queue = queue.into_iter();
            loop {
                let call: Vec<Place> = queue.by_ref().take(size).collect();
                if call.is_empty() {
                    break;
                }
                let (app, bound, gate) = (Arc::clone(self), Arc::clone(&bound), Arc::clone(&gate));
                running.spawn(async move {
                    let (places, messages): (Vec<usize>, Vec<Message>) = call.into_iter().unzip();
                    let keys: Vec<String> =
                        messages.iter().map(|m| m.idempotency_key.clone()).collect();
                    let outcome = match gate.acquire_owned().await {
                        Ok(_permit) => {
                            app.call_plugin(&bound, move |runtime, plugin, binding| {
                                runtime.deliver_batch(plugin, binding, &messages)
                            })
                            .await
                        }
                        Err(_) => Err(DeliverError::Stopping),
                    };
                    (places, bound.connector.id, keys, outcome)
                });
            }
        }
        while let Some(first) = running.join_next().await {
            // What else has finished by now shares the commit.
            let mut group = vec![first];
            while let Some(more) = running.try_join_next() {
                group.push(more);
            }
            let mut results = Vec::new();
            let mut calls = Vec::new();
            for finished in group {
                let (places, connector_id, keys, outcome) = match finished {
                    Ok(finished) => finished,
                    Err(error) => {
                        tracing::error!("a delivery task failed: {error}");
                        continue;
                    }
                };
                match outcome {
                    Err(error) => {
                        let words = error.to_string();
                        for i in places {
                            let error = match &error {
                                DeliverError::Stopping => DeliverError::Stopping,
                                _ => DeliverError::Host(words.clone()),
                            };
                            results.push((i, Err(error)));
                        }
                    }
                    // A failed call fails each of its messages.
                    Ok(Err(error)) => {
                        for (i, key) in places.into_iter().zip(keys) {
                            let outcome = Err(error.clone());
                            let columns = log_columns(&outcome);
                            calls.push((i, connector_id, key, outcome, columns));
                        }
                    }
                    Ok(Ok(outcomes)) => {
                        for ((i, key), outcome) in places.into_iter().zip(keys).zip(outcomes) {
                            let outcome = Ok(outcome);
                            let columns = log_columns(&outcome);
                            calls.push((i, connector_id, key, outcome, columns));
                        }
                    }
                }
            }
            let finishes: Vec<leadhost_store::DeliveryFinish<'_>> = calls
                .iter()
                .map(|(_, connector_id, key, _, (status, provider_id, detail))| {
                    leadhost_store::DeliveryFinish {
                        connector_id: *connector_id,
                        key,
                        status,
                        provider_id: provider_id.as_deref(),
                        detail: detail.as_deref(),
                    }
                })
                .collect();
            match self.store.finish_deliveries(&finishes, now_ms()) {
                Ok(records) => {
                    for ((i, _, _, outcome, _), record) in calls.into_iter().zip(records) {
                        results.push((i, logged(outcome, record)));
                    }
                }
                Err(error) => {
                    let error = format!("the delivery log: {error}");
                    for (i, ..) in calls {
                        results.push((i, Err(DeliverError::Host(error.clone()))));
                    }
                }
            }
            done(results);
        }
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
