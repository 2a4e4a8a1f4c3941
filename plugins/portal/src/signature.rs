//! The webhook signature: `X-Portal-Signature: sha256=<hex>`, the HMAC-SHA256
//! of the raw body under the shared secret `signing-key`. The host computes
//! and compares the MAC through the secret handle; the plugin never holds the key.

use leadhost_sdk::prelude::*;

/// The header that carries the signature.
pub const HEADER: &str = "x-portal-signature";
/// The name of the secret that holds the shared signing key.
pub const SIGNING_KEY: &str = "signing-key";

/// Opens the signing key; a missing one means the operator has not finished
/// configuring the connector.
pub fn open_signing_key() -> Result<Secret, IngestError> {
    Secret::open(SIGNING_KEY).map_err(|e| match e {
        SecretError::NotFound(_) => IngestError::Misconfigured(format!(
            "no signing key is configured for this connector: store the portal's webhook secret as the secret `{SIGNING_KEY}`"
        )),
        other => IngestError::Internal(other.to_string()),
    })
}

/// Checks the signature header of a request against its raw body.
pub fn check(secret: &Secret, header: Option<&str>, body: &[u8]) -> Result<(), IngestError> {
    let header = header.ok_or_else(|| {
        IngestError::Unauthorized(
            "no X-Portal-Signature header: sign the raw body with HMAC-SHA256 and send `sha256=<hex>`"
                .into(),
        )
    })?;
    let mac = parse(header).map_err(IngestError::Unauthorized)?;
    if secret.verify(Algorithm::HmacSha256, body, &mac) {
        Ok(())
    } else {
        Err(IngestError::Unauthorized(
            "the X-Portal-Signature does not match the body under this connector's signing key"
                .into(),
        ))
    }
}

/// The MAC bytes of a `sha256=<hex>` header value.
pub fn parse(header: &str) -> Result<Vec<u8>, String> {
    let header = header.trim();
    let hex = header
        .split_once('=')
        .filter(|(scheme, _)| scheme.trim().eq_ignore_ascii_case("sha256"))
        .map(|(_, hex)| hex.trim())
        .ok_or_else(|| {
            "the X-Portal-Signature header is not of the form `sha256=<hex>`".to_string()
        })?;
    let mac = hex_decode(hex).ok_or_else(|| {
        "the X-Portal-Signature header does not hold a hex HMAC-SHA256 (64 hex digits)".to_string()
    })?;
    if mac.len() != 32 {
        return Err(format!(
            "the X-Portal-Signature holds {} bytes; an HMAC-SHA256 has 32",
            mac.len()
        ));
    }
    Ok(mac)
}

/// Decodes hex, either case; `None` on an odd length or another character.
pub fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = hex.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes_both_cases() {
        assert_eq!(hex_decode("00ffA0").unwrap(), [0x00, 0xff, 0xa0]);
        assert_eq!(hex_decode("0"), None);
        assert_eq!(hex_decode(""), None);
        assert_eq!(hex_decode("zz"), None);
    }

    #[test]
    fn headers_need_the_sha256_scheme_and_32_bytes() {
        let hex = "ab".repeat(32);
        assert_eq!(parse(&format!("sha256={hex}")).unwrap(), [0xab; 32]);
        assert_eq!(parse(&format!(" SHA256 = {hex} ")).unwrap(), [0xab; 32]);
        assert!(parse(&hex).unwrap_err().contains("sha256=<hex>"));
        assert!(parse(&format!("sha1={hex}")).is_err());
        assert!(parse("sha256=abcd").unwrap_err().contains("32"));
        assert!(parse("sha256=not-hex").unwrap_err().contains("hex"));
    }
}
