//! Outbound `wasi:http`, gated. A request leaves only when its host is covered
//! by the connector's grants and, after DNS resolution, every address it
//! resolves to is public — or private networks were granted explicitly. The
//! connection is then made to the address that was checked, on one of the
//! binding's kept connections when it has one (see [`super::connections`]). Header values may
//! carry `{{secret:NAME}}`, which is filled in here, after the plugin let go.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::uri::Scheme;
use leadhost_core::{any_covers, is_private};
use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::{Invocation, connections};
use crate::binding::Binding;

/// Connect timeout when the guest sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// First-byte and between-bytes timeout when the guest sets none.
const READ_TIMEOUT: Duration = Duration::from_secs(15);

pub(crate) fn add_to_linker(linker: &mut Linker<Invocation>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(linker)
}

/// The per-call gate in front of the network.
pub(crate) struct OutboundGate {
    binding: Arc<Binding>,
    /// The call's deadline: the epoch cannot interrupt a blocked host call,
    /// so network waits are capped by what is left of it.
    deadline: Instant,
}

impl OutboundGate {
    pub(crate) fn new(binding: &Arc<Binding>) -> Self {
        OutboundGate {
            binding: Arc::clone(binding),
            deadline: Instant::now() + binding.grants.timeout,
        }
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

/// Why the gate stopped a request, for the log.
fn denied(binding: &Binding, destination: &str, why: &str, error: Error) -> SendFuture {
    tracing::warn!(
        tenant = &*binding.tenant,
        connector = &*binding.connector,
        destination,
        "outbound request denied: {why}"
    );
    binding
        .denied_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Box::new(async move { Err(error) })
}

/// Resolves `host` and keeps the addresses the grants allow.
async fn vetted_address(
    host: &str,
    port: u16,
    allow_private: bool,
    dns_timeout: Duration,
) -> Result<SocketAddr, Error> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(dns_timeout, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| Error::DnsTimeout)?
            .map_err(|_| Error::DestinationNotFound)?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(Error::DestinationNotFound);
    }
    // Every address must pass: a name that resolves to a mix is refused.
    if !allow_private && addrs.iter().any(|a| is_private(a.ip())) {
        return Err(Error::DestinationIpProhibited);
    }
    Ok(addrs[0])
}

impl WasiHttpHooks for OutboundGate {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        drop(fut);
        let binding = Arc::clone(&self.binding);
        let Some(authority) = request.uri().authority().cloned() else {
            return denied(&binding, "?", "no host", Error::HttpRequestUriInvalid);
        };
        let https = request.uri().scheme() == Some(&Scheme::HTTPS);
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host = authority.host().to_string();
        if !any_covers(&binding.grants.outbound, &host, port) {
            return denied(
                &binding,
                authority.as_str(),
                "host not granted",
                Error::HttpRequestDenied,
            );
        }
        for value in request.headers_mut().values_mut() {
            let Ok(text) = value.to_str() else { continue };
            if !text.contains("{{secret:") {
                continue;
            }
            let filled = leadhost_core::signature::fill_secret_placeholders(text, |name| {
                binding.secrets.get(name).map(Vec::as_slice)
            })
            .ok()
            .and_then(|v| v.parse().ok());
            match filled {
                Some(v) => *value = v,
                None => {
                    return denied(
                        &binding,
                        authority.as_str(),
                        "unknown secret in a header",
                        Error::HttpRequestDenied,
                    );
                }
            }
        }
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        // The guest's timeouts (or ours), none past the call's deadline.
        let timeouts = connections::Timeouts {
            connect: options
                .and_then(|o| o.connect_timeout)
                .unwrap_or(CONNECT_TIMEOUT)
                .min(left),
            first_byte: options
                .and_then(|o| o.first_byte_timeout)
                .unwrap_or(READ_TIMEOUT)
                .min(left),
            between_bytes: options
                .and_then(|o| o.between_bytes_timeout)
                .unwrap_or(READ_TIMEOUT)
                .min(left),
        };
        let dns_timeout = CONNECT_TIMEOUT.min(left);
        Box::new(async move {
            let allow_private = binding.grants.allow_private_networks;
            let address = match vetted_address(&host, port, allow_private, dns_timeout).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(
                        tenant = &*binding.tenant,
                        connector = &*binding.connector,
                        destination = %authority,
                        "outbound request denied after DNS resolution: {e}"
                    );
                    binding
                        .denied_requests
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return Err(e);
                }
            };
            // Connect to the very address that was checked (https too: the
            // name is kept for SNI and the certificate), on a kept connection
            // when there is one.
            let response = connections::send(
                &binding.connections,
                request,
                https,
                host,
                address,
                timeouts,
            )
            .await?;
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}
