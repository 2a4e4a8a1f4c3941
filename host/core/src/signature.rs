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
