//! Coupon codes: `<PREFIX>-XXXXXXXX`, 8 characters from a CSPRNG over an
//! alphabet without look-alikes (no 0/O, 1/I/L): 31^8 ≈ 2^39.6 codes.

use rand::RngExt;

const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const LEN: usize = 8;

/// A fresh random code for an event's prefix. Uniqueness is enforced by the
/// database (`UNIQUE(code)`); a collision is retried by the batch writer.
pub fn new_code(prefix: &str) -> String {
    // ThreadRng is a CSPRNG (ChaCha, reseeded from the OS).
    let mut rng = rand::rng();
    let mut code = String::with_capacity(prefix.len() + 1 + LEN);
    code.push_str(prefix);
    code.push('-');
    for _ in 0..LEN {
        code.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_the_prefix_and_only_unambiguous_symbols() {
        for _ in 0..1000 {
            let code = new_code("WELCOME");
            let (prefix, body) = code.split_once('-').unwrap();
            assert_eq!(prefix, "WELCOME");
            assert_eq!(body.len(), LEN);
            assert!(body.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            assert!(!body.contains(['0', 'O', '1', 'I', 'L']));
        }
    }

    #[test]
    fn codes_do_not_repeat_in_practice() {
        let codes: std::collections::HashSet<_> = (0..10_000).map(|_| new_code("X")).collect();
        assert_eq!(codes.len(), 10_000);
    }
}
