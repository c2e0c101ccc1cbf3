//! The grid approximation of the withdrawal protocols (§B.4), for more than
//! [`EXACT_LIMIT`](super::EXACT_LIMIT) assigned users: the tracked amount
//! (withdrawn or committed) on a grid of G cells, with mean-preserving
//! moves. The [parent module](super) describes the frames, the cell counts
//! and the error bound.

use super::{combine, fixed_point, Game, Pivots, Protocol, Value};

/// Cells of the grid approximation for the sequential protocols (and the
/// most the simultaneous protocol uses).
pub const GRID_CELLS: usize = 4096;

/// Fewest cells the simultaneous protocol's grid uses.
pub const MIN_GRID_CELLS: usize = 256;

/// Cell budget m·G of one round of the simultaneous protocol's grid.
const SIMULTANEOUS_CELL_BUDGET: usize = 1 << 24;

/// The number of grid cells G that [`Solver::Grid`](super::Solver::Grid) uses for `protocol`
/// with `n_assigned` assigned users.
///
/// ```text
/// sequential:    G = 4096
/// simultaneous:  G = clamp(2²⁴ / m, 256, 4096)
/// ```
#[must_use]
pub fn grid_cells(protocol: Protocol, n_assigned: usize) -> usize {
    match protocol {
        Protocol::SmallFirst | Protocol::LargeFirst => GRID_CELLS,
        Protocol::Simultaneous => {
            (SIMULTANEOUS_CELL_BUDGET / n_assigned.max(1)).clamp(MIN_GRID_CELLS, GRID_CELLS)
        }
    }
}

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
pub(super) fn sequential(game: &Game, order: &[usize]) -> Value {
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
pub(super) fn simultaneous(game: &Game) -> Value {
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
    fixed_point(game, pivots)
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
