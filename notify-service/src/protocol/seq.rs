//! `seq` of a personal message: the id Redis gave its entry in the user's
//! history stream (`<unix ms>-<n>`). Ordered like the stream, so "the last
//! seq seen" is all a client needs to `resume`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq {
    pub ms: u64,
    pub n: u64,
}

impl Seq {
    /// Parses `<ms>-<n>`; nothing else (no `*`, no bare number, no spaces).
    pub fn parse(raw: &str) -> Option<Self> {
        let (ms, n) = raw.split_once('-')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(n) {
            return None;
        }
        Some(Self {
            ms: ms.parse().ok()?,
            n: n.parse().ok()?,
        })
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.n)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn stream_ids_parse_and_order_like_redis() {
        let a = Seq::parse("1731000000000-0").unwrap();
        let b = Seq::parse("1731000000000-1").unwrap();
        let c = Seq::parse("1731000000001-0").unwrap();
        assert!(a < b && b < c);
        assert_eq!(a.to_string(), "1731000000000-0");
        for bad in [
            "", "-", "12", "12-", "-3", "1-2-3", "a-1", "1- 2", "+1-2", "*",
        ] {
            assert_eq!(Seq::parse(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(ms in any::<u64>(), n in any::<u64>()) {
            let seq = Seq { ms, n };
            prop_assert_eq!(Seq::parse(&seq.to_string()), Some(seq));
        }

        #[test]
        fn parse_never_panics(raw in ".{0,40}") {
            let _ = Seq::parse(&raw);
        }
    }
}
