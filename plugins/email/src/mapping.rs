//! What both providers' events become: one email touchpoint each, with the
//! same kinds, attribute names and consent signals whichever provider sent it.

use leadhost_sdk::prelude::*;

/// The consent purpose of a plain (global) unsubscribe.
pub const MARKETING: &str = "marketing";

/// A touchpoint on the email channel with the recipient's address.
pub fn touchpoint(
    external_id: String,
    occurred_at: i64,
    kind: TouchpointKind,
    email: Option<&str>,
) -> Touchpoint {
    Touchpoint {
        external_id,
        occurred_at: Some(occurred_at),
        channel: Channel::Email,
        kind,
        identities: Identities {
            email: email.map(str::to_owned),
            ..Identities::default()
        },
        ..Touchpoint::default()
    }
}

/// A kind none of the contract's kinds describe, e.g. `email-deferred`.
pub fn custom(name: &str) -> TouchpointKind {
    TouchpointKind::Custom(name.to_owned())
}

/// Consent for `purpose` on the email channel, given or withdrawn.
pub fn email_consent(purpose: String, granted: bool) -> ConsentSignal {
    ConsentSignal {
        purpose,
        channel: Some(Channel::Email),
        granted,
    }
}

/// The id of an event that came without one: the provider and the hash of
/// the fields that tell events apart, so a redelivery gets the same id.
pub fn derived_id(provider: &str, parts: &[&str]) -> String {
    format!("{provider}:h:{:016x}", crate::wire::fnv1a(parts))
}

/// Appends `name = value` when there is a value.
pub fn push(list: &mut Vec<Attribute>, name: &str, value: Option<&str>) {
    if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
        list.push(Attribute::new(name, value));
    }
}

/// A usable email address: something, `@`, a domain with a dot, no spaces.
pub fn is_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_loosely() {
        assert!(is_address("jane@pohjola-paper.example"));
        assert!(is_address("a+b@x.io"));
        for bad in [
            "",
            "jane",
            "@x.io",
            "jane@",
            "jane@localhost",
            "ja ne@x.io",
            "j@x.",
        ] {
            assert!(!is_address(bad), "{bad:?}");
        }
    }

    #[test]
    fn derived_ids_are_stable_and_prefixed() {
        let a = derived_id("sendgrid", &["open", "a@x.io", "1"]);
        assert_eq!(a, derived_id("sendgrid", &["open", "a@x.io", "1"]));
        assert!(a.starts_with("sendgrid:h:"));
        assert_ne!(a, derived_id("sendgrid", &["open", "a@x.io", "2"]));
    }
}
