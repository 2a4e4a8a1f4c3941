//! Reports and marketing spend under `/v1/tenants/{tenant}/`: the admin key
//! or the tenant's own key.
//!
//! - `GET reports/{funnel|channels|cost|attribution|sla|nurture}` with the
//!   query of [`ReportParams`]: the report as JSON, or with `format=csv`
//!   its tables as CSV, one after the other, each under a `# title` line.
//! - `GET spend`, `POST spend` (JSON `{"items": [...]}` or one entry, or
//!   `text/csv` with the header `channel,campaign,from,to,amount,currency,note`;
//!   all or nothing), `DELETE spend/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use leadhost_core::reports::{self, ReportKind, ReportQuery, Spend, parse_time};
use leadhost_core::touchpoint::{Acquisition, Channel};
use leadhost_store::{NewSpend, SpendRow};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::Caller;
use super::{ApiError, App};
use crate::now_ms;

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/v1/tenants/{tenant}/reports/{name}", get(report))
        .route(
            "/v1/tenants/{tenant}/spend",
            get(list_spend).post(add_spend),
        )
        .route("/v1/tenants/{tenant}/spend/{id}", delete(delete_spend))
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

/// A report's query string: text, so that errors can name the value.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ReportParams {
    /// Start of the range: a date, a month, an RFC 3339 instant or ms.
    pub(crate) from: Option<String>,
    /// End of the range (exclusive), as `from`.
    pub(crate) to: Option<String>,
    /// The time open durations are measured to, as `from`.
    pub(crate) now: Option<String>,
    pub(crate) channel: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) medium: Option<String>,
    pub(crate) campaign: Option<String>,
    pub(crate) segment: Option<String>,
    pub(crate) care_model: Option<String>,
    pub(crate) stuck_days: Option<u32>,
    pub(crate) currency: Option<String>,
    /// `json` (default) or `csv`.
    pub(crate) format: Option<String>,
}

/// The case of `all` named `value`, or words listing the names.
fn variant<T: Copy>(
    what: &str,
    value: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|&c| name(c) == value)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|&c| name(c)).collect();
            format!("no {what} {value:?} ({what}s: {})", names.join(", "))
        })
}

fn channel_named(value: &str) -> Result<Channel, String> {
    variant("channel", value, &Channel::ALL, Channel::as_str)
}

fn time(what: &str, text: &Option<String>) -> Result<Option<i64>, ApiError> {
    text.as_deref()
        .map(|t| {
            parse_time(t).ok_or_else(|| {
                bad(
                    "bad-time",
                    format!(
                        "{what} {t:?} is not a time: use a date (2026-03-01), a month \
                         (2026-03), an RFC 3339 instant or milliseconds since the epoch"
                    ),
                )
            })
        })
        .transpose()
}

impl ReportParams {
    /// The core query these parameters ask for.
    pub(crate) fn query(&self) -> Result<ReportQuery, ApiError> {
        let q = ReportQuery {
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            now: time("now", &self.now)?,
            channel: self
                .channel
                .as_deref()
                .map(channel_named)
                .transpose()
                .map_err(|e| bad("unknown-channel", e))?,
            source: self.source.clone(),
            medium: self
                .medium
                .as_deref()
                .map(|m| variant("medium", m, &Acquisition::ALL, Acquisition::as_str))
                .transpose()
                .map_err(|e| bad("unknown-medium", e))?,
            campaign: self.campaign.clone(),
            segment: self
                .segment
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e: reports::ReportError| bad("bad-segment", e.to_string()))?,
            care_model: self.care_model.clone(),
            stuck_days: self.stuck_days,
            currency: self.currency.as_deref().map(str::to_ascii_uppercase),
        };
        if let (Some(from), Some(to)) = (q.from, q.to)
            && to <= from
        {
            return Err(bad("bad-range", "`to` must be after `from`"));
        }
        Ok(q)
    }
}

/// A stored spend entry as the cost report reads it; `None` for one whose
/// channel this build does not know (left out, and counted by the caller).
pub(crate) fn spend_of(row: &SpendRow) -> Option<Spend> {
    let channel = match row.channel.as_deref() {
        None => None,
        Some(name) => Some(channel_named(name).ok()?),
    };
    Some(Spend {
        channel,
        campaign: row.campaign.clone(),
        from: row.from,
        to: row.to,
        amount: row.amount,
        currency: row.currency.clone(),
    })
}

async fn report(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    Query(params): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let kind: ReportKind = name.parse().map_err(|e: reports::ReportError| {
        ApiError::new(StatusCode::NOT_FOUND, "unknown-report", e.to_string())
    })?;
    let q = params.query()?;
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(bad(
                "unknown-format",
                format!("no format {other:?} (formats: json, csv)"),
            ));
        }
    };
    let spend: Vec<Spend> = if kind == ReportKind::Cost {
        app.store.spend(t.id)?.iter().filter_map(spend_of).collect()
    } else {
        Vec::new()
    };
    // A report over a large tenant takes a moment of CPU: off the async threads.
    let worker = Arc::clone(&app);
    let report = tokio::task::spawn_blocking(move || {
        worker
            .leads
            .read(t.id, |engine| reports::run(kind, engine, &q, &spend))
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "report-failed",
            e.to_string(),
        )
    })?;
    if csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            reports::tables_csv(&report.tables()),
        )
            .into_response());
    }
    Ok(Json(json!(report)).into_response())
}

async fn list_spend(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    Ok(Json(json!({"items": app.store.spend(t.id)?})))
}

/// One spend entry as the API and CSV take it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpendInput {
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    campaign: Option<String>,
    from: Value,
    to: Value,
    amount: f64,
    currency: String,
    #[serde(default)]
    note: Option<String>,
}

/// The JSON body: `{"items": [...]}` or one entry.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SpendBody {
    Many { items: Vec<SpendInput> },
    One(SpendInput),
}

fn empty_none(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl SpendInput {
    fn entry(self, at: &str) -> Result<NewSpend, ApiError> {
        let when = |what: &str, v: &Value| -> Result<i64, ApiError> {
            let parsed = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => parse_time(s),
                _ => None,
            };
            parsed.ok_or_else(|| {
                bad(
                    "bad-spend",
                    format!(
                        "{at}: {what} {v} is not a time: use a date (2026-03-01), a month, \
                         an RFC 3339 instant or milliseconds since the epoch"
                    ),
                )
            })
        };
        let channel = empty_none(self.channel);
        if let Some(c) = &channel {
            channel_named(c).map_err(|e| bad("bad-spend", format!("{at}: {e}")))?;
        }
        Ok(NewSpend {
            channel,
            campaign: empty_none(self.campaign),
            from: when("from", &self.from)?,
            to: when("to", &self.to)?,
            amount: self.amount,
            currency: self.currency,
            note: empty_none(self.note),
        })
    }
}

/// Spend entries from CSV with a header row naming the columns
/// `channel,campaign,from,to,amount,currency,note` (any order; `channel`,
/// `campaign` and `note` may be left out). Errors name the line.
fn spend_from_csv(body: &[u8]) -> Result<Vec<NewSpend>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| bad("bad-spend", format!("the CSV header: {e}")))?
        .clone();
    for needed in ["from", "to", "amount", "currency"] {
        if !headers.iter().any(|h| h == needed) {
            return Err(bad(
                "bad-spend",
                format!(
                    "the CSV header has no {needed:?} column \
                     (columns: channel,campaign,from,to,amount,currency,note)"
                ),
            ));
        }
    }
    let mut entries = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad("bad-spend", format!("the CSV: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let at = format!("line {line}");
        let field = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .map(str::to_string)
        };
        let amount_text = field("amount").unwrap_or_default();
        let amount: f64 = amount_text.parse().map_err(|_| {
            bad(
                "bad-spend",
                format!("{at}: amount {amount_text:?} is not a number"),
            )
        })?;
        let input = SpendInput {
            channel: field("channel"),
            campaign: field("campaign"),
            from: Value::String(field("from").unwrap_or_default()),
            to: Value::String(field("to").unwrap_or_default()),
            amount,
            currency: field("currency").unwrap_or_default(),
            note: field("note"),
        };
        entries.push(input.entry(&at)?);
    }
    Ok(entries)
}

async fn add_spend(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let entries = if csv {
        spend_from_csv(&body)?
    } else {
        let parsed: SpendBody = serde_json::from_slice(&body).map_err(|e| {
            bad(
                "bad-spend",
                format!(
                    "the body must be one spend entry or {{\"items\": [...]}} with from, to, \
                     amount and currency ({e})"
                ),
            )
        })?;
        let inputs = match parsed {
            SpendBody::Many { items } => items,
            SpendBody::One(one) => vec![one],
        };
        inputs
            .into_iter()
            .enumerate()
            .map(|(i, input)| input.entry(&format!("item {i}")))
            .collect::<Result<Vec<_>, _>>()?
    };
    if entries.is_empty() {
        return Err(bad("bad-spend", "no spend entries"));
    }
    let ids = app.store.add_spend(t.id, &entries, now_ms())?;
    Ok(Json(json!({"added": ids.len(), "ids": ids})))
}

async fn delete_spend(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    let t = caller.tenant(&app, &tenant)?;
    if !app.store.delete_spend(t.id, id)? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("tenant {tenant:?} has no spend entry {id}"),
        ));
    }
    Ok(Json(json!({"deleted": id})))
}
