//! Withdrawal protocols (spec §B.4, **reconstruction**): after assignment,
//! every user with x_i > 0 decides whether to stay or to withdraw its data,
//! and the model is trained iff the staying users' amounts reach T.
//!
//! # The game
//!
//! A stayer gets t_i + b_i − ρ·c_i·x_i − ε_i if training happens and 0
//! otherwise; a user who withdraws gets b_i if training happens and 0
//! otherwise. The shock ε_i is exponential with mean σ. With
//! π⁺ = P(training | i stays) and π⁻ = P(training | i withdraws), user i
//! stays iff its shock is below a cutoff:
//!
//! ```text
//! k_i = (t_i − ρ·c_i·x_i) + b_i − b_i·π⁻/π⁺          (withdraw if π⁺ = 0)
//! s_i = G(k_i),   G(k) = 1 − e^(−k/σ) for k ≥ 0,  G(k) = 0 for k < 0
//! ```
//!
//! With σ = 0 there are no shocks and G is the step at 0: a user stays iff
//! k_i ≥ 0 (it stays when indifferent, as "ε_i ≤ k_i" with ε_i = 0 says).
//! For σ > 0, G(0) = 0.
//!
//! - [`Protocol::Simultaneous`]: everyone decides at once. Starting from
//!   s_j = `belief`, iterate s ← G(k(s)) (all users at once, π± from the
//!   others' s) until the largest change is < 10⁻¹³
//!   ([`FIXED_POINT_TOLERANCE`]) or 10,000 rounds ([`FIXED_POINT_ROUNDS`])
//!   pass.
//! - [`Protocol::SmallFirst`]: users move one at a time in ascending
//!   (x_i, id) order and see who stayed before them. Backward induction on
//!   the committed amount C: V_end(C) = 1 if C reaches T, else 0, and at
//!   user j, π⁺ = V_{j+1}(C + x_j), π⁻ = V_{j+1}(C).
//! - [`Protocol::LargeFirst`]: the same game in the exact reverse order
//!   (descending x_i, then descending id).
//!
//! # Statistics
//!
//! ```text
//! success_probability   = P(training)
//! expected_payment      = E[ 1{training} · Σ_{i stays} t_i ]
//! expected_participants = E[ 1{training} · #{i stays} ]
//! expected_data         = E[ 1{training} · Σ_{i stays} x_i ]
//! ```
//!
//! The shared parts (the game, the stay rule, the simultaneous fixed point)
//! live here; the solvers in `exact.rs` and `grid.rs`.
//!
//! # Exact solvers (at most [`EXACT_LIMIT`] = 20 assigned users)
//!
//! - Sequential protocols: the backward induction is a recursion over the
//!   tree of stay/withdraw decisions (2^m leaves at worst), cut short where
//!   C already reaches T (everyone after sees π⁺ = π⁻ = 1) and where the
//!   remaining users cannot reach T any more (π⁺ = 0).
//! - Simultaneous protocol: with independent stay probabilities, π± are
//!   sums over subsets of the others. They are computed by meeting in the
//!   middle: the users are split into two halves, each half's subset sums
//!   are sorted once, and each round every π± is a two-pointer sweep over
//!   the two sorted lists, with the user itself marginalized out of its
//!   half. That is O(m·2^(m/2)) per round, exact.
//!
//! # The grid approximation (more than 20 assigned users)
//!
//! Let Σx be the assigned total, L = T·(1 − 10⁻⁹) the amount that reaches
//! T, and W = Σx − L the amount that may be withdrawn without failure. The
//! game is tracked in whichever of two frames has the shorter live range:
//!
//! - the **withdrawn frame** (when W ≤ L) tracks the withdrawn amount D on
//!   [0, W]; a withdrawal moves D by x_i, and D > W is failure;
//! - the **committed frame** (when W > L) tracks the committed amount C on
//!   [0, L]; a stay moves C by x_i, and C ≥ L is success.
//!
//! The range is cut into G cells of width h = min(W, L)/G, where G =
//! [`GRID_CELLS`] = 4096 for the sequential protocols; the simultaneous
//! protocol, which re-solves the grid every round, uses
//! G = clamp(2²⁴/m, 256, 4096). A move of x_i lands on the two neighbouring
//! grid points around the exact position, with weights that keep its mean
//! (linear interpolation of the value function, or of the distribution).
//!
//! A move of more than W in the withdrawn frame (at least L in the
//! committed frame) decides the game on its own and is absorbed exactly.
//!
//! **Error bound.** The grid result is the exact result of a perturbed game
//! in which every move in the tracked direction is rounded at random, and
//! without bias, to a neighbouring multiple of h. After n such moves the
//! tracked amount is off by less than n·h, with mean 0 and standard
//! deviation at most √n·h/2. Three common cases are exact (up to rounding
//! in doubles):
//!
//! - the all-stay path, since staying moves nothing in the withdrawn frame
//!   and withdrawing moves nothing in the committed frame;
//! - `slack` = 0: then W ≈ 10⁻⁹·T is less than every assigned amount, so
//!   every withdrawal is exactly fatal;
//! - amounts that are multiples of h.
//!
//! The threshold makes the statistics discontinuous in the amounts, so no
//! bound on them holds uniformly. Users whose amounts are below h are where
//! the approximation is weakest: rounding adds up to s·h²/4 variance per
//! user. The tests measure the gap to the exact solvers on random
//! instances with up to 12 users (worst gap in success probability about
//! 3·10⁻³, mean about 10⁻⁵) and check that it is exact without slack.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::instance::ThresholdInstance;
use super::withdrawal::Allocation;
use super::{reach_level, Assignment};
use crate::tolerance::FIXED_POINT_TOLERANCE;

mod exact;
mod grid;

pub use grid::{grid_cells, GRID_CELLS, MIN_GRID_CELLS};

/// Most assigned users that the exact solvers handle; beyond it
/// [`evaluate`] uses the grid approximation.
pub const EXACT_LIMIT: usize = 20;

/// The simultaneous fixed point stops after this many rounds (§B.4).
pub const FIXED_POINT_ROUNDS: usize = 10_000;

/// The withdrawal protocols of §B.4 (reconstruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Protocol {
    /// Everyone decides at once (the default).
    #[default]
    Simultaneous,
    /// One at a time, smallest assigned amount first.
    SmallFirst,
    /// One at a time, largest assigned amount first.
    LargeFirst,
}

impl Protocol {
    /// Every protocol, in the spec's order.
    pub const ALL: [Protocol; 3] = [
        Protocol::Simultaneous,
        Protocol::SmallFirst,
        Protocol::LargeFirst,
    ];

    /// The name used in files and on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Simultaneous => "simultaneous",
            Protocol::SmallFirst => "small-first",
            Protocol::LargeFirst => "large-first",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A protocol name that is not one of [`Protocol::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol {0:?}: expected one of simultaneous, small-first, large-first")]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;
    fn from_str(name: &str) -> Result<Protocol, UnknownProtocol> {
        Protocol::ALL
            .into_iter()
            .find(|protocol| protocol.name() == name)
            .ok_or_else(|| UnknownProtocol(name.to_owned()))
    }
}

/// How protocol statistics are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Solver {
    /// Exactly, by recursion (sequential) or subset sums (simultaneous).
    /// Only up to [`EXACT_LIMIT`] assigned users.
    Exact,
    /// On the grid approximation described in the module docs.
    Grid,
}

/// The statistics of one protocol (§B.4). Payments, participants and data
/// count only when training happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtocolReport {
    /// The protocol played.
    pub protocol: Protocol,
    /// P(training).
    pub success_probability: f64,
    /// E[1{training} · Σ t_i over stayers].
    pub expected_payment: f64,
    /// E[1{training} · number of stayers].
    pub expected_participants: f64,
    /// E[1{training} · Σ x_i over stayers].
    pub expected_data: f64,
    /// How the statistics were computed.
    pub solver: Solver,
}

/// Plays `protocol` on a withdrawal allocation (§B.4): exactly up to
/// [`EXACT_LIMIT`] assigned users, on the grid beyond. `None` when the
/// allocation is null (nobody is assigned, there is nothing to play).
#[must_use]
pub fn evaluate(allocation: &Allocation, protocol: Protocol) -> Option<ProtocolReport> {
    let solver = if allocation.assignments().len() <= EXACT_LIMIT {
        Solver::Exact
    } else {
        Solver::Grid
    };
    evaluate_with(allocation, protocol, solver)
}

/// Plays `protocol` with the given solver. `None` when the allocation is
/// null, or when `solver` is [`Solver::Exact`] and more than
/// [`EXACT_LIMIT`] users are assigned.
#[must_use]
pub fn evaluate_with(
    allocation: &Allocation,
    protocol: Protocol,
    solver: Solver,
) -> Option<ProtocolReport> {
    let game = allocation.game();
    if allocation.is_null() || game.players.is_empty() {
        return None;
    }
    let value = match solver {
        Solver::Exact => {
            if game.players.len() > EXACT_LIMIT {
                return None;
            }
            match protocol {
                Protocol::Simultaneous => exact::simultaneous(game),
                Protocol::SmallFirst | Protocol::LargeFirst => {
                    exact::sequential(game, &decision_order(game, protocol))
                }
            }
        }
        Solver::Grid => match protocol {
            Protocol::Simultaneous => grid::simultaneous(game),
            Protocol::SmallFirst | Protocol::LargeFirst => {
                grid::sequential(game, &decision_order(game, protocol))
            }
        },
    };
    Some(ProtocolReport {
        protocol,
        // Sums of probabilities can overshoot 1 by a few ulps.
        success_probability: value.success.clamp(0.0, 1.0),
        expected_payment: value.payment,
        expected_participants: value.participants,
        expected_data: value.data,
        solver,
    })
}

// ---------------------------------------------------------------------------
// The game: what the protocols need to know about each assigned user.

/// An assigned user, as the protocols see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Player {
    id: String,
    /// x_i.
    amount: f64,
    /// t_i.
    payment: f64,
    /// t_i − ρ·c_i·x_i, the sure part of staying's premium.
    margin: f64,
    /// b_i.
    benefit: f64,
}

/// Everything the protocols read: the assigned users in allocation order
/// and the instance's threshold, shocks and belief.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Game {
    /// L = T·(1 − 10⁻⁹): a staying amount ≥ L reaches T.
    level: f64,
    shock_mean: f64,
    belief: f64,
    players: Vec<Player>,
}

impl Game {
    /// The game after `assignments` (in allocation order) on `instance`.
    ///
    /// The margin is computed as t_i − ρ·(c_i·x_i): since t_i ≥ c_i·x_i and
    /// ρ ≤ 1, it is never negative in doubles either.
    pub(crate) fn new(instance: &ThresholdInstance, assignments: &[Assignment]) -> Game {
        let rho = instance.reversibility();
        let players = assignments
            .iter()
            .filter_map(|assignment| {
                let user = instance.users().get(assignment.user)?;
                Some(Player {
                    id: user.id().to_owned(),
                    amount: assignment.amount,
                    payment: assignment.payment,
                    margin: assignment.payment - rho * (user.cost() * assignment.amount),
                    benefit: user.benefit(),
                })
            })
            .collect();
        Game {
            level: reach_level(instance.threshold()),
            shock_mean: instance.shock_mean(),
            belief: instance.belief(),
            players,
        }
    }

    fn reaches(&self, amount: f64) -> bool {
        amount >= self.level
    }

    /// The probability that `player` stays, given π⁺ and π⁻.
    ///
    /// ```text
    /// k = (t − ρ·c·x) + b − b·π⁻/π⁺,   s = G(k);   s = 0 when π⁺ = 0
    /// (computed as (t − ρ·c·x) + b·((π⁺ − π⁻)/π⁺))
    /// ```
    fn stay(&self, player: &Player, plus: f64, minus: f64) -> f64 {
        if plus.is_nan() || plus <= 0.0 {
            return 0.0;
        }
        // margin + b·(1 − π⁻/π⁺), in this order so that a benefit far above
        // the margin cannot round the margin away, and π⁺ = π⁻ gives
        // exactly the margin.
        let cutoff = player.margin + player.benefit * ((plus - minus) / plus);
        shock_cdf(cutoff, self.shock_mean)
    }
}

/// G(k) = P(ε ≤ k) for ε exponential with mean σ; the step at 0 (G(0) = 1)
/// when σ = 0.
///
/// ```text
/// G(k) = 0                 k < 0
/// G(k) = 1 − e^(−k/σ)      k ≥ 0, σ > 0
/// G(k) = 1                 k ≥ 0, σ = 0
/// ```
fn shock_cdf(cutoff: f64, shock_mean: f64) -> f64 {
    if cutoff.is_nan() || cutoff < 0.0 {
        0.0
    } else if shock_mean == 0.0 {
        1.0
    } else {
        -(-cutoff / shock_mean).exp_m1()
    }
}

/// The decision order of a sequential protocol, as indices into
/// `game.players`: ascending (x_i, id) for small-first, the exact reverse
/// for large-first. The simultaneous protocol has no order; it gets the
/// allocation order.
fn decision_order(game: &Game, protocol: Protocol) -> Vec<usize> {
    let assigned: Vec<(f64, &str)> = game
        .players
        .iter()
        .map(|player| (player.amount, player.id.as_str()))
        .collect();
    turn_order(protocol, &assigned)
}

/// The order in which the assigned users decide under `protocol` (§B.4):
/// ascending (x_i, id) under small-first, descending (x_i, id) under
/// large-first, the allocation order under simultaneous (where everyone
/// decides at once and the order does not matter). `assigned` holds each
/// assigned user's (x_i, id) in allocation order; the result lists indices
/// into it. Ids compare byte-wise; amounts by [`f64::total_cmp`].
///
/// ```
/// use procura_mechanisms::threshold::protocol::{turn_order, Protocol};
/// let assigned = [(2.0, "u1"), (1.5, "u3"), (1.5, "u2")];
/// assert_eq!(turn_order(Protocol::SmallFirst, &assigned), [2, 1, 0]);
/// assert_eq!(turn_order(Protocol::LargeFirst, &assigned), [0, 1, 2]);
/// assert_eq!(turn_order(Protocol::Simultaneous, &assigned), [0, 1, 2]);
/// ```
#[must_use]
pub fn turn_order(protocol: Protocol, assigned: &[(f64, &str)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..assigned.len()).collect();
    let ascending = |a: &usize, b: &usize| -> Ordering {
        let ((a_amount, a_id), (b_amount, b_id)) = (assigned[*a], assigned[*b]);
        a_amount
            .total_cmp(&b_amount)
            .then_with(|| a_id.as_bytes().cmp(b_id.as_bytes()))
    };
    match protocol {
        Protocol::SmallFirst => order.sort_by(ascending),
        Protocol::LargeFirst => order.sort_by(|a, b| ascending(b, a)),
        Protocol::Simultaneous => {}
    }
    order
}

/// Expected outcomes from some point of the game on, each counted only
/// when training happens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Value {
    /// P(training).
    success: f64,
    /// E[1{training} · Σ t over the stayers still to move].
    payment: f64,
    /// E[1{training} · number of stayers still to move].
    participants: f64,
    /// E[1{training} · Σ x over the stayers still to move].
    data: f64,
}

impl Value {
    /// Training certain, nothing more to count.
    const REACHED: Value = Value {
        success: 1.0,
        payment: 0.0,
        participants: 0.0,
        data: 0.0,
    };

    /// The mixture (1 − weight)·self + weight·other.
    fn mix(self, other: Value, weight: f64) -> Value {
        if weight == 0.0 {
            return self;
        }
        let mix = |a: f64, b: f64| a + weight * (b - a);
        Value {
            success: mix(self.success, other.success),
            payment: mix(self.payment, other.payment),
            participants: mix(self.participants, other.participants),
            data: mix(self.data, other.data),
        }
    }
}

/// The value before `player` moves, who stays with probability `stay`
/// and then continues at `plus`, or withdraws and continues at `minus`.
///
/// Written as minus + s·(plus' − minus) so that equal continuations give
/// back exactly that value (V = 1 stays 1 once T is reached).
fn combine(player: &Player, stay: f64, plus: Value, minus: Value) -> Value {
    let stayed = Value {
        success: plus.success,
        payment: player.payment * plus.success + plus.payment,
        participants: plus.success + plus.participants,
        data: player.amount * plus.success + plus.data,
    };
    minus.mix(stayed, stay)
}

// ---------------------------------------------------------------------------
// The simultaneous protocol: the fixed point, whatever computes π±.

/// π⁺_i, π⁻_i for every user, and P(training), under stay probabilities s.
struct Pivots {
    plus: Vec<f64>,
    minus: Vec<f64>,
    success: f64,
}

/// Iterates s ← G(k(s)) from s = belief (§B.4) and reports the statistics
/// at the fixed point, with π± recomputed from the final s.
///
/// When the iteration does not converge, the spec stops it after
/// [`FIXED_POINT_ROUNDS`] rounds. The map is deterministic, so once the
/// state repeats bit for bit it cycles; Brent's cycle detection (comparing
/// each state with one saved at power-of-two distances) finds the period λ,
/// and the loop then runs only the (10,000 − round) mod λ rounds that
/// decide which state of the cycle round 10,000 ends on. The result is the
/// same as running every round, at a fraction of the cost.
fn fixed_point(game: &Game, mut pivots: impl FnMut(&[f64]) -> Pivots) -> Value {
    let players = &game.players;
    let mut stays = vec![game.belief; players.len()];
    let mut saved = stays.clone();
    let (mut saved_round, mut distance) = (0, 1);
    let mut last_round = FIXED_POINT_ROUNDS;
    let mut round = 0;
    while round < last_round {
        let pivot = pivots(&stays);
        let mut change: f64 = 0.0;
        for (index, player) in players.iter().enumerate() {
            let stay = game.stay(player, pivot.plus[index], pivot.minus[index]);
            change = change.max((stay - stays[index]).abs());
            stays[index] = stay;
        }
        round += 1;
        if change < FIXED_POINT_TOLERANCE {
            break;
        }
        if last_round == FIXED_POINT_ROUNDS {
            let repeated = stays
                .iter()
                .zip(&saved)
                .all(|(now, then)| now.to_bits() == then.to_bits());
            if repeated {
                let period = round - saved_round;
                last_round = round + (FIXED_POINT_ROUNDS - round) % period;
            } else if round - saved_round == distance {
                saved.copy_from_slice(&stays);
                saved_round = round;
                distance *= 2;
            }
        }
    }
    let pivot = pivots(&stays);
    let mut value = Value {
        success: pivot.success,
        ..Value::default()
    };
    for (index, player) in players.iter().enumerate() {
        let counted = stays[index] * pivot.plus[index];
        value.payment += player.payment * counted;
        value.participants += counted;
        value.data += player.amount * counted;
    }
    value
}
