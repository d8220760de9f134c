//! The address of the client behind a request, for the per-address limit of anonymous
//! storefront requests and the scope of their idempotency keys.
//!
//! `Forwarded` and `X-Forwarded-For` are written by whoever sends the request, so they are
//! believed only when the peer is one of the operator's trusted proxies
//! (`TROLLEY_TRUSTED_PROXIES`): a storefront backend or load balancer that forwards its
//! shoppers' addresses. Walking the forwarded chain from the nearest hop, trusted proxies
//! are skipped and the first address that is not one is the client's; anything a client
//! wrote further left cannot move it.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::HttpRequest;
use actix_web::http::header::{FORWARDED, HeaderMap};
use ipnet::IpNet;

/// The networks whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma- or space-separated CIDRs (`10.0.0.0/8, 192.168.1.7`); a bare address is a
    /// single host. The error names the entry that is neither.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map_err(|_| {
                        format!("`{entry}` is not an IP address or CIDR (like 10.0.0.0/8)")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy and forwarded
    /// one. `None` only when the connection has no peer address (a test request).
    pub fn client(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr().map(|a| canonical(a.ip()))?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let chain = forwarded_chain(req.headers());
        // Nearest hop last: skip the trusted ones; an unparsable hop ends the walk there
        // (nothing left of it can be believed either).
        let mut client = peer;
        for hop in chain.iter().rev() {
            match hop {
                Some(addr) if self.trusts(*addr) => client = *addr,
                Some(addr) => return Some(*addr),
                None => return Some(client),
            }
        }
        Some(client)
    }
}

/// IPv4 addresses seen through an IPv6 socket (`::ffff:a.b.c.d`) are IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The forwarded addresses, farthest first: RFC 7239 `Forwarded: for=…` when present,
/// else `X-Forwarded-For`. `None` marks a hop that is not an address (`unknown`, an
/// obfuscated name, garbage).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all(FORWARDED)
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_node(value.trim()))
                })
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| parse_node(hop.trim()))
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(value: &str) -> Option<IpAddr> {
    let value = value.trim_matches('"');
    if let Ok(addr) = IpAddr::from_str(value) {
        return Some(canonical(addr));
    }
    if let Some(rest) = value.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return IpAddr::from_str(addr).ok().map(canonical);
    }
    let (addr, port) = value.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    IpAddr::from_str(addr).ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use std::net::SocketAddr;

    fn request(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(SocketAddr::from_str(peer).unwrap());
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        req.to_http_request()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(IpAddr::from_str(s).unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let req = request("203.0.113.9:5000", &[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(proxies.client(&req), ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(none.client(&req), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_forwards_the_nearest_untrusted_hop() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7").unwrap();
        let req = request(
            "10.1.2.3:5000",
            &[("x-forwarded-for", "1.1.1.1, 198.51.100.1, 192.168.1.7")],
        );
        // 1.1.1.1 was written by the client itself and is not believed.
        assert_eq!(proxies.client(&req), ip("198.51.100.1"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_parses_ports_and_ipv6() {
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        let req = request(
            "127.0.0.1:5000",
            &[
                ("forwarded", r#"for="[2001:db8::1]:4711";proto=https"#),
                ("x-forwarded-for", "198.51.100.1"),
            ],
        );
        assert_eq!(proxies.client(&req), ip("2001:db8::1"));
        let req = request("127.0.0.1:5000", &[("forwarded", "for=192.0.2.60:80")]);
        assert_eq!(proxies.client(&req), ip("192.0.2.60"));
    }

    #[test]
    fn an_unknown_hop_stops_the_walk_at_the_last_trusted_address() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let req = request(
            "10.0.0.1:5000",
            &[("forwarded", "for=unknown, for=10.0.0.2")],
        );
        assert_eq!(proxies.client(&req), ip("10.0.0.2"));
        let req = request("10.0.0.1:5000", &[]);
        assert_eq!(proxies.client(&req), ip("10.0.0.1"));
    }

    #[test]
    fn bad_entries_are_named() {
        let err = TrustedProxies::parse("10.0.0.0/8, 300.1.1.1").unwrap_err();
        assert!(err.contains("300.1.1.1"), "{err}");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("::1, 10.0.0.0/8").is_ok());
    }
}
