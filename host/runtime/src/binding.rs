//! A binding: one connector enabled for one tenant, as the runtime sees it —
//! configuration, secrets, grants, and its health (counters and the circuit
//! breaker). The binary builds one per connector revision and reuses it.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leadhost_core::HostGrant;
use serde::Serialize;

use crate::InvokeError;
use crate::capabilities::state::StateBackend;

/// What the operator granted one connector of one tenant.
#[derive(Debug, Clone)]
pub struct Grants {
    /// Hosts it may call through `wasi:http`.
    pub outbound: Vec<HostGrant>,
    /// Whether loopback and private addresses may be called.
    pub allow_private_networks: bool,
    /// Whether it may keep key-value state.
    pub state: bool,
    /// Its linear memory limit, in bytes.
    pub memory_bytes: usize,
    /// How long one call may run.
    pub timeout: Duration,
}

impl Default for Grants {
    fn default() -> Self {
        Grants {
            outbound: Vec::new(),
            allow_private_networks: false,
            state: false,
            memory_bytes: 32 << 20,
            timeout: Duration::from_secs(2),
        }
    }
}

/// When to stop calling a connector that keeps failing.
#[derive(Debug, Clone, Copy)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before one trial call is let through.
    pub cooldown: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failure_threshold: 5,
            cooldown: Duration::from_secs(30),
        }
    }
}

/// Counters and breaker state of one binding.
#[derive(Debug, Default)]
struct Health {
    calls: u64,
    failures: u64,
    timeouts: u64,
    memory_limit_hits: u64,
    traps: u64,
    bad_output: u64,
    refused_open: u64,
    consecutive_failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
    last_failure: Option<String>,
}

/// A snapshot of a binding's health, for the API and logs.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// Calls that ran (not refused by the breaker).
    pub calls: u64,
    /// Calls that failed because of the plugin.
    pub failures: u64,
    /// Of those, deadline hits.
    pub timeouts: u64,
    /// Of those, memory limit hits.
    pub memory_limit_hits: u64,
    /// Of those, traps and panics.
    pub traps: u64,
    /// Of those, output the host refused.
    pub bad_output: u64,
    /// Calls refused while the breaker was open.
    pub refused_open: u64,
    /// Outbound requests the gate refused.
    pub denied_requests: u64,
    /// `closed`, `open` or `half-open`.
    pub breaker: &'static str,
    /// The last failure, in words.
    pub last_failure: Option<String>,
}

/// One connector of one tenant, ready to be invoked.
pub struct Binding {
    /// The tenant's name.
    pub tenant: Arc<str>,
    /// The connector's name within the tenant.
    pub connector: Arc<str>,
    /// The operator's configuration.
    pub config: BTreeMap<String, String>,
    /// The secrets, by name. Never handed to the guest.
    pub secrets: BTreeMap<String, Vec<u8>>,
    /// What was granted.
    pub grants: Grants,
    /// Where plugin state goes, when granted.
    pub state: Option<Arc<dyn StateBackend>>,
    pub(crate) breaker: BreakerPolicy,
    pub(crate) denied_requests: AtomicU64,
    /// The plugin's kept outbound connections.
    pub(crate) connections: Arc<crate::capabilities::connections::Pool>,
    health: Mutex<Health>,
}

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binding")
            .field("tenant", &self.tenant)
            .field("connector", &self.connector)
            .field("config", &self.config)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

impl Binding {
    /// A binding with nothing configured or granted.
    pub fn new(tenant: &str, connector: &str) -> Self {
        Binding {
            tenant: tenant.into(),
            connector: connector.into(),
            config: BTreeMap::new(),
            secrets: BTreeMap::new(),
            grants: Grants::default(),
            state: None,
            breaker: BreakerPolicy::default(),
            denied_requests: AtomicU64::new(0),
            connections: Arc::default(),
            health: Mutex::new(Health::default()),
        }
    }

    /// Sets the breaker policy.
    pub fn with_breaker(mut self, policy: BreakerPolicy) -> Self {
        self.breaker = policy;
        self
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        // A panic while holding this lock leaves plain counters behind: keep going.
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets a call through, or refuses it while the breaker is open.
    pub(crate) fn admit(&self) -> Result<(), InvokeError> {
        let mut h = self.health();
        if let Some(until) = h.open_until {
            let now = Instant::now();
            if now < until || h.trial_in_flight {
                h.refused_open += 1;
                return Err(InvokeError::CircuitOpen {
                    retry_in: until.saturating_duration_since(now),
                });
            }
            // Cooled down: one trial call decides.
            h.trial_in_flight = true;
        }
        h.calls += 1;
        Ok(())
    }

    /// Records a call's outcome and moves the breaker.
    pub(crate) fn record(&self, outcome: Result<(), &InvokeError>) {
        let mut h = self.health();
        h.trial_in_flight = false;
        match outcome {
            Ok(()) => {
                h.consecutive_failures = 0;
                h.open_until = None;
            }
            Err(e) if e.is_plugin_fault() => {
                h.failures += 1;
                match e {
                    InvokeError::Timeout(_) => h.timeouts += 1,
                    InvokeError::MemoryLimit(_) => h.memory_limit_hits += 1,
                    InvokeError::Trap(_) => h.traps += 1,
                    _ => h.bad_output += 1,
                }
                h.last_failure = Some(e.to_string());
                h.consecutive_failures += 1;
                let reopen = h.open_until.is_some();
                if reopen || h.consecutive_failures >= self.breaker.failure_threshold {
                    h.open_until = Some(Instant::now() + self.breaker.cooldown);
                    tracing::warn!(
                        tenant = &*self.tenant,
                        connector = &*self.connector,
                        failures = h.consecutive_failures,
                        "circuit breaker open for {:?}",
                        self.breaker.cooldown
                    );
                }
            }
            Err(_) => {}
        }
    }

    /// A snapshot of the counters and breaker.
    pub fn health_report(&self) -> HealthReport {
        let h = self.health();
        let breaker = match h.open_until {
            None => "closed",
            Some(until) if Instant::now() < until => "open",
            Some(_) => "half-open",
        };
        HealthReport {
            calls: h.calls,
            failures: h.failures,
            timeouts: h.timeouts,
            memory_limit_hits: h.memory_limit_hits,
            traps: h.traps,
            bad_output: h.bad_output,
            refused_open: h.refused_open,
            denied_requests: self
                .denied_requests
                .load(std::sync::atomic::Ordering::Relaxed),
            breaker,
            last_failure: h.last_failure.clone(),
        }
    }
}
