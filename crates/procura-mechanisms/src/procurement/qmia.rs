//! Q-MIA, the quality-weighted marginal-incentive auction (spec §A.3).
//!
//! Providers are ranked by ratio r_i = b_i / (q_i·μ_i), the budget is
//! shared by proportional share, and each winner is paid its Myerson
//! critical value. Q-MIA is DSIC in the bid, individually rational and
//! budget-feasible.

use super::instance::Instance;
use super::numerics::{Arith, FastRange, Wide};
use super::outcome::{Award, Outcome};
use super::ranking::{select_proportional_share, Ranked, Selection};
use super::Auction;

/// Clears `instance` with Q-MIA (§A.3): proportional-share allocation with
/// budget B, every winner paid its critical value in cash.
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
    let awards = critical_value_auction::<N>(instance, instance.budget())
        .into_iter()
        .map(|(provider, theta)| award(provider, theta))
        .collect();
    Outcome::new(Auction::Qmia, instance, awards)
}

/// What a Q-MIA winner receives (§A.3): its critical value θ_i, in cash
/// (an amount: exact, or rounded up below the normal range; see
/// `numerics.rs`).
pub(crate) fn award<N: Arith>(provider: usize, theta: N) -> Award {
    Award {
        provider,
        cash: theta.to_amount(),
        tokens: 0.0,
    }
}

/// Q-MIA's allocation and payments at an arbitrary `budget`: the winners in
/// allocation order, each with its critical value θ_i (unrounded, in
/// [`Wide`]). Mixed-MIA (§A.5) reuses it with its effective budget.
pub(crate) fn critical_value_auction<N: Arith>(
    instance: &Instance,
    budget: f64,
) -> Vec<(usize, N)> {
    let Selection {
        ranking,
        score_sums,
        n_winners,
    } = select_proportional_share(instance, budget);
    (0..n_winners)
        .map(|position| {
            let index = ranking[position].index;
            let theta = winner_critical_value(instance, &ranking, &score_sums, budget, position);
            (index, theta)
        })
        .collect()
}

/// The critical value of the winner at `position` of the full `ranking`,
/// by [`critical_value`] with the others read off the full ranking without
/// copying it: for m < p (p = the winner's position, 0-based),
/// r'_m = r_(m) and W'_m + w_i = W_m + w_i exactly as the allocation sums
/// it; for m ≥ p, r'_m = r_(m+1), and W'_m + w_i is taken as the score of
/// the first m + 1 ranked providers, W_{m+1}. That is the same set of
/// scores summed in ranking order rather than with w_i last, so it can
/// differ from the spec's W'_m + w_i in the last bits (a payment can move
/// by an ulp); summing the others afresh would cost O(n) per winner, and
/// subtracting w_i from W_{m+1} would cancel catastrophically when w_i
/// dominates. O(log n) per winner, O(n log n) with the sort for all
/// winners together.
fn winner_critical_value<N: Arith>(
    instance: &Instance,
    ranking: &[Ranked<N>],
    score_sums: &[f64],
    budget: f64,
    position: usize,
) -> N {
    let score = instance.providers()[ranking[position].index].score();
    critical_value(
        score,
        ranking.len() - 1,
        budget,
        |m| {
            if m <= position {
                ranking[m - 1].key
            } else {
                ranking[m].key
            }
        },
        |m| {
            if m < position {
                score_sums[m] + score
            } else {
                score_sums[m + 1]
            }
        },
    )
}

/// The critical value of a provider with score w_i = `score` among
/// `n_others` other eligible providers (§A.3): the supremum of the bids
/// with which it still wins, the others fixed.
///
/// ```text
/// θ_i = w_i · min( r'_{m*+1}, B / (W'_{m*} + w_i) )
/// m*  = max { m ≥ 0 : r'_m ≤ B / (W'_m + w_i) },   r'_0 = 0,
///       r'_m = +∞ past the last other provider
/// ```
///
/// r'_m and W'_m are the ratios and running scores of the *other* eligible
/// providers, in ranking order: `other_ratio(m)` is r'_m for
/// 1 ≤ m ≤ `n_others`, and `total_with(m)` is W'_m + w_i for
/// 0 ≤ m ≤ `n_others`. Q-MIA's payments read them off the full ranking
/// ([`critical_value_auction`]); the unilateral view
/// ([`super::UnilateralView`]) off the others' ranking, with W'_m summed
/// over the others only. The predicate is monotone in m (r' rises, B/W
/// falls), so m* is found by binary search: O(log n).
///
/// Every quotient and product is taken in [`Wide`], so B/(W'+w_i) neither
/// overflows (a huge budget against tiny scores) nor underflows (a tiny
/// budget against huge ones), and θ is the spec's form at every magnitude:
/// the double formula, bit for bit, wherever that stays in the normal range
/// (see `numerics.rs`).
pub(crate) fn critical_value<N: Arith>(
    score: f64,
    n_others: usize,
    budget: f64,
    other_ratio: impl Fn(usize) -> N,
    total_with: impl Fn(usize) -> f64,
) -> N {
    let share = |m: usize| N::quotient(budget, total_with(m));
    let m_star = m_star(n_others, |m| other_ratio(m) <= share(m));
    let bound = share(m_star);
    // r'_{m*+1} is +∞ past the last other provider.
    let next = if m_star < n_others {
        other_ratio(m_star + 1).min(bound)
    } else {
        bound
    };
    N::of(score).mul(next)
}

/// m* of §A.3: the largest m in 0..=n_others for which `holds(m)`, i.e.
/// r'_m ≤ B / (W'_m + w_i). The predicate holds on a prefix (r' rises, B/W
/// falls), m = 0 always holds (r'_0 = 0), and m = n_others + 1 never does
/// (r' = +∞ there), so a binary search finds it; `holds` is called only for
/// 1 ≤ m ≤ n_others.
fn m_star(n_others: usize, holds: impl Fn(usize) -> bool) -> usize {
    // Invariant: holds(low), and !holds(high).
    let (mut low, mut high) = (0, n_others + 1);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if holds(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
    low
}
