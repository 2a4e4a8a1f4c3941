//! A loaded plugin and the calls into it. Loading checks the component's
//! world before anything runs; every call instantiates afresh from the
//! pre-instance under the binding's deadline and memory limit.

use std::collections::BTreeMap;
use std::sync::Arc;

use leadhost_core::{Manifest, Touchpoint};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Instance, InstancePre};
use wasmtime::{Store, StoreLimitsBuilder, Trap};

use crate::binding::Binding;
use crate::capabilities::Invocation;
use crate::contract::v0_1::exports::leadhost::channel::{batch_delivery, plugin as exported};
use crate::contract::v0_1::{self, leadhost::channel::types as w};
use crate::engine::{EPOCH_TICK, Runtime};
use crate::{InvokeError, SUPPORTED_CONTRACTS};

/// The most touchpoints one call may return.
pub const MAX_TOUCHPOINTS_PER_CALL: usize = 10_000;
/// The largest reply body a plugin may return.
pub const MAX_REPLY_BYTES: usize = 1 << 20;
/// The most messages one `deliver-batch` call gets.
pub const MAX_BATCH: usize = 1000;

/// Why a component cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a WebAssembly component this engine can compile.
    #[error("not a loadable WebAssembly component: {0}")]
    NotAComponent(String),
    /// The component is not a channel plugin at all.
    #[error(
        "the component does not export `{expected}` (it exports: {found}); build it against wit/ (world leadhost:channel/connector)"
    )]
    WrongWorld {
        /// What this host needs.
        expected: String,
        /// What the component exports.
        found: String,
    },
    /// The component speaks a contract version this host does not.
    #[error("the component speaks {found}, this host speaks {supported}")]
    UnsupportedVersion {
        /// The version it exports.
        found: String,
        /// The versions this host loads.
        supported: String,
    },
    /// It imports something this host does not provide.
    #[error("the component needs an import this host does not provide: {0}")]
    MissingImport(String),
    /// Its exports do not have the contract's types.
    #[error("the component's exports do not match the contract: {0}")]
    WrongTypes(String),
    /// `describe` failed.
    #[error("describe failed: {0}")]
    Describe(InvokeError),
    /// The manifest is invalid.
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
}

/// A loaded plugin: compiled once, pre-instantiated once, described once.
pub struct Plugin {
    pre: InstancePre<Invocation>,
    plugin: exported::GuestIndices,
    batch: Option<batch_delivery::GuestIndices>,
    manifest: Manifest,
    defaults: Arc<BTreeMap<String, String>>,
    digest: String,
    contract: String,
    imports: Vec<String>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.manifest.name)
            .field("version", &self.manifest.version)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// Raw channel traffic for `ingest`.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    /// Upper-case method.
    pub method: String,
    /// Path after the connector's prefix, starting with `/`.
    pub path: String,
    /// Raw query without `?`.
    pub query: String,
    /// Headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// The reply a plugin wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// What `ingest` produced, checked.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The touchpoints to commit.
    pub touchpoints: Vec<Touchpoint>,
    /// The reply to send once committed.
    pub reply: HttpReply,
}

/// A plugin's typed refusal of a request (its `ingest-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRefusal {
    /// The HTTP status the contract assigns to it.
    pub status: u16,
    /// The error's case, e.g. `unauthorized`.
    pub kind: &'static str,
    /// The plugin's words.
    pub message: String,
}

impl From<w::IngestError> for PluginRefusal {
    fn from(e: w::IngestError) -> Self {
        let (status, kind, message) = match e {
            w::IngestError::Unauthorized(m) => (401, "unauthorized", m),
            w::IngestError::Malformed(m) => (400, "malformed", m),
            w::IngestError::NotFound(m) => (404, "not-found", m),
            w::IngestError::TooLarge(m) => (413, "too-large", m),
            w::IngestError::Misconfigured(m) => (503, "misconfigured", m),
            w::IngestError::Internal(m) => (500, "internal", m),
        };
        PluginRefusal {
            status,
            kind,
            message,
        }
    }
}

/// What `poll` produced, checked.
#[derive(Debug, Clone)]
pub struct Polled {
    /// The touchpoints to commit.
    pub touchpoints: Vec<Touchpoint>,
    /// Where to continue; `None` keeps the old cursor.
    pub next_cursor: Option<String>,
    /// More is waiting.
    pub more: bool,
}

/// A plugin's typed refusal to poll (its `poll-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRefusal {
    /// The error's case, e.g. `unsupported`.
    pub kind: &'static str,
    /// The plugin's words.
    pub message: String,
    /// Seconds the provider asked to wait, for `retry-after`.
    pub retry_after: Option<u32>,
}

impl From<w::PollError> for PollRefusal {
    fn from(e: w::PollError) -> Self {
        let (kind, message, retry_after) = match e {
            w::PollError::Unsupported => {
                ("unsupported", "this connector does not poll".into(), None)
            }
            w::PollError::Unauthorized(m) => ("unauthorized", m, None),
            w::PollError::RetryAfter(s) => (
                "retry-after",
                format!("the provider asked to wait {s} s"),
                Some(s),
            ),
            w::PollError::Misconfigured(m) => ("misconfigured", m, None),
            w::PollError::Internal(m) => ("internal", m, None),
        };
        PollRefusal {
            kind,
            message,
            retry_after,
        }
    }
}

/// What `plugin check` found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The contract it speaks.
    pub contract: String,
    /// Whether it exports `batch-delivery`.
    pub batches: bool,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its imports, by name.
    pub imports: Vec<String>,
    /// SHA-256 of the component.
    pub digest: String,
    /// The `leadhost-sdk` stamp (`contract=…;sdk=…`), when the Rust SDK built it.
    pub sdk_stamp: Option<String>,
    /// Problems with the manifest; empty when it fits.
    pub problems: Vec<String>,
}

fn classify(e: wasmtime::Error, binding: &Binding) -> InvokeError {
    if let Some(own) = e.downcast_ref::<InvokeError>() {
        return own.clone();
    }
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => InvokeError::Timeout(binding.grants.timeout),
            Trap::UnreachableCodeReached => {
                InvokeError::Trap("unreachable code reached (a Rust plugin panicked)".into())
            }
            other => InvokeError::Trap(other.to_string()),
        };
    }
    let text = format!("{e:#}");
    if text.contains("forcing trap when growing memory")
        || text.contains("exceeds memory limits")
        || text.contains("memory minimum size")
    {
        InvokeError::MemoryLimit(binding.grants.memory_bytes)
    } else if text.contains("maximum concurrent") || text.contains("pooling allocator") {
        InvokeError::Busy
    } else {
        InvokeError::Trap(text)
    }
}

impl Runtime {
    /// Loads a component: compiles it (or takes it from the cache), checks
    /// that it is a plugin of a supported contract, pre-instantiates it, and
    /// reads its manifest.
    pub fn load(&self, wasm: &[u8]) -> Result<Plugin, LoadError> {
        let (component, digest) = self.compile(wasm)?;
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        let Some(contract) = exports.iter().find_map(|e| v0_1::contract_of(e)) else {
            if let Some(found) = exports
                .iter()
                .find(|e| e.starts_with("leadhost:channel/plugin@"))
            {
                return Err(LoadError::UnsupportedVersion {
                    found: found.replace("/plugin", ""),
                    supported: SUPPORTED_CONTRACTS.join(", "),
                });
            }
            return Err(LoadError::WrongWorld {
                expected: v0_1::EXPORT.into(),
                found: if exports.is_empty() {
                    "nothing".into()
                } else {
                    exports.join(", ")
                },
            });
        };
        let imports: Vec<String> = ty
            .imports(&self.engine)
            .map(|(name, item)| match item.ty {
                ComponentItem::ComponentInstance(_) => name.to_string(),
                _ => format!("{name} (not an interface)"),
            })
            .collect();
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::MissingImport(format!("{e:#}")))?;
        let wrong_types = |e: wasmtime::Error| LoadError::WrongTypes(format!("{e:#}"));
        let plugin = exported::GuestIndices::new(&pre).map_err(wrong_types)?;
        // Matched by semver like the `plugin` export: an export of a later
        // 0.1 patch counts, one of another name does not.
        let batch = match component.get_export_index(None, v0_1::BATCH_EXPORT) {
            Some(_) => Some(batch_delivery::GuestIndices::new(&pre).map_err(wrong_types)?),
            None => None,
        };
        let mut plugin = Plugin {
            pre,
            plugin,
            batch,
            manifest: empty_manifest(),
            defaults: Arc::default(),
            digest,
            contract,
            imports,
        };
        let scratch = Arc::new(Binding::new("-", "-").with_breaker(self.config.breaker));
        let manifest: Manifest = self
            .call(&plugin, &scratch, |store, c| c.call_describe(store))
            .map_err(LoadError::Describe)?
            .into();
        plugin.defaults = Arc::new(
            manifest
                .config
                .iter()
                .filter_map(|c| Some((c.name.clone(), c.default_value.clone()?)))
                .collect(),
        );
        plugin.manifest = manifest;
        Ok(plugin)
    }

    /// Loads a component and reports whether it fits this host.
    pub fn check(&self, wasm: &[u8]) -> Result<CheckReport, LoadError> {
        let plugin = self.load(wasm)?;
        let problems = plugin
            .manifest
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        Ok(CheckReport {
            contract: plugin.contract.clone(),
            batches: plugin.batch.is_some(),
            manifest: plugin.manifest.clone(),
            imports: plugin.imports.clone(),
            digest: plugin.digest.clone(),
            sdk_stamp: sdk_stamp(wasm),
            problems,
        })
    }

    /// Runs one call of the `plugin` export in a fresh instance under the
    /// binding's limits.
    fn call<R>(
        &self,
        plugin: &Plugin,
        binding: &Arc<Binding>,
        f: impl FnOnce(&mut Store<Invocation>, &exported::Guest) -> wasmtime::Result<R>,
    ) -> Result<R, InvokeError> {
        self.call_instance(plugin, binding, |store, instance| {
            let guest = plugin.plugin.load(&mut *store, instance)?;
            f(store, &guest)
        })
    }

    /// Runs `f` on a fresh instance under the binding's limits, counting its
    /// outcome on the binding's breaker.
    fn call_instance<R>(
        &self,
        plugin: &Plugin,
        binding: &Arc<Binding>,
        f: impl FnOnce(&mut Store<Invocation>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<R, InvokeError> {
        binding.admit()?;
        let result = self.run(plugin, binding, f);
        binding.record(result.as_ref().map(|_| ()));
        if let Err(e) = &result
            && e.is_plugin_fault()
        {
            tracing::warn!(
                tenant = &*binding.tenant,
                connector = &*binding.connector,
                plugin = %plugin.manifest.name,
                "plugin call failed: {e}"
            );
        }
        result
    }

    fn run<R>(
        &self,
        plugin: &Plugin,
        binding: &Arc<Binding>,
        f: impl FnOnce(&mut Store<Invocation>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<R, InvokeError> {
        let memory = binding
            .grants
            .memory_bytes
            .min(self.config.max_memory_bytes);
        let limits = StoreLimitsBuilder::new()
            .memory_size(memory)
            .table_elements(1 << 16)
            .trap_on_grow_failure(true)
            .build();
        let state = Invocation::new(Arc::clone(binding), Arc::clone(&plugin.defaults), limits);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let ticks = binding.grants.timeout.as_millis() / EPOCH_TICK.as_millis() + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();
        let instance = plugin
            .pre
            .instantiate(&mut store)
            .map_err(|e| classify(e, binding))?;
        f(&mut store, &instance).map_err(|e| classify(e, binding))
    }

    /// Hands one request of raw channel traffic to the plugin. The outer
    /// error is a failed call; the inner one is the plugin's typed refusal.
    pub fn ingest(
        &self,
        plugin: &Plugin,
        binding: &Arc<Binding>,
        request: HttpRequest,
    ) -> Result<Result<Ingested, PluginRefusal>, InvokeError> {
        let request = w::HttpRequest {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request
                .headers
                .into_iter()
                .map(|(name, value)| w::Header { name, value })
                .collect(),
            body: request.body,
        };
        self.call(plugin, binding, |store, c| {
            match c.call_ingest(store, &request)? {
                // Bad output is the plugin's fault: it fails the call like a trap.
                Ok(out) => Ok(Ok(check_output(out).map_err(wasmtime::Error::new)?)),
                Err(refusal) => Ok(Err(refusal.into())),
            }
        })
    }

    /// Pulls touchpoints since `cursor`. The outer error is a failed call;
    /// the inner one is the plugin's typed refusal.
    pub fn poll(
        &self,
        plugin: &Plugin,
        binding: &Arc<Binding>,
        cursor: Option<&str>,
    ) -> Result<Result<Polled, PollRefusal>, InvokeError> {
        self.call(plugin, binding, |store, c| {
            match c.call_poll(store, cursor)? {
                Ok(out) => {
                    let touchpoints =
                        check_touchpoints(out.touchpoints).map_err(wasmtime::Error::new)?;
                    Ok(Ok(Polled {
                        touchpoints,
                        next_cursor: out.next_cursor,
                        more: out.more,
                    }))
                }
                Err(refusal) => Ok(Err(refusal.into())),
            }
        })
    }

    /// Sends one message out through the plugin.
    pub fn deliver(
        &self,
        plugin: &Plugin,
        binding: &Arc<Binding>,
        message: &leadhost_core::Message,
    ) -> Result<leadhost_core::DeliveryOutcome, InvokeError> {
        let message = w::Message::from(message);
        self.call(plugin, binding, |store, c| c.call_deliver(store, &message))
            .map(Into::into)
    }

    /// Sends `messages` out through the plugin's `deliver-batch` in one call,
    /// or through `deliver` when it has only that (still one instance, one
    /// message after another). One outcome per message, in order; an answer
    /// of any other length fails the call.
    pub fn deliver_batch(
        &self,
        plugin: &Plugin,
        binding: &Arc<Binding>,
        messages: &[leadhost_core::Message],
    ) -> Result<Vec<leadhost_core::DeliveryOutcome>, InvokeError> {
        if messages.len() > MAX_BATCH {
            return Err(InvokeError::Host(format!(
                "{} messages in one batch, at most {MAX_BATCH}",
                messages.len()
            )));
        }
        let messages: Vec<w::Message> = messages.iter().map(w::Message::from).collect();
        let Some(batch) = &plugin.batch else {
            return self.call(plugin, binding, |store, c| {
                messages
                    .iter()
                    .map(|m| Ok(c.call_deliver(&mut *store, m)?.into()))
                    .collect()
            });
        };
        self.call_instance(plugin, binding, |store, instance| {
            let guest = batch.load(&mut *store, instance)?;
            let out = guest.call_deliver_batch(&mut *store, &messages)?;
            if out.len() != messages.len() {
                return Err(wasmtime::Error::new(InvokeError::InvalidOutput(format!(
                    "deliver-batch answered {} deliveries for {} messages",
                    out.len(),
                    messages.len()
                ))));
            }
            Ok(out.into_iter().map(Into::into).collect())
        })
    }

    /// Calls `describe` on a fresh instance.
    pub fn describe(
        &self,
        plugin: &Plugin,
        binding: &Arc<Binding>,
    ) -> Result<Manifest, InvokeError> {
        self.call(plugin, binding, |store, c| c.call_describe(store))
            .map(Into::into)
    }
}

/// Checks touchpoints against what the host accepts and converts them.
fn check_touchpoints(touchpoints: Vec<w::Touchpoint>) -> Result<Vec<Touchpoint>, InvokeError> {
    if touchpoints.len() > MAX_TOUCHPOINTS_PER_CALL {
        return Err(InvokeError::OutputTooLarge(format!(
            "{} touchpoints in one call, at most {MAX_TOUCHPOINTS_PER_CALL}",
            touchpoints.len()
        )));
    }
    let touchpoints: Vec<Touchpoint> = touchpoints.into_iter().map(Into::into).collect();
    for (i, t) in touchpoints.iter().enumerate() {
        t.validate(i)
            .map_err(|e| InvokeError::InvalidOutput(e.to_string()))?;
    }
    Ok(touchpoints)
}

/// Checks a plugin's answer against what the host accepts and converts it.
fn check_output(out: w::Ingested) -> Result<Ingested, InvokeError> {
    if out.reply.body.len() > MAX_REPLY_BYTES {
        return Err(InvokeError::OutputTooLarge(format!(
            "a reply body of {} bytes, at most {MAX_REPLY_BYTES}",
            out.reply.body.len()
        )));
    }
    if !(100..=599).contains(&out.reply.status) {
        return Err(InvokeError::InvalidOutput(format!(
            "reply status {} is not an HTTP status",
            out.reply.status
        )));
    }
    Ok(Ingested {
        touchpoints: check_touchpoints(out.touchpoints)?,
        reply: HttpReply {
            status: out.reply.status,
            headers: out
                .reply
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: out.reply.body,
        },
    })
}

/// The `leadhost-sdk` custom section the Rust SDK writes into the core
/// module, if any.
fn sdk_stamp(wasm: &[u8]) -> Option<String> {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .filter_map(Result::ok)
        .find_map(|payload| match payload {
            wasmparser::Payload::CustomSection(c) if c.name() == "leadhost-sdk" => {
                Some(String::from_utf8_lossy(c.data()).into_owned())
            }
            _ => None,
        })
}

fn empty_manifest() -> Manifest {
    Manifest {
        name: String::new(),
        version: String::new(),
        description: String::new(),
        channels: Vec::new(),
        operations: leadhost_core::Operations::default(),
        config: Vec::new(),
        secrets: Vec::new(),
        capabilities: leadhost_core::Capabilities::default(),
    }
}

impl Plugin {
    /// Its manifest, as `describe` returned it at load.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// SHA-256 of the component, hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The contract it speaks, e.g. `leadhost:channel@0.1.1`.
    pub fn contract(&self) -> &str {
        &self.contract
    }

    /// Whether it exports `batch-delivery`.
    pub fn batches(&self) -> bool {
        self.batch.is_some()
    }
}
