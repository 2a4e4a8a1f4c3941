//! The smallest useful plugin: for the invocation-overhead benchmark.

use leadhost_sdk::prelude::*;

struct Trivial;

impl Connector for Trivial {
    fn describe() -> Manifest {
        Manifest {
            name: "trivial".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Answers 204 and stores nothing (benchmarks)".into(),
            channels: vec![Channel::Other],
            operations: Operations {
                ingest: true,
                ..Operations::default()
            },
            ..Manifest::default()
        }
    }

    fn ingest(_request: Request) -> Result<Ingested, IngestError> {
        Ok(Ingested {
            touchpoints: Vec::new(),
            reply: Response::new(204),
        })
    }
}

export_connector!(Trivial);
