//! The host's services, as plain functions. In a component they call the host;
//! in a native build they are answered by [`crate::testing::MockHost`].

/// Structured logging into the host's log, tagged with tenant and connector.
pub mod log {
    /// How important a record is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    #[allow(missing_docs)]
    pub enum Level {
        Trace,
        Debug,
        Info,
        Warn,
        Error,
    }

    /// Writes one record with structured fields.
    pub fn write(level: Level, message: &str, fields: &[(&str, &str)]) {
        #[cfg(target_arch = "wasm32")]
        {
            use crate::wit::leadhost::channel::log as w;
            let level = match level {
                Level::Trace => w::Level::Trace,
                Level::Debug => w::Level::Debug,
                Level::Info => w::Level::Info,
                Level::Warn => w::Level::Warn,
                Level::Error => w::Level::Error,
            };
            let fields: Vec<_> = fields
                .iter()
                .map(|(n, v)| crate::wit::leadhost::channel::types::Attribute {
                    name: (*n).to_string(),
                    value: (*v).to_string(),
                })
                .collect();
            w::write(level, message, &fields);
        }
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::record_log(level, message, fields);
    }

    /// Logs at debug level.
    pub fn debug(message: &str) {
        write(Level::Debug, message, &[]);
    }

    /// Logs at info level.
    pub fn info(message: &str) {
        write(Level::Info, message, &[]);
    }

    /// Logs at warn level.
    pub fn warn(message: &str) {
        write(Level::Warn, message, &[]);
    }

    /// Logs at error level.
    pub fn error(message: &str) {
        write(Level::Error, message, &[]);
    }
}

/// The connector's configuration for the tenant it runs for.
pub mod config {
    /// The operator's value for `key`, or the manifest's default, or `None`.
    pub fn get(key: &str) -> Option<String> {
        #[cfg(target_arch = "wasm32")]
        {
            crate::wit::leadhost::channel::config::get(key)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::config_get(key)
        }
    }
}

/// Key-value state private to this connector of this tenant.
pub mod state {
    /// Why a state call failed.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum StateError {
        /// The operator did not grant the `state` capability.
        NotGranted,
        /// The key or value is over the host's limits.
        TooLarge(String),
        /// The host could not read or write its store.
        Unavailable(String),
    }

    impl std::fmt::Display for StateError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                StateError::NotGranted => f.write_str("the state capability is not granted"),
                StateError::TooLarge(m) => write!(f, "too large: {m}"),
                StateError::Unavailable(m) => write!(f, "state unavailable: {m}"),
            }
        }
    }

    impl std::error::Error for StateError {}

    #[cfg(target_arch = "wasm32")]
    fn map(e: crate::wit::leadhost::channel::state::StateError) -> StateError {
        use crate::wit::leadhost::channel::state::StateError as W;
        match e {
            W::NotGranted => StateError::NotGranted,
            W::TooLarge(m) => StateError::TooLarge(m),
            W::Unavailable(m) => StateError::Unavailable(m),
        }
    }

    /// Reads a value.
    pub fn get(key: &str) -> Result<Option<Vec<u8>>, StateError> {
        #[cfg(target_arch = "wasm32")]
        {
            crate::wit::leadhost::channel::state::get(key).map_err(map)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::state_get(key)
        }
    }

    /// Writes a value.
    pub fn set(key: &str, value: &[u8]) -> Result<(), StateError> {
        #[cfg(target_arch = "wasm32")]
        {
            crate::wit::leadhost::channel::state::set(key, value).map_err(map)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::state_set(key, value)
        }
    }

    /// Removes a value; removing a missing key is fine.
    pub fn delete(key: &str) -> Result<(), StateError> {
        #[cfg(target_arch = "wasm32")]
        {
            crate::wit::leadhost::channel::state::delete(key).map_err(map)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::state_delete(key)
        }
    }
}

/// Secrets as opaque handles: the plugin never sees their bytes.
pub mod secrets {
    /// Signature algorithms the host can check.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[allow(missing_docs)]
    pub enum Algorithm {
        HmacSha256,
        HmacSha1,
        HmacSha512,
        /// ECDSA P-256 / SHA-256; the secret is the sender's public key.
        EcdsaP256Sha256,
    }

    /// Why a secret could not be used.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum SecretError {
        /// The operator stored no secret under that name.
        NotFound(String),
        /// The host does not support the algorithm.
        UnsupportedAlgorithm(String),
    }

    impl std::fmt::Display for SecretError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                SecretError::NotFound(n) => write!(f, "no secret named {n:?} is configured"),
                SecretError::UnsupportedAlgorithm(a) => write!(f, "unsupported algorithm {a}"),
            }
        }
    }

    impl std::error::Error for SecretError {}

    /// A handle to one secret of this connector.
    pub struct Secret {
        #[cfg(target_arch = "wasm32")]
        handle: crate::wit::leadhost::channel::secrets::Secret,
        #[cfg(not(target_arch = "wasm32"))]
        name: String,
    }

    impl Secret {
        /// Opens the secret stored under `name`.
        pub fn open(name: &str) -> Result<Secret, SecretError> {
            #[cfg(target_arch = "wasm32")]
            {
                use crate::wit::leadhost::channel::secrets as w;
                w::Secret::open(name)
                    .map(|handle| Secret { handle })
                    .map_err(|e| match e {
                        w::SecretError::NotFound(n) => SecretError::NotFound(n),
                        w::SecretError::UnsupportedAlgorithm(a) => {
                            SecretError::UnsupportedAlgorithm(a)
                        }
                    })
            }
            #[cfg(not(target_arch = "wasm32"))]
            {
                crate::testing::secret_exists(name)?;
                Ok(Secret {
                    name: name.to_string(),
                })
            }
        }

        /// Whether `signature` is valid for `message` under this secret: the
        /// MAC for HMAC (constant-time comparison), or an ECDSA signature
        /// checked with the public key stored as the secret.
        pub fn verify(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> bool {
            #[cfg(target_arch = "wasm32")]
            {
                use crate::wit::leadhost::channel::secrets::Algorithm as W;
                let algorithm = match algorithm {
                    Algorithm::HmacSha256 => W::HmacSha256,
                    Algorithm::HmacSha1 => W::HmacSha1,
                    Algorithm::HmacSha512 => W::HmacSha512,
                    Algorithm::EcdsaP256Sha256 => W::EcdsaP256Sha256,
                };
                self.handle.verify(algorithm, message, signature)
            }
            #[cfg(not(target_arch = "wasm32"))]
            {
                crate::testing::secret_verify(&self.name, algorithm, message, signature)
            }
        }

        /// The MAC of `message` under this secret (HMAC algorithms only),
        /// for handshakes where the receiver proves it holds the key.
        pub fn sign(&self, algorithm: Algorithm, message: &[u8]) -> Result<Vec<u8>, SecretError> {
            #[cfg(target_arch = "wasm32")]
            {
                use crate::wit::leadhost::channel::secrets as w;
                let algorithm = match algorithm {
                    Algorithm::HmacSha256 => w::Algorithm::HmacSha256,
                    Algorithm::HmacSha1 => w::Algorithm::HmacSha1,
                    Algorithm::HmacSha512 => w::Algorithm::HmacSha512,
                    Algorithm::EcdsaP256Sha256 => w::Algorithm::EcdsaP256Sha256,
                };
                self.handle.sign(algorithm, message).map_err(|e| match e {
                    w::SecretError::NotFound(n) => SecretError::NotFound(n),
                    w::SecretError::UnsupportedAlgorithm(a) => SecretError::UnsupportedAlgorithm(a),
                })
            }
            #[cfg(not(target_arch = "wasm32"))]
            {
                crate::testing::secret_sign(&self.name, algorithm, message)
            }
        }

        /// Whether `candidate` equals the secret (constant-time comparison).
        pub fn matches(&self, candidate: &[u8]) -> bool {
            #[cfg(target_arch = "wasm32")]
            {
                self.handle.matches(candidate)
            }
            #[cfg(not(target_arch = "wasm32"))]
            {
                crate::testing::secret_matches(&self.name, candidate)
            }
        }
    }
}
