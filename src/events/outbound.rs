//! Outbound safety for webhooks: which URLs a hook may name, which addresses a delivery may
//! reach, and the one HTTP client that enforces it (no redirects, bounded time, a resolver
//! that drops refused addresses, so a name that re-resolves to a private address at
//! delivery time — DNS rebinding — reaches nothing).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The longest hook URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Whether `ip` is one a tenant's hook must not reach by default: loopback, unspecified,
/// link-local, private (RFC 1918, unique-local), shared (CGNAT), multicast, broadcast,
/// documentation and benchmarking ranges; IPv4-mapped IPv6 by its IPv4 address.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_v4(v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 (maps onto IPv4)
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0)
        }
    }
}

fn private_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || o[0] == 0 // this network
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space 100.64/10
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || o[0] >= 240 // reserved
}

/// Check a hook's URL: absolute http(s), a host, no credentials in it, not too long, and —
/// unless `allow_private` — not a private address or a `localhost` name. A name is checked
/// again, on what it resolves to, at every delivery.
pub fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("the URL is longer than {MAX_URL_LEN} characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("the URL is not valid: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the URL must be http or https".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry credentials (use headers)".into());
    }
    let host = match url.host() {
        Some(h) => h,
        None => return Err("the URL has no host".into()),
    };
    if allow_private {
        return Ok(url);
    }
    let refused = match host {
        url::Host::Ipv4(ip) => is_private(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => is_private(IpAddr::V6(ip)),
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost") || d.ends_with(".internal")
        }
    };
    if refused {
        return Err(
            "the URL names a loopback, link-local or private address, which webhooks may not \
             reach on this server"
                .into(),
        );
    }
    Ok(url)
}

/// A resolver that resolves with the system's and drops refused addresses.
struct Guarded {
    allow_private: bool,
}

impl reqwest::dns::Resolve for Guarded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = all
                .into_iter()
                .filter(|a| allow || !is_private(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(Refused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A name that resolves only to refused addresses.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves only to loopback, link-local or private addresses",
            self.0
        )
    }
}

impl std::error::Error for Refused {}

/// The webhook client: bounded time, no redirects (a redirect could lead anywhere), the
/// guarded resolver.
pub fn client(allow_private: bool, timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(Guarded { allow_private }))
        .pool_max_idle_per_host(4)
        .user_agent(concat!(
            "Muster/",
            env!("CARGO_PKG_VERSION"),
            " (Logto-compatible webhooks)"
        ))
        .build()
        .expect("a client with these settings builds")
}

/// What one POST of a webhook body came to.
#[derive(Debug, Clone)]
pub enum Sent {
    /// The receiver answered (any status), with the body (at most 4 KiB of it) and its
    /// `Retry-After` in seconds, if any.
    Answered {
        status: u16,
        body: String,
        retry_after: Option<u64>,
    },
    /// No answer: timeout, connection refused, TLS, ...
    NoAnswer { error: String, timed_out: bool },
    /// Refused before sending: the URL or its address is not allowed.
    Refused(String),
}

/// How much of a receiver's answer is kept in the logs.
pub const MAX_LOGGED_BODY: usize = 4096;

/// POST `body` to `url`, signed with `signing_key` (`logto-signature-sha-256`), with the
/// hook's own headers (which cannot replace the signature or the content type).
pub async fn post(
    client: &reqwest::Client,
    allow_private: bool,
    url: &str,
    headers: &serde_json::Map<String, serde_json::Value>,
    extra: &[(&str, String)],
    body: Vec<u8>,
    signing_key: &str,
) -> Sent {
    if let Err(e) = check_url(url, allow_private) {
        return Sent::Refused(e);
    }
    let signature = crate::changes::sign(signing_key, &body);
    let mut req = client.post(url);
    for (k, v) in headers {
        let lower = k.to_ascii_lowercase();
        if lower == "content-type" || lower == "logto-signature-sha-256" || lower == "host" {
            continue;
        }
        if let Some(v) = v.as_str() {
            req = req.header(k.as_str(), v);
        }
    }
    for (k, v) in extra {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .header("content-type", "application/json")
        .header("logto-signature-sha-256", signature)
        .body(body);
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after_secs);
            let mut text = resp.text().await.unwrap_or_default();
            if text.len() > MAX_LOGGED_BODY {
                let mut cut = MAX_LOGGED_BODY;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            Sent::Answered {
                status,
                body: text,
                retry_after,
            }
        }
        Err(e) => {
            let refused = std::error::Error::source(&e)
                .into_iter()
                .chain(std::iter::successors(std::error::Error::source(&e), |s| {
                    s.source()
                }))
                .any(|s| s.is::<Refused>());
            if refused {
                return Sent::Refused(error_chain(&e));
            }
            Sent::NoAnswer {
                timed_out: e.is_timeout(),
                error: error_chain(&e),
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `Retry-After` as seconds from now: delta-seconds or an HTTP date.
pub fn retry_after_secs(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    let t = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    Some(secs.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "8.8.8.8",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert!(check_url("http://127.0.0.1:9/x", false).is_err());
        assert!(check_url("http://[::1]/x", false).is_err());
        assert!(check_url("http://localhost/x", false).is_err());
        assert!(check_url("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_url("ftp://example.com/x", true).is_err());
        assert!(check_url("https://u:p@example.com/x", true).is_err());
        assert!(check_url("not a url", true).is_err());
        assert_eq!(retry_after_secs("7"), Some(7));
        assert_eq!(retry_after_secs("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0));
    }
}
