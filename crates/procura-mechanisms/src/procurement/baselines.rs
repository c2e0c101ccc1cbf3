//! The volume-based and trust-based baselines (spec §A.6).
//!
//! Both rank eligible providers by bid per unit of their own weight, fill
//! the budget pay-as-bid in that order, and stop at the first provider whose
//! bid no longer fits. Both are IR and budget-feasible; neither is DSIC:
//! overbidding pays, and `trust` also rewards inflating `claimed_quality`.

use super::instance::{Instance, Provider};
use super::numerics::{Arith, FastRange, Wide};
use super::outcome::{Award, Outcome};
use super::ranking::{fill_pay_as_bid, key, rank_by, Ranked};
use super::Auction;

/// The volume baseline (§A.6): rank by b_i / volume_i over providers with
/// volume_i > 0, fill B pay-as-bid.
#[must_use]
pub fn volume(instance: &Instance) -> Outcome {
    if FastRange::instance(instance) {
        pay_as_bid(Auction::Volume, instance, &volume_ranking::<f64>(instance))
    } else {
        pay_as_bid(Auction::Volume, instance, &volume_ranking::<Wide>(instance))
    }
}

/// The trust baseline (§A.6): rank by b_i / (claimed_quality_i · volume_i)
/// over providers where that weight is > 0, fill B pay-as-bid.
#[must_use]
pub fn trust(instance: &Instance) -> Outcome {
    if FastRange::instance(instance) {
        pay_as_bid(Auction::Trust, instance, &trust_ranking::<f64>(instance))
    } else {
        pay_as_bid(Auction::Trust, instance, &trust_ranking::<Wide>(instance))
    }
}

/// The weight a baseline divides bids by (§A.6), for `provider` claiming
/// `claimed_quality`: volume_i under `volume`, claimed_quality_i · volume_i
/// under `trust`. The one home of this rule: the rankings, the auditor's
/// unilateral view and its critical reports all call it.
pub(crate) fn weight(baseline: Baseline, provider: &Provider, claimed_quality: f64) -> f64 {
    match baseline {
        Baseline::Volume => provider.volume(),
        Baseline::Trust => claimed_quality * provider.volume(),
    }
}

/// Which baseline: the two differ only in their weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Baseline {
    /// Weight volume_i.
    Volume,
    /// Weight claimed_quality_i · volume_i.
    Trust,
}

/// The volume baseline's ranking: b_i / volume_i, volume_i > 0.
pub(crate) fn volume_ranking<N: Arith>(instance: &Instance) -> Vec<Ranked<N>> {
    baseline_ranking(instance, Baseline::Volume)
}

/// The trust baseline's ranking: b_i / (claimed_quality_i · volume_i),
/// where that weight is > 0.
pub(crate) fn trust_ranking<N: Arith>(instance: &Instance) -> Vec<Ranked<N>> {
    baseline_ranking(instance, Baseline::Trust)
}

fn baseline_ranking<N: Arith>(instance: &Instance, baseline: Baseline) -> Vec<Ranked<N>> {
    rank_by(instance, |provider: &Provider| {
        let weight = weight(baseline, provider, provider.claimed_quality());
        (weight > 0.0).then(|| key(provider.bid(), weight))
    })
}

pub(super) fn pay_as_bid<N>(
    mechanism: Auction,
    instance: &Instance,
    ranking: &[Ranked<N>],
) -> Outcome {
    let n_winners = fill_pay_as_bid(instance, ranking, instance.budget());
    let awards = ranking[..n_winners]
        .iter()
        .map(|ranked| award(ranked.index, instance.providers()[ranked.index].bid()))
        .collect();
    Outcome::new(mechanism, instance, awards)
}

/// What a baseline winner receives (§A.6): its bid, in cash.
pub(crate) fn award(provider: usize, bid: f64) -> Award {
    Award {
        provider,
        cash: bid,
        tokens: 0.0,
    }
}
