//! Who the client is, for per-address limits: the TCP peer, or — when the
//! peer is a trusted proxy — the nearest address in X-Forwarded-For that no
//! trusted proxy wrote. Trusted proxies are ranges (CIDR) or single
//! addresses, because ingress pods and cloud balancers have no fixed address.
//! IPv6 clients are keyed by their /64: one subscriber usually holds a whole
//! /64 and can pick any address in it.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
    str::FromStr,
};

use actix_web::HttpRequest;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// One `rate_limit.trusted_proxies` entry: `10.0.0.0/8`, `fd00::/8` or a
/// single address (`127.0.0.1`, a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange(IpNet);

impl ProxyRange {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl FromStr for ProxyRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(net) = s.parse::<IpNet>() {
            // `10.1.2.3/8` means the range, not a host in it.
            return Ok(Self(net.trunc()));
        }
        s.parse::<IpAddr>()
            .map(|ip| Self(IpNet::from(ip.to_canonical())))
            .map_err(|_| {
                format!("rate_limit.trusted_proxies: {s:?} is neither an address nor a CIDR range")
            })
    }
}

impl fmt::Display for ProxyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for ProxyRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

fn trusted(proxies: &[ProxyRange], ip: &IpAddr) -> bool {
    proxies.iter().any(|range| range.contains(ip))
}

/// The client's address. X-Forwarded-For is walked right to left (each proxy
/// appends the address it received from): every trusted hop is skipped, the
/// first untrusted one is the client. Anything left of it was written by the
/// client and is not believed. When every hop is trusted, the leftmost is.
pub fn client_ip(req: &HttpRequest, proxies: &[ProxyRange]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    if !trusted(proxies, &peer) {
        return Some(peer);
    }
    let mut client = peer;
    let hops = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>();
    for hop in hops.iter().rev().flat_map(|v| v.rsplit(',')) {
        let Some(ip) = parse_hop(hop) else {
            // A hop we cannot read: stop at the last address we could trust.
            break;
        };
        client = ip;
        if !trusted(proxies, &client) {
            break;
        }
    }
    Some(client)
}

/// An X-Forwarded-For entry: an address, or an `address:port` as some
/// balancers write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The limiter key of an address: IPv4 as is, IPv6 cut to its /64.
pub fn limiter_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ranges(list: &[&str]) -> Vec<ProxyRange> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn request(peer: &str, forwarded: &[&str]) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for value in forwarded {
            req = req.append_header(("X-Forwarded-For", *value));
        }
        req.to_http_request()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn ranges_and_single_addresses_parse_and_garbage_is_refused() {
        let r: ProxyRange = "10.1.2.3/8".parse().unwrap();
        assert_eq!(r.to_string(), "10.0.0.0/8");
        assert!(r.contains(&"10.200.0.1".parse().unwrap()));
        assert!(!r.contains(&"11.0.0.1".parse().unwrap()));
        let one: ProxyRange = "127.0.0.1".parse().unwrap();
        assert!(one.contains(&"127.0.0.1".parse().unwrap()));
        assert!(!one.contains(&"127.0.0.2".parse().unwrap()));
        let v6: ProxyRange = "fd00::/8".parse().unwrap();
        assert!(v6.contains(&"fd12:3456::1".parse().unwrap()));
        for bad in [
            "",
            "10.0.0.0/33",
            "fd00::/129",
            "localhost",
            "10.0.0/8",
            "1.2.3.4/-1",
        ] {
            assert!(bad.parse::<ProxyRange>().is_err(), "{bad}");
        }
        let err = "nope".parse::<ProxyRange>().unwrap_err();
        assert!(err.contains("rate_limit.trusted_proxies"), "{err}");
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_peer() {
        let proxies = ranges(&["10.0.0.0/8"]);
        let direct = request("192.0.2.9:5000", &["203.0.113.5"]);
        assert_eq!(client_ip(&direct, &proxies), ip("192.0.2.9"));
    }

    #[test]
    fn every_trusted_hop_is_skipped_right_to_left() {
        let proxies = ranges(&["10.0.0.0/8", "fd00::/8"]);
        // client spoofs 198.51.100.1; real client 203.0.113.5; then a chain
        // of two trusted proxies (ingress pod, balancer).
        let chain = request(
            "10.0.0.1:5000",
            &["198.51.100.1, 203.0.113.5, 10.3.3.3", "fd00::7"],
        );
        assert_eq!(client_ip(&chain, &proxies), ip("203.0.113.5"));
        let all_trusted = request("10.0.0.1:5000", &["10.9.9.9, 10.8.8.8"]);
        assert_eq!(client_ip(&all_trusted, &proxies), ip("10.9.9.9"));
        let none = request("10.0.0.1:5000", &[]);
        assert_eq!(client_ip(&none, &proxies), ip("10.0.0.1"));
        let ported = request("10.0.0.1:5000", &["203.0.113.5:4711, [2001:db8::1]:80"]);
        assert_eq!(client_ip(&ported, &proxies), ip("2001:db8::1"));
        let garbage = request("10.0.0.1:5000", &["203.0.113.5, not-an-ip, 10.1.1.1"]);
        assert_eq!(client_ip(&garbage, &proxies), ip("10.1.1.1"));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let proxies = ranges(&["127.0.0.1"]);
        let mapped = request("[::ffff:127.0.0.1]:5000", &["203.0.113.5"]);
        assert_eq!(client_ip(&mapped, &proxies), ip("203.0.113.5"));
    }

    #[test]
    fn ipv6_keys_are_the_slash_64_and_ipv4_keys_the_address() {
        assert_eq!(
            limiter_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            limiter_key("2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap()),
            limiter_key("2001:db8:1:2::9".parse().unwrap())
        );
        assert_ne!(
            limiter_key("2001:db8:1:3::1".parse().unwrap()),
            limiter_key("2001:db8:1:2::1".parse().unwrap())
        );
        assert_eq!(
            limiter_key("203.0.113.5".parse().unwrap()),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            limiter_key("::ffff:203.0.113.5".parse().unwrap()),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
    }
}
