//! The exact solvers of the withdrawal protocols (§B.4), for at most
//! [`EXACT_LIMIT`](super::EXACT_LIMIT) assigned users: backward induction
//! over the tree of decisions for the sequential protocols, and subset sums
//! met in the middle for the simultaneous one (see the [parent
//! module](super) for the game and the method).

use super::{combine, fixed_point, Game, Pivots, Player, Value};
use crate::tolerance::SEQUENTIAL_DEAD_MARGIN;

// ---------------------------------------------------------------------------
// Sequential protocols.

/// Backward induction over the tree of decisions, in `order`.
pub(super) fn sequential(game: &Game, order: &[usize]) -> Value {
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
            || committed + self.remaining[j] < self.game.level * (1.0 - SEQUENTIAL_DEAD_MARGIN)
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
// The simultaneous protocol: subset sums, meeting in the middle.

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

pub(super) fn simultaneous(game: &Game) -> Value {
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
    fixed_point(game, pivots)
}
