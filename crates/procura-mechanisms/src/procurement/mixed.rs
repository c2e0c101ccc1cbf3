//! Mixed-MIA: Q-MIA paid partly in cash and partly in tokens (spec §A.5).
//! **Reconstruction:** the source paper is known only by its abstract, and
//! this is the project's reading of it.
//!
//! **Assumption:** providers value tokens at face value. Under it, Mixed-MIA
//! is DSIC, IR and keeps cash ≤ B and tokens ≤ R. λ = 1 is Q-MIA; λ = 0 is
//! an all-token mechanism with critical-value amounts, which (unlike MUT's
//! pro-rata shares) is DSIC.

use super::instance::Instance;
use super::numerics::{Arith, FastRange, Wide};
use super::outcome::{Award, Outcome};
use super::qmia::critical_value_auction;
use super::Auction;

/// The effective budget of §A.5, where a division by zero reads +∞:
///
/// ```text
/// B_eff = min( B / λ, R / (1 − λ) )
/// ```
///
/// The explicit cases matter when R = 0 and λ = 1: IEEE would give 0/0 = NaN.
#[must_use]
pub fn effective_budget(instance: &Instance) -> f64 {
    let liquidity = instance.liquidity();
    let cash_bound = if liquidity == 0.0 {
        f64::INFINITY
    } else {
        instance.budget() / liquidity
    };
    let token_bound = if liquidity == 1.0 {
        f64::INFINITY
    } else {
        instance.token_budget() / (1.0 - liquidity)
    };
    cash_bound.min(token_bound)
}

/// Clears `instance` with Mixed-MIA (§A.5): Q-MIA's allocation and critical
/// values θ_i at budget B_eff, each winner paid
///
/// ```text
/// cash_i   = λ · θ_i
/// tokens_i = (1 − λ) · θ_i        (cash-equivalent units)
/// ```
#[must_use]
pub fn clear(instance: &Instance) -> Outcome {
    if FastRange::instance(instance) {
        clear_in::<f64>(instance)
    } else {
        clear_in::<Wide>(instance)
    }
}

/// [`clear`] in the arithmetic `N` (see `numerics.rs`: the same bits in
/// both wherever `f64` is used).
pub(super) fn clear_in<N: Arith>(instance: &Instance) -> Outcome {
    let awards = critical_value_auction::<N>(instance, effective_budget(instance))
        .into_iter()
        .map(|(provider, theta)| award(instance, provider, theta))
        .collect();
    Outcome::new(Auction::Mixed, instance, awards)
}

/// What a Mixed-MIA winner with critical value θ_i receives (§A.5):
///
/// ```text
/// cash_i   = λ · θ_i
/// tokens_i = (1 − λ) · θ_i        (cash-equivalent units)
/// ```
///
/// Both from the unrounded θ_i, in [`Wide`], each rounded once as an
/// amount: exactly, wherever it is at least 2⁻¹⁰²² (the normal range, bit
/// for bit the double formulas). Below it (see `numerics.rs`), cash rounds
/// up; tokens round **down**, and what that takes off them is paid in cash:
///
/// ```text
/// tokens_i = ⌊(1 − λ)·θ_i⌋                     (to the subnormals below)
/// cash_i   = ⌈λ·θ_i + ((1 − λ)·θ_i − tokens_i)⌉
/// ```
///
/// so that a token budget R below the normal range is kept as exactly as
/// any other, and cash_i + tokens_i still covers θ_i; the cash budget,
/// never below 2⁻¹⁰²², absorbs the rounding.
pub(crate) fn award<N: Arith>(instance: &Instance, provider: usize, theta: N) -> Award {
    let liquidity = instance.liquidity();
    let cash = N::of(liquidity).mul(theta);
    let tokens = N::of(1.0 - liquidity).mul(theta);
    if tokens.is_below_normal() {
        let rounded = tokens.to_amount_down();
        // Exact: the bits of `tokens` below the smallest subnormal.
        let shortfall = tokens.sub(N::of(rounded));
        Award {
            provider,
            cash: cash.add(shortfall).to_amount(),
            tokens: rounded,
        }
    } else {
        Award {
            provider,
            cash: cash.to_amount(),
            tokens: tokens.to_amount(),
        }
    }
}
