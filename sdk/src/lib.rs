//! # leadhost-sdk
//!
//! Write a Leadhost channel plugin in Rust. Implement [`Connector`] with plain
//! Rust types and register it with [`export_connector!`]; build the crate for
//! `wasm32-wasip2` and the result is a component of the world
//! `leadhost:channel/connector@0.1.1` (see `wit/channel.wit`). A connector
//! whose provider takes many messages in one request also implements
//! [`BatchConnector`] and registers with [`export_batch_connector!`] (world
//! `batch-connector`).
//!
//! ```ignore
//! use leadhost_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Connector for Hello {
//!     fn describe() -> Manifest {
//!         Manifest { name: "hello".into(), version: "0.1.0".into(), ..Manifest::default() }
//!     }
//!     fn ingest(request: Request) -> Result<Ingested, IngestError> {
//!         Ok(Ingested { touchpoints: vec![], reply: Response::new(204) })
//!     }
//! }
//!
//! leadhost_sdk::export_connector!(Hello);
//! ```
//!
//! The host's services are plain functions: [`config::get`], [`log`],
//! [`state`], [`secrets::Secret`] and [`http::send`]. In a native `cargo test`
//! they are answered by [`testing::MockHost`], so a plugin's logic is tested
//! without building a component.
//!
//! Helpers most connectors share: [`json::Text`] reads loosely typed JSON
//! scalars as borrowed text, and [`email::company_domain`] tells a company's
//! email domain from free mail.

// The generated bindings refer to `leadhost_sdk::...`; make that path work here too.
extern crate self as leadhost_sdk;

#[cfg(not(target_arch = "wasm32"))]
pub mod conformance;
mod convert;
/// Email addresses as evidence of a company (the host's own list).
pub use leadhost_core::email;
pub mod http;
pub mod json;
mod services;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
mod types;
mod util;

pub use services::{config, log, secrets, state};
pub use types::*;
pub use util::{parse_rfc3339, percent_decode, query_pairs};

/// The contract this SDK builds components for.
pub const CONTRACT: &str = "leadhost:channel@0.1.1";

/// The version of this SDK.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The generated bindings. Not part of the API: use the plain types instead.
#[doc(hidden)]
pub mod wit {
    wit_bindgen::generate!({
        path: "../wit",
        world: "leadhost:channel/connector",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__export_leadhost_connector",
        default_bindings_module: "leadhost_sdk::wit",
        runtime_path: "leadhost_sdk::__private::wit_bindgen::rt",
        bitflags_path: "leadhost_sdk::__private::wit_bindgen::rt::bitflags",
    });
}

/// The `batch-delivery` export alone, in a world of its own so that nothing
/// [`wit`] already generates is generated twice; the component's world is
/// the union of both, `batch-connector`. Not part of the API.
#[doc(hidden)]
pub mod wit_batch {
    wit_bindgen::generate!({
        path: "../wit",
        inline: "
            package leadhost:sdk;
            world batch-delivery {
                export leadhost:channel/batch-delivery@0.1.1;
            }
        ",
        world: "leadhost:sdk/batch-delivery",
        with: {
            "leadhost:channel/types@0.1.1": crate::wit::leadhost::channel::types,
        },
        pub_export_macro: true,
        export_macro_name: "__export_leadhost_batch_delivery",
        default_bindings_module: "leadhost_sdk::wit_batch",
        runtime_path: "leadhost_sdk::__private::wit_bindgen::rt",
        bitflags_path: "leadhost_sdk::__private::wit_bindgen::rt::bitflags",
    });
}

/// A channel plugin. Every call runs in a fresh instance, so the methods take
/// no `self`: keep what must last in [`state`].
pub trait Connector {
    /// The connector's manifest: who it is and what it needs.
    fn describe() -> Manifest;

    /// Turns one request of raw channel traffic into touchpoints and a reply.
    fn ingest(request: Request) -> Result<Ingested, IngestError> {
        let _ = request;
        Err(IngestError::NotFound(
            "this connector does not accept pushed traffic".into(),
        ))
    }

    /// Pulls touchpoints since `cursor`.
    fn poll(cursor: Option<String>) -> Result<Polled, PollError> {
        let _ = cursor;
        Err(PollError::Unsupported)
    }

    /// Sends one message out through the channel.
    fn deliver(message: Message) -> Delivery {
        let _ = message;
        Delivery::Rejected(Rejection {
            reason: RejectionReason::Unsupported,
            message: "this connector does not deliver messages".into(),
        })
    }
}

/// A connector whose provider takes many messages in one request. The host
/// hands it its due nurturing messages in batches (at most the connector's
/// `batch` grant at a time) instead of one `deliver` call each; single
/// messages sent through the host's API still go to [`Connector::deliver`].
/// Register it with [`export_batch_connector!`].
pub trait BatchConnector: Connector {
    /// Sends `messages` in as few provider requests as the provider allows,
    /// and answers one [`Delivery`] per message, in the same order. Each
    /// message keeps its own outcome: one refused recipient must not refuse
    /// the others.
    fn deliver_batch(messages: Vec<Message>) -> Vec<Delivery>;
}

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::http;
    pub use crate::secrets::{Algorithm, Secret, SecretError};
    pub use crate::types::*;
    pub use crate::{
        BatchConnector, Connector, config, export_batch_connector, export_connector, log, state,
    };
}

/// Registers a [`Connector`] as the component's export. Call it once, at the
/// crate root. On non-wasm targets it expands to nothing, so the crate still
/// builds for native tests.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[cfg(target_arch = "wasm32")]
        mod __leadhost_export {
            #[allow(unused_imports)]
            use super::*;
            type Export = $crate::__private::Adapter<$connector>;
            $crate::wit::__export_leadhost_connector!(Export with_types_in $crate::wit);

            /// Says which contract and SDK built this component.
            #[used]
            #[unsafe(link_section = "leadhost-sdk")]
            static STAMP: [u8; $crate::__private::STAMP_LEN] = $crate::__private::STAMP;
        }
        // Natively nothing is exported; still check the type implements the trait.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() -> $crate::Manifest = <$connector as $crate::Connector>::describe;
    };
}

/// Registers a [`BatchConnector`] as the component's export: everything
/// [`export_connector!`] exports, and `batch-delivery`. Call it once, at the
/// crate root, instead of [`export_connector!`].
#[macro_export]
macro_rules! export_batch_connector {
    ($connector:ty) => {
        $crate::export_connector!($connector);

        #[cfg(target_arch = "wasm32")]
        mod __leadhost_export_batch {
            #[allow(unused_imports)]
            use super::*;
            type Export = $crate::__private::Adapter<$connector>;
            $crate::wit_batch::__export_leadhost_batch_delivery!(Export with_types_in $crate::wit_batch);
        }
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn(::std::vec::Vec<$crate::Message>) -> ::std::vec::Vec<$crate::Delivery> =
            <$connector as $crate::BatchConnector>::deliver_batch;
    };
}

#[doc(hidden)]
pub mod __private {
    use crate::wit::exports::leadhost::channel::plugin::Guest;
    use crate::wit::leadhost::channel::types as w;
    use core::marker::PhantomData;
    pub use wit_bindgen;

    const STAMP_TEXT: &str = concat!(
        "contract=leadhost:channel@0.1.1;sdk=",
        env!("CARGO_PKG_VERSION")
    );
    /// Length of the stamp written into the `leadhost-sdk` custom section.
    pub const STAMP_LEN: usize = STAMP_TEXT.len();
    /// The stamp as a byte array, for a `#[link_section]` static.
    pub const STAMP: [u8; STAMP_LEN] = {
        let mut out = [0u8; STAMP_LEN];
        let bytes = STAMP_TEXT.as_bytes();
        let mut i = 0;
        while i < STAMP_LEN {
            out[i] = bytes[i];
            i += 1;
        }
        out
    };

    /// Implements the generated export trait for any [`crate::Connector`].
    pub struct Adapter<T>(PhantomData<T>);

    impl<T: crate::Connector> Guest for Adapter<T> {
        fn describe() -> w::Manifest {
            T::describe().into()
        }

        fn ingest(request: w::HttpRequest) -> Result<w::Ingested, w::IngestError> {
            T::ingest(request.into())
                .map(Into::into)
                .map_err(Into::into)
        }

        fn poll(cursor: Option<String>) -> Result<w::Polled, w::PollError> {
            T::poll(cursor).map(Into::into).map_err(Into::into)
        }

        fn deliver(message: w::Message) -> w::Delivery {
            T::deliver(message.into()).into()
        }
    }

    impl<T: crate::BatchConnector>
        crate::wit_batch::exports::leadhost::channel::batch_delivery::Guest for Adapter<T>
    {
        fn deliver_batch(messages: Vec<w::Message>) -> Vec<w::Delivery> {
            T::deliver_batch(messages.into_iter().map(Into::into).collect())
                .into_iter()
                .map(Into::into)
                .collect()
        }
    }
}
