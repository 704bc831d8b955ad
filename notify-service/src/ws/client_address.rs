//! Who opened a socket, for the per-address limits: the TCP peer, or — only
//! when the peer is a trusted proxy (the gateway in front) — the nearest
//! untrusted hop of `X-Forwarded-For`. Anyone can write that header, so it
//! is believed only from peers named in `websocket.trusted_proxies`.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// Addresses and CIDR ranges whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Each entry an address (`10.0.0.7`, `::1`) or a range (`10.0.0.0/8`);
    /// the first entry that is neither is returned as the error.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| entry.to_owned())
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For`
    /// values (each a comma-separated list, nearest hop last). Hops that do
    /// not parse are skipped; when every hop is trusted, the farthest one
    /// stands for the client.
    pub fn client<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = forwarded
            .flat_map(|value| value.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .map(|ip| ip.to_canonical())
            .collect();
        hops.iter()
            .rev()
            .find(|ip| !self.contains(**ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer)
    }
}

/// What per-address limits count by: an IPv4 address, or an IPv6 /64 (one
/// subscriber line usually holds a whole /64, so counting single IPv6
/// addresses would let one client pass as millions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> Self {
        Self(match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
            v4 => v4,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(entries: &[&str]) -> TrustedProxies {
        let entries: Vec<String> = entries.iter().map(|s| (*s).to_owned()).collect();
        TrustedProxies::parse(&entries).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_cidr_ranges_parse_and_garbage_is_named() {
        let t = trusted(&["127.0.0.1", "10.0.0.0/8", "fd00::/8", " ::1 "]);
        assert!(t.contains(ip("127.0.0.1")));
        assert!(t.contains(ip("10.200.3.4")));
        assert!(t.contains(ip("fd12::9")));
        assert!(t.contains(ip("::1")));
        assert!(t.contains(ip("::ffff:10.1.1.1")));
        assert!(!t.contains(ip("11.0.0.1")));
        assert!(!t.contains(ip("127.0.0.2")));
        let bad = ["10.0.0.0/33".to_owned()];
        assert_eq!(TrustedProxies::parse(&bad).unwrap_err(), "10.0.0.0/33");
        let bad = ["localhost".to_owned()];
        assert!(TrustedProxies::parse(&bad).is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let t = trusted(&["10.0.0.0/8"]);
        let client = |peer: &str, xff: &[&str]| t.client(ip(peer), xff.iter().copied());
        // An untrusted peer is the client, whatever it claims.
        assert_eq!(client("192.0.2.9", &["203.0.113.5"]), ip("192.0.2.9"));
        // From the gateway: the nearest untrusted hop, not a spoofed first one.
        assert_eq!(
            client("10.0.0.1", &["198.51.100.1, 203.0.113.5"]),
            ip("203.0.113.5")
        );
        assert_eq!(
            client("10.0.0.1", &["198.51.100.1", "203.0.113.5, 10.0.0.2"]),
            ip("203.0.113.5")
        );
        // Garbage hops are skipped; no header at all: the peer.
        assert_eq!(
            client("10.0.0.1", &["203.0.113.5, junk"]),
            ip("203.0.113.5")
        );
        assert_eq!(client("10.0.0.1", &[]), ip("10.0.0.1"));
        // Every hop trusted: the farthest.
        assert_eq!(client("10.0.0.1", &["10.9.9.9, 10.0.0.2"]), ip("10.9.9.9"));
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = AddressKey::from(ip("2001:db8:1:2:aaaa::1"));
        let b = AddressKey::from(ip("2001:db8:1:2:bbbb::2"));
        let c = AddressKey::from(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            AddressKey::from(ip("::ffff:192.0.2.1")),
            AddressKey::from(ip("192.0.2.1"))
        );
        assert_ne!(
            AddressKey::from(ip("192.0.2.1")),
            AddressKey::from(ip("192.0.2.2"))
        );
    }
}
