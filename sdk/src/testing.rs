//! A native test harness: run a plugin's logic in a plain `cargo test`
//! against a mocked host with configuration, secrets, state and recorded
//! outbound HTTP. It answers the same calls the real host answers, with the
//! same rules: configuration defaults from the manifest, state only when
//! granted, outbound requests only to granted hosts, secrets substituted into
//! `{{secret:NAME}}` header placeholders.
//!
//! The harness exists on native targets only (a component has the real host).
//! Integration tests of a plugin crate that is also linted for
//! `wasm32-wasip2` start with `#![cfg(not(target_arch = "wasm32"))]`.
//!
//! ```ignore
//! let mut host = MockHost::new().secret("write-key", "abc");
//! let out = host.ingest::<Web>(Request::new("POST", "/v1/track").with_body(body));
//! ```

use crate::Connector;
use crate::http::{HttpError, OutboundRequest, OutboundResponse};
use crate::log::Level;
use crate::secrets::{Algorithm, SecretError};
use crate::state::StateError;
use crate::types::*;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// One log record a plugin wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its level.
    pub level: Level,
    /// Its message.
    pub message: String,
    /// Its structured fields.
    pub fields: Vec<(String, String)>,
}

/// A mocked host for native tests. Build it with the chained setters, then
/// call a connector through [`MockHost::ingest`] and friends.
#[derive(Debug, Default, Clone)]
pub struct MockHost {
    config: BTreeMap<String, String>,
    defaults: BTreeMap<String, String>,
    secrets: BTreeMap<String, Vec<u8>>,
    state_granted: bool,
    state: BTreeMap<String, Vec<u8>>,
    granted_hosts: Vec<String>,
    routes: Vec<(String, OutboundResponse)>,
    once: std::collections::VecDeque<(String, OutboundResponse)>,
    requests: Vec<OutboundRequest>,
    logs: Vec<LogRecord>,
}

thread_local! {
    static CURRENT: RefCell<Option<MockHost>> = const { RefCell::new(None) };
}

impl MockHost {
    /// A host with nothing configured and nothing granted.
    pub fn new() -> Self {
        MockHost::default()
    }

    /// Sets a configuration value.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Stores a secret.
    pub fn secret(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.secrets.insert(name.into(), value.as_ref().to_vec());
        self
    }

    /// Grants the `state` capability.
    pub fn grant_state(mut self) -> Self {
        self.state_granted = true;
        self
    }

    /// Grants outbound calls to a host (`"api.example.com"`, `"*.example.com"`,
    /// optionally with `:port`).
    pub fn grant_host(mut self, host: &str) -> Self {
        self.granted_hosts.push(host.into());
        self
    }

    /// Answers outbound requests whose URL starts with `url_prefix`.
    pub fn respond(mut self, url_prefix: &str, response: OutboundResponse) -> Self {
        self.routes.push((url_prefix.into(), response));
        self
    }

    /// Answers the next outbound request whose URL starts with `url_prefix`
    /// once, before any [`MockHost::respond`] route; such answers are used
    /// in the order they were given.
    pub fn respond_once(mut self, url_prefix: &str, response: OutboundResponse) -> Self {
        self.once.push_back((url_prefix.into(), response));
        self
    }

    /// Withdraws every outbound grant.
    pub fn without_grants(mut self) -> Self {
        self.granted_hosts.clear();
        self
    }

    /// Withdraws the `state` grant.
    pub fn without_state(mut self) -> Self {
        self.state_granted = false;
        self
    }

    /// The configuration the operator set (without manifest defaults).
    pub fn config_values(&self) -> BTreeMap<String, String> {
        self.config.clone()
    }

    /// The outbound requests sent so far, secrets substituted as the host would.
    pub fn requests(&self) -> &[OutboundRequest] {
        &self.requests
    }

    /// The log records written so far.
    pub fn logs(&self) -> &[LogRecord] {
        &self.logs
    }

    /// The plugin's state as it stands.
    pub fn state(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.state
    }

    /// Calls `describe`.
    pub fn describe<C: Connector>(&mut self) -> Manifest {
        self.run::<C, _>(|| C::describe())
    }

    /// Calls `ingest`.
    pub fn ingest<C: Connector>(&mut self, request: Request) -> Result<Ingested, IngestError> {
        self.run::<C, _>(|| C::ingest(request))
    }

    /// Calls `poll`.
    pub fn poll<C: Connector>(&mut self, cursor: Option<String>) -> Result<Polled, PollError> {
        self.run::<C, _>(|| C::poll(cursor))
    }

    /// Calls `deliver`.
    pub fn deliver<C: Connector>(&mut self, message: Message) -> Delivery {
        self.run::<C, _>(|| C::deliver(message))
    }

    /// Calls `deliver-batch`.
    pub fn deliver_batch<C: crate::BatchConnector>(
        &mut self,
        messages: Vec<Message>,
    ) -> Vec<Delivery> {
        self.run::<C, _>(|| C::deliver_batch(messages))
    }

    /// Installs this host for the current thread while `f` runs.
    fn run<C: Connector, R>(&mut self, f: impl FnOnce() -> R) -> R {
        // Defaults come from the manifest, as on the real host. Reading them
        // calls `describe` with no host installed, which must not use services.
        if self.defaults.is_empty() {
            self.defaults = C::describe()
                .config
                .into_iter()
                .filter_map(|c| c.default_value.map(|v| (c.name, v)))
                .collect();
        }
        let host = std::mem::take(self);
        CURRENT.with(|c| *c.borrow_mut() = Some(host));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        *self = CURRENT.with(|c| c.borrow_mut().take()).unwrap_or_default();
        match result {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

fn with<R>(f: impl FnOnce(&mut MockHost) -> R) -> R {
    CURRENT.with(|c| {
        let mut slot = c.borrow_mut();
        let host = slot.as_mut().unwrap_or_else(|| {
            panic!("leadhost-sdk: a host service was called outside MockHost (use MockHost::ingest etc. in native tests)")
        });
        f(host)
    })
}

pub(crate) fn record_log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let installed = CURRENT.with(|c| c.borrow().is_some());
    if !installed {
        return;
    }
    with(|h| {
        h.logs.push(LogRecord {
            level,
            message: message.into(),
            fields: fields
                .iter()
                .map(|(n, v)| ((*n).into(), (*v).into()))
                .collect(),
        })
    });
}

pub(crate) fn config_get(key: &str) -> Option<String> {
    with(|h| h.config.get(key).or_else(|| h.defaults.get(key)).cloned())
}

pub(crate) fn state_get(key: &str) -> Result<Option<Vec<u8>>, StateError> {
    with(|h| {
        if !h.state_granted {
            return Err(StateError::NotGranted);
        }
        Ok(h.state.get(key).cloned())
    })
}

pub(crate) fn state_set(key: &str, value: &[u8]) -> Result<(), StateError> {
    with(|h| {
        if !h.state_granted {
            return Err(StateError::NotGranted);
        }
        h.state.insert(key.into(), value.to_vec());
        Ok(())
    })
}

pub(crate) fn state_delete(key: &str) -> Result<(), StateError> {
    with(|h| {
        if !h.state_granted {
            return Err(StateError::NotGranted);
        }
        h.state.remove(key);
        Ok(())
    })
}

pub(crate) fn secret_exists(name: &str) -> Result<(), SecretError> {
    with(|h| {
        if h.secrets.contains_key(name) {
            Ok(())
        } else {
            Err(SecretError::NotFound(name.into()))
        }
    })
}

fn core_algorithm(algorithm: Algorithm) -> leadhost_core::signature::SignatureAlgorithm {
    use leadhost_core::signature::{MacAlgorithm as M, SignatureAlgorithm as S};
    match algorithm {
        Algorithm::HmacSha256 => S::Mac(M::HmacSha256),
        Algorithm::HmacSha1 => S::Mac(M::HmacSha1),
        Algorithm::HmacSha512 => S::Mac(M::HmacSha512),
        Algorithm::EcdsaP256Sha256 => S::EcdsaP256Sha256,
    }
}

/// The MAC of `message` under `key`: what the host computes for `verify`.
/// Use it in tests to sign payloads the way a provider would. ECDSA has no
/// MAC: sign with a private key in the test instead (the `p256` crate).
pub fn mac(algorithm: Algorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    use leadhost_core::signature::SignatureAlgorithm as S;
    match core_algorithm(algorithm) {
        S::Mac(m) => leadhost_core::signature::mac(m, key, message),
        S::EcdsaP256Sha256 => panic!("mac(): ECDSA is a signature, not a MAC"),
    }
}

pub(crate) fn secret_verify(
    name: &str,
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> bool {
    with(|h| match h.secrets.get(name) {
        Some(key) => leadhost_core::signature::verify_signature(
            core_algorithm(algorithm),
            key,
            message,
            signature,
        ),
        None => false,
    })
}

pub(crate) fn secret_sign(
    name: &str,
    algorithm: Algorithm,
    message: &[u8],
) -> Result<Vec<u8>, SecretError> {
    use leadhost_core::signature::SignatureAlgorithm as S;
    with(|h| {
        let key = h
            .secrets
            .get(name)
            .ok_or_else(|| SecretError::NotFound(name.into()))?;
        match core_algorithm(algorithm) {
            S::Mac(m) => Ok(leadhost_core::signature::mac(m, key, message)),
            S::EcdsaP256Sha256 => Err(SecretError::UnsupportedAlgorithm(
                "ecdsa-p256-sha256 secrets are public keys and cannot sign".into(),
            )),
        }
    })
}

pub(crate) fn secret_matches(name: &str, candidate: &[u8]) -> bool {
    with(|h| {
        h.secrets
            .get(name)
            .is_some_and(|s| leadhost_core::signature::constant_time_eq(s, candidate))
    })
}

/// Whether `authority` (`host[:port]`) is covered by a grant, as the host decides.
fn granted(grants: &[String], authority: &str, https: bool) -> bool {
    let default_port = if https { 443 } else { 80 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().unwrap_or(0)),
        None => (authority, default_port),
    };
    grants.iter().any(|g| {
        leadhost_core::HostGrant::parse(g)
            .unwrap_or_else(|e| panic!("MockHost::grant_host: {e}"))
            .covers(host, port)
    })
}

pub(crate) fn http_send(mut request: OutboundRequest) -> Result<OutboundResponse, HttpError> {
    with(|h| {
        let parts = crate::http::split_url(&request.url)?;
        if !granted(&h.granted_hosts, parts.authority, parts.https) {
            return Err(HttpError::Denied(format!(
                "{} is not a granted host",
                parts.authority
            )));
        }
        for (_, value) in request.headers.iter_mut() {
            *value = leadhost_core::signature::fill_secret_placeholders(value, |name| {
                h.secrets.get(name).map(Vec::as_slice)
            })
            .map_err(|e| HttpError::Invalid(e.to_string()))?;
        }
        let once = h
            .once
            .iter()
            .position(|(prefix, _)| request.url.starts_with(prefix.as_str()));
        let response = match once.and_then(|i| h.once.remove(i)) {
            Some((_, r)) => Some(r),
            None => h
                .routes
                .iter()
                .find(|(prefix, _)| request.url.starts_with(prefix.as_str()))
                .map(|(_, r)| r.clone()),
        };
        h.requests.push(request.clone());
        response.ok_or_else(|| HttpError::Failed(format!("no mocked response for {}", request.url)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_match_hosts_wildcards_and_ports() {
        let g = vec![
            "api.example.com".to_string(),
            "*.hooks.test:8080".to_string(),
        ];
        assert!(granted(&g, "api.example.com", true));
        assert!(granted(&g, "api.example.com:443", false));
        assert!(granted(&g, "a.hooks.test:8080", false));
        assert!(!granted(&g, "a.hooks.test:9090", false));
        assert!(!granted(&g, "a.hooks.test", false));
        assert!(!granted(&g, "hooks.test:8080", false));
        assert!(!granted(&g, "evil.com", true));
        assert!(!granted(&g, "api.example.com.evil.com", true));
    }
}
