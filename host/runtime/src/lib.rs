//! # leadhost-runtime
//!
//! Runs channel plugins: WebAssembly components of the world
//! `leadhost:channel/connector`. One [`Runtime`] holds one wasmtime `Engine`
//! (pooling allocator, copy-on-write memory images, epoch deadlines), compiles
//! each component once (cached on disk by content and engine), and builds its
//! pre-instance once ([`Plugin`]). Every call gets a fresh `Store` from that
//! pre-instance, with the memory limit and deadline of the connector's grants,
//! so one bad call never poisons another. A trap, timeout, memory-limit hit
//! or bad output fails that call only, is counted on its [`Binding`], and a
//! circuit breaker stops calling a binding that keeps failing.

mod binding;
pub mod capabilities;
mod contract;
mod engine;
mod plugin;

pub use binding::{Binding, BreakerPolicy, Grants, HealthReport};
pub use capabilities::state::StateBackend;
pub use engine::{Runtime, RuntimeConfig};
pub use plugin::{
    CheckReport, HttpReply, HttpRequest, Ingested, LoadError, MAX_BATCH, MAX_REPLY_BYTES,
    MAX_TOUCHPOINTS_PER_CALL, Plugin, PluginRefusal,
};

/// The contract versions this host loads, newest first.
pub const SUPPORTED_CONTRACTS: &[&str] = contract::v0_1::RELEASED;

/// Why a call into a plugin failed. The host stays up; only this call fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The binding's circuit breaker is open.
    #[error("the connector is failing repeatedly; calls resume in {retry_in:?}")]
    CircuitOpen {
        /// When the next trial call will be let through.
        retry_in: std::time::Duration,
    },
    /// All instance slots are busy.
    #[error("all plugin instance slots are busy")]
    Busy,
    /// The call ran past its deadline.
    #[error("the plugin ran past its deadline of {0:?}")]
    Timeout(std::time::Duration),
    /// The plugin tried to grow memory beyond its limit.
    #[error("the plugin exceeded its memory limit of {0} bytes")]
    MemoryLimit(usize),
    /// The plugin trapped (a Rust plugin's panic ends here).
    #[error("the plugin crashed: {0}")]
    Trap(String),
    /// The plugin answered with more than the host accepts.
    #[error("the plugin's output is too large: {0}")]
    OutputTooLarge(String),
    /// The plugin answered with something the host cannot store.
    #[error("the plugin's output is invalid: {0}")]
    InvalidOutput(String),
    /// The host itself failed around the call.
    #[error("host error: {0}")]
    Host(String),
}

impl InvokeError {
    /// Whether the plugin is to blame (counts towards the circuit breaker).
    pub fn is_plugin_fault(&self) -> bool {
        matches!(
            self,
            InvokeError::Timeout(_)
                | InvokeError::MemoryLimit(_)
                | InvokeError::Trap(_)
                | InvokeError::OutputTooLarge(_)
                | InvokeError::InvalidOutput(_)
        )
    }
}
