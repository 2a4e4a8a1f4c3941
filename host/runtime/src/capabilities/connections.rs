//! Keep-alive connections for a binding's outbound HTTP. Every instance is
//! fresh, but the connections its requests use are not: each binding keeps
//! the HTTP/1.1 connections its plugin opened, by origin and by the address
//! the gate checked, and hands an idle one to the next request. A connection
//! goes back to the pool when its response body has been read to the end and
//! is closed after 30 s idle; a request that finds its pooled connection
//! closed by the server before it was sent goes out once more on a new one.
//!
//! https connects to the checked address too, with the host name for SNI and
//! the certificate check (webpki roots), so a name cannot resolve to one
//! address for the gate and to another for the connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, WasiBody};

/// Idle connections kept per origin and address.
const MAX_IDLE: usize = 256;
/// How long an idle connection is kept: shorter than servers commonly keep
/// theirs (nginx 75 s), so a request seldom meets a connection the server
/// is closing at that very moment.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    https: bool,
    /// The host name: the TLS server name, and part of the key so that two
    /// names on one address do not share a TLS session.
    host: String,
    /// The address the gate checked.
    address: SocketAddr,
}

/// An idle connection and when it became idle.
type Idle = (SendRequest<WasiBody>, Instant);

/// One binding's idle connections.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<HashMap<Origin, Vec<Idle>>>,
}

impl Pool {
    /// The most recently idle open connection to `origin` that has not been
    /// idle too long; the rest of those are closed (dropped).
    fn take(&self, origin: &Origin) -> Option<SendRequest<WasiBody>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let senders = idle.get_mut(origin)?;
        senders.retain(|(s, since)| !s.is_closed() && since.elapsed() < IDLE_TIMEOUT);
        senders.pop().map(|(sender, _)| sender)
    }

    fn give(&self, origin: Origin, sender: SendRequest<WasiBody>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let senders = idle.entry(origin).or_default();
        senders.retain(|(s, since)| !s.is_closed() && since.elapsed() < IDLE_TIMEOUT);
        if senders.len() < MAX_IDLE {
            senders.push((sender, Instant::now()));
        }
    }
}

/// The limits of one request.
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    pub(crate) first_byte: Duration,
    pub(crate) between_bytes: Duration,
}

/// Sends `request` to `address` (already checked) on a pooled connection or
/// a new one. The request's URI still names the host; it goes out in origin
/// form.
pub(crate) async fn send(
    pool: &Arc<Pool>,
    mut request: Request<WasiBody>,
    https: bool,
    host: String,
    address: SocketAddr,
    timeouts: Timeouts,
) -> Result<Response<WasiBody>, Error> {
    let origin = Origin {
        https,
        host,
        address,
    };
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(
            request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/"),
        )
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;

    let mut pooled = pool.take(&origin);
    loop {
        let fresh = pooled.is_none();
        let mut sender = match pooled.take() {
            Some(sender) => sender,
            None => connect(&origin, timeouts.connect).await?,
        };
        if !fresh && sender.ready().await.is_err() {
            continue; // closed while idle: a new connection
        }
        let sent = tokio::time::timeout(timeouts.first_byte, sender.try_send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?;
        match sent {
            Ok(response) => {
                let mut timer = tokio::time::interval(if timeouts.between_bytes.is_zero() {
                    Duration::from_nanos(1)
                } else {
                    timeouts.between_bytes
                });
                timer.reset();
                let (parts, incoming) = response.into_parts();
                let body = PooledBody {
                    incoming: Some(incoming),
                    timer,
                    home: Some((Arc::clone(pool), origin, sender)),
                };
                return Ok(Response::from_parts(parts, body.boxed_unsync()));
            }
            // A kept connection the server had closed before the request
            // left: send it once more on a new one.
            Err(mut error) if !fresh => match error.take_message() {
                Some(unsent) => request = unsent,
                None => return Err(Error::from(error.into_error())),
            },
            Err(error) => return Err(Error::from(error.into_error())),
        }
    }
}

/// A new connection to `origin`, its I/O driven by a task of its own.
async fn connect(origin: &Origin, limit: Duration) -> Result<SendRequest<WasiBody>, Error> {
    let connecting = async {
        let stream = TcpStream::connect(origin.address)
            .await
            .map_err(Error::Connect)?;
        let _ = stream.set_nodelay(true);
        if origin.https {
            let stream = tls()
                .connect(server_name(&origin.host)?, stream)
                .await
                .map_err(Error::Tls)?;
            handshake(stream).await
        } else {
            handshake(stream).await
        }
    };
    tokio::time::timeout(limit, connecting)
        .await
        .map_err(|_| Error::ConnectionTimeout)?
}

async fn handshake<S>(stream: S) -> Result<SendRequest<WasiBody>, Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(Error::from)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!("outbound connection ended: {error}");
        }
    });
    Ok(sender)
}

/// The TLS client: webpki roots, made once.
fn tls() -> tokio_rustls::TlsConnector {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .unwrap_or_else(|_| {
                // The ring provider supports the default versions; this is
                // unreachable but must not panic.
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            });
        Arc::new(config)
    });
    tokio_rustls::TlsConnector::from(Arc::clone(config))
}

fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| Error::TlsCertificateError)
}

/// A response body that hands its connection back to the pool once read to
/// the end, and fails when the server pauses longer than the between-bytes
/// timeout.
struct PooledBody {
    incoming: Option<Incoming>,
    timer: tokio::time::Interval,
    home: Option<(Arc<Pool>, Origin, SendRequest<WasiBody>)>,
}

impl PooledBody {
    fn finished(&mut self) {
        if let Some((pool, origin, sender)) = self.home.take() {
            pool.give(origin, sender);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        let Some(incoming) = this.incoming.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(incoming).poll_frame(cx) {
            Poll::Ready(None) => {
                this.finished();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                this.home = None;
                Poll::Ready(Some(Err(if error.is_timeout() {
                    Error::HttpResponseTimeout
                } else {
                    Error::from(error)
                })))
            }
            Poll::Ready(Some(Ok(frame))) => {
                this.timer.reset();
                if this.incoming.as_ref().is_some_and(Body::is_end_stream) {
                    this.finished();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(this.timer.poll_tick(cx));
                this.home = None;
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming
            .as_ref()
            .map(Body::size_hint)
            .unwrap_or_default()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // Read to the end already, or an empty body: the connection is idle.
        if self.incoming.as_ref().is_some_and(Body::is_end_stream) {
            self.finished();
        }
    }
}
