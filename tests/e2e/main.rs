//! End-to-end tests: the real `leadhost` binary, real components compiled from
//! `plugins/` and `tests/plugins/`, real HTTP on 127.0.0.1, a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod connectors;
mod ingest;
mod isolation;
mod leads;
mod nurture;
mod outbound;
mod python;
mod reports;
mod support;
mod tooling;
