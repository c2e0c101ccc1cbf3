//! The procurement mechanisms as games the auditor can probe
//! ([`crate::game::ReportGame`]).
//!
//! - Every provider may misreport its bid; under `trust` it may also
//!   misreport `claimed_quality`. Verified quality and utility are the
//!   buyer's measurements, not reports.
//! - A winner's utility is its reward minus its true cost (the bid in the
//!   instance taken as truth); a loser's is 0. Cash and Mixed-MIA tokens
//!   count at face value; a MUT share τ is worth R·τ/Π.

use super::baselines::{trust_ranking, volume_ranking};
use super::instance::Instance;
use super::outcome::Outcome;
use super::qmia::{m_star, theta};
use super::ranking::{rank_by_ratio, Ranked};
use super::{clear, mixed, Auction};
use crate::game::{Evaluation, ReportGame};
use crate::tolerance::{at_most, ROUNDING_RELATIVE};

impl Auction {
    /// The budget the mechanism's allocation runs with: B for Q-MIA and the
    /// baselines, R for MUT, B_eff for Mixed-MIA.
    pub fn allocation_budget(self, instance: &Instance) -> f64 {
        match self {
            Auction::Mut => instance.token_budget(),
            Auction::Mixed => mixed::effective_budget(instance),
            Auction::Qmia | Auction::Volume | Auction::Trust => instance.budget(),
        }
    }

    /// What winner `index` receives in `outcome`, in cash-equivalent units:
    /// cash plus tokens at face value, or R·τ/Π for a MUT share.
    pub fn reward(self, instance: &Instance, outcome: &Outcome, index: usize) -> f64 {
        outcome.award_of(index).map_or(0.0, |award| match self {
            Auction::Mut => instance.token_budget() * award.tokens / instance.token_pool(),
            _ => award.cash + award.tokens,
        })
    }

    /// The weight a baseline divides bids by, or the score w_i for the
    /// ratio-ranked mechanisms, for provider `index` with `claimed_quality`.
    fn weight(self, instance: &Instance, index: usize, claimed_quality: f64) -> f64 {
        let provider = &instance.providers()[index];
        match self {
            Auction::Volume => provider.volume(),
            Auction::Trust => claimed_quality * provider.volume(),
            Auction::Qmia | Auction::Mut | Auction::Mixed => provider.score(),
        }
    }
}

/// The mechanism's ranking of the eligible providers: by ratio b/w for the
/// score-ranked mechanisms, by bid per unit of volume (or claimed quality ×
/// volume) for the baselines.
fn ranking_of(mechanism: Auction, instance: &Instance) -> Vec<Ranked> {
    match mechanism {
        Auction::Volume => volume_ranking(instance),
        Auction::Trust => trust_ranking(instance),
        Auction::Qmia | Auction::Mut | Auction::Mixed => rank_by_ratio(instance),
    }
}

/// Bids at which the outcome of provider `index` can change, given the
/// others' reports: where its key crosses another provider's key, and where
/// its bid meets a budget boundary (a proportional share for the
/// ratio-ranked mechanisms, the remaining budget for pay-as-bid).
fn critical_bids(mechanism: Auction, instance: &Instance, index: usize, weight: f64) -> Vec<f64> {
    if weight <= 0.0 {
        return Vec::new();
    }
    let providers = instance.providers();
    let budget = mechanism.allocation_budget(instance);
    let others: Vec<_> = ranking_of(mechanism, instance)
        .into_iter()
        .filter(|ranked| ranked.index != index)
        .collect();

    let mut bids = Vec::with_capacity(2 * others.len() + 2);
    let mut running = 0.0;
    bids.push(budget);
    for ranked in &others {
        bids.push(ranked.key * weight);
        match mechanism {
            Auction::Volume | Auction::Trust => {
                running += providers[ranked.index].bid();
                bids.push(budget - running);
            }
            Auction::Qmia | Auction::Mut | Auction::Mixed => {
                running += providers[ranked.index].score();
                bids.push(budget * weight / (running + weight));
            }
        }
    }
    bids.retain(|bid| bid.is_finite() && *bid >= 0.0);
    bids
}

impl ReportGame for Auction {
    type Instance = Instance;

    fn name(&self) -> &'static str {
        Auction::name(*self)
    }

    fn participants(&self, instance: &Instance) -> usize {
        instance.providers().len()
    }

    fn participant_id<'a>(&self, instance: &'a Instance, participant: usize) -> &'a str {
        instance.providers()[participant].id()
    }

    fn report_fields(&self) -> &'static [&'static str] {
        match self {
            Auction::Trust => &["bid", "claimed_quality"],
            _ => &["bid"],
        }
    }

    fn report(&self, instance: &Instance, participant: usize) -> Vec<f64> {
        let provider = &instance.providers()[participant];
        match self {
            Auction::Trust => vec![provider.bid(), provider.claimed_quality()],
            _ => vec![provider.bid()],
        }
    }

    fn with_report(
        &self,
        instance: &Instance,
        participant: usize,
        report: &[f64],
    ) -> Option<Instance> {
        self.with_reports(instance, &[(participant, report)])
    }

    /// One copy of the instance for the whole coalition.
    fn with_reports(&self, instance: &Instance, reports: &[(usize, &[f64])]) -> Option<Instance> {
        let changes: Option<Vec<(usize, f64, Option<f64>)>> = reports
            .iter()
            .map(|&(participant, report)| {
                Some((participant, *report.first()?, report.get(1).copied()))
            })
            .collect();
        instance.with_reports(&changes?).ok()
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
            Auction::Mut => at_most(
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
            Auction::Trust => {
                // A claim only scales the key b/(c·v), and full confidence
                // gives the lowest key for any bid, so the claims worth
                // combining with the critical bids are the truth and 1; the
                // grid and refinement cover the claims in between.
                [truth[1], 1.0]
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

    /// One ranking of the others serves every report: the provider's place
    /// is found by binary search, the others ahead of it are unaffected by
    /// its report, and the critical value of §A.3 does not depend on its own
    /// bid. O(log n) per report (O(n) for MUT, whose shares depend on the
    /// winners after it), against O(n log n) for a full clear.
    fn unilateral_utilities(
        &self,
        truth: &Instance,
        participant: usize,
        reports: &[Vec<f64>],
    ) -> Vec<Option<f64>> {
        let others = UnilateralView::new(*self, truth, participant);
        reports
            .iter()
            .map(|report| others.utility(report))
            .collect()
    }

    fn report_bounds(&self, instance: &Instance, participant: usize) -> Vec<(f64, f64)> {
        // Saturates at the largest double: budgets near it must not turn
        // the grid into infinities.
        let top = (2.0 * self.allocation_budget(instance).max(instance.budget())
            + instance.providers()[participant].bid())
        .min(f64::MAX);
        match self {
            Auction::Trust => vec![(0.0, top), (0.0, 1.0)],
            _ => vec![(0.0, top)],
        }
    }
}

/// One provider's view of a market: the other providers ranked once, so
/// that the provider's utility at many unilateral reports costs O(log n)
/// each. The auditor's unilateral screening
/// ([`ReportGame::unilateral_utilities`]) and best-response dynamics
/// (`procura-audit`) are built from it.
#[derive(Debug)]
pub struct UnilateralView<'a> {
    mechanism: Auction,
    instance: &'a Instance,
    participant: usize,
    /// The participant's true cost, which its utility is measured against.
    cost: f64,
    budget: f64,
    /// The others in the mechanism's order.
    ranking: Vec<Ranked>,
    /// Running sums over `ranking`: scores for the proportional share, bids
    /// for pay-as-bid. `running[j]` covers the first j others.
    running: Vec<f64>,
    /// How many of the first others pass their own test (they are ahead of
    /// the participant, so its report does not affect them).
    passing: usize,
}

impl<'a> UnilateralView<'a> {
    /// The others of `participant`, whose true cost is its bid in `instance`.
    fn new(mechanism: Auction, instance: &'a Instance, participant: usize) -> UnilateralView<'a> {
        let cost = instance.providers()[participant].bid();
        UnilateralView::with_cost(mechanism, instance, participant, cost)
    }

    /// The others of `participant` as `instance` reports them, with the
    /// participant's true cost given apart. Of its own entry in `instance`
    /// only the id (the tie-break), volume and score are read, and the
    /// claimed quality when a `trust` report leaves it out.
    pub fn with_cost(
        mechanism: Auction,
        instance: &'a Instance,
        participant: usize,
        cost: f64,
    ) -> UnilateralView<'a> {
        let providers = instance.providers();
        let budget = mechanism.allocation_budget(instance);
        let ranking: Vec<Ranked> = ranking_of(mechanism, instance)
            .into_iter()
            .filter(|ranked| ranked.index != participant)
            .collect();
        let pay_as_bid = matches!(mechanism, Auction::Volume | Auction::Trust);
        let mut running = Vec::with_capacity(ranking.len() + 1);
        let mut sum = 0.0;
        running.push(sum);
        for ranked in &ranking {
            let provider = &providers[ranked.index];
            sum += if pay_as_bid {
                provider.bid()
            } else {
                provider.score()
            };
            running.push(sum);
        }
        let passing = ranking
            .iter()
            .enumerate()
            .take_while(|(j, ranked)| {
                let provider = &providers[ranked.index];
                if pay_as_bid {
                    running[j + 1] <= budget
                } else {
                    provider.bid() <= (budget * provider.score()) / running[j + 1]
                }
            })
            .count();
        UnilateralView {
            mechanism,
            instance,
            participant,
            cost,
            budget,
            ranking,
            running,
            passing,
        }
    }

    /// The participant's utility when it reports `report` (a bid, and for
    /// `trust` a claimed quality), or `None` for a report outside the
    /// fields' domains. For the pay-as-bid baselines it is bit-identical to
    /// clearing the deviated instance: the same keys, the same tie-break and
    /// the same left fold of the bids ahead.
    pub fn utility(&self, report: &[f64]) -> Option<f64> {
        let providers = self.instance.providers();
        let me = &providers[self.participant];
        let bid = *report.first()?;
        if !bid.is_finite() || bid < 0.0 {
            return None;
        }
        let claim = report.get(1).copied().unwrap_or(me.claimed_quality());
        if !(0.0..=1.0).contains(&claim) {
            return None;
        }
        let weight = self
            .mechanism
            .weight(self.instance, self.participant, claim);
        if weight <= 0.0 {
            return Some(0.0);
        }
        let key = bid / weight;
        let position = self
            .ranking
            .partition_point(|other| match other.key.partial_cmp(&key) {
                Some(std::cmp::Ordering::Less) => true,
                Some(std::cmp::Ordering::Equal) => providers[other.index].id() < me.id(),
                _ => false,
            });
        if self.passing < position {
            return Some(0.0);
        }
        let cost = self.cost;
        match self.mechanism {
            Auction::Volume | Auction::Trust => {
                let wins = self.running[position] + bid <= self.budget;
                Some(if wins { bid - cost } else { 0.0 })
            }
            Auction::Qmia | Auction::Mixed | Auction::Mut => {
                let admitted = self.running[position] + weight;
                if bid > (self.budget * weight) / admitted {
                    return Some(0.0);
                }
                let reward = match self.mechanism {
                    Auction::Mut => self.mut_share(position, admitted, weight),
                    _ => self.critical_value(weight),
                };
                Some(reward - cost)
            }
        }
    }

    /// The value R·τ/Π of the participant's MUT share when it is admitted at
    /// `position`: the admitted set continues past it until the first other
    /// provider fails.
    fn mut_share(&self, position: usize, admitted: f64, weight: f64) -> f64 {
        let providers = self.instance.providers();
        let mut total = admitted;
        for ranked in &self.ranking[position..] {
            let provider = &providers[ranked.index];
            let with = total + provider.score();
            if provider.bid() > (self.budget * provider.score()) / with {
                break;
            }
            total = with;
        }
        let tokens = (self.instance.token_pool() * weight) / total;
        self.instance.token_budget() * tokens / self.instance.token_pool()
    }

    /// θ of §A.3 in the spec's own form, with W'_m summed over the others
    /// only; Mixed-MIA pays it as λθ + (1 − λ)θ.
    fn critical_value(&self, weight: f64) -> f64 {
        let n = self.ranking.len();
        let ratio = |m: usize| {
            if m > n {
                f64::INFINITY
            } else {
                self.ranking[m - 1].key
            }
        };
        let low = m_star(n, |m| ratio(m) <= self.budget / (self.running[m] + weight));
        let theta = theta(
            weight,
            ratio(low + 1),
            self.budget,
            self.running[low] + weight,
        );
        match self.mechanism {
            Auction::Mixed => {
                let liquidity = self.instance.liquidity();
                liquidity * theta + (1.0 - liquidity) * theta
            }
            _ => theta,
        }
    }
}
