//! Outbound HTTP through the standard `wasi:http` outgoing handler. The host
//! lets a request through only to hosts the operator granted; a header value
//! may name a secret as `{{secret:NAME}}` and the host puts it in on the way
//! out, so the plugin never holds it.

/// A request to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboundRequest {
    /// The method, e.g. `"POST"`.
    pub method: String,
    /// The absolute URL, `http://` or `https://`.
    pub url: String,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl OutboundRequest {
    /// A request with this method and URL.
    pub fn new(method: &str, url: &str) -> Self {
        OutboundRequest {
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            ..OutboundRequest::default()
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// The provider's answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboundResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl OutboundResponse {
    /// A response with this status and body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        OutboundResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host refused it: the destination is not granted.
    Denied(String),
    /// The URL or request could not be formed.
    Invalid(String),
    /// It was sent but failed (connection, timeout, protocol).
    Failed(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Denied(m) => write!(f, "outbound request denied: {m}"),
            HttpError::Invalid(m) => write!(f, "invalid outbound request: {m}"),
            HttpError::Failed(m) => write!(f, "outbound request failed: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// The parts of an absolute URL the outgoing handler needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlParts<'a> {
    pub https: bool,
    pub authority: &'a str,
    pub path_and_query: &'a str,
}

pub(crate) fn split_url(url: &str) -> Result<UrlParts<'_>, HttpError> {
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(HttpError::Invalid(format!(
            "{url:?} is not an http:// or https:// URL"
        )));
    };
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(cut);
    if authority.is_empty() {
        return Err(HttpError::Invalid(format!("{url:?} has no host")));
    }
    Ok(UrlParts {
        https,
        authority,
        path_and_query: if path_and_query.is_empty() {
            "/"
        } else {
            path_and_query
        },
    })
}

/// Sends a request and reads the whole response.
pub fn send(request: OutboundRequest) -> Result<OutboundResponse, HttpError> {
    #[cfg(target_arch = "wasm32")]
    {
        wasi_send(request)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        split_url(&request.url)?;
        crate::testing::http_send(request)
    }
}

#[cfg(target_arch = "wasm32")]
fn wasi_send(request: OutboundRequest) -> Result<OutboundResponse, HttpError> {
    use crate::wit::wasi::http::outgoing_handler;
    use crate::wit::wasi::http::types::{
        ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
    };
    use crate::wit::wasi::io::streams::StreamError;

    let parts = split_url(&request.url)?;
    let mut entries: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect();
    // A known length, not chunked transfer: some providers insist on it.
    if !request.body.is_empty() && !entries.iter().any(|(n, _)| n == "content-length") {
        entries.push((
            "content-length".into(),
            request.body.len().to_string().into_bytes(),
        ));
    }
    let headers = Fields::from_list(&entries)
        .map_err(|e| HttpError::Invalid(format!("header rejected: {e:?}")))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    };
    let invalid = |what: &str| HttpError::Invalid(format!("{what} rejected"));
    outgoing
        .set_method(&method)
        .map_err(|()| invalid("method"))?;
    let scheme = if parts.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    outgoing
        .set_authority(Some(parts.authority))
        .map_err(|()| invalid("authority"))?;
    outgoing
        .set_path_with_query(Some(parts.path_and_query))
        .map_err(|()| invalid("path"))?;
    let body = outgoing.body().map_err(|()| invalid("body"))?;

    let map_code = |code: ErrorCode| match code {
        ErrorCode::HttpRequestDenied | ErrorCode::DestinationIpProhibited => {
            HttpError::Denied(format!("{code:?}"))
        }
        other => HttpError::Failed(format!("{other:?}")),
    };
    // Hand the request over before writing the body: the host streams it.
    let future = outgoing_handler::handle(outgoing, None).map_err(map_code)?;
    {
        let stream = body.write().map_err(|()| invalid("body stream"))?;
        for chunk in request.body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| HttpError::Failed(format!("writing the body: {e:?}")))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(map_code)?;

    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(map_code(code)),
        Some(Err(())) | None => {
            return Err(HttpError::Failed("the response was lost".into()));
        }
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let incoming = response
        .consume()
        .map_err(|()| HttpError::Failed("the response body was taken".into()))?;
    let mut bytes = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| HttpError::Failed("the response body was taken".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(HttpError::Failed(format!(
                        "reading the body: {}",
                        e.to_debug_string()
                    )));
                }
            }
        }
    }
    drop(IncomingBody::finish(incoming));
    Ok(OutboundResponse {
        status,
        headers,
        body: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        let p = split_url("https://api.example.com:8443/v3/mail/send?x=1").unwrap();
        assert!(p.https);
        assert_eq!(p.authority, "api.example.com:8443");
        assert_eq!(p.path_and_query, "/v3/mail/send?x=1");
        let p = split_url("http://127.0.0.1:9").unwrap();
        assert!(!p.https);
        assert_eq!(p.path_and_query, "/");
        assert!(matches!(split_url("ftp://x"), Err(HttpError::Invalid(_))));
        assert!(matches!(
            split_url("http:///path"),
            Err(HttpError::Invalid(_))
        ));
    }
}
