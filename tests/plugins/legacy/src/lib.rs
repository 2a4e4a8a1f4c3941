//! A connector built against the released `leadhost:channel@0.1.0`, frozen in
//! `wit/channel.wit` beside this file: the host must keep loading it, calling
//! it and delivering through it as the contract moves on.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        path: "wit",
        world: "leadhost:channel/connector@0.1.0",
        generate_all,
    });

    use exports::leadhost::channel::plugin::Guest;
    use leadhost::channel::types::*;

    struct Legacy;

    impl Guest for Legacy {
        fn describe() -> Manifest {
            Manifest {
                name: "legacy".into(),
                version: "0.1.0".into(),
                description: "Built against leadhost:channel@0.1.0".into(),
                channels: vec![Channel::Other],
                operations: Operations::INGEST | Operations::DELIVER,
                config: Vec::new(),
                secrets: Vec::new(),
                capabilities: Capabilities {
                    outbound_hosts: Vec::new(),
                    state: false,
                },
            }
        }

        fn ingest(request: HttpRequest) -> Result<Ingested, IngestError> {
            leadhost::channel::log::write(log::Level::Info, "legacy ingest", &[]);
            Ok(Ingested {
                touchpoints: Vec::new(),
                reply: HttpResponse {
                    status: 200,
                    headers: Vec::new(),
                    body: request.path.into_bytes(),
                },
            })
        }

        fn poll(_cursor: Option<String>) -> Result<Polled, PollError> {
            Err(PollError::Unsupported)
        }

        fn deliver(message: Message) -> Delivery {
            Delivery::Accepted(format!("legacy:{}", message.idempotency_key))
        }
    }

    use leadhost::channel::log;

    export!(Legacy);
}
