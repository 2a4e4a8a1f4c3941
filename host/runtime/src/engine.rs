//! The engine: one per process, tuned for many short calls (see
//! `PERFORMANCE.md`): pooling allocator with small resident memory, copy-on-
//! write images, epoch interruption driven by a ticker thread, and a disk
//! cache of precompiled components keyed by content and engine.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::binding::BreakerPolicy;
use crate::capabilities::{self, Invocation};
use crate::plugin::LoadError;

/// How often the epoch advances; deadlines are whole ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How the runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where precompiled components are cached; `None`: no disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Instances that may be alive at once (the pool's size).
    pub max_instances: u32,
    /// The largest linear memory any grant may give, in bytes.
    pub max_memory_bytes: usize,
    /// The breaker policy of new bindings.
    pub breaker: BreakerPolicy,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            max_instances: 64,
            max_memory_bytes: 256 << 20,
            breaker: BreakerPolicy::default(),
        }
    }
}

/// The plugin runtime: an engine, a linker with every capability, a cache.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<Invocation>,
    pub(crate) config: RuntimeConfig,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// Builds the engine and linker and starts the epoch ticker.
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Runtime> {
        let mut pool = PoolingAllocationConfig::new();
        let n = config.max_instances.max(1);
        pool.total_component_instances(n)
            .total_core_instances(n * 8)
            .total_memories(n * 2)
            .total_tables(n * 8)
            .max_core_instances_per_component(16)
            .max_memories_per_component(2)
            .max_tables_per_component(8)
            .max_memory_size(config.max_memory_bytes)
            // Plugins touch little memory per call: keep that resident and
            // reset it in place instead of unmapping (no page faults).
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(64 << 10)
            // Where the kernel can tell which pages a call dirtied (Linux
            // 6.7+), reset only those instead of the whole resident part.
            .pagemap_scan(Enabled::Auto);

        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .memory_init_cow(true)
            .concurrency_support(false)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm)?;

        let mut linker = Linker::new(&engine);
        capabilities::link(&mut linker)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&ticker_stop);
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("leadhost-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })?;

        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Runtime {
            engine,
            linker,
            config,
            ticker_stop,
        })
    }

    /// The breaker policy new bindings should use.
    pub fn breaker_policy(&self) -> BreakerPolicy {
        self.config.breaker
    }

    /// Compiles a component, or loads its precompiled form from the cache.
    pub(crate) fn compile(&self, wasm: &[u8]) -> Result<(Component, String), LoadError> {
        let digest = hex(&Sha256::digest(wasm));
        let Some(dir) = &self.config.cache_dir else {
            let component = Component::new(&self.engine, wasm)
                .map_err(|e| LoadError::NotAComponent(format!("{e:#}")))?;
            return Ok((component, digest));
        };
        let mut h = std::hash::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        let path = dir.join(format!("{digest}-{:016x}.cwasm", h.finish()));
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of an
            // engine with the same compatibility hash, into the cache directory
            // this host owns. Whoever can write that directory can already run
            // code as this host; a stale or foreign file fails the header check.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok((component, digest)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring cached component: {e:#}")
                }
            }
        }
        let component = Component::new(&self.engine, wasm)
            .map_err(|e| LoadError::NotAComponent(format!("{e:#}")))?;
        if let Err(e) = write_atomically(&path, component.serialize().map_err(anyhow::Error::from))
        {
            tracing::warn!(path = %path.display(), "could not cache the compiled component: {e:#}");
        }
        Ok((component, digest))
    }
}

fn write_atomically(path: &Path, bytes: anyhow::Result<Vec<u8>>) -> anyhow::Result<()> {
    let bytes = bytes?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
