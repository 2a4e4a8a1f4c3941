//! Outbound host grants: which destinations a connector may call, and which
//! resolved addresses count as private. Deny by default.

use std::net::IpAddr;

/// One granted destination: `host`, `*.domain` (any subdomain), with an
/// optional `:port` (any port when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostGrant {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

/// Why a host grant pattern is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pattern:?} is not a host pattern ({why}); use host, *.domain, optionally :port")]
pub struct HostGrantError {
    /// The pattern given.
    pub pattern: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl HostGrant {
    /// Parses a pattern such as `api.sendgrid.com`, `*.example.com:8443` or
    /// `127.0.0.1:9000`.
    pub fn parse(pattern: &str) -> Result<HostGrant, HostGrantError> {
        let bad = |why| HostGrantError {
            pattern: pattern.to_string(),
            why,
        };
        if pattern.contains("://") || pattern.contains('/') {
            return Err(bad("a host, not a URL"));
        }
        let (host, port) = match pattern.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
                (h, Some(p.parse::<u16>().map_err(|_| bad("bad port"))?))
            }
            _ => (pattern, None),
        };
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (host, false),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('*') || host.contains(char::is_whitespace) {
            return Err(bad("empty host or stray '*'"));
        }
        Ok(HostGrant {
            host: host.to_ascii_lowercase(),
            wildcard,
            port,
        })
    }

    /// Whether this grant covers `host` on `port`.
    pub fn covers(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host_ok = if self.wildcard {
            host.len() > self.host.len() + 1
                && host.to_ascii_lowercase().ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host.eq_ignore_ascii_case(&self.host)
        };
        host_ok && self.port.is_none_or(|p| p == port)
    }
}

/// Whether any of `grants` covers `host:port`.
pub fn any_covers(grants: &[HostGrant], host: &str, port: u16) -> bool {
    grants.iter().any(|g| g.covers(host, port))
}

/// Whether an address is loopback, private, link-local or otherwise not a
/// public destination. Such addresses need an explicit private-network grant.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // carrier-grade NAT 100.64/10
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
                || o[0] >= 224 // multicast and reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_cover_exact_hosts_wildcards_and_ports() {
        let exact = HostGrant::parse("api.sendgrid.com").unwrap();
        assert!(exact.covers("api.sendgrid.com", 443));
        assert!(exact.covers("API.SendGrid.com", 80));
        assert!(!exact.covers("api.sendgrid.com.evil.net", 443));
        let wild = HostGrant::parse("*.example.com:8443").unwrap();
        assert!(wild.covers("a.b.example.com", 8443));
        assert!(!wild.covers("example.com", 8443));
        assert!(!wild.covers("badexample.com", 8443));
        assert!(!wild.covers("a.example.com", 443));
        let ip = HostGrant::parse("127.0.0.1:9000").unwrap();
        assert!(ip.covers("127.0.0.1", 9000));
        assert!(!ip.covers("127.0.0.1", 9001));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "https://x.com",
            "x.com/path",
            "",
            "*.",
            "a*.com",
            "x.com:99999",
        ] {
            assert!(HostGrant::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
