//! MUT, the Marginal Utility Token (spec §A.4). **Reconstruction:** the
//! source paper is known only by its abstract, and this is the project's
//! reading of it.
//!
//! There is no cash. Future rights worth R (`token_budget`) are split into a
//! pool of Π tokens. The admitted set is Q-MIA's proportional-share
//! allocation run with budget R, and each member gets a pro-rata share of
//! the pool. MUT is IR but **not** DSIC: a loser can jump ahead of another
//! loser by underbidding and collect a share worth more than its cost.

use super::instance::Instance;
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
    let providers = instance.providers();
    let Selection {
        ranking,
        score_sums,
        n_winners,
    } = select_proportional_share(instance, instance.token_budget());
    let admitted_score = score_sums[n_winners];
    let awards = ranking[..n_winners]
        .iter()
        .map(|ranked| Award {
            provider: ranked.index,
            cash: 0.0,
            tokens: (instance.token_pool() * providers[ranked.index].score()) / admitted_score,
        })
        .collect();
    Outcome::new(Auction::Mut, instance, awards)
}
