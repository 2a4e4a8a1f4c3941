//! `leadhost:channel/state`: key-value state private to one connector of one
//! tenant, only when the operator granted `state`.

use wasmtime::component::{HasSelf, Linker};

use super::Invocation;
use crate::contract::v0_1::leadhost::channel::state::{self, StateError};

/// Longest key, in bytes.
pub const MAX_KEY: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE: usize = 64 * 1024;

/// Where plugin state is kept; the binary backs it with its store.
pub trait StateBackend: Send + Sync {
    /// Reads a value.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Writes a value.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String>;
    /// Removes a value.
    fn delete(&self, key: &str) -> Result<(), String>;
}

pub(crate) fn add_to_linker(linker: &mut Linker<Invocation>) -> wasmtime::Result<()> {
    state::add_to_linker::<_, HasSelf<Invocation>>(linker, |s| s)
}

impl Invocation {
    fn state_backend(&self, key: &str) -> Result<&dyn StateBackend, StateError> {
        if !self.binding.grants.state {
            return Err(StateError::NotGranted);
        }
        if key.len() > MAX_KEY {
            return Err(StateError::TooLarge(format!(
                "keys are at most {MAX_KEY} bytes"
            )));
        }
        self.binding
            .state
            .as_deref()
            .ok_or_else(|| StateError::Unavailable("no state store is attached".into()))
    }
}

impl state::Host for Invocation {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, StateError> {
        self.state_backend(&key)?
            .get(&key)
            .map_err(StateError::Unavailable)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), StateError> {
        if value.len() > MAX_VALUE {
            return Err(StateError::TooLarge(format!(
                "values are at most {MAX_VALUE} bytes"
            )));
        }
        self.state_backend(&key)?
            .set(&key, &value)
            .map_err(StateError::Unavailable)
    }

    fn delete(&mut self, key: String) -> Result<(), StateError> {
        self.state_backend(&key)?
            .delete(&key)
            .map_err(StateError::Unavailable)
    }
}
