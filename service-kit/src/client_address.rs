//! Who the client is, for per-address limits in both services: the TCP peer,
//! or — when the peer is a trusted proxy — the nearest address in
//! `X-Forwarded-For` that no trusted proxy wrote. Trusted proxies are ranges
//! (CIDR) or single addresses, because ingress pods and cloud balancers have
//! no fixed address. IPv6 clients are counted by their /64: one subscriber
//! usually holds a whole /64 and can pick any address in it.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    str::FromStr,
};

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// One `trusted_proxies` entry: `10.0.0.0/8`, `fd00::/8` or a single
/// address (`127.0.0.1`, a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange(IpNet);

impl ProxyRange {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
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
            .map_err(|_| format!("{s:?} is neither an address nor a CIDR range"))
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

/// The client's address, given the TCP peer and the request's
/// `X-Forwarded-For` values in header order. The header is walked right to
/// left (each proxy appends the address it received from): every trusted hop
/// is skipped, the first untrusted one is the client. Anything left of it was
/// written by the client and is not believed. A hop that cannot be read
/// stops the walk at the last address reached; when every hop is trusted,
/// the leftmost is the client.
pub fn client_address(peer: IpAddr, forwarded: &[&str], proxies: &[ProxyRange]) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted(proxies, &peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded.iter().rev().flat_map(|v| v.rsplit(',')) {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !trusted(proxies, &client) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, or an `address:port` as some
/// balancers write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// What per-address limits count by: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> Self {
        Self(match ip.to_canonical() {
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
            v4 => v4,
        })
    }
}

/// The address (a /64 masked to its network), e.g. for a Redis key.
impl std::fmt::Display for AddressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(list: &[&str]) -> Vec<ProxyRange> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_and_single_addresses_parse_and_garbage_is_refused() {
        let r: ProxyRange = "10.1.2.3/8".parse().unwrap();
        assert_eq!(r.to_string(), "10.0.0.0/8");
        assert!(r.contains(&ip("10.200.0.1")));
        assert!(r.contains(&ip("::ffff:10.1.1.1")));
        assert!(!r.contains(&ip("11.0.0.1")));
        let one: ProxyRange = " 127.0.0.1 ".parse().unwrap();
        assert!(one.contains(&ip("127.0.0.1")));
        assert!(!one.contains(&ip("127.0.0.2")));
        let v6: ProxyRange = "fd00::/8".parse().unwrap();
        assert!(v6.contains(&ip("fd12:3456::1")));
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
        assert!(err.contains("\"nope\""), "{err}");
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_peer() {
        let proxies = ranges(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(ip("192.0.2.9"), &["203.0.113.5"], &proxies),
            ip("192.0.2.9")
        );
    }

    #[test]
    fn every_trusted_hop_is_skipped_right_to_left() {
        let proxies = ranges(&["10.0.0.0/8", "fd00::/8"]);
        let client = |forwarded: &[&str]| client_address(ip("10.0.0.1"), forwarded, &proxies);
        // The client spoofs 198.51.100.1; the real client is 203.0.113.5,
        // behind two trusted proxies (ingress pod, balancer).
        assert_eq!(
            client(&["198.51.100.1, 203.0.113.5, 10.3.3.3", "fd00::7"]),
            ip("203.0.113.5")
        );
        assert_eq!(client(&["10.9.9.9, 10.8.8.8"]), ip("10.9.9.9"));
        assert_eq!(client(&[]), ip("10.0.0.1"));
        assert_eq!(
            client(&["203.0.113.5:4711, [2001:db8::1]:80"]),
            ip("2001:db8::1")
        );
        assert_eq!(
            client(&["203.0.113.5, not-an-ip, 10.1.1.1"]),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let proxies = ranges(&["127.0.0.1"]);
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), &["203.0.113.5"], &proxies),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_ipv4_per_address() {
        let key = |s: &str| AddressKey::from(ip(s));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2::"));
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            key("2001:db8:1:2::9")
        );
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:203.0.113.5"), key("203.0.113.5"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }
}
