//! `leadhost:channel/secrets`: secrets as opaque handles. The plugin names a
//! secret and gets a handle; the host checks signatures with the bytes, which
//! never enter the guest.

use leadhost_core::signature::{self, MacAlgorithm, SignatureAlgorithm};
use wasmtime::component::{HasSelf, Linker, Resource};

use super::Invocation;
use crate::contract::v0_1::leadhost::channel::secrets::{self, Algorithm, SecretError};

/// The host side of a `secret` handle: the name of the secret it opens.
pub struct SecretHandle {
    name: String,
}

pub(crate) fn add_to_linker(linker: &mut Linker<Invocation>) -> wasmtime::Result<()> {
    secrets::add_to_linker::<_, HasSelf<Invocation>>(linker, |s| s)
}

fn core_algorithm(algorithm: Algorithm) -> SignatureAlgorithm {
    match algorithm {
        Algorithm::HmacSha256 => SignatureAlgorithm::Mac(MacAlgorithm::HmacSha256),
        Algorithm::HmacSha1 => SignatureAlgorithm::Mac(MacAlgorithm::HmacSha1),
        Algorithm::HmacSha512 => SignatureAlgorithm::Mac(MacAlgorithm::HmacSha512),
        Algorithm::EcdsaP256Sha256 => SignatureAlgorithm::EcdsaP256Sha256,
    }
}

impl Invocation {
    fn secret_bytes(&self, handle: &Resource<SecretHandle>) -> Option<&[u8]> {
        let name = &self.table.get(handle).ok()?.name;
        self.binding.secrets.get(name).map(Vec::as_slice)
    }
}

impl secrets::Host for Invocation {}

impl secrets::HostSecret for Invocation {
    fn open(&mut self, name: String) -> Result<Resource<SecretHandle>, SecretError> {
        if !self.binding.secrets.contains_key(&name) {
            return Err(SecretError::NotFound(name));
        }
        self.table
            .push(SecretHandle { name })
            .map_err(|e| SecretError::NotFound(format!("handle table: {e}")))
    }

    fn verify(
        &mut self,
        handle: Resource<SecretHandle>,
        algorithm: Algorithm,
        message: Vec<u8>,
        signature: Vec<u8>,
    ) -> bool {
        self.secret_bytes(&handle).is_some_and(|key| {
            signature::verify_signature(core_algorithm(algorithm), key, &message, &signature)
        })
    }

    fn matches(&mut self, handle: Resource<SecretHandle>, candidate: Vec<u8>) -> bool {
        self.secret_bytes(&handle)
            .is_some_and(|secret| signature::constant_time_eq(secret, &candidate))
    }

    fn sign(
        &mut self,
        handle: Resource<SecretHandle>,
        algorithm: Algorithm,
        message: Vec<u8>,
    ) -> Result<Vec<u8>, SecretError> {
        let key = self
            .secret_bytes(&handle)
            .ok_or_else(|| SecretError::NotFound("the handle's secret".into()))?;
        match core_algorithm(algorithm) {
            SignatureAlgorithm::Mac(m) => Ok(signature::mac(m, key, &message)),
            SignatureAlgorithm::EcdsaP256Sha256 => Err(SecretError::UnsupportedAlgorithm(
                "ecdsa-p256-sha256 secrets are public keys and cannot sign".into(),
            )),
        }
    }

    fn drop(&mut self, handle: Resource<SecretHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}
