//! The procurement mechanisms as games the auditor can probe
//! ([`crate::game::ReportGame`]), and [`UnilateralView`], the fast view of
//! one provider's unilateral reports that the auditor and best responses
//! screen with.
//!
//! - Every provider may misreport its bid; under `trust` it may also
//!   misreport `claimed_quality`. Verified quality and utility are the
//!   buyer's measurements, not reports.
//! - A winner's utility is its reward minus its true cost (the bid in the
//!   instance taken as truth); a loser's is 0. Cash and Mixed-MIA tokens
//!   count at face value; a MUT share τ is worth R·τ/Π
//!   ([`super::mut_token::token_value`]).
//!
//! The view restates no rule: it ranks, sums, tests shares, fills
//! pay-as-bid, takes critical values and builds awards through the same
//! functions (`ranking.rs`, `qmia.rs`, `mixed.rs`, `mut_token.rs`,
//! `baselines.rs`) that [`super::clear`] runs.

use super::baselines::{self, trust_ranking, volume_ranking, Baseline};
use super::instance::{Instance, Provider};
use super::mut_token::{self, token_value};
use std::sync::OnceLock;

use super::numerics::{Arith, FastRange, Wide};
use super::outcome::{Award, Outcome};
use super::ranking::{
    admit_by_share, fill_pay_as_bid, fits, key, place, prefix_sums, proportional_share,
    rank_by_ratio, within_share, Ranked,
};
use super::{clear, mixed, qmia, Auction, InstanceError};
use crate::game::{Evaluation, GameError, ReportGame};
use crate::tolerance::{pays_at_least, within_budget};

impl Auction {
    /// The budget the mechanism's allocation runs with: B for Q-MIA and the
    /// baselines, R for MUT, B_eff for Mixed-MIA.
    #[must_use]
    pub fn allocation_budget(self, instance: &Instance) -> f64 {
        match self {
            Auction::Mut => instance.token_budget(),
            Auction::Mixed => mixed::effective_budget(instance),
            Auction::Qmia | Auction::Volume | Auction::Trust => instance.budget(),
        }
    }

    /// What `award`, made by this mechanism on `instance`, is worth to its
    /// winner in cash-equivalent units: cash plus tokens at face value, or
    /// R·τ/Π for a MUT share ([`mut_token::token_value`]).
    #[must_use]
    pub fn award_value(self, instance: &Instance, award: &Award) -> f64 {
        match self {
            Auction::Mut => token_value(instance, award.tokens),
            _ => award.cash + award.tokens,
        }
    }

    /// How many winners of `outcome` are paid less than their bid in
    /// `costs` (the instance cleared, or the true costs behind it): the
    /// individual-rationality promise of §A.3–§A.6 as procura keeps it,
    /// exactly in real arithmetic and up to the relative rounding bound of
    /// `numerics.rs` in doubles, at every magnitude
    /// ([`pays_at_least`]). `costs` must have the outcome's providers; an
    /// index it does not have counts as a violation.
    #[must_use]
    pub fn ir_violations(self, costs: &Instance, outcome: &Outcome) -> usize {
        let providers = costs.providers();
        outcome
            .awards()
            .iter()
            .filter(|award| {
                providers.get(award.provider).is_none_or(|provider| {
                    !pays_at_least(
                        self.award_value(costs, award),
                        provider.bid(),
                        providers.len(),
                    )
                })
            })
            .count()
    }

    /// Whether `outcome` keeps every budget of `instance` the mechanism
    /// promises to keep (§A.3–§A.6), up to the same rounding bound
    /// ([`within_budget`]): Σ cash ≤ B, and Σ tokens ≤ Π for MUT or ≤ R
    /// for the others (Q-MIA and the baselines pay none).
    #[must_use]
    pub fn budgets_kept(self, instance: &Instance, outcome: &Outcome) -> bool {
        let providers = instance.providers().len();
        let token_bound = match self {
            Auction::Mut => instance.token_pool(),
            _ => instance.token_budget(),
        };
        within_budget(outcome.total_cash(), instance.budget(), providers)
            && within_budget(outcome.total_tokens(), token_bound, providers)
    }

    /// What provider `index` receives in `outcome`, in cash-equivalent
    /// units ([`Auction::award_value`]); 0 for a loser, and for an index
    /// that is no provider's.
    #[must_use]
    pub fn reward(self, instance: &Instance, outcome: &Outcome, index: usize) -> f64 {
        outcome
            .award_of(index)
            .map_or(0.0, |award| self.award_value(instance, award))
    }

    /// Whether the allocation fills the budget pay-as-bid (§A.6) rather
    /// than by proportional share (§A.3).
    pub(super) fn pays_as_bid(self) -> bool {
        matches!(self, Auction::Volume | Auction::Trust)
    }
}

/// The mechanism's ranking of the eligible providers: by ratio b/w for the
/// score-ranked mechanisms, by bid per unit of volume (or claimed quality ×
/// volume) for the baselines.
pub(super) fn ranking_of<N: Arith>(mechanism: Auction, instance: &Instance) -> Vec<Ranked<N>> {
    match mechanism {
        Auction::Volume => volume_ranking(instance),
        Auction::Trust => trust_ranking(instance),
        Auction::Qmia | Auction::Mut | Auction::Mixed => rank_by_ratio(instance),
    }
}

/// How far down `ranking` the mechanism admits with allocation budget
/// `budget`, and the running sums its admission test compares: the
/// running bids (pay as bid, §A.6) or the running scores W_j (the
/// proportional share, §A.3), `running[j]` over the first j ranked.
/// From 0, admission's running score is W_j of `prefix_sums`, bit for bit.
pub(super) fn admission_of<N: Arith>(
    mechanism: Auction,
    instance: &Instance,
    ranking: &[Ranked<N>],
    budget: f64,
) -> (Vec<f64>, usize) {
    if mechanism.pays_as_bid() {
        (
            prefix_sums(instance, ranking, Provider::bid),
            fill_pay_as_bid(instance, ranking, budget),
        )
    } else {
        (
            prefix_sums(instance, ranking, Provider::score),
            admit_by_share(instance, ranking, 0.0, budget).0,
        )
    }
}

/// What `mechanism` divides `provider`'s bid by to rank it, when it claims
/// quality `claim`: the score w_i for the ratio-ranked mechanisms (§A.3),
/// the baselines' weight ([`baselines::weight`], §A.6) for the others. A
/// provider whose weight is 0 is not ranked.
pub(super) fn ranking_weight(mechanism: Auction, provider: &Provider, claim: f64) -> f64 {
    match mechanism {
        Auction::Volume => baselines::weight(Baseline::Volume, provider, claim),
        Auction::Trust => baselines::weight(Baseline::Trust, provider, claim),
        Auction::Qmia | Auction::Mut | Auction::Mixed => provider.score(),
    }
}

/// An instance error as the game sees it: a provider that does not exist is
/// a [`GameError`]; any other error is a report outside its domain (`None`).
fn report_outcome(result: Result<Instance, InstanceError>) -> Result<Option<Instance>, GameError> {
    match result {
        Ok(instance) => Ok(Some(instance)),
        Err(InstanceError::NoSuchProvider { index, len }) => Err(GameError::NoSuchParticipant {
            participant: index,
            participants: len,
        }),
        Err(_) => Ok(None),
    }
}

impl ReportGame for Auction {
    type Instance = Instance;

    fn name(&self) -> &'static str {
        Auction::name(*self)
    }

    fn participants(&self, instance: &Instance) -> usize {
        instance.providers().len()
    }

    fn participant_id<'a>(
        &self,
        instance: &'a Instance,
        participant: usize,
    ) -> Result<&'a str, GameError> {
        Ok(provider(instance, participant)?.id())
    }

    fn report_fields(&self) -> &'static [&'static str] {
        match self {
            Auction::Trust => &["bid", "claimed_quality"],
            _ => &["bid"],
        }
    }

    fn report(&self, instance: &Instance, participant: usize) -> Result<Vec<f64>, GameError> {
        let provider = provider(instance, participant)?;
        Ok(match self {
            Auction::Trust => vec![provider.bid(), provider.claimed_quality()],
            _ => vec![provider.bid()],
        })
    }

    fn with_report(
        &self,
        instance: &Instance,
        participant: usize,
        report: &[f64],
    ) -> Result<Option<Instance>, GameError> {
        self.with_reports(instance, &[(participant, report)])
    }

    /// One copy of the instance for the whole coalition.
    fn with_reports(
        &self,
        instance: &Instance,
        reports: &[(usize, &[f64])],
    ) -> Result<Option<Instance>, GameError> {
        let mut changes = Vec::with_capacity(reports.len());
        for &(participant, report) in reports {
            self.check_participant(instance, participant)?;
            let Some(&bid) = report.first() else {
                return Ok(None);
            };
            changes.push((participant, bid, report.get(1).copied()));
        }
        report_outcome(instance.with_reports(&changes))
    }

    fn evaluate(&self, truth: &Instance, reported: &Instance) -> Result<Evaluation, GameError> {
        let n = self.check_instances(truth, reported)?;
        // `clear` fails only for MUT without a token budget, a property of
        // the instance that no report changes: nobody is paid, and nothing
        // is spent. The auditor's callers refuse such instances up front.
        let Ok(outcome) = clear(reported, *self) else {
            return Ok(Evaluation {
                utilities: vec![0.0; n],
                ir_violations: 0,
                budget_ok: true,
            });
        };
        let mut utilities = vec![0.0; n];
        for award in outcome.awards() {
            let index = award.provider;
            utilities[index] = self.award_value(reported, award) - truth.providers()[index].bid();
        }
        Ok(Evaluation {
            utilities,
            ir_violations: self.ir_violations(reported, &outcome),
            budget_ok: self.budgets_kept(reported, &outcome),
        })
    }

    fn critical_reports(
        &self,
        instance: &Instance,
        participant: usize,
    ) -> Result<Vec<Vec<f64>>, GameError> {
        let view = UnilateralView::new(*self, instance, participant)?;
        Ok(match self {
            Auction::Trust => {
                // A claim only scales the key b/(c·v), and full confidence
                // gives the lowest key for any bid, so the claims worth
                // combining with the critical bids are the truth and 1; the
                // grid and refinement cover the claims in between.
                let truth = view.me.claimed_quality();
                [truth, 1.0]
                    .into_iter()
                    .flat_map(|claim| {
                        view.critical_bids(view.weight(claim))
                            .into_iter()
                            .map(move |bid| vec![bid, claim])
                    })
                    .collect()
            }
            _ => view
                .critical_bids(view.weight(0.0))
                .into_iter()
                .map(|bid| vec![bid])
                .collect(),
        })
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
    ) -> Result<Vec<Option<f64>>, GameError> {
        let view = UnilateralView::new(*self, truth, participant)?;
        Ok(reports.iter().map(|report| view.utility(report)).collect())
    }

    fn report_bounds(
        &self,
        instance: &Instance,
        participant: usize,
    ) -> Result<Vec<(f64, f64)>, GameError> {
        let bid = provider(instance, participant)?.bid();
        // Saturates at the largest double: budgets near it must not turn
        // the grid into infinities.
        let top =
            (2.0 * self.allocation_budget(instance).max(instance.budget()) + bid).min(f64::MAX);
        Ok(match self {
            Auction::Trust => vec![(0.0, top), (0.0, 1.0)],
            _ => vec![(0.0, top)],
        })
    }
}

/// Provider `participant` of `instance`, or the [`GameError`] naming it.
fn provider(instance: &Instance, participant: usize) -> Result<&Provider, GameError> {
    let providers = instance.providers();
    providers
        .get(participant)
        .ok_or(GameError::NoSuchParticipant {
            participant,
            participants: providers.len(),
        })
}

/// One provider's view of a market: the other providers ranked once, so
/// that the provider's utility at many unilateral reports costs O(log n)
/// each. The auditor's unilateral screening
/// ([`ReportGame::unilateral_utilities`]), its critical reports and
/// best-response dynamics (`procura-audit`) are built from it.
///
/// It runs the auctions' own steps on the others' ranking (the ranking
/// order, running sums, the share test and admission, the pay-as-bid test
/// and fill, Q-MIA's critical value, each mechanism's award), so it agrees
/// with clearing the deviated instance: bit for bit for the pay-as-bid
/// baselines and MUT, and up to the last bits of W'_m for the critical
/// values of Q-MIA and Mixed-MIA (see `qmia.rs`).
#[derive(Debug)]
pub struct UnilateralView<'a> {
    mechanism: Auction,
    instance: &'a Instance,
    participant: usize,
    /// The participant's own entry in `instance`.
    me: &'a Provider,
    /// The participant's true cost, which its utility is measured against.
    cost: f64,
    budget: f64,
    /// Whether the mechanism can clear the instance at all
    /// ([`Auction::check_clears`]); when not, nobody is paid.
    clears: bool,
    /// The others in plain `f64`, where the instance is within
    /// [`FastRange`] (see `numerics.rs`: the same bits as in [`Wide`]).
    pub(super) fast: Option<Others<f64>>,
    /// The others in [`Wide`]: built up front when the instance is not
    /// within [`FastRange`], and on the first report outside it otherwise.
    wide: OnceLock<Others<Wide>>,
}

/// The others of a [`UnilateralView`], ranked in the arithmetic `N`.
#[derive(Debug)]
pub(super) struct Others<N> {
    /// The others in the mechanism's order.
    ranking: Vec<Ranked<N>>,
    /// Running sums over `ranking` ([`prefix_sums`]): scores for the
    /// proportional share, bids for pay-as-bid. `running[j]` covers the
    /// first j others.
    running: Vec<f64>,
    /// How many of the first others are admitted among themselves (they
    /// are ahead of the participant, so its report does not affect them).
    passing: usize,
}

impl<N: Arith> Others<N> {
    /// The others of `participant` in `instance`, for `mechanism` with
    /// allocation budget `budget`.
    fn new(mechanism: Auction, instance: &Instance, participant: usize, budget: f64) -> Others<N> {
        let ranking: Vec<Ranked<N>> = ranking_of(mechanism, instance)
            .into_iter()
            .filter(|ranked| ranked.index != participant)
            .collect();
        let (running, passing) = admission_of(mechanism, instance, &ranking, budget);
        Others {
            ranking,
            running,
            passing,
        }
    }
}

impl<'a> UnilateralView<'a> {
    /// The others of `participant`, whose true cost is its bid in `instance`.
    fn new(
        mechanism: Auction,
        instance: &'a Instance,
        participant: usize,
    ) -> Result<UnilateralView<'a>, GameError> {
        let cost = provider(instance, participant)?.bid();
        UnilateralView::with_cost(mechanism, instance, participant, cost)
    }

    /// The others of `participant` as `instance` reports them, with the
    /// participant's true cost given apart. Of its own entry in `instance`
    /// only the id (the tie-break), volume and score are read, and the
    /// claimed quality when a `trust` report leaves it out. Fails when
    /// `instance` has no provider `participant`.
    pub fn with_cost(
        mechanism: Auction,
        instance: &'a Instance,
        participant: usize,
        cost: f64,
    ) -> Result<UnilateralView<'a>, GameError> {
        let me = provider(instance, participant)?;
        let budget = mechanism.allocation_budget(instance);
        let wide = OnceLock::new();
        let fast = if FastRange::instance(instance) {
            Some(Others::new(mechanism, instance, participant, budget))
        } else {
            // Just set: it cannot be set already.
            let _ = wide.set(Others::new(mechanism, instance, participant, budget));
            None
        };
        Ok(UnilateralView {
            mechanism,
            instance,
            participant,
            me,
            cost,
            budget,
            clears: mechanism.check_clears(instance).is_ok(),
            fast,
            wide,
        })
    }

    /// The others in [`Wide`], built on first use.
    pub(super) fn wide(&self) -> &Others<Wide> {
        self.wide.get_or_init(|| {
            Others::new(self.mechanism, self.instance, self.participant, self.budget)
        })
    }

    /// The others in `f64` when the instance is within [`FastRange`] and
    /// so are the participant's `weight` and `bid`: every intermediate of
    /// the formulas then stays normal (see `numerics.rs`).
    fn fast(&self, weight: f64, bid: f64) -> Option<&Others<f64>> {
        self.fast
            .as_ref()
            .filter(|_| FastRange::holds(weight) && FastRange::report(bid))
    }

    /// The weight a baseline divides bids by, or the score w_i for the
    /// ratio-ranked mechanisms, of the participant claiming `claim`.
    pub(super) fn weight(&self, claim: f64) -> f64 {
        ranking_weight(self.mechanism, self.me, claim)
    }

    /// The participant's utility when it reports `report` (a bid, and for
    /// `trust` a claimed quality), or `None` for a report outside the
    /// fields' domains.
    #[must_use]
    pub fn utility(&self, report: &[f64]) -> Option<f64> {
        let bid = *report.first()?;
        if !bid.is_finite() || bid < 0.0 {
            return None;
        }
        let claim = report.get(1).copied().unwrap_or(self.me.claimed_quality());
        if !(0.0..=1.0).contains(&claim) {
            return None;
        }
        // As validation does: no -0.0 reaches a comparison or a payment.
        let (bid, claim) = (bid + 0.0, claim + 0.0);
        if !self.clears {
            return Some(0.0);
        }
        let weight = self.weight(claim);
        if weight <= 0.0 {
            return Some(0.0);
        }
        match self.fast(weight, bid) {
            Some(others) => self.utility_in(others, bid, weight),
            None => self.utility_in(self.wide(), bid, weight),
        }
    }

    /// [`UnilateralView::utility`] of a valid report with a positive
    /// weight, against `others` in the arithmetic `N`.
    pub(super) fn utility_in<N: Arith>(
        &self,
        others: &Others<N>,
        bid: f64,
        weight: f64,
    ) -> Option<f64> {
        let position = place(
            self.instance,
            &others.ranking,
            self.participant,
            key::<N>(bid, weight),
        );
        if others.passing < position {
            return Some(0.0);
        }
        let ahead = others.running[position];
        let award = if self.mechanism.pays_as_bid() {
            if !fits(ahead, bid, self.budget) {
                return Some(0.0);
            }
            baselines::award(self.participant, bid)
        } else {
            let admitted = ahead + weight;
            if !within_share::<N>(bid, weight, self.budget, admitted) {
                return Some(0.0);
            }
            match self.mechanism {
                Auction::Mut => {
                    // The admitted set continues past the participant until
                    // the first other provider fails its share.
                    let (_, total) = admit_by_share(
                        self.instance,
                        &others.ranking[position..],
                        admitted,
                        self.budget,
                    );
                    mut_token::award::<N>(self.instance, self.participant, weight, total)
                }
                Auction::Mixed => mixed::award(
                    self.instance,
                    self.participant,
                    self.critical_value(others, weight),
                ),
                _ => qmia::award(self.participant, self.critical_value(others, weight)),
            }
        };
        Some(self.mechanism.award_value(self.instance, &award) - self.cost)
    }

    /// θ of §A.3 ([`qmia::critical_value`]) with W'_m summed over the
    /// others only, in the spec's own form.
    fn critical_value<N: Arith>(&self, others: &Others<N>, weight: f64) -> N {
        qmia::critical_value(
            weight,
            others.ranking.len(),
            self.budget,
            |m| others.ranking[m - 1].key,
            |m| others.running[m] + weight,
        )
    }

    /// Bids at which the participant's outcome can change, with weight
    /// `weight`, given the others' reports: where its key crosses another
    /// provider's key, and where its bid meets a budget boundary (its
    /// proportional share behind each prefix of the others for the
    /// ratio-ranked mechanisms, the budget left after them for pay-as-bid).
    fn critical_bids(&self, weight: f64) -> Vec<f64> {
        if weight <= 0.0 {
            return Vec::new();
        }
        // The bid plays no part in these formulas: 0 is in range.
        match self.fast(weight, 0.0) {
            Some(others) => self.critical_bids_in(others, weight),
            None => self.critical_bids_in(self.wide(), weight),
        }
    }

    /// [`UnilateralView::critical_bids`] for a positive `weight`, against
    /// `others` in the arithmetic `N`.
    pub(super) fn critical_bids_in<N: Arith>(&self, others: &Others<N>, weight: f64) -> Vec<f64> {
        let mut bids = Vec::with_capacity(2 * others.ranking.len() + 2);
        bids.push(self.budget);
        for (ranked, &running) in others.ranking.iter().zip(&others.running[1..]) {
            bids.push(ranked.key.mul(N::of(weight)).to_f64());
            bids.push(if self.mechanism.pays_as_bid() {
                self.budget - running
            } else {
                proportional_share::<N>(self.budget, weight, running + weight).to_f64()
            });
        }
        bids.retain(|bid| bid.is_finite() && *bid >= 0.0);
        bids
    }
}
