//! `leadhost:channel/log`: plugin records go to the host's log, tagged with
//! tenant and connector, capped so a plugin cannot flood it.

use wasmtime::component::{HasSelf, Linker};

use super::Invocation;
use crate::contract::v0_1::leadhost::channel::log::{self, Level};
use crate::contract::v0_1::leadhost::channel::types::Attribute;

/// Records one call may write; the rest are dropped.
pub const MAX_RECORDS_PER_CALL: u32 = 100;
/// Longest message kept; longer ones are cut.
const MAX_MESSAGE: usize = 4096;

pub(crate) fn add_to_linker(linker: &mut Linker<Invocation>) -> wasmtime::Result<()> {
    log::add_to_linker::<_, HasSelf<Invocation>>(linker, |s| s)
}

fn cut(s: &str) -> &str {
    let mut end = s.len().min(MAX_MESSAGE);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl log::Host for Invocation {
    fn write(&mut self, level: Level, message: String, fields: Vec<Attribute>) {
        if self.logs_left == 0 {
            return;
        }
        self.logs_left -= 1;
        let fields = fields
            .iter()
            .take(32)
            .map(|a| format!("{}={}", cut(&a.name), cut(&a.value)))
            .collect::<Vec<_>>()
            .join(" ");
        let tenant = &*self.binding.tenant;
        let connector = &*self.binding.connector;
        let message = cut(&message);
        match level {
            Level::Trace => {
                tracing::trace!(target: "plugin", tenant, connector, fields, "{message}")
            }
            Level::Debug => {
                tracing::debug!(target: "plugin", tenant, connector, fields, "{message}")
            }
            Level::Info => tracing::info!(target: "plugin", tenant, connector, fields, "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", tenant, connector, fields, "{message}"),
            Level::Error => {
                tracing::error!(target: "plugin", tenant, connector, fields, "{message}")
            }
        }
    }
}
