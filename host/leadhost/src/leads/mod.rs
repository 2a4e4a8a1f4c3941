//! The lead engine in the server: the worker that folds the touchpoint log
//! into each tenant's leads, the outbox dispatcher, and their settings.

pub(crate) mod dispatch;
pub(crate) mod handoff;
pub(crate) mod worker;
