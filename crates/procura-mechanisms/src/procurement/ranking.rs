//! The steps that several auctions share, each written once: the ranking
//! order with the id tie-break, running sums, the proportional-share test
//! and admission (§A.3), and the pay-as-bid test and fill (§A.6).
//!
//! The mechanisms' `clear` functions and the fast unilateral view
//! ([`super::UnilateralView`]) are both built from these functions, so the
//! auditor's screen cannot drift from the rules it screens.

use std::cmp::Ordering;

use super::instance::{Instance, Provider};
use super::numerics::Arith;
#[cfg(doc)]
use super::numerics::Wide;

/// A provider's place in a ranking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranked<N> {
    /// Index into [`Instance::providers`].
    pub index: usize,
    /// The key it was ranked by (a ratio: bid per unit of weight), with an
    /// unbounded exponent ([`Wide`]): the spec's double wherever that is
    /// normal. In `f64` where [`super::numerics::FastRange`] holds: the
    /// same bits.
    pub key: N,
}

/// The key of a bid against a positive weight: b / weight, computed as the
/// spec writes it, in [`Wide`] so that it neither underflows nor overflows.
pub(crate) fn key<N: Arith>(bid: f64, weight: f64) -> N {
    N::quotient(bid, weight)
}

/// The order of every ranking (spec "Numerics"): ascending key, ties broken
/// by id in byte order. Keys are compared as numbers, never
/// cross-multiplied; they are never NaN (a finite, non-negative bid divided
/// by a positive weight), so this is a total order on them. Ids are looked
/// up only for equal keys: on large markets they are a cache miss each.
pub(crate) fn rank_order<N: Arith>(providers: &[Provider], a: Ranked<N>, b: Ranked<N>) -> Ordering {
    a.key
        .partial_cmp(&b.key)
        .unwrap_or(Ordering::Equal)
        .then_with(|| providers[a.index].id().cmp(providers[b.index].id()))
}

/// The eligible providers (those for which `key` is `Some`) in
/// [`rank_order`].
pub(crate) fn rank_by<N: Arith>(
    instance: &Instance,
    key: impl Fn(&Provider) -> Option<N>,
) -> Vec<Ranked<N>> {
    let providers = instance.providers();
    let mut ranking: Vec<Ranked<N>> = providers
        .iter()
        .enumerate()
        .filter_map(|(index, provider)| key(provider).map(|key| Ranked { index, key }))
        .collect();
    ranking.sort_unstable_by(|&a, &b| rank_order(providers, a, b));
    ranking
}

/// The ranking of §A.3: providers with w_i > 0 by ratio r_i = b_i / w_i.
pub(crate) fn rank_by_ratio<N: Arith>(instance: &Instance) -> Vec<Ranked<N>> {
    rank_by(instance, |provider| {
        let score = provider.score();
        (score > 0.0).then(|| key(provider.bid(), score))
    })
}

/// Where provider `index` would fall in `ranking` with key `key`: the
/// number of ranked providers ahead of it in [`rank_order`]. A binary
/// search, O(log n); `ranking` must not hold `index` itself.
pub(crate) fn place<N: Arith>(
    instance: &Instance,
    ranking: &[Ranked<N>],
    index: usize,
    key: N,
) -> usize {
    let providers = instance.providers();
    let me = Ranked { index, key };
    ranking.partition_point(|&other| rank_order(providers, other, me) == Ordering::Less)
}

/// Running sums of `value` over `ranking`: `sums[j]` is the sum over the
/// first j ranked providers (so `sums[0] = 0`), a left fold in ranking
/// order. The running scores W_j of §A.3 and the running bids of §A.6 are
/// both taken from here, so every user of a sum sees the same bits.
pub(crate) fn prefix_sums<N>(
    instance: &Instance,
    ranking: &[Ranked<N>],
    value: impl Fn(&Provider) -> f64,
) -> Vec<f64> {
    let providers = instance.providers();
    let mut sums = Vec::with_capacity(ranking.len() + 1);
    let mut running = 0.0;
    sums.push(running);
    for ranked in ranking {
        running += value(&providers[ranked.index]);
        sums.push(running);
    }
    sums
}

/// The proportional share (§A.3, Singer 2010) of a provider with score
/// `score` when the scores admitted up to and including it total `total`:
///
/// ```text
/// (B · w) / W
/// ```
///
/// computed in that form (the product first), in [`Wide`]: a product B·w
/// below the normal range keeps its bits (see `numerics.rs`).
pub(crate) fn proportional_share<N: Arith>(budget: f64, score: f64, total: f64) -> N {
    N::product_over(budget, score, total)
}

/// The proportional-share test of §A.3: a provider passes when its bid is
/// at most its share,
///
/// ```text
/// b ≤ (B · w) / W
/// ```
pub(crate) fn within_share<N: Arith>(bid: f64, score: f64, budget: f64, total: f64) -> bool {
    N::of(bid) <= proportional_share::<N>(budget, score, total)
}

/// Proportional-share admission (§A.3): walks `ranking` from a running
/// score `total`, adding each provider's score and admitting it while it
/// passes [`within_share`]; the condition holds on a prefix, so the walk
/// stops at the first failure. Returns the number admitted and the score
/// total of everything admitted (`total` included), a left fold in ranking
/// order: from `total` = 0 that is W_j of [`prefix_sums`], bit for bit.
pub(crate) fn admit_by_share<N: Arith>(
    instance: &Instance,
    ranking: &[Ranked<N>],
    total: f64,
    budget: f64,
) -> (usize, f64) {
    let providers = instance.providers();
    let mut admitted = total;
    let count = ranking
        .iter()
        .take_while(|ranked| {
            let provider = &providers[ranked.index];
            let with = admitted + provider.score();
            let passes = within_share::<N>(provider.bid(), provider.score(), budget, with);
            if passes {
                admitted = with;
            }
            passes
        })
        .count();
    (count, admitted)
}

/// The ratio ranking of §A.3 with its running score sums and the number of
/// proportional-share winners at `budget`: the allocation that Q-MIA, MUT
/// and Mixed-MIA share.
pub(crate) struct Selection<N> {
    /// Eligible providers (w_i > 0) in ascending (ratio, id) order.
    pub ranking: Vec<Ranked<N>>,
    /// `score_sums[j]` = W_j, the score of the first j ranked providers.
    pub score_sums: Vec<f64>,
    /// The winners are `ranking[..n_winners]`.
    pub n_winners: usize,
}

/// Ranks by ratio and selects by proportional share at `budget` (§A.3).
pub(crate) fn select_proportional_share<N: Arith>(
    instance: &Instance,
    budget: f64,
) -> Selection<N> {
    let ranking = rank_by_ratio(instance);
    let score_sums = prefix_sums(instance, &ranking, Provider::score);
    let (n_winners, _) = admit_by_share(instance, &ranking, 0.0, budget);
    Selection {
        ranking,
        score_sums,
        n_winners,
    }
}

/// The pay-as-bid test of §A.6: whether a bid still fits in the budget
/// after `spent` has been paid to the providers ahead of it,
///
/// ```text
/// spent + b ≤ B
/// ```
pub(crate) fn fits(spent: f64, bid: f64, budget: f64) -> bool {
    spent + bid <= budget
}

/// Pay-as-bid filling (§A.6): walk `ranking` adding bids to a running total
/// and stop at the first provider whose bid no longer [`fits`]. Returns the
/// number of winners; each is paid its bid. The running total is the left
/// fold of [`prefix_sums`] over the bids, bit for bit.
pub(crate) fn fill_pay_as_bid<N>(instance: &Instance, ranking: &[Ranked<N>], budget: f64) -> usize {
    let providers = instance.providers();
    let mut spent = 0.0;
    ranking
        .iter()
        .take_while(|ranked| {
            let bid = providers[ranked.index].bid();
            let passes = fits(spent, bid, budget);
            if passes {
                spent += bid;
            }
            passes
        })
        .count()
}
