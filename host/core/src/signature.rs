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
    fn comparison_needs_equal_length_and_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
