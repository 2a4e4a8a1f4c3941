//! Email addresses as evidence of a company: which domains are free mail,
//! and which company domain an address implies.

/// Free-mail domains matched exactly (ignoring ASCII case).
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "msn.com",
    "ymail.com",
    "web.de",
    "mail.com",
    "email.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "zohomail.com",
    "mail.ru",
    "qq.com",
    "163.com",
    "126.com",
    "t-online.de",
    "freenet.de",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "libero.it",
    "btinternet.com",
    "comcast.net",
    "fastmail.com",
    "tutanota.com",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "naver.com",
    "suomi24.fi",
    "luukku.com",
];

/// Free-mail providers with a domain per country (`gmx.de`, `yahoo.co.uk`,
/// `live.fr`, ...): the first label of the domain, matched with a country or
/// generic suffix only. `yahoo.com`, `hotmail.com`, `outlook.com`,
/// `live.com`, `gmx.com`, `gmx.net` and `yandex.com` are among them.
const FREE_MAIL_FAMILIES: &[&str] = &[
    "gmx",
    "yahoo",
    "hotmail",
    "outlook",
    "live",
    "yandex",
    "rocketmail",
];

/// Whether an email domain belongs to a free-mail provider, whose domain
/// says nothing about the person's company. Case, surrounding blanks and a
/// trailing dot are ignored.
///
/// A provider with a domain per country matches with a country or generic
/// suffix only: `yahoo.com`, `gmx.at` and `yahoo.co.uk` are free mail,
/// `live.acme.com` is not.
///
/// ```
/// use leadhost_core::email::is_free_mail;
///
/// assert!(is_free_mail("GMail.com"));
/// assert!(is_free_mail("yahoo.co.uk"));
/// assert!(!is_free_mail("live.acme.com"));
/// ```
pub fn is_free_mail(domain: &str) -> bool {
    let domain = domain.trim().trim_end_matches('.');
    if FREE_MAIL.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return true;
    }
    let Some((family, suffix)) = domain.split_once('.') else {
        return false;
    };
    if !FREE_MAIL_FAMILIES
        .iter()
        .any(|f| f.eq_ignore_ascii_case(family))
    {
        return false;
    }
    match suffix.split_once('.') {
        None => true,
        Some((second, top)) => {
            matches!(second.to_ascii_lowercase().as_str(), "co" | "com" | "ne")
                && !top.contains('.')
        }
    }
}

/// The company domain an email address implies, lower case: the part after
/// the last `@`, trimmed and without a trailing dot. `None` when there is
/// no `@`, when the domain has no dot (`localhost`), or when it is free mail
/// (see [`is_free_mail`]).
///
/// ```
/// use leadhost_core::email::company_domain;
///
/// assert_eq!(company_domain("Jane@Nordmill.FI").as_deref(), Some("nordmill.fi"));
/// assert_eq!(company_domain("jane@gmail.com"), None);
/// ```
pub fn company_domain(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.');
    if domain.is_empty() || !domain.contains('.') || is_free_mail(domain) {
        return None;
    }
    Some(domain.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_mail_is_recognised_per_country() {
        for free in [
            "gmail.com",
            "GMX.de",
            "gmx.net",
            "yahoo.co.uk",
            "hotmail.fr",
            "icloud.com",
            "suomi24.fi",
            "luukku.com",
            "rocketmail.com",
            " gmail.com. ",
        ] {
            assert!(is_free_mail(free), "{free}");
        }
        for company in [
            "nordmill.fi",
            "live.acme.com",
            "outlook.acme.co.uk",
            "acme.com",
            "pohjola-paper.example",
            "live",
            "",
        ] {
            assert!(!is_free_mail(company), "{company}");
        }
    }

    #[test]
    fn every_listed_provider_is_free_mail() {
        // The union of the lists the connectors kept before they shared this.
        for free in [
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
        ] {
            assert!(is_free_mail(free), "{free}");
        }
        for free in FREE_MAIL {
            assert!(is_free_mail(free), "{free}");
            assert_eq!(company_domain(&format!("x@{free}")), None, "{free}");
        }
    }

    #[test]
    fn company_domains_skip_free_mail() {
        assert_eq!(
            company_domain("Jane@Pohjola-Paper.example"),
            Some("pohjola-paper.example".into())
        );
        assert_eq!(
            company_domain("jane@Nordmill.FI").as_deref(),
            Some("nordmill.fi")
        );
        assert_eq!(
            company_domain(" jane@acme.com. ").as_deref(),
            Some("acme.com")
        );
        assert_eq!(
            company_domain("a@b@live.acme.com").as_deref(),
            Some("live.acme.com")
        );
        assert_eq!(company_domain("jane@gmail.com"), None);
        assert_eq!(company_domain("jane@Yahoo.co.uk"), None);
        assert_eq!(company_domain("no-at-sign"), None);
        assert_eq!(company_domain("not-an-email"), None);
        assert_eq!(company_domain("a@localhost"), None);
        assert_eq!(company_domain("x@localhost"), None);
        assert_eq!(company_domain("a@"), None);
        assert_eq!(company_domain("a@."), None);
    }
}

#[cfg(test)]
mod identity_list {
    /// The identity graph's list before it shared this one: all still free mail.
    #[test]
    fn covers_the_domains_the_identity_graph_listed() {
        for d in [
            "aol.com",
            "gmail.com",
            "gmx.com",
            "gmx.de",
            "gmx.net",
            "googlemail.com",
            "hotmail.com",
            "icloud.com",
            "live.com",
            "luukku.com",
            "mail.com",
            "mail.ru",
            "me.com",
            "msn.com",
            "outlook.com",
            "proton.me",
            "protonmail.com",
            "suomi24.fi",
            "web.de",
            "yahoo.com",
            "yandex.ru",
        ] {
            assert!(super::is_free_mail(d), "{d}");
        }
    }
}
