//! The outbox dispatcher: makes the outbound calls the lead engine enqueued,
//! as each tenant's [hand-off settings](super::handoff) direct.
//!
//! - `crm-handoff`: the payload is POSTed as it is to `crm.url`.
//! - `owner-alert`, `escalation`: an envelope (`kind`, `key`, `recipient`, a
//!   one-line `text` and the `payload`) is POSTed to `alerts.url`, and the
//!   recipient is emailed through the `alerts.email` connector's `deliver`
//!   when `users` has their address. Both must succeed for the item to be
//!   sent; the connector's delivery log makes sure a retry never emails
//!   twice.
//!
//! Every POST carries `Idempotency-Key: <outbox key>`, so a receiver can drop
//! the repeat of a call whose answer was lost (delivery is at least once),
//! and `Leadhost-Signature: sha256=<hex HMAC-SHA256 of the body>` when
//! `crm.secret` is set. 2xx is sent; 408, 425, 429, 5xx, a network error or
//! no answer in 10 s are retried after `base × 2^(attempts)` seconds (at
//! most `max_seconds`, or longer when `Retry-After` asks) until
//! `max_attempts`; anything else is dead. A dead item waits for an operator
//! to fix the settings and redrive it.

use crate::now_ms;
use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Duration;

use anyhow::Context;
use leadhost_core::signature::{MacAlgorithm, mac};
use leadhost_core::{Identities, Message};
use leadhost_store::{OutboxItem, OutboxOutcome};
use serde_json::{Value, json};

use super::handoff::{self, Alerts, EmailAlerts, HandoffSettings, Retry};
use crate::server::outbound::{DeliverError, Job, Logged};
use crate::server::{App, Bound};

/// Items taken per pass; a full pass is followed by the next at once.
const BATCH: usize = 1000;
/// How often the loop looks for due items.
const TICK: Duration = Duration::from_millis(200);
/// How long one POST may take, answer included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured, seconds: a day.
const MAX_RETRY_AFTER: u64 = 24 * 3600;
/// How much of a receiver's error answer goes into the item's error.
const ERROR_BODY_CHARS: usize = 300;

/// Starts the dispatcher: a pass over the due items every [`TICK`], each in
/// its own task so that not even a panic stops the loop. Abort the handle to
/// stop it.
pub(crate) fn spawn(app: Arc<App>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut full = false;
        loop {
            if !full {
                ticker.tick().await;
            }
            full = false;
            let app = Arc::clone(&app);
            let pass = tokio::spawn(async move { dispatch_once(&app, now_ms()).await });
            match pass.await {
                Ok(Ok(recorded)) => full = recorded >= BATCH,
                Ok(Err(error)) => tracing::error!("outbox dispatch pass failed: {error:#}"),
                Err(error) => tracing::error!("outbox dispatch pass panicked: {error}"),
            }
        }
    })
}

/// Makes one attempt at every item due at `now` (up to [`BATCH`]) and
/// records what came of each; returns how many were recorded. Tenants are
/// served concurrently; each tenant's hand-offs and alerts in order, its
/// nurturing messages several at once.
pub(crate) async fn dispatch_once(app: &Arc<App>, now: i64) -> anyhow::Result<usize> {
    let due = app
        .store
        .outbox_due(now, BATCH)
        .context("reading the due outbox items")?;
    if due.is_empty() {
        return Ok(0);
    }
    let client = client()?;
    let names: HashMap<i64, String> = app
        .store
        .list_tenants()
        .context("listing the tenants")?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let mut by_tenant: BTreeMap<i64, Vec<OutboxItem>> = BTreeMap::new();
    for item in due {
        by_tenant.entry(item.tenant_id).or_default().push(item);
    }
    let passes = by_tenant.into_iter().map(|(id, items)| {
        let name = names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
        dispatch_tenant(app, client, Tenant { id, name }, items, now)
    });
    Ok(join_all(passes.collect()).await.into_iter().sum())
}

/// The one HTTP client: its connection pool is shared by every pass.
fn client() -> anyhow::Result<&'static reqwest::Client> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = crate::http_client()
        .timeout(TIMEOUT)
        .user_agent(concat!("leadhost/", env!("CARGO_PKG_VERSION")))
        // A redirected POST would arrive as a GET elsewhere: point the URL at the target.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client")?;
    Ok(CLIENT.get_or_init(|| client))
}

struct Tenant {
    id: i64,
    name: String,
}

/// What one call (a POST or an email) came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Sent,
    /// Worth trying again; `wait` is what the receiver asked for, seconds.
    Retry {
        error: String,
        wait: Option<u64>,
    },
    Dead(String),
}

impl Call {
    fn retry(error: impl Into<String>) -> Call {
        Call::Retry {
            error: error.into(),
            wait: None,
        }
    }

    /// All of `calls` must be sent: one dead makes it dead (retrying cannot
    /// help it), else one to retry makes it a retry.
    fn all(calls: Vec<Call>) -> Call {
        let mut dead = Vec::new();
        let mut retry: Option<(Vec<String>, Option<u64>)> = None;
        for call in calls {
            match call {
                Call::Sent => {}
                Call::Dead(error) => dead.push(error),
                Call::Retry { error, wait } => {
                    let (errors, longest) = retry.get_or_insert_with(|| (Vec::new(), None));
                    errors.push(error);
                    *longest = (*longest).max(wait);
                }
            }
        }
        if !dead.is_empty() {
            return Call::Dead(dead.join("; "));
        }
        match retry {
            Some((errors, wait)) => Call::Retry {
                error: errors.join("; "),
                wait,
            },
            None => Call::Sent,
        }
    }
}

/// The tenant's due items: hand-offs and alerts one after the other, in
/// order; nurturing messages, which are independent, several at once.
async fn dispatch_tenant(
    app: &Arc<App>,
    client: &reqwest::Client,
    tenant: Tenant,
    items: Vec<OutboxItem>,
    now: i64,
) -> usize {
    let settings = settings(app, &tenant);
    let (messages, calls): (Vec<OutboxItem>, Vec<OutboxItem>) =
        items.into_iter().partition(|item| item.kind == "nurture");
    // Origins that did not answer in this pass: the tenant's other items for
    // them wait for the next try instead of each waiting out the timeout.
    let mut unreachable = HashMap::new();
    let mut recorded = 0;
    for item in calls {
        let attempt = attempt_of(&item);
        let (call, retry) = match &settings {
            Ok(settings) => (
                send(app, client, &tenant, settings, &item, &mut unreachable).await,
                settings.retry,
            ),
            Err(call) => (call.clone(), Retry::default()),
        };
        let outcome = decide(call, attempt, &retry, now);
        log(&tenant, &item, attempt, &outcome);
        match app.store.outbox_record(tenant.id, &item.key, outcome, now) {
            Ok(_) => recorded += 1,
            Err(error) => tracing::error!(
                tenant = %tenant.name, key = %item.key, kind = %item.kind, attempt,
                "could not record the outcome of an outbox item: {error}"
            ),
        }
    }
    if !messages.is_empty() {
        // Nurturing needs none of the hand-off settings but their retry policy.
        let retry = settings.map(|s| s.retry).unwrap_or_default();
        recorded += nurture_all(app, Arc::new(tenant), messages, retry, now).await;
    }
    recorded
}

/// The attempt an item's next call is.
fn attempt_of(item: &OutboxItem) -> u32 {
    u32::try_from(item.attempts.saturating_add(1)).unwrap_or(u32::MAX)
}

/// Hands `items` (nurturing messages) to their connectors, several at once
/// (see [`App::deliver_many`]), and records the outcomes as they come in, a
/// group per transaction. A message without an answer stays pending and is
/// tried again: the delivery log keeps it from going out twice.
async fn nurture_all(
    app: &Arc<App>,
    tenant: Arc<Tenant>,
    items: Vec<OutboxItem>,
    retry: Retry,
    now: i64,
) -> usize {
    let mut connectors = HashMap::new();
    let mut refused = Vec::new();
    let (mut jobs, mut sending) = (Vec::new(), Vec::new());
    for item in items {
        match job_of(app, &tenant, &item, &mut connectors) {
            Ok(job) => {
                sending.push((item, job.bound.connector.name.clone()));
                jobs.push(job);
            }
            Err(call) => refused.push((item, call)),
        }
    }
    let mut recorded = record_all(app, &tenant, refused, &retry, now);
    app.deliver_many(jobs, |group| {
        let calls = group
            .into_iter()
            .map(|(i, result)| {
                let (item, connector) = &sending[i];
                (
                    item.clone(),
                    call_of(connector, result, "nurturing message"),
                )
            })
            .collect();
        recorded += record_all(app, &tenant, calls, &retry, now);
    })
    .await;
    recorded
}

/// Decides and records what each call came to, in one transaction; returns
/// how many were recorded.
fn record_all(
    app: &App,
    tenant: &Tenant,
    calls: Vec<(OutboxItem, Call)>,
    retry: &Retry,
    now: i64,
) -> usize {
    if calls.is_empty() {
        return 0;
    }
    let outcomes = calls
        .into_iter()
        .map(|(item, call)| {
            let attempt = attempt_of(&item);
            let outcome = decide(call, attempt, retry, now);
            log(tenant, &item, attempt, &outcome);
            (item.key, outcome)
        })
        .collect();
    match app.store.outbox_record_all(tenant.id, outcomes, now) {
        Ok(recorded) => recorded,
        Err(error) => {
            tracing::error!(
                tenant = %tenant.name,
                "could not record the outcomes of nurturing messages (they stay pending): {error}"
            );
            0
        }
    }
}

/// The tenant's latest `handoff` setting; none is the empty one.
fn settings(app: &App, tenant: &Tenant) -> Result<HandoffSettings, Call> {
    match app.store.lead_setting(tenant.id, handoff::SETTING) {
        Ok(None) => Ok(HandoffSettings::default()),
        Ok(Some(setting)) => handoff::parse(&setting.document).map_err(|error| {
            Call::Dead(format!(
                "tenant {}'s handoff settings (version {}) are invalid: {error}",
                tenant.name, setting.version
            ))
        }),
        Err(error) => Err(Call::retry(format!(
            "reading tenant {}'s handoff settings: {error}",
            tenant.name
        ))),
    }
}

/// The outcome of attempt number `attempt` that came to `call`.
fn decide(call: Call, attempt: u32, retry: &Retry, now: i64) -> OutboxOutcome {
    match call {
        Call::Sent => OutboxOutcome::Sent,
        Call::Dead(error) => OutboxOutcome::Dead { error },
        Call::Retry { error, .. } if attempt >= retry.max_attempts => OutboxOutcome::Dead {
            error: format!("gave up after {attempt} attempts: {error}"),
        },
        Call::Retry { error, wait } => {
            let seconds = retry
                .backoff_seconds(attempt)
                .max(wait.unwrap_or(0).min(MAX_RETRY_AFTER));
            let wait_ms = i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
            OutboxOutcome::Retry {
                next_at: now.saturating_add(wait_ms),
                error,
            }
        }
    }
}

fn log(tenant: &Tenant, item: &OutboxItem, attempt: u32, outcome: &OutboxOutcome) {
    let (name, key, kind) = (&tenant.name, &item.key, &item.kind);
    match outcome {
        OutboxOutcome::Sent => {
            tracing::info!(tenant = %name, key = %key, kind = %kind, attempt, "outbox item sent");
        }
        OutboxOutcome::Retry { next_at, error } => tracing::warn!(
            tenant = %name, key = %key, kind = %kind, attempt, next_at,
            "outbox item failed, will retry: {error}"
        ),
        OutboxOutcome::Dead { error } => tracing::error!(
            tenant = %name, key = %key, kind = %kind, attempt,
            "outbox item dead: {error}"
        ),
    }
}

/// Makes the call `item` asks for.
async fn send(
    app: &App,
    client: &reqwest::Client,
    tenant: &Tenant,
    settings: &HandoffSettings,
    item: &OutboxItem,
    unreachable: &mut HashMap<String, String>,
) -> Call {
    match item.kind.as_str() {
        "crm-handoff" => {
            let Some(crm) = &settings.crm else {
                return Call::Dead(format!(
                    "tenant {} has no crm.url in its handoff settings",
                    tenant.name
                ));
            };
            let request = Post {
                url: &crm.url,
                key: &item.key,
                body: item.payload.as_bytes(),
                secret: crm.secret.as_deref(),
            };
            request.send(client, unreachable).await
        }
        "owner-alert" | "escalation" => {
            let Some(alerts) = &settings.alerts else {
                return Call::Dead(no_alerts(tenant));
            };
            alert(app, client, tenant, settings, alerts, item, unreachable).await
        }
        other => Call::Dead(format!("unknown outbox kind {other:?}")),
    }
}

fn no_alerts(tenant: &Tenant) -> String {
    format!(
        "tenant {} has no alerts.url or alerts.email in its handoff settings",
        tenant.name
    )
}

/// An owner alert or escalation: the webhook and the email, as configured.
async fn alert(
    app: &App,
    client: &reqwest::Client,
    tenant: &Tenant,
    settings: &HandoffSettings,
    alerts: &Alerts,
    item: &OutboxItem,
    unreachable: &mut HashMap<String, String>,
) -> Call {
    let recipient = serde_json::from_str::<Value>(&item.target)
        .ok()
        .and_then(|t| {
            t.get("recipient")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let payload: Value = serde_json::from_str(&item.payload).unwrap_or(Value::Null);
    let user = recipient.as_deref().and_then(|r| settings.users.get(r));
    let text = summary(&item.kind, &payload);
    let mut calls = Vec::new();
    if let Some(url) = &alerts.url {
        let body = json!({
            "kind": item.kind,
            "key": item.key,
            "recipient": recipient,
            "recipient_name": user.and_then(|u| u.name.as_deref()),
            "text": text,
            "payload": payload,
        });
        let body = body.to_string();
        let request = Post {
            url,
            key: &item.key,
            body: body.as_bytes(),
            secret: settings.crm.as_ref().and_then(|c| c.secret.as_deref()),
        };
        calls.push(request.send(client, unreachable).await);
    }
    if let Some(email) = &alerts.email {
        match user.and_then(|u| u.email.as_deref()) {
            Some(address) => {
                let message = Message {
                    idempotency_key: item.key.clone(),
                    recipient: Identities {
                        email: Some(address.to_owned()),
                        ..Identities::default()
                    },
                    recipient_name: user.and_then(|u| u.name.clone()),
                    subject: Some(subject(&item.kind, &payload)),
                    text: text.clone(),
                    html: None,
                    content_id: None,
                    campaign: None,
                    other: Vec::new(),
                };
                calls.push(email_alert(app, tenant, email, message).await);
            }
            None => {
                let who = recipient.as_deref().map_or_else(
                    || "the alert has no recipient".to_owned(),
                    |r| format!("user {r:?} has no email in users"),
                );
                if alerts.url.is_none() {
                    calls.push(Call::Dead(format!(
                        "tenant {} emails alerts, but {who} (and there is no alerts.url)",
                        tenant.name
                    )));
                } else {
                    tracing::warn!(
                        tenant = %tenant.name, key = %item.key,
                        "alert not emailed: {who}; it went to alerts.url only"
                    );
                }
            }
        }
    }
    if calls.is_empty() {
        return Call::Dead(no_alerts(tenant));
    }
    Call::all(calls)
}

/// Emails an alert through the tenant's connector, once per key.
async fn email_alert(app: &App, tenant: &Tenant, email: &EmailAlerts, message: Message) -> Call {
    let name = &email.connector;
    let bound = match deliverer(app, tenant, name, "alerts.email.connector") {
        Ok(bound) => bound,
        Err(call) => return call,
    };
    if let (Some(expected), Some(actual)) = (&email.from, bound.connector.config.get("from-email"))
        && !expected.trim().eq_ignore_ascii_case(actual.trim())
    {
        return Call::Dead(format!(
            "alerts.email.from is {expected} but connector {name:?} sends from {actual} \
             (its from-email config): make them agree"
        ));
    }
    deliver(app, &bound, message, "alert email").await
}

/// The delivery a nurturing item asks for: its message through the
/// connector its channel names (looked up once per pass in `connectors`),
/// or the call saying why it cannot be made.
fn job_of(
    app: &App,
    tenant: &Tenant,
    item: &OutboxItem,
    connectors: &mut HashMap<String, Result<Arc<Bound>, Call>>,
) -> Result<Job, Call> {
    let payload: Value = serde_json::from_str(&item.payload).unwrap_or(Value::Null);
    let Some(name) = payload["connector"].as_str().filter(|n| !n.is_empty()) else {
        return Err(Call::Dead(format!(
            "no connector delivers on {} for tenant {} (channels in its nurture settings)",
            payload["channel"].as_str().unwrap_or("this channel"),
            tenant.name
        )));
    };
    let message: Message = serde_json::from_value(payload["message"].clone())
        .map_err(|e| Call::Dead(format!("the stored message does not read back: {e}")))?;
    let bound = connectors
        .entry(name.to_string())
        .or_insert_with(|| deliverer(app, tenant, name, "nurture channels"))
        .clone()?;
    Ok(Job { bound, message })
}

/// The tenant's enabled connector `name` that can deliver, or the dead (or
/// retried) call saying why not; `setting` names where it was configured.
fn deliverer(app: &App, tenant: &Tenant, name: &str, setting: &str) -> Result<Arc<Bound>, Call> {
    let bound = match app.bound(tenant.id, &tenant.name, name) {
        Ok(Some(bound)) => bound,
        Ok(None) => {
            return Err(Call::Dead(format!(
                "tenant {} has no connector {name:?} ({setting})",
                tenant.name
            )));
        }
        Err(error) => return Err(Call::retry(format!("connector {name:?}: {error}"))),
    };
    if !bound.connector.enabled {
        return Err(Call::Dead(format!(
            "connector {name:?} of tenant {} is disabled ({setting})",
            tenant.name
        )));
    }
    if !bound.plugin.manifest().operations.deliver {
        return Err(Call::Dead(format!(
            "connector {name:?} ({} plugin) cannot deliver messages ({setting})",
            bound.connector.plugin
        )));
    }
    Ok(bound)
}

/// Hands `message` to the connector's `deliver` through the delivery log,
/// so however often it is retried it goes out once.
async fn deliver(app: &App, bound: &Bound, message: Message, what: &str) -> Call {
    // Rejected before is tried again: only a redrive brings a rejected one back.
    let result = app.deliver_logged(bound, message, true).await;
    call_of(&bound.connector.name, result, what)
}

/// What a delivery through the log came to, as a call; `what` names the
/// message in errors.
fn call_of(name: &str, result: Result<Logged, DeliverError>, what: &str) -> Call {
    match result {
        Ok(logged) => {
            let detail = logged.record.detail.unwrap_or_default();
            match logged.record.status.as_str() {
                "accepted" => Call::Sent,
                "rejected" => {
                    Call::Dead(format!("connector {name:?} rejected the {what}: {detail}"))
                }
                "retry-after" => Call::Retry {
                    error: format!("connector {name:?} asks to retry in {detail} s"),
                    wait: detail.parse().ok(),
                },
                other => Call::retry(format!("connector {name:?} left the {what} {other}")),
            }
        }
        // The plugin failed or its circuit is open: never drop, try later.
        Err(error) => Call::Retry {
            error: format!("connector {name:?}: {error}"),
            wait: error.retry_in().map(|d| d.as_secs().max(1)),
        },
    }
}

/// One POST of a JSON body.
struct Post<'a> {
    url: &'a str,
    key: &'a str,
    body: &'a [u8],
    secret: Option<&'a str>,
}

impl Post<'_> {
    async fn send(
        self,
        client: &reqwest::Client,
        unreachable: &mut HashMap<String, String>,
    ) -> Call {
        // Errors name the origin only: webhook URLs often carry a token.
        let origin = reqwest::Url::parse(self.url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| "the URL".to_owned());
        if let Some(error) = unreachable.get(&origin) {
            return Call::retry(format!("not tried: {error}"));
        }
        let mut request = client
            .post(self.url)
            .header("idempotency-key", self.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(self.body.to_vec());
        if let Some(secret) = self.secret {
            let signature = mac(MacAlgorithm::HmacSha256, secret.as_bytes(), self.body);
            request = request.header("leadhost-signature", format!("sha256={}", hex(&signature)));
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let error = format!("POST {origin} failed: {}", chain(&error.without_url()));
                unreachable.insert(origin, error.clone());
                return Call::retry(error);
            }
        };
        let status = response.status();
        if status.is_success() {
            return Call::Sent;
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        let mut error = format!("POST {origin} answered {status}");
        let body: String = body.trim().chars().take(ERROR_BODY_CHARS).collect();
        if !body.is_empty() {
            error = format!("{error}: {body}");
        }
        match status.as_u16() {
            408 | 425 | 429 | 500..=599 => Call::Retry {
                error,
                wait: retry_after,
            },
            300..=399 => Call::Dead(format!(
                "{error} (redirect to {}): set the final URL",
                location.as_deref().unwrap_or("?")
            )),
            _ => Call::Dead(error),
        }
    }
}

/// An error with its causes: reqwest's own message rarely says enough.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The subject of an alert email.
fn subject(kind: &str, payload: &Value) -> String {
    let lead = payload
        .get("lead")
        .map_or_else(|| "?".into(), Value::to_string);
    match kind {
        "escalation" => format!("SLA expired: sales-ready lead {lead} is still waiting"),
        _ => format!("New sales-ready lead {lead} for you"),
    }
}

/// One line on the lead: who, score, owner, due time.
fn summary(kind: &str, payload: &Value) -> String {
    let field = |name: &str| match payload.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let lead = field("lead").unwrap_or_else(|| "?".into());
    let traits = payload.get("traits");
    let trait_of = |name: &str| traits.and_then(|t| t.get(name)).and_then(Value::as_str);
    let person = [trait_of("first_name"), trait_of("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let company = trait_of("company")
        .map(str::to_owned)
        .or_else(|| field("account"));
    let mut who = format!("Lead {lead}");
    match (person.is_empty(), company) {
        (false, Some(company)) => who.push_str(&format!(" ({person}, {company})")),
        (false, None) => who.push_str(&format!(" ({person})")),
        (true, Some(company)) => who.push_str(&format!(" ({company})")),
        (true, None) => {}
    }
    let mut text = match kind {
        "escalation" => format!("{who} was not accepted in time"),
        _ => format!("{who} is sales-ready"),
    };
    if let Some(score) = field("score") {
        text.push_str(&format!(", score {score}"));
    }
    if let Some(grade) = field("grade") {
        text.push_str(&format!(", grade {grade}"));
    }
    if let Some(owner) = field("owner") {
        text.push_str(&format!(", owner {owner}"));
    }
    if let Some(to) = field("escalated_to") {
        text.push_str(&format!(", escalated to {to}"));
    }
    if let Some(due) = payload.get("due_at").and_then(Value::as_i64) {
        text.push_str(&format!(", due {}", crate::traffic::iso(due)));
    }
    text.push('.');
    text
}

/// Runs `futures` together on this task; their outputs in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use std::collections::VecDeque;
    use std::sync::Mutex;

    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode, Uri};
    use leadhost_core::signature::{SignatureAlgorithm, verify_signature};
    use leadhost_store::{ConnectorSpec, Grants, LeadBatch, LeadProgress, NewOutboxItem};

    use super::*;
    use crate::server::ServerConfig;

    /// 2024-05-01T12:32:00Z.
    const T0: i64 = 1_714_566_720_000;

    /// A request the stand-in received.
    struct Seen {
        path: String,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    impl Seen {
        fn header(&self, name: &str) -> &str {
            self.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        }
        fn json(&self) -> Value {
            serde_json::from_slice(&self.body).unwrap()
        }
    }

    type Answer = (u16, Vec<(&'static str, &'static str)>, &'static str);

    /// A stand-in CRM, webhook or SendGrid on 127.0.0.1: records every
    /// request and answers with the scripted answers, then 200.
    struct StandIn {
        url: String,
        authority: String,
        seen: Arc<Mutex<Vec<Seen>>>,
        script: Arc<Mutex<VecDeque<Answer>>>,
    }

    impl StandIn {
        async fn start(script: Vec<Answer>) -> StandIn {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let script = Arc::new(Mutex::new(VecDeque::from(script)));
            let (s, q) = (Arc::clone(&seen), Arc::clone(&script));
            let router = axum::Router::new().fallback(
                move |uri: Uri, headers: HeaderMap, body: Bytes| async move {
                    s.lock().unwrap().push(Seen {
                        path: uri.path().to_owned(),
                        headers,
                        body: body.to_vec(),
                    });
                    let (status, extra, text) =
                        q.lock().unwrap().pop_front().unwrap_or((200, vec![], ""));
                    let mut headers = HeaderMap::new();
                    for (name, value) in extra {
                        headers.insert(name, value.parse().unwrap());
                    }
                    (StatusCode::from_u16(status).unwrap(), headers, text)
                },
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let authority = listener.local_addr().unwrap().to_string();
            tokio::spawn(async move { axum::serve(listener, router).await });
            StandIn {
                url: format!("http://{authority}"),
                authority,
                seen,
                script,
            }
        }

        fn then(&self, answer: Answer) {
            self.script.lock().unwrap().push_back(answer);
        }

        fn count(&self) -> usize {
            self.seen.lock().unwrap().len()
        }

        fn take(&self) -> Vec<Seen> {
            std::mem::take(&mut *self.seen.lock().unwrap())
        }
    }

    async fn open() -> (tempfile::TempDir, Arc<App>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let app = tokio::task::spawn_blocking(move || App::open(&ServerConfig::new(path)))
            .await
            .unwrap()
            .unwrap();
        (dir, app)
    }

    fn tenant(app: &App, name: &str, settings: Option<Value>) -> i64 {
        let (tenant, _) = app.store.create_tenant(name).unwrap();
        if let Some(settings) = settings {
            settle(app, tenant.id, settings);
        }
        tenant.id
    }

    fn settle(app: &App, tenant_id: i64, settings: Value) {
        handoff::parse(&settings.to_string()).unwrap();
        app.store
            .put_lead_setting(tenant_id, handoff::SETTING, &settings.to_string())
            .unwrap();
    }

    fn enqueue(app: &App, tenant_id: i64, key: &str, recipient: Option<&str>, payload: Value) {
        let kind = key.split(':').next().unwrap();
        app.store
            .commit_lead_batch(&LeadBatch {
                progress: LeadProgress {
                    cursor: 0,
                    command_seq: 0,
                },
                outbox: vec![NewOutboxItem {
                    tenant_id,
                    key: key.into(),
                    kind: kind.into(),
                    target: json!({ "recipient": recipient }).to_string(),
                    payload: payload.to_string(),
                    next_at: T0,
                    created_at: T0,
                }],
                ..Default::default()
            })
            .unwrap();
    }

    fn item(app: &App, tenant_id: i64, key: &str) -> OutboxItem {
        app.store.outbox_item(tenant_id, key).unwrap().unwrap()
    }

    fn payload() -> Value {
        json!({
            "lead": 12, "handoff": 1, "stage": "sales-ready", "score": 87.5, "grade": "A",
            "traits": {"first_name": "Jane", "last_name": "Koski", "company": "Pohjola Paper"},
            "team": "north", "owner": "anna", "assigned_at": T0, "due_at": T0 + 4 * 3_600_000,
        })
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crm_handoff_is_posted_once_signed_and_a_dead_crm_holds_up_no_one() {
        let (_dir, app) = open().await;
        let crm = StandIn::start(vec![]).await;
        let acme = tenant(
            &app,
            "acme",
            Some(
                json!({"crm": {"url": format!("{}/api/leads?token=t0k3n", crm.url), "secret": "s3cret"}}),
            ),
        );
        // A CRM that refuses connections: its tenant retries, acme is served.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_url = format!("http://{}/leads", closed.local_addr().unwrap());
        drop(closed);
        let globex = tenant(&app, "globex", Some(json!({"crm": {"url": dead_url}})));
        enqueue(&app, acme, "crm-handoff:12:1", Some("anna"), payload());
        enqueue(&app, globex, "crm-handoff:3:1", None, payload());

        assert_eq!(dispatch_once(&app, T0).await.unwrap(), 2);
        let seen = crm.take();
        assert_eq!(seen.len(), 1);
        let request = &seen[0];
        assert_eq!(request.path, "/api/leads");
        assert_eq!(request.header("idempotency-key"), "crm-handoff:12:1");
        assert_eq!(request.header("content-type"), "application/json");
        assert_eq!(
            request.header("user-agent"),
            concat!("leadhost/", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(request.json(), payload());
        let signature = request
            .header("leadhost-signature")
            .strip_prefix("sha256=")
            .unwrap();
        assert!(verify_signature(
            SignatureAlgorithm::Mac(MacAlgorithm::HmacSha256),
            b"s3cret",
            &request.body,
            &unhex(signature),
        ));
        let sent = item(&app, acme, "crm-handoff:12:1");
        assert_eq!((sent.status.as_str(), sent.attempts), ("sent", 1));

        let waiting = item(&app, globex, "crm-handoff:3:1");
        assert_eq!((waiting.status.as_str(), waiting.attempts), ("pending", 1));
        assert_eq!(waiting.next_at, T0 + 2000);
        let error = waiting.last_error.unwrap();
        assert!(error.starts_with("POST http://127.0.0.1:"), "{error}");
        assert!(
            !error.contains("/leads"),
            "the URL's path is not shown: {error}"
        );

        // Sent stays sent.
        assert_eq!(dispatch_once(&app, T0 + 1000).await.unwrap(), 0);
        assert_eq!(
            dispatch_once(&app, T0 + 3_600_000).await.unwrap(),
            1,
            "globex only"
        );
        assert_eq!(crm.count(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failures_are_retried_with_backoff_and_retry_after_is_honoured() {
        let (_dir, app) = open().await;
        let crm = StandIn::start(vec![(500, vec![], "oops"), (503, vec![], "")]).await;
        let acme = tenant(&app, "acme", Some(json!({"crm": {"url": crm.url}})));
        enqueue(&app, acme, "crm-handoff:12:1", Some("anna"), payload());

        assert_eq!(dispatch_once(&app, T0).await.unwrap(), 1);
        let first = item(&app, acme, "crm-handoff:12:1");
        assert_eq!((first.status.as_str(), first.attempts), ("pending", 1));
        assert_eq!(first.next_at, T0 + 2000, "base 2 s");
        assert!(first.last_error.unwrap().contains("500"));
        assert_eq!(
            dispatch_once(&app, T0 + 1999).await.unwrap(),
            0,
            "not due yet"
        );

        assert_eq!(dispatch_once(&app, T0 + 2000).await.unwrap(), 1);
        let second = item(&app, acme, "crm-handoff:12:1");
        assert_eq!((second.status.as_str(), second.attempts), ("pending", 2));
        assert_eq!(second.next_at, T0 + 2000 + 4000, "doubled");
        assert_eq!(dispatch_once(&app, T0 + 5999).await.unwrap(), 0);

        assert_eq!(dispatch_once(&app, T0 + 6000).await.unwrap(), 1);
        let third = item(&app, acme, "crm-handoff:12:1");
        assert_eq!((third.status.as_str(), third.attempts), ("sent", 3));
        let seen = crm.take();
        assert_eq!(seen.len(), 3);
        assert!(
            seen.iter()
                .all(|s| s.header("idempotency-key") == "crm-handoff:12:1")
        );

        crm.then((429, vec![("retry-after", "120")], "slow down"));
        enqueue(&app, acme, "crm-handoff:13:1", None, payload());
        let t1 = T0 + 10_000;
        assert_eq!(dispatch_once(&app, t1).await.unwrap(), 1);
        let limited = item(&app, acme, "crm-handoff:13:1");
        assert_eq!(limited.status, "pending");
        assert!(limited.next_at >= t1 + 120_000, "{}", limited.next_at - t1);
        assert!(limited.last_error.unwrap().contains("429"));
        assert_eq!(dispatch_once(&app, t1 + 119_999).await.unwrap(), 0);
        assert_eq!(dispatch_once(&app, t1 + 120_000).await.unwrap(), 1);
        assert_eq!(item(&app, acme, "crm-handoff:13:1").status, "sent");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refusals_are_dead_at_once_and_so_is_the_last_attempt_until_redriven() {
        let (_dir, app) = open().await;
        let crm = StandIn::start(vec![(400, vec![], "{\"error\":\"bad lead\"}")]).await;
        let acme = tenant(
            &app,
            "acme",
            Some(json!({"crm": {"url": crm.url}, "retry": {"max_attempts": 2}})),
        );
        enqueue(&app, acme, "crm-handoff:12:1", None, payload());
        assert_eq!(dispatch_once(&app, T0).await.unwrap(), 1);
        let dead = item(&app, acme, "crm-handoff:12:1");
        assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 1));
        let error = dead.last_error.unwrap();
        assert!(
            error.contains("400 Bad Request") && error.contains("bad lead"),
            "{error}"
        );
        assert_eq!(dispatch_once(&app, T0 + 3_600_000).await.unwrap(), 0);

        app.store
            .outbox_redrive(acme, "crm-handoff:12:1", T0 + 10)
            .unwrap();
        assert_eq!(dispatch_once(&app, T0 + 10).await.unwrap(), 1);
        assert_eq!(item(&app, acme, "crm-handoff:12:1").status, "sent");

        // max_attempts 2: the second 503 is the last.
        crm.then((503, vec![], ""));
        crm.then((503, vec![], ""));
        enqueue(&app, acme, "crm-handoff:14:1", None, payload());
        assert_eq!(dispatch_once(&app, T0).await.unwrap(), 1);
        assert_eq!(item(&app, acme, "crm-handoff:14:1").status, "pending");
        assert_eq!(dispatch_once(&app, T0 + 2000).await.unwrap(), 1);
        let given_up = item(&app, acme, "crm-handoff:14:1");
        assert_eq!((given_up.status.as_str(), given_up.attempts), ("dead", 2));
        let error = given_up.last_error.unwrap();
        assert!(
            error.starts_with("gave up after 2 attempts") && error.contains("503"),
            "{error}"
        );

        app.store
            .outbox_redrive(acme, "crm-handoff:14:1", T0 + 5000)
            .unwrap();
        assert_eq!(dispatch_once(&app, T0 + 5000).await.unwrap(), 1);
        assert_eq!(item(&app, acme, "crm-handoff:14:1").status, "sent");
        assert_eq!(crm.count(), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unconfigured_calls_are_dead_and_webhook_alerts_name_the_recipient() {
        let (_dir, app) = open().await;
        let acme = tenant(&app, "acme", None);
        enqueue(&app, acme, "crm-handoff:12:1", Some("anna"), payload());
        enqueue(&app, acme, "owner-alert:12:1", Some("anna"), payload());
        assert_eq!(dispatch_once(&app, T0).await.unwrap(), 2);
        let crm = item(&app, acme, "crm-handoff:12:1");
        assert_eq!(crm.status, "dead");
        assert_eq!(
            crm.last_error.unwrap(),
            "tenant acme has no crm.url in its handoff settings"
        );
        let alert = item(&app, acme, "owner-alert:12:1");
        assert_eq!(alert.status, "dead");
        assert_eq!(
            alert.last_error.unwrap(),
            "tenant acme has no alerts.url or alerts.email in its handoff settings"
        );

        // Configured, redriven: the alert goes out, and so does an escalation.
        let hooks = StandIn::start(vec![]).await;
        settle(
            &app,
            acme,
            json!({
                "alerts": {"url": format!("{}/alerts", hooks.url)},
                "users": {"anna": {"name": "Anna Virtanen"}},
            }),
        );
        app.store
            .outbox_redrive(acme, "owner-alert:12:1", T0 + 100)
            .unwrap();
        let escalation = json!({"lead": 12, "handoff": 1, "owner": "anna",
                                "escalated_to": "bo", "due_at": T0, "score": 91.0});
        enqueue(
            &app,
            acme,
            "escalation:12:1",
            Some("bo"),
            escalation.clone(),
        );
        assert_eq!(dispatch_once(&app, T0 + 100).await.unwrap(), 2);
        assert_eq!(item(&app, acme, "owner-alert:12:1").status, "sent");
        assert_eq!(item(&app, acme, "escalation:12:1").status, "sent");
        let mut seen = hooks.take();
        seen.sort_by_key(|s| s.header("idempotency-key").to_owned());
        assert_eq!(seen.len(), 2);
        let (escalated, owner) = (seen[0].json(), seen[1].json());
        assert_eq!(seen[1].path, "/alerts");
        assert_eq!(owner["kind"], "owner-alert");
        assert_eq!(owner["key"], "owner-alert:12:1");
        assert_eq!(owner["recipient"], "anna");
        assert_eq!(owner["recipient_name"], "Anna Virtanen");
        assert_eq!(owner["payload"], payload());
        let text = owner["text"].as_str().unwrap();
        assert_eq!(
            text,
            "Lead 12 (Jane Koski, Pohjola Paper) is sales-ready, score 87.5, grade A, \
             owner anna, due 2024-05-01T16:32:00.000Z."
        );
        assert_eq!(escalated["kind"], "escalation");
        assert_eq!(escalated["recipient"], "bo");
        assert_eq!(escalated["recipient_name"], Value::Null);
        assert_eq!(escalated["payload"], escalation);
        assert!(
            escalated["text"]
                .as_str()
                .unwrap()
                .contains("escalated to bo")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn email_alerts_go_through_the_connector_once_however_often_they_are_retried() {
        let (_dir, app) = open().await;
        let sendgrid = StandIn::start(vec![(202, vec![("x-message-id", "sg-1")], "")]).await;
        let hooks = StandIn::start(vec![(502, vec![], "")]).await;
        let acme = tenant(&app, "acme", None);
        let email = app.plugins.get("email").unwrap();
        let connector = app
            .store
            .put_connector(
                acme,
                &ConnectorSpec {
                    name: "mail".into(),
                    plugin: "email".into(),
                    plugin_version: email.manifest().version.clone(),
                    config: [
                        ("base-url".to_owned(), sendgrid.url.clone()),
                        ("from-email".to_owned(), "leads@acme.example".to_owned()),
                    ]
                    .into(),
                    secrets: [("sendgrid-api-key".to_owned(), "SG.test-key".to_owned())].into(),
                    grants: Grants {
                        outbound_hosts: vec![sendgrid.authority.clone()],
                        allow_private_networks: true,
                        state: true,
                        ..Grants::default()
                    },
                    enabled: true,
                },
            )
            .unwrap();
        let settings = |from: &str| {
            json!({
                "alerts": {"url": hooks.url, "email": {"connector": "mail", "from": from}},
                "users": {"anna": {"email": "anna@acme.example", "name": "Anna Virtanen"}},
            })
        };
        settle(&app, acme, settings("leads@acme.example"));
        enqueue(&app, acme, "owner-alert:12:1", Some("anna"), payload());

        // The email goes out, the webhook fails: the item is retried...
        assert_eq!(dispatch_once(&app, T0).await.unwrap(), 1);
        let retried = item(&app, acme, "owner-alert:12:1");
        assert_eq!(retried.status, "pending", "{:?}", retried.last_error);
        assert!(retried.last_error.unwrap().contains("502"));
        let mails = sendgrid.take();
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert_eq!(mail.path, "/v3/mail/send");
        assert_eq!(mail.header("authorization"), "Bearer SG.test-key");
        assert_eq!(mail.header("idempotency-key"), "owner-alert:12:1");
        let body = mail.json();
        let to = &body["personalizations"][0]["to"][0];
        assert_eq!(to["email"], "anna@acme.example");
        assert_eq!(to["name"], "Anna Virtanen");
        assert_eq!(body["from"]["email"], "leads@acme.example");
        assert_eq!(body["subject"], "New sales-ready lead 12 for you");
        let text = body["content"][0]["value"].as_str().unwrap();
        assert!(
            text.contains("Lead 12") && text.contains("score 87.5"),
            "{text}"
        );
        assert!(
            text.contains("owner anna") && text.contains("due 2024-05-01T16:32"),
            "{text}"
        );

        // ...and the retry posts the webhook again but does not email twice.
        assert_eq!(dispatch_once(&app, T0 + 2000).await.unwrap(), 1);
        let sent = item(&app, acme, "owner-alert:12:1");
        assert_eq!((sent.status.as_str(), sent.attempts), ("sent", 2));
        assert_eq!(hooks.count(), 2);
        assert_eq!(sendgrid.count(), 0, "answered from the delivery log");
        let record = app
            .store
            .delivery(connector.id, "owner-alert:12:1")
            .unwrap()
            .unwrap();
        assert_eq!(record.status, "accepted");
        assert_eq!(record.provider_id.as_deref(), Some("sg-1"));
        assert_eq!(record.attempts, 1);

        // The connector sends from another address than the settings expect.
        settle(&app, acme, settings("sales@acme.example"));
        enqueue(&app, acme, "escalation:12:1", Some("anna"), payload());
        assert_eq!(dispatch_once(&app, T0 + 3000).await.unwrap(), 1);
        let mismatch = item(&app, acme, "escalation:12:1");
        assert_eq!(mismatch.status, "dead");
        assert!(
            mismatch
                .last_error
                .unwrap()
                .contains("alerts.email.from is sales@acme.example")
        );
        assert_eq!(sendgrid.count(), 0);

        // A refusal by SendGrid is dead; a redrive tries the connector again.
        settle(&app, acme, settings("leads@acme.example"));
        sendgrid.then((401, vec![], "{\"errors\":[{\"message\":\"bad key\"}]}"));
        enqueue(&app, acme, "owner-alert:13:1", Some("anna"), payload());
        app.store
            .outbox_redrive(acme, "escalation:12:1", T0 + 4000)
            .unwrap();
        assert_eq!(dispatch_once(&app, T0 + 4000).await.unwrap(), 2);
        assert_eq!(item(&app, acme, "escalation:12:1").status, "sent");
        let refused = item(&app, acme, "owner-alert:13:1");
        assert_eq!(refused.status, "dead");
        assert!(
            refused
                .last_error
                .unwrap()
                .contains("rejected the alert email: misconfigured")
        );
        app.store
            .outbox_redrive(acme, "owner-alert:13:1", T0 + 5000)
            .unwrap();
        assert_eq!(dispatch_once(&app, T0 + 5000).await.unwrap(), 1);
        assert_eq!(item(&app, acme, "owner-alert:13:1").status, "sent");
        assert_eq!(
            sendgrid.count(),
            3,
            "the refusal, the escalation, the redrive"
        );
    }
}
