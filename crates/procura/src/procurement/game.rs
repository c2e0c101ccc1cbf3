//! The procurement mechanisms as games the auditor can probe
//! ([`crate::mechanism::Mechanism`]).
//!
//! - Every provider may misreport its bid; under `trust` it may also
//!   misreport `claimed_quality`. Verified quality and utility are the
//!   buyer's measurements, not reports.
//! - A winner's utility is its reward minus its true cost (the bid in the
//!   instance taken as truth); a loser's is 0. Cash and Mixed-MIA tokens
//!   count at face value; a MUT share τ is worth R·τ/Π.

use super::instance::Instance;
use super::outcome::Outcome;
use super::ranking::{rank_by, rank_by_ratio};
use super::{clear, mixed, Mechanism};
use crate::mechanism::{Evaluation, Mechanism as Game};
use crate::tolerance::{at_most, ROUNDING_RELATIVE};

impl Mechanism {
    /// The budget the mechanism's allocation runs with: B for Q-MIA and the
    /// baselines, R for MUT, B_eff for Mixed-MIA.
    pub fn allocation_budget(self, instance: &Instance) -> f64 {
        match self {
            Mechanism::Mut => instance.token_budget(),
            Mechanism::Mixed => mixed::effective_budget(instance),
            Mechanism::Qmia | Mechanism::Volume | Mechanism::Trust => instance.budget(),
        }
    }

    /// What winner `index` receives in `outcome`, in cash-equivalent units:
    /// cash plus tokens at face value, or R·τ/Π for a MUT share.
    pub fn reward(self, instance: &Instance, outcome: &Outcome, index: usize) -> f64 {
        outcome.award_of(index).map_or(0.0, |award| match self {
            Mechanism::Mut => instance.token_budget() * award.tokens / instance.token_pool(),
            _ => award.cash + award.tokens,
        })
    }

    /// The weight a baseline divides bids by, or the score w_i for the
    /// ratio-ranked mechanisms, for provider `index` with `claimed_quality`.
    fn weight(self, instance: &Instance, index: usize, claimed_quality: f64) -> f64 {
        let provider = &instance.providers()[index];
        match self {
            Mechanism::Volume => provider.volume(),
            Mechanism::Trust => claimed_quality * provider.volume(),
            Mechanism::Qmia | Mechanism::Mut | Mechanism::Mixed => provider.score(),
        }
    }
}

/// Bids at which the outcome of provider `index` can change, given the
/// others' reports: where its key crosses another provider's key, and where
/// its bid meets a budget boundary (a proportional share for the
/// ratio-ranked mechanisms, the remaining budget for pay-as-bid).
fn critical_bids(mechanism: Mechanism, instance: &Instance, index: usize, weight: f64) -> Vec<f64> {
    if weight <= 0.0 {
        return Vec::new();
    }
    let providers = instance.providers();
    let budget = mechanism.allocation_budget(instance);
    let others: Vec<_> = match mechanism {
        Mechanism::Volume => rank_by(instance, |p| {
            (p.volume() > 0.0).then(|| p.bid() / p.volume())
        }),
        Mechanism::Trust => rank_by(instance, |p| {
            let w = p.claimed_quality() * p.volume();
            (w > 0.0).then(|| p.bid() / w)
        }),
        Mechanism::Qmia | Mechanism::Mut | Mechanism::Mixed => rank_by_ratio(instance),
    }
    .into_iter()
    .filter(|ranked| ranked.index != index)
    .collect();

    let mut bids = Vec::with_capacity(2 * others.len() + 2);
    let mut running = 0.0;
    bids.push(budget);
    for ranked in &others {
        bids.push(ranked.key * weight);
        match mechanism {
            Mechanism::Volume | Mechanism::Trust => {
                running += providers[ranked.index].bid();
                bids.push(budget - running);
            }
            Mechanism::Qmia | Mechanism::Mut | Mechanism::Mixed => {
                running += providers[ranked.index].score();
                bids.push(budget * weight / (running + weight));
            }
        }
    }
    bids.retain(|bid| bid.is_finite() && *bid >= 0.0);
    bids
}

impl Game for Mechanism {
    type Instance = Instance;

    fn name(&self) -> &'static str {
        Mechanism::name(*self)
    }

    fn participants(&self, instance: &Instance) -> usize {
        instance.providers().len()
    }

    fn participant_id<'a>(&self, instance: &'a Instance, participant: usize) -> &'a str {
        instance.providers()[participant].id()
    }

    fn report_fields(&self) -> &'static [&'static str] {
        match self {
            Mechanism::Trust => &["bid", "claimed_quality"],
            _ => &["bid"],
        }
    }

    fn report(&self, instance: &Instance, participant: usize) -> Vec<f64> {
        let provider = &instance.providers()[participant];
        match self {
            Mechanism::Trust => vec![provider.bid(), provider.claimed_quality()],
            _ => vec![provider.bid()],
        }
    }

    fn with_report(
        &self,
        instance: &Instance,
        participant: usize,
        report: &[f64],
    ) -> Option<Instance> {
        let mut changed = instance.with_bid(participant, *report.first()?).ok()?;
        if let Some(&claimed_quality) = report.get(1) {
            changed = changed
                .with_claimed_quality(participant, claimed_quality)
                .ok()?;
        }
        Some(changed)
    }

    fn evaluate(&self, truth: &Instance, reported: &Instance) -> Evaluation {
        let n = reported.providers().len();
        // `clear` fails only for MUT without a token budget, a property of
        // the instance that no report changes; the auditor checks it once
        // up front, so an empty outcome here is never observed.
        let Ok(outcome) = clear(reported, *self) else {
            return Evaluation {
                utilities: vec![0.0; n],
                ir_violations: 0,
                budget_ok: true,
            };
        };
        let mut utilities = vec![0.0; n];
        let mut ir_violations = 0;
        for award in outcome.awards() {
            let index = award.provider;
            let reward = self.reward(reported, &outcome, index);
            utilities[index] = reward - truth.providers()[index].bid();
            if !at_most(reported.providers()[index].bid(), reward, ROUNDING_RELATIVE) {
                ir_violations += 1;
            }
        }
        let cash_ok = at_most(outcome.total_cash(), reported.budget(), ROUNDING_RELATIVE);
        let tokens_ok = match self {
            Mechanism::Mut => at_most(
                outcome.total_tokens(),
                reported.token_pool(),
                ROUNDING_RELATIVE,
            ),
            _ => at_most(
                outcome.total_tokens(),
                reported.token_budget(),
                ROUNDING_RELATIVE,
            ),
        };
        Evaluation {
            utilities,
            ir_violations,
            budget_ok: cash_ok && tokens_ok,
        }
    }

    fn critical_reports(&self, instance: &Instance, participant: usize) -> Vec<Vec<f64>> {
        let truth = self.report(instance, participant);
        match self {
            Mechanism::Trust => {
                // Inflating the claim only lowers the key, so the claims worth
                // trying are the truth, full confidence, and the claims at
                // which the key (at the true bid) crosses another's.
                let provider = &instance.providers()[participant];
                let mut claims = vec![truth[1], 1.0];
                for bid in critical_bids(*self, instance, participant, truth[1] * provider.volume())
                {
                    if bid > 0.0 {
                        // Same key as `bid` at the true claim: b/(c·v) = bid/(c₀·v).
                        let claim = truth[1] * provider.bid() / bid;
                        if (0.0..=1.0).contains(&claim) {
                            claims.push(claim);
                        }
                    }
                }
                claims
                    .into_iter()
                    .flat_map(|claim| {
                        let weight = self.weight(instance, participant, claim);
                        critical_bids(*self, instance, participant, weight)
                            .into_iter()
                            .map(move |bid| vec![bid, claim])
                    })
                    .collect()
            }
            _ => {
                let weight = self.weight(instance, participant, 0.0);
                critical_bids(*self, instance, participant, weight)
                    .into_iter()
                    .map(|bid| vec![bid])
                    .collect()
            }
        }
    }

    fn report_bounds(&self, instance: &Instance, participant: usize) -> Vec<(f64, f64)> {
        let top = 2.0 * self.allocation_budget(instance).max(instance.budget())
            + instance.providers()[participant].bid();
        match self {
            Mechanism::Trust => vec![(0.0, top), (0.0, 1.0)],
            _ => vec![(0.0, top)],
        }
    }
}
