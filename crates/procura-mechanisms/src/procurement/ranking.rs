//! Steps that several mechanisms share: ranking by ratio with the id
//! tie-break, proportional-share selection (§A.3) and pay-as-bid filling
//! (§A.6).

use std::cmp::Ordering;

use super::instance::{Instance, Provider};

/// A provider's place in a ranking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranked {
    /// Index into [`Instance::providers`].
    pub index: usize,
    /// The key it was ranked by (a ratio: bid per unit of weight).
    pub key: f64,
}

/// The eligible providers (those for which `key` is `Some`) in ascending
/// (key, id) order, ids compared byte-wise (spec "Numerics").
///
/// Keys are compared as doubles, never cross-multiplied. They are never NaN:
/// every key is a finite, non-negative bid divided by a positive weight.
pub(crate) fn rank_by(instance: &Instance, key: impl Fn(&Provider) -> Option<f64>) -> Vec<Ranked> {
    let providers = instance.providers();
    let mut ranking: Vec<Ranked> = providers
        .iter()
        .enumerate()
        .filter_map(|(index, provider)| key(provider).map(|key| Ranked { index, key }))
        .collect();
    ranking.sort_unstable_by(|a, b| {
        a.key
            .partial_cmp(&b.key)
            .unwrap_or(Ordering::Equal)
            .then_with(|| providers[a.index].id().cmp(providers[b.index].id()))
    });
    ranking
}

/// The ranking of §A.3: providers with w_i > 0 by ratio r_i = b_i / w_i.
pub(crate) fn rank_by_ratio(instance: &Instance) -> Vec<Ranked> {
    rank_by(instance, Provider::ratio)
}

/// Running sums of the scores in ranked order: `sums[j]` is W_j, the score
/// of the first j ranked providers (so `sums[0] = 0`). The same left fold is
/// used for selection and for critical values, so both see identical W_j.
fn score_prefix_sums(instance: &Instance, ranking: &[Ranked]) -> Vec<f64> {
    let providers = instance.providers();
    let mut sums = Vec::with_capacity(ranking.len() + 1);
    let mut running = 0.0;
    sums.push(running);
    for ranked in ranking {
        running += providers[ranked.index].score();
        sums.push(running);
    }
    sums
}

/// Proportional-share selection (§A.3, Singer 2010): the number of winners,
/// i.e. the length of the longest prefix of `ranking` whose every member j
/// satisfies
///
/// ```text
/// b_(j) ≤ (B · w_(j)) / W_j
/// ```
///
/// The condition holds on a prefix, so the scan stops at the first failure.
fn proportional_share(
    instance: &Instance,
    ranking: &[Ranked],
    score_sums: &[f64],
    budget: f64,
) -> usize {
    let providers = instance.providers();
    ranking
        .iter()
        .enumerate()
        .take_while(|(position, ranked)| {
            let provider = &providers[ranked.index];
            provider.bid() <= (budget * provider.score()) / score_sums[position + 1]
        })
        .count()
}

/// The ratio ranking of §A.3 with its running score sums and the number of
/// proportional-share winners at `budget`: the allocation that Q-MIA, MUT
/// and Mixed-MIA share.
pub(crate) struct Selection {
    /// Eligible providers (w_i > 0) in ascending (ratio, id) order.
    pub ranking: Vec<Ranked>,
    /// `score_sums[j]` = W_j, the score of the first j ranked providers.
    pub score_sums: Vec<f64>,
    /// The winners are `ranking[..n_winners]`.
    pub n_winners: usize,
}

/// Ranks by ratio and selects by proportional share at `budget` (§A.3).
pub(crate) fn select_proportional_share(instance: &Instance, budget: f64) -> Selection {
    let ranking = rank_by_ratio(instance);
    let score_sums = score_prefix_sums(instance, &ranking);
    let n_winners = proportional_share(instance, &ranking, &score_sums, budget);
    Selection {
        ranking,
        score_sums,
        n_winners,
    }
}

/// Pay-as-bid filling (§A.6): walk `ranking` adding bids to a running total
/// and stop at the first provider whose bid no longer fits in `budget`.
/// Returns the number of winners; each is paid its bid.
pub(crate) fn fill_pay_as_bid(instance: &Instance, ranking: &[Ranked], budget: f64) -> usize {
    let providers = instance.providers();
    let mut spent = 0.0;
    ranking
        .iter()
        .take_while(|ranked| {
            let total = spent + providers[ranked.index].bid();
            let fits = total <= budget;
            if fits {
                spent = total;
            }
            fits
        })
        .count()
}
