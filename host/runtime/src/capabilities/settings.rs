//! `leadhost:channel/config`: the operator's configuration of this connector
//! for this tenant, falling back to the manifest's defaults.

use wasmtime::component::{HasSelf, Linker};

use super::Invocation;
use crate::contract::v0_1::leadhost::channel::config;

pub(crate) fn add_to_linker(linker: &mut Linker<Invocation>) -> wasmtime::Result<()> {
    config::add_to_linker::<_, HasSelf<Invocation>>(linker, |s| s)
}

impl config::Host for Invocation {
    fn get(&mut self, key: String) -> Option<String> {
        self.binding
            .config
            .get(&key)
            .or_else(|| self.defaults.get(&key))
            .cloned()
    }
}
