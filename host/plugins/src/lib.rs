//! The first-party plugins, compiled from `plugins/` to `wasm32-wasip2` by
//! this crate's build script and bundled, so `leadhost` runs with nothing
//! else installed. The test plugins of `tests/plugins/` are built alongside;
//! their paths are in [`test_plugins`].

/// A plugin compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The plugin's name, as operators enable it.
    pub name: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

/// The bundled plugin of this name.
pub fn bundled(name: &str) -> Option<&'static Bundled> {
    BUNDLED.iter().find(|b| b.name == name)
}
