//! Who each socket of the crowd is: signed in or anonymous, which loopback
//! address it connects from, and which household (a synthetic client
//! address in `X-Forwarded-For`) an anonymous one belongs to.

use std::net::{IpAddr, Ipv4Addr};

/// Anonymous sockets per synthetic client address: a household's devices
/// and tabs behind one NAT, half notify-service's default per-address
/// budget for sockets without a token (16).
pub const HOUSEHOLD: usize = 8;

/// The share as parts per million: whole numbers, so "signed in before
/// socket i" adds up exactly to the total, whatever the share.
const PARTS: u64 = 1_000_000;

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    signed_in_ppm: u64,
    source_addresses: usize,
    /// Addresses skipped before this crowd's first: several processes
    /// sharing a sale (`scripts/bench crowd-spread`) each take a range of
    /// their own, since a bound source address's ephemeral ports are shared
    /// by every process connecting from it.
    source_offset: usize,
}

/// One socket's part in the crowd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Uses the n-th signed-in user.
    SignedIn(usize),
    /// Anonymous, forwarded for this client address.
    Anonymous(Ipv4Addr),
}

impl Plan {
    /// `signed_in_share` of the sockets signed in (0 to 1), connecting from
    /// 127.0.0.2 … 127.0.0.(K+1) for K `source_addresses` (1 to 253).
    pub fn new(signed_in_share: f64, source_addresses: usize) -> anyhow::Result<Self> {
        Self::with_offset(signed_in_share, source_addresses, 0)
    }

    /// As `new`, the range starting `source_offset` addresses later:
    /// 127.0.0.(2+O) … 127.0.0.(K+1+O), within 127.0.0.254.
    pub fn with_offset(
        signed_in_share: f64,
        source_addresses: usize,
        source_offset: usize,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&signed_in_share),
            "--signed-in-share must be between 0 and 1, not {signed_in_share}"
        );
        anyhow::ensure!(
            (1..=253).contains(&source_addresses),
            "--source-addresses must be between 1 and 253 (127.0.0.2 … 127.0.0.254), not {source_addresses}"
        );
        anyhow::ensure!(
            source_offset <= 253 - source_addresses,
            "--source-offset {source_offset} with {source_addresses} --source-addresses ends past 127.0.0.254"
        );
        Ok(Self {
            // In range, so the cast neither truncates nor wraps.
            signed_in_ppm: (signed_in_share * PARTS as f64).round() as u64,
            source_addresses,
            source_offset,
        })
    }

    /// Signed-in sockets among the first `n`. Socket i is signed in when
    /// this grows at i: they are spread evenly through the crowd (and so
    /// over the source addresses), not all first.
    pub fn signed_in_before(&self, n: usize) -> usize {
        let n = n as u64;
        // n < 2^44 for any crowd that fits in memory: no overflow.
        usize::try_from(n * self.signed_in_ppm / PARTS).unwrap_or(usize::MAX)
    }

    pub fn role(&self, i: usize) -> Role {
        let before = self.signed_in_before(i);
        if self.signed_in_before(i + 1) > before {
            Role::SignedIn(before)
        } else {
            Role::Anonymous(household(i - before))
        }
    }

    pub fn source_addresses(&self) -> usize {
        self.source_addresses
    }

    pub fn source_offset(&self) -> usize {
        self.source_offset
    }

    /// The loopback address socket i connects from, taking turns.
    pub fn source(&self, i: usize) -> IpAddr {
        let host = 2 + self.source_offset + i % self.source_addresses;
        // source_offset + source_addresses <= 253, so host <= 254.
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, host as u8))
    }
}

/// The client address of the j-th anonymous socket: 10.0.0.1 for the first
/// household, 10.0.0.2 for the next, … (2^24 - 1 households fit in 10/8).
fn household(j: usize) -> Ipv4Addr {
    let number = u32::try_from(j / HOUSEHOLD + 1).unwrap_or(u32::MAX) & 0x00ff_ffff;
    Ipv4Addr::from(0x0a00_0000 | number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_in_sockets_are_the_share_and_spread_evenly() {
        let plan = Plan::new(0.2, 8).expect("valid");
        let roles: Vec<Role> = (0..100).map(|i| plan.role(i)).collect();
        let signed: Vec<usize> = roles
            .iter()
            .filter_map(|r| match r {
                Role::SignedIn(n) => Some(*n),
                Role::Anonymous(_) => None,
            })
            .collect();
        assert_eq!(signed, (0..20).collect::<Vec<_>>(), "each user once");
        assert_eq!(plan.signed_in_before(100), 20);
        assert!(matches!(roles[4], Role::SignedIn(0)), "{:?}", &roles[..5]);
        assert!(matches!(roles[9], Role::SignedIn(1)));
        // An odd share still adds up.
        let odd = Plan::new(0.29, 1).expect("valid");
        let n = (0..100)
            .filter(|i| matches!(odd.role(*i), Role::SignedIn(_)))
            .count();
        assert_eq!(n, odd.signed_in_before(100));
        assert_eq!(n, 29);
    }

    #[test]
    fn anonymous_sockets_come_in_households_of_eight() {
        let plan = Plan::new(0.0, 8).expect("valid");
        let address = |i| match plan.role(i) {
            Role::Anonymous(a) => a,
            Role::SignedIn(_) => panic!("nobody is signed in"),
        };
        assert_eq!(address(0), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(address(7), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(address(8), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(address(8 * 256), Ipv4Addr::new(10, 0, 1, 1));
    }

    #[test]
    fn sources_take_turns_and_bad_plans_are_refused() {
        let plan = Plan::new(1.0, 3).expect("valid");
        let sources: Vec<IpAddr> = (0..4).map(|i| plan.source(i)).collect();
        let expected: Vec<IpAddr> = [2, 3, 4, 2]
            .map(|h| IpAddr::V4(Ipv4Addr::new(127, 0, 0, h)))
            .to_vec();
        assert_eq!(sources, expected);
        assert!(matches!(plan.role(0), Role::SignedIn(0)));
        assert!(Plan::new(1.5, 8).is_err());
        assert!(Plan::new(0.2, 0).is_err());
        assert!(Plan::new(0.2, 254).is_err());
    }

    #[test]
    fn an_offset_moves_the_whole_range_and_stays_on_loopback() {
        let plan = Plan::with_offset(0.2, 8, 16).expect("valid");
        let hosts: Vec<IpAddr> = (0..9).map(|i| plan.source(i)).collect();
        assert_eq!(hosts[0], IpAddr::V4(Ipv4Addr::new(127, 0, 0, 18)));
        assert_eq!(hosts[7], IpAddr::V4(Ipv4Addr::new(127, 0, 0, 25)));
        assert_eq!(hosts[8], hosts[0], "takes turns within its own range");
        let last = Plan::with_offset(0.2, 3, 250).expect("ends at .254");
        assert_eq!(last.source(2), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 254)));
        assert!(Plan::with_offset(0.2, 3, 251).is_err());
        assert!(Plan::with_offset(0.2, 253, 1).is_err());
    }
}
