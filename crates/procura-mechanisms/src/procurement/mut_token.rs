//! MUT, the Marginal Utility Token (spec §A.4). **Reconstruction:** the
//! source paper is known only by its abstract, and this is the project's
//! reading of it.
//!
//! There is no cash. Future rights worth R (`token_budget`) are split into a
//! pool of Π tokens. The admitted set is Q-MIA's proportional-share
//! allocation run with budget R, and each member gets a pro-rata share of
//! the pool. MUT is IR but **not** DSIC: a loser can jump ahead of another
//! loser by underbidding and collect a share worth more than its cost.
//!
//! [`token_value`] is what a share is worth in cash; MUT's own `clear` is
//! reached through [`super::clear`], which checks that the instance states
//! `token_budget`.

use super::instance::Instance;
use super::numerics::{Arith, FastRange, Wide};
use super::outcome::{Award, Outcome};
use super::ranking::{select_proportional_share, Selection};
use super::Auction;

/// Clears `instance` with MUT (§A.4).
///
/// ```text
/// A   = proportional-share winners at budget R
/// τ_i = (Π · w_i) / W_A,   W_A = Σ_{j∈A} w_j
/// ```
///
/// Each share is worth R·w_i/W_A ≥ b_i, so IR holds. Requires the instance
/// to state `token_budget` ([`Instance::has_token_budget`]); the caller,
/// [`super::clear`], checks that.
pub(crate) fn clear(instance: &Instance) -> Outcome {
    if FastRange::instance(instance) {
        clear_in::<f64>(instance)
    } else {
        clear_in::<Wide>(instance)
    }
}

/// [`clear`] in the arithmetic `N` (see `numerics.rs`: the same bits in
/// both wherever `f64` is used).
pub(super) fn clear_in<N: Arith>(instance: &Instance) -> Outcome {
    let providers = instance.providers();
    let Selection {
        ranking,
        score_sums,
        n_winners,
    } = select_proportional_share::<N>(instance, instance.token_budget());
    let admitted_score = score_sums[n_winners];
    let awards = ranking[..n_winners]
        .iter()
        .map(|ranked| {
            award::<N>(
                instance,
                ranked.index,
                providers[ranked.index].score(),
                admitted_score,
            )
        })
        .collect();
    Outcome::new(Auction::Mut, instance, awards)
}

/// What an admitted provider with score w_i = `score` receives when the
/// admitted scores total W_A = `admitted_score` (§A.4): its pro-rata share
/// of the pool, in tokens.
///
/// ```text
/// τ_i = (Π · w_i) / W_A
/// ```
///
/// in [`Wide`], rounded once as an amount (exact, or up below the normal
/// range; see `numerics.rs`).
pub(crate) fn award<N: Arith>(
    instance: &Instance,
    provider: usize,
    score: f64,
    admitted_score: f64,
) -> Award {
    Award {
        provider,
        cash: 0.0,
        tokens: N::product_over(instance.token_pool(), score, admitted_score).to_amount(),
    }
}

/// What `tokens` MUT tokens of `instance` are worth in cash-equivalent
/// units (§A.4): the pool Π is worth the token budget R, so a share τ is
/// worth
///
/// ```text
/// R · τ / Π
/// ```
///
/// computed in that order, with an unbounded exponent, and rounded once as
/// an amount (exact, or up below the normal range; see `numerics.rs`), so
/// that a share is never worth less than its exact value. Every valuation
/// of a MUT share (the auditor's, best responses', experiment tables') goes
/// through here.
///
/// ```
/// use procura_mechanisms::procurement::{mut_token::token_value, Instance, InstanceSpec, ProviderSpec};
///
/// let instance = Instance::new(InstanceSpec {
///     budget: 1.0,
///     token_budget: Some(3.0),
///     token_pool: Some(100.0),
///     providers: vec![ProviderSpec::new("a", 1.0, 1.0, 1.0)],
///     ..InstanceSpec::default()
/// })?;
/// assert_eq!(token_value(&instance, 50.0), 1.5);
/// # Ok::<(), procura_mechanisms::procurement::InstanceError>(())
/// ```
#[must_use]
pub fn token_value(instance: &Instance, tokens: f64) -> f64 {
    if !(tokens.is_finite() && tokens >= 0.0) {
        // No share is negative or infinite; such a count keeps the plain
        // formula's sign and infinities.
        return instance.token_budget() * tokens / instance.token_pool();
    }
    let (budget, pool) = (instance.token_budget(), instance.token_pool());
    if FastRange::holds(budget) && FastRange::holds(pool) && FastRange::report(tokens) {
        // Within the range of `numerics.rs`: R·τ/Π stays normal (or 0).
        f64::product_over(budget, tokens, pool).to_amount()
    } else {
        Wide::product_over(budget, tokens, pool).to_amount()
    }
}
