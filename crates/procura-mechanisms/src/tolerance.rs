//! Numerical tolerances of the mechanisms, in one place for this crate:
//! every tolerance, stopping rule and margin that the mechanisms or their
//! tests compare against is defined here and nowhere else.
//!
//! Mechanisms compute in IEEE doubles exactly as the specification's
//! "Numerics" section prescribes. The constants here say how far two correct
//! computations of the same quantity may drift apart, and are what tests and
//! the auditor compare against.

/// Relative agreement required between an outcome and a worked example
/// (`shared/spec/examples/README.md`): payments and amounts to 1e-9.
pub const GOLDEN_RELATIVE: f64 = 1e-9;

/// Relative slack for identities that hold exactly in real arithmetic but may
/// be off by a few units in the last place in doubles, such as
/// `Σ θ_i ≤ B` when the budget is exactly exhausted.
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

/// Relative slack of the spec's "reaching the threshold" rule: a sum of data
/// amounts S reaches T when S ≥ T·(1 − 10⁻⁹). It absorbs the rounding of
/// sums of amounts that equal T in real arithmetic (Part B).
pub const REACH_RELATIVE: f64 = 1e-9;

/// Relative stopping rule of the spec's greedy fill: the fill stops as soon
/// as the remainder is ≤ 10⁻⁹ times the target (Part B).
pub const FILL_RELATIVE: f64 = 1e-9;

/// Agreement required between protocol statistics (success probability,
/// expected payment, participants and data) and a worked example
/// (`shared/spec/examples/README.md`): 1e-6.
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
