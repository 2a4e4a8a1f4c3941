//! Message authentication for webhook signatures: what the host computes when
//! a plugin asks it to check a signature with a secret it cannot see.

use hmac::{Hmac, Mac};

/// The MAC algorithms the host checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum MacAlgorithm {
    HmacSha256,
    HmacSha1,
    HmacSha512,
}

/// The MAC of `message` under `key`.
pub fn mac(algorithm: MacAlgorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    macro_rules! compute {
        ($digest:ty) => {{
            // HMAC takes keys of any length: `new_from_slice` cannot fail.
            let Ok(mut m) = <Hmac<$digest> as Mac>::new_from_slice(key) else {
                unreachable!("HMAC accepts keys of every length")
            };
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }};
    }
    match algorithm {
        MacAlgorithm::HmacSha256 => compute!(sha2::Sha256),
        MacAlgorithm::HmacSha1 => compute!(sha1::Sha1),
        MacAlgorithm::HmacSha512 => compute!(sha2::Sha512),
    }
}

/// Every algorithm the host checks signatures with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// An HMAC: the secret is the shared key.
    Mac(MacAlgorithm),
    /// ECDSA on P-256 with SHA-256: the secret is the sender's public key.
    EcdsaP256Sha256,
}

/// Whether `signature` is valid for `message` under `key`.
pub fn verify_signature(
    algorithm: SignatureAlgorithm,
    key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    match algorithm {
        SignatureAlgorithm::Mac(mac_algorithm) => verify(mac_algorithm, key, message, signature),
        SignatureAlgorithm::EcdsaP256Sha256 => verify_ecdsa_p256(key, message, signature),
    }
}

/// Reads a P-256 public key given as PEM, base64 DER, DER or SEC1 bytes.
pub fn p256_public_key(key: &[u8]) -> Option<p256::ecdsa::VerifyingKey> {
    use base64::Engine;
    use p256::ecdsa::VerifyingKey;
    use p256::pkcs8::DecodePublicKey;
    if let Ok(text) = std::str::from_utf8(key) {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return VerifyingKey::from_public_key_pem(text).ok();
        }
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(text) {
            return VerifyingKey::from_public_key_der(&der)
                .ok()
                .or_else(|| VerifyingKey::from_sec1_bytes(&der).ok());
        }
    }
    VerifyingKey::from_public_key_der(key)
        .ok()
        .or_else(|| VerifyingKey::from_sec1_bytes(key).ok())
}

fn verify_ecdsa_p256(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    use p256::ecdsa::Signature;
    use p256::ecdsa::signature::Verifier;
    let Some(key) = p256_public_key(key) else {
        return false;
    };
    let Ok(signature) =
        Signature::from_der(signature).or_else(|_| Signature::from_slice(signature))
    else {
        return false;
    };
    key.verify(message, &signature).is_ok()
}

/// Compares in time that depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `signature` is the MAC of `message` under `key`.
pub fn verify(algorithm: MacAlgorithm, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    constant_time_eq(&mac(algorithm, key, message), signature)
}

/// Why a `{{secret:NAME}}` placeholder could not be filled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    /// `{{secret:` without its closing `}}`.
    #[error("an unterminated {{{{secret:…}}}} placeholder")]
    Unterminated,
    /// No secret of that name (or not text).
    #[error("no usable secret named {0:?}")]
    Unknown(String),
}

/// Fills the `{{secret:NAME}}` placeholders of a header value with the
/// secrets `lookup` finds; the host does this after the plugin let go of the
/// request, so the plugin never holds the bytes.
pub fn fill_secret_placeholders<'a>(
    value: &str,
    lookup: impl Fn(&str) -> Option<&'a [u8]>,
) -> Result<String, PlaceholderError> {
    const OPEN: &str = "{{secret:";
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after.find("}}").ok_or(PlaceholderError::Unterminated)?;
        let name = &after[..end];
        let secret = lookup(name)
            .and_then(|s| std::str::from_utf8(s).ok())
            .ok_or_else(|| PlaceholderError::Unknown(name.to_string()))?;
        out.push_str(secret);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn macs_match_rfc_4231_and_rfc_2202() {
        let m = mac(
            MacAlgorithm::HmacSha256,
            b"Jefe",
            b"what do ya want for nothing?",
        );
        assert_eq!(
            hex(&m),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let m = mac(
            MacAlgorithm::HmacSha1,
            b"Jefe",
            b"what do ya want for nothing?",
        );
        assert_eq!(hex(&m), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        assert!(verify(
            MacAlgorithm::HmacSha1,
            b"Jefe",
            b"what do ya want for nothing?",
            &m
        ));
        assert!(!verify(
            MacAlgorithm::HmacSha1,
            b"jefe",
            b"what do ya want for nothing?",
            &m
        ));
    }

    #[test]
    fn ecdsa_p256_signatures_verify_with_the_public_key_in_any_encoding() {
        use base64::Engine;
        use p256::ecdsa::signature::Signer;
        use p256::ecdsa::{Signature, SigningKey};
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        let signing = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let public = signing.verifying_key();
        let message = b"1700000000[{\"event\":\"open\"}]";
        let signature: Signature = signing.sign(message);
        let der_sig = signature.to_der();
        let pem = public.to_public_key_pem(LineEnding::LF).unwrap();
        let der = public.to_public_key_der().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
        let ecdsa = SignatureAlgorithm::EcdsaP256Sha256;
        for key in [pem.as_bytes(), der.as_bytes(), b64.as_bytes()] {
            assert!(verify_signature(ecdsa, key, message, der_sig.as_bytes()));
            assert!(verify_signature(ecdsa, key, message, &signature.to_bytes()));
            assert!(!verify_signature(
                ecdsa,
                key,
                b"tampered",
                der_sig.as_bytes()
            ));
        }
        assert!(!verify_signature(
            ecdsa,
            b"not a key",
            message,
            der_sig.as_bytes()
        ));
    }

    #[test]
    fn placeholders_are_filled_or_refused() {
        let lookup = |name: &str| (name == "key").then_some(&b"s3cr3t"[..]);
        assert_eq!(
            fill_secret_placeholders("Bearer {{secret:key}}!", lookup),
            Ok("Bearer s3cr3t!".into())
        );
        assert_eq!(
            fill_secret_placeholders("plain", lookup),
            Ok("plain".into())
        );
        assert_eq!(
            fill_secret_placeholders("{{secret:nope}}", lookup),
            Err(PlaceholderError::Unknown("nope".into()))
        );
        assert_eq!(
            fill_secret_placeholders("{{secret:key", lookup),
            Err(PlaceholderError::Unterminated)
        );
    }

    #[test]
    fn comparison_needs_equal_length_and_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
