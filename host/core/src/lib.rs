//! The pure domain of Leadhost: plain synchronous Rust, no I/O crates.
//!
//! Everything else depends on this crate, never the other way round. For now
//! it holds the touchpoint model every channel normalizes to, the connector
//! manifest, and the rules for outbound host grants.

pub mod email;
pub mod grants;
pub mod identity;
pub mod leads;
pub mod lifecycle;
pub mod manifest;
pub mod message;
pub mod nurture;
pub mod predict;
pub mod reports;
pub mod scoring;
pub mod signature;
pub mod touchpoint;

#[cfg(test)]
mod test_rng;

pub use grants::{HostGrant, HostGrantError, any_covers, is_private};
pub use manifest::{
    Capabilities, ConfigField, ConfigType, Manifest, ManifestProblem, Operations, SecretField,
};
pub use message::{DeliveryOutcome, Message, MessageProblem, RejectionReason};
pub use touchpoint::*;
