//! The `Host` and `Origin` checks. A web page can make a browser send requests to a port on
//! the user's machine; DNS rebinding even makes them same-origin for the page. Both carry the
//! attacker's name, never one aerie serves, so refusing unknown `Host` names and cross-site
//! `Origin`s on requests that change state leaves such a page with nothing.

use std::collections::HashSet;
use std::net::IpAddr;

/// The host names aerie answers to.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    /// Lower-case names, without ports: `localhost` and the `--public-host` names.
    names: HashSet<String>,
}

impl AllowedHosts {
    /// `localhost` plus `public_hosts`. IP literals are always allowed: a page can only send
    /// one as `Host` by being served from that very address.
    pub fn new(public_hosts: &[String]) -> Self {
        let mut names: HashSet<String> = public_hosts
            .iter()
            .map(|host| host_name(host).to_ascii_lowercase())
            .collect();
        names.insert("localhost".to_owned());
        Self { names }
    }

    /// Whether `authority` (`host[:port]`, as in `Host` or a URI) names this server.
    pub fn allows(&self, authority: &str) -> bool {
        let host = host_name(authority);
        if host.parse::<IpAddr>().is_ok() {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.names.contains(&host)
    }

    /// Whether an `Origin` header value is a page served by this server (`null` and other
    /// opaque origins are not).
    pub fn allows_origin(&self, origin: &str) -> bool {
        url::Url::parse(origin)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .and_then(|url| url.host_str().map(str::to_owned))
            .is_some_and(|host| self.allows(&host))
    }
}

/// The host part of `host[:port]`, with IPv6 brackets removed.
fn host_name(authority: &str) -> &str {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ip_literals_and_public_names_are_served_and_others_are_not() {
        let hosts = AllowedHosts::new(&["aerie.example.com".to_owned()]);
        for served in [
            "localhost:30080",
            "LOCALHOST",
            "127.0.0.1:30080",
            "[::1]:30080",
            "10.1.2.3",
            "aerie.example.com:443",
            "aerie.example.com.",
        ] {
            assert!(hosts.allows(served), "{served}");
        }
        for foreign in [
            "evil.example",
            "evil.example:30080",
            "localhost.evil.example",
            "",
        ] {
            assert!(!hosts.allows(foreign), "{foreign}");
        }
    }

    #[test]
    fn origins_are_judged_by_their_host() {
        let hosts = AllowedHosts::new(&[]);
        assert!(hosts.allows_origin("http://localhost:30080"));
        assert!(hosts.allows_origin("https://127.0.0.1:30443"));
        assert!(!hosts.allows_origin("https://evil.example"));
        assert!(!hosts.allows_origin("null"));
        assert!(!hosts.allows_origin("file:///tmp/page.html"));
    }
}
