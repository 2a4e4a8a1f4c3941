//! `/ingest/{tenant}/{connector}/{rest}`: raw channel traffic goes to the
//! connector's plugin; its touchpoints are committed before the plugin's
//! reply is sent. Every refusal is a JSON error and stores nothing.

use crate::now_ms;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leadhost_runtime::{HttpRequest, InvokeError};
use leadhost_store::NewTouchpoint;

use super::{ApiError, App};

pub(super) fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/ingest/{tenant}/{connector}", get(at_root).post(at_root))
        .route(
            "/ingest/{tenant}/{connector}/{*rest}",
            get(at_path).post(at_path),
        )
}

async fn at_root(
    State(app): State<Arc<App>>,
    Path((tenant, connector)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    ingest(
        app,
        tenant,
        connector,
        String::new(),
        method,
        uri,
        headers,
        body,
    )
    .await
}

async fn at_path(
    State(app): State<Arc<App>>,
    Path((tenant, connector, rest)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    ingest(app, tenant, connector, rest, method, uri, headers, body).await
}

#[allow(clippy::too_many_arguments)]
async fn ingest(
    app: Arc<App>,
    tenant_name: String,
    connector_name: String,
    rest: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let tenant = app.store.tenant(&tenant_name)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-tenant",
            format!("no tenant named {tenant_name:?}"),
        )
    })?;
    let bound = app
        .bound(tenant.id, &tenant.name, &connector_name)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown-connector",
                format!("tenant {tenant_name:?} has no connector named {connector_name:?}"),
            )
        })?;
    if !bound.connector.enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "connector-disabled",
            format!("connector {connector_name:?} is disabled"),
        ));
    }
    let body = axum::body::to_bytes(body, app.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                format!("the body is larger than {} bytes", app.max_body_bytes),
            )
        })?;
    let encoding = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let body = match encoding.as_deref() {
        None | Some("identity") => body.to_vec(),
        Some("gzip") | Some("x-gzip") => gunzip(&body, app.max_body_bytes)?,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-encoding",
                format!("content-encoding {other:?} is not supported (gzip is)"),
            ));
        }
    };
    let request = HttpRequest {
        method: method.as_str().to_string(),
        path: format!("/{rest}"),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers
            .iter()
            // The plugin sees the body as decoded here.
            .filter(|(n, _)| {
                encoding.is_none()
                    || (*n != axum::http::header::CONTENT_ENCODING
                        && *n != axum::http::header::CONTENT_LENGTH)
            })
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body,
    };

    let permit = Arc::clone(&app.slots).acquire_owned().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "the server is stopping",
        )
    })?;
    let received_at = now_ms();
    let (runtime, plugin, binding) = (
        Arc::clone(&app.runtime),
        Arc::clone(&bound.plugin),
        Arc::clone(&bound.binding),
    );
    let answer = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        runtime.ingest(&plugin, &binding, request)
    })
    .await
    .map_err(host_error)?;

    let ingested = match answer {
        Ok(Ok(ingested)) => ingested,
        Ok(Err(refusal)) => {
            let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
            return Err(ApiError::new(status, refusal.kind, refusal.message));
        }
        Err(e) => return Err(invoke_error(e)),
    };

    let rows = rows(&ingested.touchpoints)?;
    let receipt = if rows.is_empty() {
        leadhost_store::AppendReceipt {
            stored: 0,
            duplicates: 0,
        }
    } else {
        let receipt = app
            .store
            .append(tenant.id, bound.connector.id, received_at, rows)?
            .finish()
            .await?;
        if receipt.stored > 0 {
            app.leads.notify();
        }
        receipt
    };

    let reply = ingested.reply;
    let mut response = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK))
        .body(Body::from(reply.body))
        .map_err(host_error)?;
    let out = response.headers_mut();
    for (name, value) in reply.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            out.append(n, v);
        }
    }
    out.insert("x-leadhost-stored", receipt.stored.into());
    out.insert("x-leadhost-duplicates", receipt.duplicates.into());
    Ok(response.into_response())
}

/// The store rows of checked touchpoints.
pub(super) fn rows(
    touchpoints: &[leadhost_core::Touchpoint],
) -> Result<Vec<NewTouchpoint>, ApiError> {
    touchpoints
        .iter()
        .map(|t| crate::touchpoint_row(t).map_err(host_error))
        .collect()
}

/// A failure of the host itself around the call.
pub(super) fn host_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "host-error",
        e.to_string(),
    )
}

/// Decompresses a gzip body, refusing one that inflates past `limit`.
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("the gzip body does not decode: {e}"),
            )
        })?;
    if out.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("the body inflates to more than {limit} bytes"),
        ));
    }
    Ok(out)
}

pub(super) fn invoke_error(e: InvokeError) -> ApiError {
    let message = e.to_string();
    match e {
        InvokeError::CircuitOpen { retry_in } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "connector-unavailable",
            message,
        )
        .retry_after(retry_in.as_secs().max(1)),
        InvokeError::Busy => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message).retry_after(1)
        }
        InvokeError::Host(_) => host_error(message),
        _ => ApiError::new(StatusCode::BAD_GATEWAY, "plugin-failed", message),
    }
}
