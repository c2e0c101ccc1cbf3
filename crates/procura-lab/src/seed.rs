//! Seed derivation: how the lab turns one master seed into the seeds of
//! experiment cells and of per-instance audits.
//!
//! Both derivations are built from one primitive, [`weyl`], the state
//! sequence of SplitMix64 (Steele, Lea and Flood, "Fast splittable
//! pseudorandom number generators", OOPSLA 2014):
//!
//! ```text
//! weyl(state, k) = state + k·γ  (mod 2⁶⁴),   γ = 0x9E37_79B9_7F4A_7C15
//! splitmix64(z)  = finalize(weyl(z, 1))      (its first output from state z)
//! ```
//!
//! [`cell_seed`] mixes the cell index through [`splitmix64`] twice, so that
//! neighbouring cells draw unrelated ChaCha8 streams. [`instance_seed`]
//! is only the Weyl step, without the finalizer: it predates the
//! experiments, and every population audit (`procura audit --population`)
//! and every audited experiment record depends on its exact bits, so it is
//! kept as it is. The weaker mixing is harmless there: the seed only keys
//! a ChaCha8 stream, which hashes it, and distinct indices give distinct
//! seeds (γ is odd, so k ↦ k·γ is a bijection).

/// SplitMix64's increment γ, the odd integer nearest 2⁶⁴/φ.
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Step `k` of SplitMix64's Weyl sequence from `state`:
///
/// ```text
/// weyl(state, k) = state + k·γ  (mod 2⁶⁴)
/// ```
///
/// ```
/// use procura_lab::seed::{weyl, GAMMA};
/// assert_eq!(weyl(5, 0), 5);
/// assert_eq!(weyl(0, 2), GAMMA.wrapping_mul(2));
/// ```
#[must_use]
pub fn weyl(state: u64, k: u64) -> u64 {
    state.wrapping_add(k.wrapping_mul(GAMMA))
}

/// SplitMix64's output function (Stafford's "Mix13" variant of
/// MurmurHash3's finalizer): a bijection of u64 whose every output bit
/// depends on every input bit.
///
/// ```text
/// z ← (z ⊕ (z ≫ 30)) · 0xBF58_476D_1CE4_E5B9
/// z ← (z ⊕ (z ≫ 27)) · 0x94D0_49BB_1331_11EB
/// z ← z ⊕ (z ≫ 31)
/// ```
#[must_use]
pub fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The first output of SplitMix64 started from state `z`:
/// `finalize(weyl(z, 1))`.
///
/// ```
/// // The first output of SplitMix64 seeded with 0 (the reference
/// // implementation's test vector).
/// assert_eq!(procura_lab::seed::splitmix64(0), 0xE220_A839_7B1D_CDAF);
/// ```
#[must_use]
pub fn splitmix64(z: u64) -> u64 {
    finalize(weyl(z, 1))
}

/// The seed of cell `cell` of an experiment with master seed `seed`:
///
/// ```text
/// cell_seed(seed, cell) = splitmix64(seed ⊕ splitmix64(cell))
/// ```
///
/// Replicate r of the cell draws from ChaCha8 seeded with it, on stream r.
#[must_use]
pub fn cell_seed(seed: u64, cell: u64) -> u64 {
    splitmix64(seed ^ splitmix64(cell))
}

/// The seed of instance `index`'s audit (its participant and coalition
/// samples), mixed from the audit's seed `seed`:
///
/// ```text
/// instance_seed(seed, index) = seed ⊕ weyl(0, index + 1)
/// ```
///
/// The Weyl step alone, without [`finalize`]: see the module
/// documentation for why it is kept so.
#[must_use]
pub fn instance_seed(seed: u64, index: u64) -> u64 {
    seed ^ weyl(0, index.wrapping_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mixers as they were written before they shared [`weyl`]: the
    /// derived seeds must not change a bit.
    fn old_cell_seed(seed: u64, cell: u64) -> u64 {
        fn mix(mut z: u64) -> u64 {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        mix(seed ^ mix(cell))
    }

    fn old_instance_seed(seed: u64, index: u64) -> u64 {
        seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn derived_seeds_are_the_historical_ones() {
        let values = [0, 1, 2, 7, 42, 20_260_507, u64::MAX - 1, u64::MAX];
        for seed in values {
            for index in values {
                assert_eq!(cell_seed(seed, index), old_cell_seed(seed, index));
                assert_eq!(instance_seed(seed, index), old_instance_seed(seed, index));
            }
        }
    }
}
