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
//!   others' s) until the largest change is < 10⁻¹³ or 10,000 rounds pass.
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

/// Most assigned users that the exact solvers handle; beyond it
/// [`evaluate`] uses the grid approximation.
pub const EXACT_LIMIT: usize = 20;

/// Cells of the grid approximation for the sequential protocols (and the
/// most the simultaneous protocol uses).
pub const GRID_CELLS: usize = 4096;

/// Fewest cells the simultaneous protocol's grid uses.
pub const MIN_GRID_CELLS: usize = 256;

/// Cell budget m·G of one round of the simultaneous protocol's grid.
const SIMULTANEOUS_CELL_BUDGET: usize = 1 << 24;

/// The simultaneous fixed point stops when no stay probability changes by
/// this much in a round (§B.4).
pub const FIXED_POINT_TOLERANCE: f64 = 1e-13;

/// The simultaneous fixed point stops after this many rounds (§B.4).
pub const FIXED_POINT_ROUNDS: usize = 10_000;

/// The exact sequential solver stops exploring a branch when even the
/// all-stay path falls short of T by more than this relative margin, which
/// is far above the rounding of a sum of at most 20 amounts; closer calls
/// are explored to the leaves.
const DEAD_MARGIN: f64 = 1e-12;

/// The withdrawal protocols of §B.4 (reconstruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
                Protocol::Simultaneous => simultaneous_exact(game),
                Protocol::SmallFirst | Protocol::LargeFirst => {
                    sequential_exact(game, &decision_order(game, protocol))
                }
            }
        }
        Solver::Grid => match protocol {
            Protocol::Simultaneous => simultaneous_grid(game),
            Protocol::SmallFirst | Protocol::LargeFirst => {
                sequential_grid(game, &decision_order(game, protocol))
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

/// The number of grid cells G that [`Solver::Grid`] uses for `protocol`
/// with `n_assigned` assigned users.
///
/// ```text
/// sequential:    G = 4096
/// simultaneous:  G = clamp(2²⁴ / m, 256, 4096)
/// ```
pub fn grid_cells(protocol: Protocol, n_assigned: usize) -> usize {
    match protocol {
        Protocol::SmallFirst | Protocol::LargeFirst => GRID_CELLS,
        Protocol::Simultaneous => {
            (SIMULTANEOUS_CELL_BUDGET / n_assigned.max(1)).clamp(MIN_GRID_CELLS, GRID_CELLS)
        }
    }
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
    let mut order: Vec<usize> = (0..game.players.len()).collect();
    let players = &game.players;
    let ascending = |a: &usize, b: &usize| -> Ordering {
        let (a, b) = (&players[*a], &players[*b]);
        a.amount
            .total_cmp(&b.amount)
            .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
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
// Exact sequential protocols.

/// Backward induction over the tree of decisions, in `order`.
fn sequential_exact(game: &Game, order: &[usize]) -> Value {
    let players: Vec<&Player> = order.iter().map(|&index| &game.players[index]).collect();
    let n = players.len();
    // What is left to count once C reaches T: every later user sees
    // π⁺ = π⁻ = 1.
    let mut reached = vec![Value::REACHED; n + 1];
    for j in (0..n).rev() {
        let stay = game.stay(players[j], 1.0, 1.0);
        reached[j] = combine(players[j], stay, reached[j + 1], reached[j + 1]);
    }
    // Σ of the amounts still to move, to cut branches that cannot reach T.
    let mut remaining = vec![0.0; n + 1];
    for j in (0..n).rev() {
        remaining[j] = remaining[j + 1] + players[j].amount;
    }
    let search = Search {
        game,
        players: &players,
        reached: &reached,
        remaining: &remaining,
    };
    search.value(0, 0.0)
}

struct Search<'a> {
    game: &'a Game,
    players: &'a [&'a Player],
    reached: &'a [Value],
    remaining: &'a [f64],
}

impl Search<'_> {
    /// V_j(C) and the statistics that go with it.
    fn value(&self, j: usize, committed: f64) -> Value {
        if self.game.reaches(committed) {
            return self.reached[j];
        }
        if j == self.players.len()
            || committed + self.remaining[j] < self.game.level * (1.0 - DEAD_MARGIN)
        {
            return Value::default();
        }
        let player = self.players[j];
        let plus = self.value(j + 1, committed + player.amount);
        let minus = self.value(j + 1, committed);
        let stay = self.game.stay(player, plus.success, minus.success);
        combine(player, stay, plus, minus)
    }
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
fn simultaneous(game: &Game, mut pivots: impl FnMut(&[f64]) -> Pivots) -> Value {
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

// ---------------------------------------------------------------------------
// Exact simultaneous protocol: subset sums, meeting in the middle.

/// One half of the users: the amount of every subset (bit k = the half's
/// k-th user) and the subsets sorted by (amount, mask).
struct Half {
    players: Vec<usize>,
    sums: Vec<f64>,
    sorted: Vec<usize>,
}

impl Half {
    fn new(game: &Game, players: Vec<usize>) -> Half {
        let n_masks = 1usize << players.len();
        let mut sums = vec![0.0; n_masks];
        for mask in 1..n_masks {
            let low = mask.trailing_zeros() as usize;
            sums[mask] = sums[mask & (mask - 1)] + game.players[players[low]].amount;
        }
        let mut sorted: Vec<usize> = (0..n_masks).collect();
        sorted.sort_by(|a, b| sums[*a].total_cmp(&sums[*b]).then(a.cmp(b)));
        Half {
            players,
            sums,
            sorted,
        }
    }

    /// P(exactly the subset `mask` stays), for every mask.
    fn probabilities(&self, stays: &[f64]) -> Vec<f64> {
        let mut probabilities = Vec::with_capacity(self.sums.len());
        probabilities.push(1.0);
        for &player in &self.players {
            let stay = stays[player];
            let len = probabilities.len();
            for mask in 0..len {
                let p = probabilities[mask];
                probabilities.push(p * stay);
                probabilities[mask] = p * (1.0 - stay);
            }
        }
        probabilities
    }
}

/// A distribution of amounts as ascending (amount, probability) atoms,
/// with its tail sums: `tails[k]` = P(amount ≥ the k-th atom's), and a
/// trailing 0.
struct Atoms {
    atoms: Vec<(f64, f64)>,
    tails: Vec<f64>,
}

impl Atoms {
    /// The distribution of a half's staying amount.
    fn new(half: &Half, probabilities: &[f64]) -> Atoms {
        let atoms: Vec<(f64, f64)> = half
            .sorted
            .iter()
            .map(|&mask| (half.sums[mask], probabilities[mask]))
            .collect();
        let mut tails = vec![0.0; atoms.len() + 1];
        for k in (0..atoms.len()).rev() {
            tails[k] = tails[k + 1] + atoms[k].1;
        }
        Atoms { atoms, tails }
    }
}

/// P(A + B + shift reaches T) for each shift in `shifts`, where A is the
/// staying amount of `half` (with its user at bit position `without`
/// marginalized out, when given) and B is independent with distribution
/// `other`: one sweep up A's sorted subsets, with one pointer per shift
/// moving down B's atoms.
fn reach_probabilities<const N: usize>(
    game: &Game,
    half: &Half,
    probabilities: &[f64],
    without: Option<usize>,
    other: &Atoms,
    shifts: [f64; N],
) -> [f64; N] {
    let bit = without.map_or(0, |bit| 1usize << bit);
    let mut pointers = [other.atoms.len(); N];
    let mut totals = [0.0; N];
    for &mask in &half.sorted {
        if mask & bit != 0 {
            continue;
        }
        let probability = if bit == 0 {
            probabilities[mask]
        } else {
            probabilities[mask] + probabilities[mask | bit]
        };
        let amount = half.sums[mask];
        for k in 0..N {
            let base = amount + shifts[k];
            while pointers[k] > 0 && game.reaches(base + other.atoms[pointers[k] - 1].0) {
                pointers[k] -= 1;
            }
            totals[k] += probability * other.tails[pointers[k]];
        }
    }
    totals
}

fn simultaneous_exact(game: &Game) -> Value {
    let n = game.players.len();
    let first = Half::new(game, (0..n / 2).collect());
    let second = Half::new(game, (n / 2..n).collect());
    let pivots = |stays: &[f64]| -> Pivots {
        let first_p = first.probabilities(stays);
        let second_p = second.probabilities(stays);
        let first_atoms = Atoms::new(&first, &first_p);
        let second_atoms = Atoms::new(&second, &second_p);
        let mut plus = vec![0.0; n];
        let mut minus = vec![0.0; n];
        // Each user is marginalized out of its own half, which is swept
        // against the other half's atoms.
        for (own, own_p, other) in [
            (&first, &first_p, &second_atoms),
            (&second, &second_p, &first_atoms),
        ] {
            for (bit, &player) in own.players.iter().enumerate() {
                let amount = game.players[player].amount;
                [plus[player], minus[player]] =
                    reach_probabilities(game, own, own_p, Some(bit), other, [amount, 0.0]);
            }
        }
        let [success] = reach_probabilities(game, &first, &first_p, None, &second_atoms, [0.0]);
        Pivots {
            plus,
            minus,
            success,
        }
    };
    simultaneous(game, pivots)
}

// ---------------------------------------------------------------------------
// The grid approximation.

/// Which amount the grid tracks (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// The withdrawn amount D ∈ [0, W]: cells 0..=G are alive, cell G + 1
    /// absorbs failure. A withdrawal moves.
    Withdrawn,
    /// The committed amount C ∈ [0, L]: cell G absorbs success. A stay
    /// moves.
    Committed,
}

/// The grid: its frame, the absorbing cell, and each player's move in cells
/// (whole cells and the fraction that goes one cell further).
struct Grid {
    frame: Frame,
    /// Index of the absorbing cell: G + 1 (withdrawn frame) or G
    /// (committed frame).
    top: usize,
    moves: Vec<(usize, f64)>,
}

impl Grid {
    /// `None` when even the all-stay amount does not reach T: nobody ever
    /// sees π⁺ > 0, and nothing happens.
    fn new(game: &Game, cells: usize) -> Option<Grid> {
        let total = game
            .players
            .iter()
            .fold(0.0, |sum, player| sum + player.amount);
        if !game.reaches(total) {
            return None;
        }
        let allowance = total - game.level;
        let (frame, span, top) = if allowance <= game.level {
            (Frame::Withdrawn, allowance, cells + 1)
        } else {
            (Frame::Committed, game.level, cells)
        };
        let moves = game
            .players
            .iter()
            .map(|player| {
                let decisive = match frame {
                    Frame::Withdrawn => player.amount > span,
                    Frame::Committed => player.amount >= span,
                };
                if decisive {
                    return (top, 0.0);
                }
                // The move's position in cells, at most G; computed as
                // x/span·G, which stays finite however small the span.
                let position = player.amount / span * cells as f64;
                let whole = position.floor();
                (whole as usize, position - whole)
            })
            .collect();
        Some(Grid { frame, top, moves })
    }

    /// Whether the final cell `cell` means training.
    fn succeeds(&self, cell: usize) -> bool {
        match self.frame {
            Frame::Withdrawn => cell < self.top,
            Frame::Committed => cell == self.top,
        }
    }
}

/// Backward induction on the grid, in `order`.
fn sequential_grid(game: &Game, order: &[usize]) -> Value {
    let Some(grid) = Grid::new(game, grid_cells(Protocol::SmallFirst, order.len())) else {
        return Value::default();
    };
    let top = grid.top;
    let mut next: Vec<Value> = (0..=top)
        .map(|cell| {
            if grid.succeeds(cell) {
                Value::REACHED
            } else {
                Value::default()
            }
        })
        .collect();
    let mut current = next.clone();
    for &index in order.iter().rev() {
        let player = &game.players[index];
        let (whole, fraction) = grid.moves[index];
        for cell in 0..=top {
            let here = next[cell];
            let low = next[(cell + whole).min(top)];
            let high = next[(cell + whole + 1).min(top)];
            let moved = if cell == top {
                here
            } else {
                low.mix(high, fraction)
            };
            let (plus, minus) = match grid.frame {
                Frame::Withdrawn => (here, moved),
                Frame::Committed => (moved, here),
            };
            let stay = game.stay(player, plus.success, minus.success);
            current[cell] = combine(player, stay, plus, minus);
        }
        std::mem::swap(&mut current, &mut next);
    }
    next[0]
}

/// One user's effect on a distribution over the cells: with probability
/// `probability` the tracked amount moves by `whole` cells (and one more
/// with weight `fraction`), capped at the absorbing cell `top`.
#[derive(Debug, Clone, Copy)]
struct Step {
    whole: usize,
    fraction: f64,
    probability: f64,
}

/// `to` = `from` convolved with `step`.
fn convolve(from: &[f64], to: &mut [f64], step: Step, top: usize) {
    let stay_put = 1.0 - step.probability;
    let low = step.probability * (1.0 - step.fraction);
    let high = step.probability * step.fraction;
    let whole = step.whole;
    // Mass that the move carries to or past the absorbing cell.
    let reaching = |shift: usize| -> f64 { from[top.saturating_sub(shift)..top].iter().sum() };
    to[top] = from[top] + low * reaching(whole) + high * reaching(whole + 1);
    for (to, &from) in to[..top].iter_mut().zip(&from[..top]) {
        *to = stay_put * from;
    }
    if whole < top {
        for (to, &from) in to[whole..top].iter_mut().zip(&from[..top - whole]) {
            *to += low * from;
        }
    }
    if high != 0.0 && whole + 1 < top {
        for (to, &from) in to[whole + 1..top].iter_mut().zip(&from[..top - whole - 1]) {
            *to += high * from;
        }
    }
}

/// The point mass at cell 0, over `width` cells.
fn origin(width: usize) -> Vec<f64> {
    let mut distribution = vec![0.0; width];
    distribution[0] = 1.0;
    distribution
}

/// The simultaneous protocol on the grid: π± for each user from the
/// distribution of the others' tracked amount, built from prefix and suffix
/// distributions (prefixes kept at √m checkpoints and rebuilt block by
/// block), so that one round costs O(m·G) time and O(√m·G) memory.
fn simultaneous_grid(game: &Game) -> Value {
    let n = game.players.len();
    let Some(grid) = Grid::new(game, grid_cells(Protocol::Simultaneous, n)) else {
        return Value::default();
    };
    let width = grid.top + 1;
    let block = (n as f64).sqrt().ceil().max(1.0) as usize;
    let n_blocks = n.div_ceil(block);
    let step = |stays: &[f64], index: usize| -> Step {
        let (whole, fraction) = grid.moves[index];
        let probability = match grid.frame {
            Frame::Withdrawn => 1.0 - stays[index],
            Frame::Committed => stays[index],
        };
        Step {
            whole,
            fraction,
            probability,
        }
    };
    // Buffers reused across rounds: the checkpoints, one block of prefixes,
    // the suffix, and the suffix's reversed cumulative form.
    let mut checkpoints = vec![0.0; n_blocks * width];
    let mut prefixes = vec![0.0; block * width];
    let mut suffix = vec![0.0; width];
    let mut scratch = vec![0.0; width];
    let mut reversed = vec![0.0; width];
    let pivots = |stays: &[f64]| -> Pivots {
        // Prefix distributions at the start of every block.
        let mut prefix = origin(width);
        for index in 0..n {
            if index % block == 0 {
                let start = index / block * width;
                checkpoints[start..start + width].copy_from_slice(&prefix);
            }
            convolve(&prefix, &mut scratch, step(stays, index), grid.top);
            std::mem::swap(&mut prefix, &mut scratch);
        }
        let success = (0..width)
            .filter(|&cell| grid.succeeds(cell))
            .map(|cell| prefix[cell])
            .sum();

        let mut plus = vec![0.0; n];
        let mut minus = vec![0.0; n];
        suffix.fill(0.0);
        suffix[0] = 1.0;
        for block_index in (0..n_blocks).rev() {
            let start = block_index * block;
            let end = (start + block).min(n);
            prefixes[..width]
                .copy_from_slice(&checkpoints[block_index * width..(block_index + 1) * width]);
            for index in start..end - 1 {
                let k = index - start;
                let (done, rest) = prefixes.split_at_mut((k + 1) * width);
                convolve(
                    &done[k * width..],
                    &mut rest[..width],
                    step(stays, index),
                    grid.top,
                );
            }
            for index in (start..end).rev() {
                reverse_cumulate(&grid, &suffix, &mut reversed);
                let k = index - start;
                let others = &prefixes[k * width..(k + 1) * width];
                let (whole, fraction) = grid.moves[index];
                let still = others_succeed(&grid, others, &reversed, 0);
                let moved_low = others_succeed(&grid, others, &reversed, whole);
                let moved = if fraction == 0.0 {
                    moved_low
                } else {
                    let moved_high = others_succeed(&grid, others, &reversed, whole + 1);
                    moved_low + fraction * (moved_high - moved_low)
                };
                (plus[index], minus[index]) = match grid.frame {
                    Frame::Withdrawn => (still, moved),
                    Frame::Committed => (moved, still),
                };
                convolve(&suffix, &mut scratch, step(stays, index), grid.top);
                std::mem::swap(&mut suffix, &mut scratch);
            }
        }
        Pivots {
            plus,
            minus,
            success,
        }
    };
    simultaneous(game, pivots)
}

/// The cumulative form of the suffix distribution B that
/// [`others_succeed`] needs, stored in reverse so that the sum over the
/// prefix is a forward dot product:
///
/// ```text
/// committed frame:  reversed[j] = P(B ≥ top − j)
/// withdrawn frame:  reversed[j] = P(B ≤ G − j),   G = top − 1 (alive cells)
/// ```
fn reverse_cumulate(grid: &Grid, distribution: &[f64], reversed: &mut [f64]) {
    let top = grid.top;
    match grid.frame {
        Frame::Committed => {
            let mut tail = 0.0;
            for cell in (0..=top).rev() {
                tail += distribution[cell];
                reversed[top - cell] = tail;
            }
        }
        Frame::Withdrawn => {
            let alive = top - 1;
            let mut head = 0.0;
            for cell in 0..=alive {
                head += distribution[cell];
                reversed[alive - cell] = head;
            }
            reversed[top] = 0.0;
        }
    }
}

/// P(A + B + shift means training), for the prefix distribution A and the
/// suffix B given by [`reverse_cumulate`].
///
/// ```text
/// committed:  Σ_{a < top − shift} A[a]·P(B ≥ top − shift − a) + Σ_{a ≥ top − shift} A[a]
/// withdrawn:  Σ_{a ≤ G − shift}   A[a]·P(B ≤ G − shift − a)
/// ```
///
/// In both, P(B … ) is `reversed[shift + a]`.
fn others_succeed(grid: &Grid, prefix: &[f64], reversed: &[f64], shift: usize) -> f64 {
    let top = grid.top;
    match grid.frame {
        Frame::Committed => {
            let need = top.saturating_sub(shift);
            let already: f64 = prefix[need..].iter().sum();
            already + dot(&prefix[..need], &reversed[shift..shift + need])
        }
        Frame::Withdrawn => {
            let Some(room) = (top - 1).checked_sub(shift) else {
                return 0.0;
            };
            dot(&prefix[..=room], &reversed[shift..=shift + room])
        }
    }
}

/// Σ a_k·b_k with four running sums, in a fixed order (so the result does
/// not depend on the machine), which lets the compiler vectorize it.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let chunks_a = a.chunks_exact(4);
    let chunks_b = b.chunks_exact(4);
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for k in 0..4 {
            sums[k] += x[k] * y[k];
        }
    }
    let mut total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
    for (x, y) in tail_a.iter().zip(tail_b) {
        total += x * y;
    }
    total
}
