//! The host's capabilities, one module each. Every module has one way in: an
//! `add_to_linker` function, and its per-call state lives in [`Invocation`].

pub(crate) mod connections;
pub mod log;
pub mod outbound_http;
pub mod secrets;
pub mod settings;
pub mod state;

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::StoreLimits;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::binding::Binding;

/// What one call into a plugin can reach: its binding (tenant, connector,
/// configuration, secrets, grants), an empty WASI context, and limits.
pub struct Invocation {
    pub(crate) binding: Arc<Binding>,
    pub(crate) defaults: Arc<BTreeMap<String, String>>,
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) gate: outbound_http::OutboundGate,
    pub(crate) limits: StoreLimits,
    pub(crate) logs_left: u32,
}

impl Invocation {
    pub(crate) fn new(
        binding: Arc<Binding>,
        defaults: Arc<BTreeMap<String, String>>,
        limits: StoreLimits,
    ) -> Self {
        // An empty context: no arguments, environment, preopened directories,
        // stdio or sockets. Guests built with `std` import WASI and get nothing.
        let wasi = WasiCtx::builder().build();
        Invocation {
            gate: outbound_http::OutboundGate::new(&binding),
            binding,
            defaults,
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            limits,
            logs_left: log::MAX_RECORDS_PER_CALL,
        }
    }
}

impl WasiView for Invocation {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Invocation {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.gate,
        }
    }
}

/// Links every capability: WASI (capability-less), gated `wasi:http`, and the
/// contract's own imports.
pub(crate) fn link(linker: &mut Linker<Invocation>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    outbound_http::add_to_linker(linker)?;
    log::add_to_linker(linker)?;
    settings::add_to_linker(linker)?;
    state::add_to_linker(linker)?;
    secrets::add_to_linker(linker)?;
    Ok(())
}
