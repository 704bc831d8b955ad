//! The seeded ranking (its rule and check: `contract::admission`) and the
//! seed itself, which only coupon-service makes.

pub use contract::admission::{
    commitment, entrants_digest, hex, rank_key, ranked, ranked_with, unhex,
};
use rand::RngExt;

/// A fresh seed: 32 bytes from the operating system's generator.
pub fn new_seed() -> [u8; 32] {
    rand::rng().random()
}
