//! Outcomes of procurement mechanisms (spec §A.2).

use super::instance::Instance;
use super::Auction;

/// What one winner receives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Award {
    /// Index of the winner in [`Instance::providers`].
    pub provider: usize,
    /// Cash paid now.
    pub cash: f64,
    /// Tokens: cash-equivalent units, except in MUT, where they are shares of
    /// the pool Π.
    pub tokens: f64,
}

/// The result of clearing an instance (§A.2).
///
/// Winners appear in allocation order (ascending ratio, then id, for the
/// mechanisms of §A.3–§A.5; the baselines' own ranking for §A.6), each with
/// its award. Losers are absent and are paid nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    mechanism: Auction,
    awards: Vec<Award>,
    total_cash: f64,
    total_tokens: f64,
    value: f64,
}

impl Outcome {
    /// Builds an outcome and its totals. Totals and `value` are left folds
    /// in allocation order, so they are reproducible to the last bit.
    ///
    /// ```text
    /// total_cash   = Σ cash_i
    /// total_tokens = Σ tokens_i
    /// value        = Σ w_i = Σ q_i·μ_i        over the winners (§A.2)
    /// ```
    pub(crate) fn new(mechanism: Auction, instance: &Instance, awards: Vec<Award>) -> Outcome {
        let providers = instance.providers();
        let total_cash = awards.iter().fold(0.0, |sum, award| sum + award.cash);
        let total_tokens = awards.iter().fold(0.0, |sum, award| sum + award.tokens);
        let value = awards
            .iter()
            .fold(0.0, |sum, award| sum + providers[award.provider].score());
        Outcome {
            mechanism,
            awards,
            total_cash,
            total_tokens,
            value,
        }
    }

    /// The mechanism that produced this outcome.
    #[must_use]
    pub fn mechanism(&self) -> Auction {
        self.mechanism
    }
    /// The winners and their awards, in allocation order.
    #[must_use]
    pub fn awards(&self) -> &[Award] {
        &self.awards
    }
    /// Indices of the winners, in allocation order.
    #[must_use]
    pub fn winners(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.awards.iter().map(|award| award.provider)
    }
    /// The award of provider `index`, or `None` if it lost.
    #[must_use]
    pub fn award_of(&self, index: usize) -> Option<&Award> {
        self.awards.iter().find(|award| award.provider == index)
    }
    /// Σ cash over the winners.
    #[must_use]
    pub fn total_cash(&self) -> f64 {
        self.total_cash
    }
    /// Σ tokens over the winners.
    #[must_use]
    pub fn total_tokens(&self) -> f64 {
        self.total_tokens
    }
    /// Σ w_i over the winners: the buyer's quality-weighted utility.
    #[must_use]
    pub fn value(&self) -> f64 {
        self.value
    }
}
