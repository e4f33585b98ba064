//! Deterministic randomness. Every generator draws from its own ChaCha8 stream seeded from
//! (seed, day index, purpose), so a day's PBX data does not change when, say, the WhatsApp
//! generator is modified, and the same seed always yields byte-identical files.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random generator used everywhere in the simulator.
pub type SimRng = ChaCha8Rng;

/// Stream purpose: the static world (agents, ids).
pub const WORLD: u64 = 1;
/// Stream purpose: calls of a day.
pub const PBX: u64 = 2;
/// Stream purpose: WhatsApp conversations of a day.
pub const WHATSAPP: u64 = 3;
/// Stream purpose: CRM lifecycles.
pub const CRM: u64 = 4;
/// Stream purpose: file-level hazards (names, styles, malformed rows).
pub const HAZARDS: u64 = 5;

/// SplitMix64 finaliser: a fast, well-mixing bijection on u64.
pub fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of two values, order-sensitive.
pub fn hash2(a: u64, b: u64) -> u64 {
    splitmix(a ^ splitmix(b.wrapping_add(0x632B_E59B_D9B4_E019)))
}

/// The random stream for (`seed`, `day`, `purpose`).
pub fn stream(seed: u64, day: i64, purpose: u64) -> SimRng {
    SimRng::seed_from_u64(hash2(hash2(seed, day as u64), purpose))
}

/// True with probability `p` (clamped to [0, 1], so callers may pass computed rates).
pub fn chance<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    rng.random_bool(p.clamp(0.0, 1.0))
}

/// Index drawn with the given integer weights (at least one must be positive).
pub fn weighted<R: Rng + ?Sized>(rng: &mut R, weights: &[u32]) -> usize {
    let total: u64 = weights.iter().map(|&w| w as u64).sum();
    if total == 0 {
        return 0;
    }
    let mut x = rng.random_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        if x < w as u64 {
            return i;
        }
        x -= w as u64;
    }
    weights.len() - 1
}

/// Exponentially distributed integer with the given mean, clamped to `[min, max]`.
pub fn exp_secs<R: Rng + ?Sized>(rng: &mut R, mean: f64, min: i64, max: i64) -> i64 {
    let u: f64 = rng.random::<f64>();
    let v = (-mean * (1.0 - u).ln()) as i64;
    v.clamp(min, max.max(min))
}

/// Uniform pick from a non-empty slice of `Copy` values.
pub fn pick<R: Rng + ?Sized, T: Copy>(rng: &mut R, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}
