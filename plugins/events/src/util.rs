//! Small helpers shared by the mappings.

/// FNV-1a, 64 bit, over the parts joined by U+001F (a byte no field of an
/// id contains in practice): deterministic ids for rows that carry none.
pub fn fnv1a64(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash ^= 0x1f;
            hash = hash.wrapping_mul(PRIME);
        }
        for &b in part.as_bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// Mailbox providers whose domain says nothing about the person's company.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
    "yandex.com",
    "mail.ru",
    "qq.com",
    "163.com",
];

/// The company domain of an email address, unless it is a free-mail one.
pub fn company_domain(email: &str) -> Option<String> {
    let (_, domain) = email.rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || !domain.contains('.') || FREE_MAIL.contains(&domain.as_str()) {
        return None;
    }
    Some(domain)
}

/// The text, trimmed, when something is left.
pub fn non_empty(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_reference_vectors() {
        // http://www.isthe.com/chongo/tech/comp/fnv/ test vectors.
        assert_eq!(fnv1a64(&[""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&["a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&["foobar"]), 0x8594_4171_f739_67e8);
        assert_ne!(fnv1a64(&["a", "b"]), fnv1a64(&["ab"]));
        assert_ne!(fnv1a64(&["a", "bc"]), fnv1a64(&["ab", "c"]));
    }

    #[test]
    fn company_domains_skip_free_mail() {
        assert_eq!(
            company_domain("Jane@Pohjola-Paper.example"),
            Some("pohjola-paper.example".into())
        );
        assert_eq!(company_domain("jane@gmail.com"), None);
        assert_eq!(company_domain("no-at-sign"), None);
        assert_eq!(company_domain("x@localhost"), None);
    }
}
