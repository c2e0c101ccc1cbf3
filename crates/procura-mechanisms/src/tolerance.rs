//! Numerical tolerances of the mechanisms, in one place for this crate:
//! every tolerance, stopping rule and margin that the mechanisms or their
//! tests compare against is defined here and nowhere else.
//!
//! Mechanisms compute in IEEE doubles exactly as the specification's
//! "Numerics" section prescribes. The constants here say how far two correct
//! computations of the same quantity may drift apart, and are what tests and
//! the auditor compare against.

/// Relative agreement required between an outcome and a worked example
/// (`docs/SPECIFICATION.md`, "Worked examples"): payments and amounts to 1e-9.
pub const GOLDEN_RELATIVE: f64 = 1e-9;

/// Relative slack for identities that hold exactly in real arithmetic but may
/// be off by a few units in the last place in doubles. The auctions'
/// own promises (IR and budgets) have a proved bound instead,
/// [`rounding_bound`], checked by [`pays_at_least`] and [`within_budget`].
pub const ROUNDING_RELATIVE: f64 = 1e-12;

/// Whether `actual` is within `relative` of `expected`, measured relative to
/// the larger magnitude (and absolutely when both are below 1).
///
/// ```
/// use procura_mechanisms::tolerance::approx_eq;
/// assert!(approx_eq(1.0 + 1e-12, 1.0, 1e-9));
/// assert!(!approx_eq(1.1, 1.0, 1e-9));
/// assert!(approx_eq(0.0, 1e-12, 1e-9));
/// ```
#[must_use]
pub fn approx_eq(actual: f64, expected: f64, relative: f64) -> bool {
    if actual == expected {
        return true;
    }
    let scale = actual.abs().max(expected.abs()).max(1.0);
    (actual - expected).abs() <= relative * scale
}

/// Whether `value ≤ bound` up to `relative` slack (measured against the
/// bound's magnitude, and absolutely below 1).
///
/// ```
/// use procura_mechanisms::tolerance::at_most;
/// assert!(at_most(1.0 + 1e-14, 1.0, 1e-12));
/// assert!(!at_most(1.01, 1.0, 1e-12));
/// ```
#[must_use]
pub fn at_most(value: f64, bound: f64, relative: f64) -> bool {
    value <= bound + relative * bound.abs().max(1.0)
}

/// The unit roundoff of doubles, 2⁻⁵³: the largest relative error of one
/// rounding to nearest.
const UNIT_ROUNDOFF: f64 = 1.0 / 9_007_199_254_740_992.0;

/// The relative bound ε_n = (8n + 16)·2⁻⁵³ within which the auctions of
/// §A.3–§A.5 keep their promises on an instance with `providers` = n
/// providers, at every magnitude:
///
/// ```text
/// reward_i ≥ b_i·(1 − ε_n)     every winner (cash + tokens; R·τ/Π for MUT)
/// Σ cash   ≤ B·(1 + ε_n)       Σ tokens ≤ R·(1 + ε_n)       Σ τ ≤ Π·(1 + ε_n)
/// ```
///
/// The promises are exact in real arithmetic; ε_n bounds the rounding of
/// the spec's formulas in doubles (about 4n + 3 roundings to first order,
/// doubled to cover every higher-order term). The error analysis, and the
/// decision to compute with an unbounded exponent so that the bound holds
/// below and above the normal range too, are in
/// `procurement/numerics.rs`. The baselines (§A.6) keep theirs exactly.
///
/// ```
/// use procura_mechanisms::tolerance::rounding_bound;
/// assert_eq!(rounding_bound(1), 24.0 * 2f64.powi(-53));
/// ```
#[must_use]
pub fn rounding_bound(providers: usize) -> f64 {
    // Exact in doubles for any n below 2⁴⁹.
    let providers = providers as f64;
    (8.0 * providers + 16.0) * UNIT_ROUNDOFF
}

/// Numbers below this are scaled up by 2²⁰⁰ before a relative comparison,
/// so that no subnormal rounding blurs it.
const TINY: f64 = 1e-240;
/// 2²⁰⁰, exact.
const SCALE_UP: f64 = 1.606_938_044_258_990_3e60;

/// Both numbers scaled by the same power of two (exactly) so that the
/// larger is not tiny: relative comparisons then see every bit.
fn scaled(a: f64, b: f64) -> (f64, f64) {
    if a.abs().max(b.abs()) < TINY {
        (a * SCALE_UP, b * SCALE_UP)
    } else {
        (a, b)
    }
}

/// Whether a winner's `reward` covers its `bid` as the auctions promise
/// (individual rationality): `reward ≥ bid·(1 − ε_n)`, ε_n =
/// [`rounding_bound`]`(providers)`. Purely relative, at every magnitude:
/// a winner bidding 1e-300 and paid 0, or bidding 5e-324 (the smallest
/// double) and paid nothing, fails it.
///
/// ```
/// use procura_mechanisms::tolerance::pays_at_least;
/// assert!(pays_at_least(1.0, 1.0, 1));
/// assert!(pays_at_least(1.0 - 1e-16, 1.0, 1));
/// assert!(!pays_at_least(0.0, 1e-300, 1));
/// assert!(!pays_at_least(0.0, 5e-324, 1));
/// assert!(!pays_at_least(1.0 - 1e-12, 1.0, 1));
/// ```
#[must_use]
pub fn pays_at_least(reward: f64, bid: f64, providers: usize) -> bool {
    let (reward, bid) = scaled(reward, bid);
    reward >= bid * (1.0 - rounding_bound(providers))
}

/// Whether a `total` paid keeps its `budget` as the auctions promise:
/// finite and `total ≤ budget·(1 + ε_n)`, ε_n =
/// [`rounding_bound`]`(providers)`. Purely relative, at every magnitude.
///
/// ```
/// use procura_mechanisms::tolerance::within_budget;
/// assert!(within_budget(0.6, 0.6, 1));
/// assert!(within_budget(0.6 + 1e-16, 0.6, 1));
/// assert!(!within_budget(1.0, 0.6, 1));
/// assert!(!within_budget(1e-300, 1e-301, 1));
/// assert!(!within_budget(f64::INFINITY, f64::MAX, 1));
/// ```
#[must_use]
pub fn within_budget(total: f64, budget: f64, providers: usize) -> bool {
    let (total, budget) = scaled(total, budget);
    total.is_finite() && total <= budget * (1.0 + rounding_bound(providers))
}

/// Relative slack of the spec's "reaching the threshold" rule: a sum of data
/// amounts S reaches T when S ≥ T·(1 − 10⁻⁹). It absorbs the rounding of
/// sums of amounts that equal T in real arithmetic (Part B).
pub const REACH_RELATIVE: f64 = 1e-9;

/// Relative stopping rule of the spec's greedy fill: the fill stops as soon
/// as the remainder is ≤ 10⁻⁹ times the target (Part B).
pub const FILL_RELATIVE: f64 = 1e-9;

/// Agreement required between protocol statistics (success probability,
/// expected payment, participants and data) and a worked example
/// (`docs/SPECIFICATION.md`, "Worked examples"): 1e-6.
pub const PROTOCOL_GOLDEN: f64 = 1e-6;

/// Relative size below which the auditor treats a gain as rounding and not
/// as a profitable deviation: the issue's "gain ≤ 1e-9 relative" for DSIC
/// mechanisms. Measured against the largest truthful utility or reported
/// number of the instance.
pub const GAIN_RELATIVE: f64 = 1e-9;

/// The simultaneous protocol's fixed point (§B.4) stops when no stay
/// probability changes by this much in a round (absolute: probabilities
/// lie in [0, 1]). The round limit is
/// [`FIXED_POINT_ROUNDS`](crate::threshold::protocol::FIXED_POINT_ROUNDS).
pub const FIXED_POINT_TOLERANCE: f64 = 1e-13;

/// The exact sequential protocol solver (§B.4) stops exploring a branch
/// when even the all-stay path falls short of T by more than this relative
/// margin, which is far above the rounding of a sum of at most 20 amounts;
/// closer calls are explored to the leaves.
pub const SEQUENTIAL_DEAD_MARGIN: f64 = 1e-12;
