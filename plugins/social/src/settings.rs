//! The configuration keys, their defaults, the secrets, and small helpers
//! shared by both providers.

use leadhost_sdk::prelude::*;

/// Config: Meta's Graph API base URL.
pub const GRAPH_BASE_URL: &str = "graph-base-url";
/// Default of [`GRAPH_BASE_URL`].
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com";
/// Config: the Graph API version.
pub const GRAPH_VERSION: &str = "graph-version";
/// Default of [`GRAPH_VERSION`].
pub const DEFAULT_GRAPH_VERSION: &str = "v19.0";
/// Config: LinkedIn's API base URL.
pub const LINKEDIN_BASE_URL: &str = "linkedin-base-url";
/// Default of [`LINKEDIN_BASE_URL`].
pub const DEFAULT_LINKEDIN_BASE_URL: &str = "https://api.linkedin.com";
/// Config: the organization whose leads are polled.
pub const LINKEDIN_ORGANIZATION: &str = "linkedin-organization";
/// Config: the ad account whose leads are polled (wins over the organization).
pub const LINKEDIN_SPONSORED_ACCOUNT: &str = "linkedin-sponsored-account";
/// Config: the lead type polled.
pub const LINKEDIN_LEAD_TYPE: &str = "linkedin-lead-type";
/// Default of [`LINKEDIN_LEAD_TYPE`].
pub const DEFAULT_LEAD_TYPE: &str = "SPONSORED";
/// Config: the `LinkedIn-Version` header.
pub const LINKEDIN_VERSION: &str = "linkedin-version";
/// Default of [`LINKEDIN_VERSION`].
pub const DEFAULT_LINKEDIN_VERSION: &str = "202401";
/// Config: leads per LinkedIn page.
pub const PAGE_SIZE: &str = "page-size";
/// Default of [`PAGE_SIZE`].
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Config: the largest webhook body.
pub const MAX_BODY_BYTES: &str = "max-body-bytes";
/// Default of [`MAX_BODY_BYTES`]: Meta batches up to 1000 changes per post.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Secret: the Meta webhook Verify Token.
pub const META_VERIFY_TOKEN: &str = "meta-verify-token";
/// Secret: the Meta app secret.
pub const META_APP_SECRET: &str = "meta-app-secret";
/// Secret: the Page access token for the Graph API.
pub const META_PAGE_TOKEN: &str = "meta-page-token";
/// Secret: the LinkedIn access token.
pub const LINKEDIN_TOKEN: &str = "linkedin-token";
/// Secret: the LinkedIn app's client secret.
pub const LINKEDIN_CLIENT_SECRET: &str = "linkedin-client-secret";

/// Opens a secret; a missing one is a configuration gap, said as `what`.
pub fn open_secret(name: &str, what: &str) -> Result<Secret, String> {
    Secret::open(name).map_err(|e| match e {
        SecretError::NotFound(_) => {
            format!("no secret `{name}` is stored for this connector; it is needed {what}")
        }
        other => other.to_string(),
    })
}

/// A positive whole number from the configuration, or its default.
pub fn positive(key: &str, default: usize) -> Result<usize, String> {
    match config::get(key) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                format!("config `{key}` must be a positive whole number, not {value:?}")
            }),
    }
}

/// A base URL from the configuration, without a trailing `/`.
pub fn base_url(key: &str, default: &str) -> Result<String, String> {
    let value = config::get(key).unwrap_or_else(|| default.to_string());
    let value = value.trim().trim_end_matches('/');
    if !(value.starts_with("https://") || value.starts_with("http://")) || value.len() < 9 {
        return Err(format!(
            "config `{key}` must be an http:// or https:// URL, not {value:?}"
        ));
    }
    Ok(value.to_string())
}

/// A text setting, or its default.
pub fn text(key: &str, default: &str) -> String {
    config::get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Refuses a body over `max-body-bytes`.
pub fn check_body_size(body: &[u8]) -> Result<(), IngestError> {
    let max =
        positive(MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES).map_err(IngestError::Misconfigured)?;
    if body.len() > max {
        return Err(IngestError::TooLarge(format!(
            "the body is {} bytes; at most {max} are accepted (config `{MAX_BODY_BYTES}`)",
            body.len()
        )));
    }
    Ok(())
}

/// Decodes lower- or upper-case hex; `None` on anything else or an odd length.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().as_bytes();
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// Whether an id is safe to put in a URL path as it is.
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Splits a full name into first and last at the first space.
pub fn split_name(full: &str) -> (Option<String>, Option<String>) {
    let full = full.trim();
    match full.split_once(char::is_whitespace) {
        Some((first, last)) => (Some(first.to_string()), Some(last.trim().to_string())),
        None if full.is_empty() => (None, None),
        None => (Some(full.to_string()), None),
    }
}

/// Percent-encodes a query or path component (RFC 3986 unreserved kept).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The lower-case domain of an email address, when it has one.
pub fn email_domain(email: &str) -> Option<&str> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.trim())
        .filter(|d| d.contains('.'))
}

/// Whether a text looks like an email address.
pub fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes_and_rejects() {
        assert_eq!(hex_decode("00ff7A").unwrap(), [0, 255, 0x7a]);
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("zz"), None);
        assert_eq!(hex_decode(""), None);
    }

    #[test]
    fn names_split_and_ids_are_checked() {
        assert_eq!(
            split_name("Jane van Koski"),
            (Some("Jane".into()), Some("van Koski".into()))
        );
        assert_eq!(split_name("Jane"), (Some("Jane".into()), None));
        assert!(is_plain_id("444444444444"));
        assert!(!is_plain_id("../me"));
        assert_eq!(
            encode("urn:li:organization:5"),
            "urn%3Ali%3Aorganization%3A5"
        );
        assert!(looks_like_email("a@b.example"));
        assert!(!looks_like_email("not an email"));
    }
}
