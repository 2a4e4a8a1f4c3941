//! The HTTP server: raw channel traffic under `/ingest/`, the management API
//! under `/v1/`. State is shared through [`App`].

mod api;
mod ingest;
mod leads_api;
pub(crate) mod outbound;
pub(crate) mod reports_api;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadhost_runtime::{Binding, Grants, Plugin, Runtime, RuntimeConfig, StateBackend};
use leadhost_store::{Connector, Store, StoreOptions};
use serde_json::json;
use tokio::sync::Semaphore;

/// How a server is set up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the store, the admin key and the compile cache live.
    pub data_dir: PathBuf,
    /// The operators' key; generated into `data_dir/admin.key` when absent.
    pub admin_key: Option<String>,
    /// Extra plugin components to load beside the bundled ones.
    pub extra_plugins: Vec<PathBuf>,
    /// The largest ingest body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Plugin instances that may run at once.
    pub max_instances: u32,
}

impl ServerConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: PathBuf) -> Self {
        ServerConfig {
            data_dir,
            admin_key: None,
            extra_plugins: Vec::new(),
            max_body_bytes: 4 << 20,
            max_instances: 64,
        }
    }
}

/// A connector ready to serve: its row, its plugin and its binding.
pub(crate) struct Bound {
    pub(crate) connector: Connector,
    pub(crate) plugin: Arc<Plugin>,
    pub(crate) binding: Arc<Binding>,
}

/// Everything the handlers share.
pub struct App {
    pub(crate) store: Store,
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) plugins: HashMap<String, Arc<Plugin>>,
    pub(crate) admin_key: String,
    pub(crate) max_body_bytes: usize,
    pub(crate) slots: Arc<Semaphore>,
    /// (tenant, connector) → bound connector, dropped whenever the API changes it.
    bound: RwLock<HashMap<(String, String), Arc<Bound>>>,
    /// (connector id, idempotency key) of deliveries under way.
    pub(crate) in_flight: std::sync::Mutex<std::collections::HashSet<(i64, String)>>,
    /// The lead worker.
    pub(crate) leads: crate::leads::worker::LeadService,
}

/// Plugin state kept in the store, per connector.
struct StoredState {
    store: Store,
    connector_id: i64,
}

impl StateBackend for StoredState {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.store
            .state_get(self.connector_id, key)
            .map_err(|e| e.to_string())
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.store
            .state_set(self.connector_id, key, value)
            .map_err(|e| e.to_string())
    }
    fn delete(&self, key: &str) -> Result<(), String> {
        self.store
            .state_delete(self.connector_id, key)
            .map_err(|e| e.to_string())
    }
}

impl App {
    /// Opens the store, loads the plugins and prepares the runtime.
    pub fn open(config: &ServerConfig) -> anyhow::Result<Arc<App>> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let store = Store::open(
            &config.data_dir.join("leadhost.db"),
            StoreOptions::default(),
        )
        .context("opening the store")?;
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(config.data_dir.join("cache")),
            max_instances: config.max_instances,
            ..RuntimeConfig::default()
        })?;
        let mut plugins = HashMap::new();
        for bundled in leadhost_plugins::BUNDLED {
            let plugin = runtime
                .load(bundled.wasm)
                .with_context(|| format!("loading the bundled plugin {}", bundled.name))?;
            plugins.insert(plugin.manifest().name.clone(), Arc::new(plugin));
        }
        for path in &config.extra_plugins {
            let wasm =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let plugin = runtime
                .load(&wasm)
                .with_context(|| format!("loading {}", path.display()))?;
            tracing::info!(plugin = %plugin.manifest().name, path = %path.display(), "loaded plugin");
            plugins.insert(plugin.manifest().name.clone(), Arc::new(plugin));
        }
        let admin_key = match &config.admin_key {
            Some(k) => k.clone(),
            None => admin_key_file(&config.data_dir)?,
        };
        let leads = crate::leads::worker::LeadService::start(store.clone())?;
        Ok(Arc::new(App {
            leads,
            store,
            runtime: Arc::new(runtime),
            plugins,
            admin_key,
            max_body_bytes: config.max_body_bytes,
            slots: Arc::new(Semaphore::new(config.max_instances as usize)),
            bound: RwLock::new(HashMap::new()),
            in_flight: Default::default(),
        }))
    }

    /// The operators' key.
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// The connector `name` of `tenant`, bound and ready, from the cache.
    pub(crate) fn bound(
        &self,
        tenant_id: i64,
        tenant: &str,
        name: &str,
    ) -> Result<Option<Arc<Bound>>, ApiError> {
        if let Some(b) = self.cached(tenant, name) {
            return Ok(Some(b));
        }
        let key = (tenant.to_string(), name.to_string());
        let Some(connector) = self.store.connector(tenant_id, name)? else {
            return Ok(None);
        };
        let plugin = self
            .plugins
            .get(&connector.plugin)
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "plugin-missing",
                    format!(
                        "the plugin {:?} of this connector is not loaded",
                        connector.plugin
                    ),
                )
            })?;
        let binding = self.binding_for(tenant, &connector)?;
        let bound = Arc::new(Bound {
            connector,
            plugin,
            binding: Arc::new(binding),
        });
        self.bound
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, Arc::clone(&bound));
        Ok(Some(bound))
    }

    /// The bound connector if it is cached (it is once it served a call).
    pub(crate) fn cached(&self, tenant: &str, name: &str) -> Option<Arc<Bound>> {
        self.bound
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(tenant.to_string(), name.to_string()))
            .cloned()
    }

    /// Drops a cached binding after the API changed its connector.
    pub(crate) fn forget(&self, tenant: &str, name: &str) {
        self.bound
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(tenant.to_string(), name.to_string()));
    }

    fn binding_for(&self, tenant: &str, c: &Connector) -> Result<Binding, ApiError> {
        let mut binding = Binding::new(tenant, &c.name).with_breaker(self.runtime.breaker_policy());
        binding.config = c.config.clone();
        binding.secrets = c
            .secrets
            .iter()
            .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
            .collect();
        let defaults = Grants::default();
        binding.grants = Grants {
            outbound: api::parse_hosts(&c.grants.outbound_hosts)?,
            allow_private_networks: c.grants.allow_private_networks,
            state: c.grants.state,
            memory_bytes: c
                .grants
                .memory_mib
                .map_or(defaults.memory_bytes, |m| (m as usize) << 20),
            timeout: c.grants.timeout_ms.map_or(defaults.timeout, |ms| {
                std::time::Duration::from_millis(ms.into())
            }),
        };
        binding.state = Some(Arc::new(StoredState {
            store: self.store.clone(),
            connector_id: c.id,
        }));
        Ok(binding)
    }
}

/// Reads the admin key from `data_dir/admin.key`, creating it on first use.
fn admin_key_file(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join("admin.key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_string());
    }
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    let key = format!(
        "lha_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    std::fs::write(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    tracing::info!(path = %path.display(), "created the admin key");
    Ok(key)
}

/// Builds the router.
pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new()
        .merge(ingest::routes())
        .merge(api::routes())
        .merge(outbound::routes())
        .merge(leads_api::routes())
        .merge(reports_api::routes())
        .with_state(app)
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let dispatcher = crate::leads::dispatch::spawn(Arc::clone(&app));
    let served = axum::serve(listener, router(Arc::clone(&app)))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP");
    dispatcher.abort();
    // Let the lead worker finish its step and save a snapshot.
    tokio::task::spawn_blocking(move || app.leads.stop()).await?;
    served
}

/// An error answered as JSON: `{"error": code, "message": words}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        response
    }
}

impl From<leadhost_store::StoreError> for ApiError {
    fn from(e: leadhost_store::StoreError) -> Self {
        use leadhost_store::StoreError as E;
        match e {
            E::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not-found", m),
            E::AlreadyExists(m) => ApiError::new(StatusCode::CONFLICT, "already-exists", m),
            E::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", m),
            E::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the ingest queue is full; retry shortly",
            )
            .retry_after(1),
            other => {
                tracing::error!("store error: {other}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store-error",
                    other.to_string(),
                )
            }
        }
    }
}

/// A server running inside this process on a loopback port (demo, bench).
pub struct LocalServer {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its state.
    pub app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl LocalServer {
    /// Opens `config` and serves it on an ephemeral loopback port.
    pub async fn start(config: ServerConfig) -> anyhow::Result<LocalServer> {
        let app = tokio::task::spawn_blocking(move || App::open(&config)).await??;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(Arc::clone(&app), listener, async {
            let _ = stopped.await;
        }));
        Ok(LocalServer {
            url,
            app,
            stop: Some(stop),
            task,
        })
    }

    /// Stops it and waits for in-flight requests.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await?
    }
}
