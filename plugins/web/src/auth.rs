//! The Segment write key: sent as HTTP basic auth (`writeKey:` as user and
//! empty password) or as `writeKey` in the body. The key is compared by the
//! host through the secret handle; the plugin never holds the stored key.

use leadhost_sdk::prelude::*;

/// The name of the secret that holds the write key.
pub const WRITE_KEY: &str = "write-key";

/// Opens the write-key secret; a missing one means the operator has not
/// finished configuring the connector.
pub fn open_write_key() -> Result<Secret, IngestError> {
    Secret::open(WRITE_KEY).map_err(|e| match e {
        SecretError::NotFound(_) => IngestError::Misconfigured(format!(
            "no write key is configured for this connector: store the Segment write key as the secret `{WRITE_KEY}`"
        )),
        other => IngestError::Internal(other.to_string()),
    })
}

/// Checks an `Authorization` header against the write key.
pub fn check_header(secret: &Secret, header: &str) -> Result<(), IngestError> {
    let key = basic_user(header).map_err(IngestError::Unauthorized)?;
    if secret.matches(&key) {
        Ok(())
    } else {
        Err(IngestError::Unauthorized(
            "the write key in the Authorization header is not valid for this connector".into(),
        ))
    }
}

/// Checks a write key sent in the body; `None` when the body carries none.
pub fn check_body_key(secret: &Secret, key: Option<&str>) -> Result<(), IngestError> {
    match key.filter(|k| !k.is_empty()) {
        None => Err(IngestError::Unauthorized(
            "no write key: send it as HTTP basic auth (`Authorization: Basic base64(writeKey + \":\")`, \
             `curl -u WRITEKEY:`) or as `writeKey` in the body"
                .into(),
        )),
        Some(k) if secret.matches(k.as_bytes()) => Ok(()),
        Some(_) => Err(IngestError::Unauthorized(
            "the `writeKey` in the body is not valid for this connector".into(),
        )),
    }
}

/// The user name of an HTTP basic `Authorization` header, which is where
/// Segment clients put the write key. A header without the `:` is taken
/// whole, as Segment does for backward compatibility.
pub fn basic_user(header: &str) -> Result<Vec<u8>, String> {
    let header = header.trim();
    let (scheme, encoded) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(format!(
            "the Authorization header uses the {scheme:?} scheme; send the write key as HTTP basic auth"
        ));
    }
    let decoded = base64_decode(encoded.trim()).ok_or_else(|| {
        "the Authorization header is not valid HTTP basic auth: its credentials are not base64"
            .to_string()
    })?;
    let user = match decoded.iter().position(|&b| b == b':') {
        Some(colon) => &decoded[..colon],
        None => &decoded[..],
    };
    if user.is_empty() {
        return Err("the Authorization header carries an empty write key".into());
    }
    Ok(user.to_vec())
}

/// Decodes standard base64 (RFC 4648 §4), padded or not; the URL-safe
/// alphabet is accepted too. `None` on any other character or a bad length.
pub fn base64_decode(input: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }

    let bytes = input.as_bytes();
    let unpadded = match bytes {
        [rest @ .., b'=', b'='] => rest,
        [rest @ .., b'='] => rest,
        _ => bytes,
    };
    // Padding, when present, must complete a group of four.
    if unpadded.len() != bytes.len() && !bytes.len().is_multiple_of(4) {
        return None;
    }
    if unpadded.is_empty() || unpadded.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(unpadded.len() * 3 / 4);
    for chunk in unpadded.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        // A short final chunk holds 2 or 3 characters: 1 or 2 bytes.
        acc <<= 6 * (4 - chunk.len() as u32);
        let [_, b0, b1, b2] = acc.to_be_bytes();
        out.push(b0);
        if chunk.len() > 2 {
            out.push(b1);
        }
        if chunk.len() > 3 {
            out.push(b2);
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_the_rfc_4648_vectors() {
        let cases = [
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
            ("Zm9vYg", "foob"),
            ("Zm9vYmE", "fooba"),
        ];
        for (encoded, plain) in cases {
            assert_eq!(
                base64_decode(encoded).as_deref(),
                Some(plain.as_bytes()),
                "{encoded}"
            );
        }
    }

    #[test]
    fn base64_decodes_segment_s_example_and_both_alphabets() {
        // Segment's docs: the write key `abc123` with a colon.
        assert_eq!(base64_decode("YWJjMTIzOg==").unwrap(), b"abc123:");
        assert_eq!(base64_decode("-_8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64_decode("+/8=").unwrap(), [0xfb, 0xff]);
    }

    #[test]
    fn base64_rejects_garbage() {
        for bad in [
            "", "Z", "Zm9vY", "Zm9v!", "Zg=", "Z===", "Zm 9v", "=", "Zg==Zg==",
        ] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn basic_auth_yields_the_user_name() {
        assert_eq!(basic_user("Basic YWJjMTIzOg==").unwrap(), b"abc123");
        assert_eq!(basic_user("basic   YWJjMTIzOg==  ").unwrap(), b"abc123");
        // Without the colon the whole credential is the key.
        assert_eq!(basic_user("Basic YWJjMTIz").unwrap(), b"abc123");
        // A password, if sent, is ignored.
        assert_eq!(basic_user("Basic YWJjMTIzOnB3").unwrap(), b"abc123");
    }

    #[test]
    fn basic_auth_rejects_other_schemes_and_bad_credentials() {
        assert!(basic_user("Bearer abc").unwrap_err().contains("Bearer"));
        assert!(basic_user("Basic %%%").unwrap_err().contains("base64"));
        assert!(basic_user("Basic").is_err());
        assert!(basic_user("Basic Og==").unwrap_err().contains("empty"));
    }
}
