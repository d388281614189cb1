//! Turns the endpoint a user types into the base URI the Connect client dials.
//!
//! The Flyte SDK treats `localhost:P`, `http://localhost:P` and `dns:///localhost:P` as the
//! same endpoint; so does this module. `https://` always means TLS and `http://` plaintext;
//! a bare `host:port` or `dns:///host:port` means whichever the caller's settings say
//! ([`crate::Config::insecure`], plaintext for [`crate::Client::connect`]).

use crate::error::{Error, Result};
use http::Uri;

/// The endpoint the CLI and the SDK's local setup use when none is given.
pub const DEFAULT_ENDPOINT: &str = "localhost:30080";

/// Parses `endpoint` into an `http://host[:port]` or `https://host[:port]` base URI; `tls` says
/// which when the endpoint has no scheme of its own.
pub(crate) fn parse_endpoint(endpoint: &str, tls: bool) -> Result<Uri> {
    let invalid = |reason: &str| Error::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = endpoint.trim();
    let (authority, tls) = if let Some(rest) = trimmed.strip_prefix("http://") {
        (rest, false)
    } else if let Some(rest) = trimmed.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = trimmed.strip_prefix("dns:///") {
        (rest, tls)
    } else if let Some(rest) = trimmed.strip_prefix("dns:") {
        (rest, tls)
    } else if trimmed.contains("://") {
        return Err(invalid(
            "expected HOST:PORT, http://HOST:PORT, https://HOST:PORT or dns:///HOST:PORT",
        ));
    } else {
        (trimmed, tls)
    };
    let scheme = if tls { "https" } else { "http" };
    let authority = authority.trim_end_matches('/');
    if authority.is_empty() {
        return Err(invalid("no host"));
    }
    if authority.contains('/') {
        return Err(invalid("a path is not allowed after the host and port"));
    }
    let uri: Uri = format!("{scheme}://{authority}")
        .parse()
        .map_err(|err: http::uri::InvalidUri| invalid(&err.to_string()))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    let after_host = authority.rfind(']').map_or(0, |bracket| bracket + 1);
    if let Some(colon) = authority[after_host..].rfind(':') {
        let port = &authority[after_host + colon + 1..];
        if port.parse::<u16>().is_err() {
            return Err(invalid("the port is not a number from 0 to 65535"));
        }
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_sdk_spellings_name_the_same_endpoint() {
        for endpoint in [
            "localhost:30080",
            "http://localhost:30080",
            "dns:///localhost:30080",
            "  http://localhost:30080/ ",
        ] {
            assert_eq!(
                parse_endpoint(endpoint, false).unwrap().to_string(),
                "http://localhost:30080/",
                "{endpoint}"
            );
        }
    }

    #[test]
    fn addresses_and_missing_ports_are_accepted() {
        assert_eq!(
            parse_endpoint("127.0.0.1:8089", false)
                .unwrap()
                .authority()
                .unwrap()
                .as_str(),
            "127.0.0.1:8089"
        );
        assert_eq!(
            parse_endpoint("aerie.internal", false).unwrap().host(),
            Some("aerie.internal")
        );
        assert_eq!(
            parse_endpoint("[::1]:30080", false).unwrap().port_u16(),
            Some(30080)
        );
    }

    #[test]
    fn https_means_tls_and_a_bare_endpoint_follows_the_setting() {
        assert_eq!(
            parse_endpoint("https://aerie.example", false)
                .unwrap()
                .to_string(),
            "https://aerie.example/"
        );
        assert_eq!(
            parse_endpoint("http://localhost:1", true)
                .unwrap()
                .to_string(),
            "http://localhost:1/"
        );
        assert_eq!(
            parse_endpoint("dns:///aerie.example:443", true)
                .unwrap()
                .to_string(),
            "https://aerie.example:443/"
        );
    }

    #[test]
    fn other_schemes_paths_and_empty_hosts_are_refused() {
        for endpoint in [
            "grpc://localhost:1",
            "localhost:30080/api",
            "",
            "http://",
            "localhost:notaport",
            "localhost:70000",
        ] {
            assert!(
                matches!(
                    parse_endpoint(endpoint, false),
                    Err(Error::InvalidEndpoint { .. })
                ),
                "{endpoint:?} was accepted"
            );
        }
    }
}
