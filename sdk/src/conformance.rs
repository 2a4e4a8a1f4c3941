//! The conformance suite every connector runs, first-party or vendor: one
//! call in a connector's tests checks that it behaves as the host expects.
//!
//! ```ignore
//! #[test]
//! fn conforms() {
//!     Conformance {
//!         host: MockHost::new().secret("signing-key", "k"),
//!         valid: vec![signed(FIXTURE)],
//!         wrongly_signed: vec![signed_with(FIXTURE, b"wrong"), unsigned(FIXTURE)],
//!         empty_batch: Some(signed("[]")),
//!         message: None,
//!     }
//!     .run::<MyConnector>();
//! }
//! ```
//!
//! It checks: the manifest is valid; every valid request is accepted and
//! yields storable touchpoints; a redelivery yields the same external ids and
//! times; truncated, malformed, wrongly signed and oversized requests are
//! refused with a typed error (so no touchpoints); an empty batch is fine;
//! outbound calls go only to the hosts the manifest asks for; a connector
//! that does not ask for state works without it; and `deliver` sends a
//! message once for one idempotency key.

use crate::Connector;
use crate::testing::MockHost;
use crate::types::*;

/// What a connector's author tells the suite about their channel.
pub struct Conformance {
    /// A host set up as an operator would: configuration, secrets, grants,
    /// and mocked provider answers for any outbound calls.
    pub host: MockHost,
    /// Requests in the channel's real format that must be accepted.
    pub valid: Vec<Request>,
    /// Requests with missing or wrong credentials: must be `Unauthorized`.
    pub wrongly_signed: Vec<Request>,
    /// A request carrying an empty batch, where the format has batches.
    pub empty_batch: Option<Request>,
    /// A message to deliver, for connectors that deliver; the host's mocked
    /// provider must accept it.
    pub message: Option<Message>,
}

fn to_core(m: &Manifest) -> leadhost_core::Manifest {
    use leadhost_core as core;
    let channel = |c: &Channel| match c {
        Channel::Web => core::Channel::Web,
        Channel::Email => core::Channel::Email,
        Channel::Social => core::Channel::Social,
        Channel::Eservices => core::Channel::Eservices,
        Channel::Portal => core::Channel::Portal,
        Channel::Events => core::Channel::Events,
        Channel::Other => core::Channel::Other,
    };
    let value_type = |t: ConfigType| match t {
        ConfigType::Text => core::ConfigType::Text,
        ConfigType::Integer => core::ConfigType::Integer,
        ConfigType::Boolean => core::ConfigType::Boolean,
        ConfigType::Url => core::ConfigType::Url,
    };
    core::Manifest {
        name: m.name.clone(),
        version: m.version.clone(),
        description: m.description.clone(),
        channels: m.channels.iter().map(channel).collect(),
        operations: core::Operations {
            ingest: m.operations.ingest,
            poll: m.operations.poll,
            deliver: m.operations.deliver,
        },
        config: m
            .config
            .iter()
            .map(|c| core::ConfigField {
                name: c.name.clone(),
                description: c.description.clone(),
                value_type: value_type(c.value_type),
                required: c.required,
                default_value: c.default_value.clone(),
            })
            .collect(),
        secrets: m
            .secrets
            .iter()
            .map(|s| core::SecretField {
                name: s.name.clone(),
                description: s.description.clone(),
                required: s.required,
            })
            .collect(),
        capabilities: core::Capabilities {
            outbound_hosts: m.capabilities.outbound_hosts.clone(),
            state: m.capabilities.state,
        },
    }
}

/// The (external id, occurred-at) of each touchpoint, the idempotency key.
fn keys(touchpoints: &[Touchpoint]) -> Vec<(String, Option<i64>)> {
    touchpoints
        .iter()
        .map(|t| (t.external_id.clone(), t.occurred_at))
        .collect()
}

impl Conformance {
    /// Runs every check; panics listing every failure.
    pub fn run<C: Connector>(self) {
        let mut failures: Vec<String> = Vec::new();
        let mut fail = |what: String| failures.push(what);
        let base = self.host;
        let manifest = base.clone().describe::<C>();
        let core_manifest = to_core(&manifest);

        for problem in core_manifest.problems() {
            fail(format!("manifest: {problem}"));
        }
        if !self.valid.is_empty() && !manifest.operations.ingest {
            fail("valid requests were given, but the manifest does not declare ingest".into());
        }
        if self.message.is_some() && !manifest.operations.deliver {
            fail("a message was given, but the manifest does not declare deliver".into());
        }

        // Valid requests: accepted, storable, and stable on redelivery.
        let mut host = base.clone();
        for (i, request) in self.valid.iter().enumerate() {
            let first = host.ingest::<C>(request.clone());
            let again = base.clone().ingest::<C>(request.clone());
            match (first, again) {
                (Ok(a), Ok(b)) => {
                    for t in &a.touchpoints {
                        if t.external_id.is_empty() || t.external_id.len() > 256 {
                            fail(format!(
                                "valid[{i}]: external id {:?} is not 1 to 256 bytes",
                                t.external_id
                            ));
                        }
                        if matches!(&t.kind, TouchpointKind::Custom(c) if c.is_empty()) {
                            fail(format!("valid[{i}]: a custom kind without a name"));
                        }
                    }
                    if keys(&a.touchpoints) != keys(&b.touchpoints) {
                        fail(format!(
                            "valid[{i}]: a redelivery gives other external ids or times"
                        ));
                    }
                    if !(100..=599).contains(&a.reply.status) {
                        fail(format!("valid[{i}]: reply status {}", a.reply.status));
                    }
                }
                (Err(e), _) | (_, Err(e)) => fail(format!("valid[{i}] was refused: {e}")),
            }
        }

        // Outbound calls only to what the manifest asks for.
        let asked: Vec<leadhost_core::HostGrant> = core_manifest
            .requested_hosts(&host.config_values())
            .iter()
            .filter_map(|h| leadhost_core::HostGrant::parse(h).ok())
            .collect();
        for sent in host.requests() {
            let covered = crate::http::split_url(&sent.url).is_ok_and(|parts| {
                let default_port = if parts.https { 443 } else { 80 };
                let (name, port) = match parts.authority.rsplit_once(':') {
                    Some((n, p)) => (n, p.parse().unwrap_or(0)),
                    None => (parts.authority, default_port),
                };
                asked.iter().any(|g| g.covers(name, port))
            });
            if !covered {
                fail(format!(
                    "called {} which the manifest does not ask for",
                    sent.url
                ));
            }
        }

        // Without any outbound grant nothing leaves, and nothing panics.
        let mut closed = base.clone().without_grants();
        for request in &self.valid {
            let _ = closed.ingest::<C>(request.clone());
        }
        if !closed.requests().is_empty() {
            fail("requests left without a granted host".into());
        }

        // A connector that does not ask for state must not need it.
        if !manifest.capabilities.state {
            let mut stateless = base.clone().without_state();
            for (i, request) in self.valid.iter().enumerate() {
                if let Err(e) = stateless.ingest::<C>(request.clone()) {
                    fail(format!(
                        "valid[{i}] needs state the manifest does not ask for: {e}"
                    ));
                }
            }
        }

        // Broken requests: refused with a typed error.
        for (i, request) in self.valid.iter().enumerate() {
            if request.body.len() > 1 {
                let mut truncated = request.clone();
                truncated.body.truncate(request.body.len() / 2);
                if base.clone().ingest::<C>(truncated).is_ok() {
                    fail(format!("valid[{i}] cut in half was accepted"));
                }
                let mut malformed = request.clone();
                malformed.body = b"{\"this is\": not the format".to_vec();
                if base.clone().ingest::<C>(malformed).is_ok() {
                    fail(format!("valid[{i}] with a malformed body was accepted"));
                }
            }
        }
        for (i, request) in self.wrongly_signed.iter().enumerate() {
            match base.clone().ingest::<C>(request.clone()) {
                Err(IngestError::Unauthorized(_)) => {}
                Err(other) => fail(format!("wrongly_signed[{i}]: {other}, not unauthorized")),
                Ok(_) => fail(format!("wrongly_signed[{i}] was accepted")),
            }
        }
        if let (Some(limit), Some(request)) = (
            manifest
                .config
                .iter()
                .find(|c| c.name == "max-body-bytes")
                .and_then(|c| c.default_value.as_deref())
                .and_then(|v| v.parse::<usize>().ok()),
            self.valid.first(),
        ) {
            let mut oversized = request.clone();
            oversized.body.resize(limit + 1, b' ');
            match base.clone().ingest::<C>(oversized) {
                Err(IngestError::TooLarge(_)) | Err(IngestError::Unauthorized(_)) => {}
                Err(other) => fail(format!("an oversized body: {other}, not too large")),
                Ok(_) => fail("an oversized body was accepted".into()),
            }
        }
        if let Some(request) = self.empty_batch {
            match base.clone().ingest::<C>(request) {
                Ok(out) if out.touchpoints.is_empty() => {}
                Ok(_) => fail("an empty batch produced touchpoints".into()),
                Err(e) => fail(format!("an empty batch was refused: {e}")),
            }
        }

        // One message, one send, however often it is handed over.
        if let Some(message) = self.message {
            let mut host = base.clone().grant_state();
            let first = host.deliver::<C>(message.clone());
            let second = host.deliver::<C>(message);
            match (&first, &second) {
                (Delivery::Accepted(a), Delivery::Accepted(b)) if a == b => {}
                _ => fail(format!(
                    "deliver twice gave {first:?} then {second:?}, not one accepted id"
                )),
            }
            if host.requests().len() != 1 {
                fail(format!(
                    "deliver twice with one key sent {} requests",
                    host.requests().len()
                ));
            }
        }

        assert!(
            failures.is_empty(),
            "{} does not conform:\n  - {}",
            manifest.name,
            failures.join("\n  - ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    static CALLS: AtomicU32 = AtomicU32::new(0);

    /// Accepts anything, with a new id every time, and talks to an ungranted host.
    struct Sloppy;

    impl Connector for Sloppy {
        fn describe() -> Manifest {
            Manifest {
                name: "Sloppy".into(),
                version: "1".into(),
                channels: vec![Channel::Web],
                operations: Operations {
                    ingest: true,
                    ..Operations::default()
                },
                ..Manifest::default()
            }
        }

        fn ingest(_request: Request) -> Result<Ingested, IngestError> {
            let _ = crate::http::send(crate::http::OutboundRequest::new(
                "GET",
                "http://tracker.example/",
            ));
            Ok(Ingested {
                touchpoints: vec![Touchpoint {
                    external_id: format!("id-{}", CALLS.fetch_add(1, Ordering::Relaxed)),
                    ..Touchpoint::default()
                }],
                reply: Response::new(200),
            })
        }
    }

    #[test]
    fn a_sloppy_connector_fails_with_every_reason_named() {
        let suite = Conformance {
            host: MockHost::new().grant_host("tracker.example").respond(
                "http://tracker.example/",
                crate::http::OutboundResponse::new(200, ""),
            ),
            valid: vec![Request::new("POST", "/").with_body("{}")],
            wrongly_signed: vec![Request::new("POST", "/")],
            empty_batch: None,
            message: None,
        };
        let panic =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| suite.run::<Sloppy>()))
                .expect_err("the suite must fail");
        let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        for expected in [
            "manifest: name \"Sloppy\"",
            "manifest: version \"1\"",
            "a redelivery gives other external ids",
            "called http://tracker.example/ which the manifest does not ask for",
            "cut in half was accepted",
            "malformed body was accepted",
            "wrongly_signed[0] was accepted",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }
}
