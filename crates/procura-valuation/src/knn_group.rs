//! The Shapley values of *providers* (groups of rows) in the KNN soft-vote
//! game of [`knn_shapley()`](crate::knn_shapley()): exact by enumerating
//! coalitions, or sampled.
//!
//! The game is that of [`crate::knn_utility`]: for a test point `(x, y)`,
//! with the training rows sorted by squared Euclidean distance to `x`,
//! ties by row index, the utility of the rows R(S) owned by a coalition S
//! of providers is the share of the K nearest of them that carry the test
//! label, averaged over the test set T:
//!
//! ```text
//! U_x(S) = (1/K) Σ_{j=1}^{min(K, |R(S)|)} 1[y_{α_j(R(S))} = y]
//! U(S)   = (1/|T|) Σ_{x ∈ T} U_x(S),      U(∅) = 0
//! ```
//!
//! and a provider's value is its Shapley value in this game, where the
//! players are the providers:
//!
//! ```text
//! φ_i = Σ_{S ⊆ N∖i} |S|! (n − |S| − 1)! / n! · [U(S ∪ i) − U(S)]
//! ```
//!
//! That is not the sum of the provider's rows' KNN-Shapley values (what
//! `knn_shapley` with [`Players::groups`] returns): rows are then players
//! on their own, and a coalition of rows may split a provider. On 1,200
//! wine rows dealt at random to 12 providers (399 test points) the two
//! differ by up to 20% at k = 1 and at k = 5, and order the providers
//! differently; `tests/knn_group.rs` has a five-row case where they
//! order two providers the other way round at k = 1. When every provider
//! owns one row the two are the same, and `knn_shapley`'s recursion,
//! O(N log N) per test point, is the way to compute them.
//!
//! # Exact: a decision tree over coalitions
//!
//! Shapley values are linear in the game, so `φ_i` is the mean over test
//! points of `φ_i(U_x)`. For one test point, only each provider's K
//! nearest rows can ever be among the K nearest of a coalition; walk the
//! sequence of those rows, nearest first, deciding each provider's
//! membership the first time one of its rows comes up (in: its rows count
//! from now on; out: they are skipped), until K member rows are counted or
//! the sequence ends. A leaf of this tree is a class of coalitions: those
//! containing the `a` providers decided in (I), none of the `o` decided out
//! (O), and any of the `f = n − a − o` not yet decided (F). All have the
//! same utility, `U_x = h/K` with `h` the hits counted on the way, so the
//! providers of F are dummies within the class, and summing the Shapley
//! weights over the `2^f` coalitions of the class (a Beta integral) gives
//! each decided provider's share:
//!
//! ```text
//! Σ_{G ⊆ F} w(|I ∪ G| − 1) = (a − 1)! o! / (a + o)!   for i ∈ I (it is in every coalition)
//! Σ_{G ⊆ F} w(|I ∪ G|)     = a! (o − 1)! / (a + o)!   for i ∈ O (in none)
//! w(s) = s! (n − 1 − s)! / n!
//! ```
//!
//! so the leaf adds `(h/K)·(a − 1)! o!/(a + o)!` to every provider of I and
//! subtracts `(h/K)·a! (o − 1)!/(a + o)!` from every provider of O. Each
//! leaf is found once, and each class's coalitions are counted once, so
//! this is subset enumeration, only grouped. A leaf is fixed by its set I
//! of at most K providers (replaying the walk from I decides everything
//! else), so a test point has at most
//!
//! ```text
//! leaves(n, K) = Σ_{j=0}^{min(K, n)} C(n, j)     (and at most 2^n)
//! ```
//!
//! leaves, `n + 1` at K = 1 for any number of providers; in practice far
//! fewer, since a provider with several near rows ends the walk early. The
//! walk's memory is linear (the sequence, one decision per provider, a
//! stack at most n deep); its time is what [`GroupMethod::auto`] bounds.
//!
//! # Sampled
//!
//! [`KnnGroupGame`] is the same game as a [`CooperativeGame`] whose
//! utility scans each test point's sequence (computed once, bounded by
//! [`KNN_GROUP_TABLE_MAX`]) until it has K rows of the coalition; it is fed
//! to [`tmc_shapley`] without truncation, so that every permutation's
//! contributions add up to U(N) exactly.
//!
//! Both are deterministic: the exact method sums fixed chunks of test
//! points in order, and the sampler gives the same bits on any number of
//! threads.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::dataset::{Dataset, Players};
use super::game::CooperativeGame;
use super::model::{neighbour_key, sort_neighbours, squared_distance, Knn, NeighbourKeys};
use super::sampling::{tmc_shapley, Estimate, Progress, SamplingConfig};
use super::{check_pair, ValuationError};
use crate::limits::KNN_GROUP_TABLE_MAX;

/// Test points are split into at most this many chunks, whatever the
/// thread count, each summed in order, then the chunks in order: the
/// exact values are the same bits on any number of threads.
const CHUNKS: usize = 32;

/// The most work [`GroupMethod::auto`] gives the exact method: test points
/// × `leaves(n, K)`, the bound on the leaves of all their decision trees.
/// The bound is reached when every provider owns one row, and a leaf then
/// took 25–40 ns on two cores: at 2³⁰, half a minute. Providers with
/// several rows leave far fewer leaves (1,200 wine rows among 36
/// providers, k = 5, 399 test points: bound 1.8·10⁸, 0.7 s). Above it,
/// `auto` samples.
pub const EXACT_WORK_MAX: u128 = 1 << 30;

/// How [`knn_group_shapley`] computes the providers' values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GroupMethod {
    /// Exact, by the decision tree of the module documentation: standard
    /// errors 0, `samples` 0. Its time grows like test points ×
    /// `leaves(n, K)`; prefer [`GroupMethod::auto`].
    Exact,
    /// [`tmc_shapley`] without truncation on [`KnnGroupGame`], with this
    /// configuration.
    Sampled(SamplingConfig),
}

impl GroupMethod {
    /// [`GroupMethod::Exact`] when its worst-case work, `n_test ×
    /// leaves(n_players, k)`, is at most [`EXACT_WORK_MAX`]; else
    /// [`GroupMethod::Sampled`] with `config`. Exact for any number of
    /// providers at k = 1 (up to 2 million with 500 test points); at k = 5
    /// and 500 test points, exact up to 49 providers; at k = 10, up to 22.
    ///
    /// ```
    /// use procura_valuation::{GroupMethod, Knn, SamplingConfig};
    /// let config = SamplingConfig::standard();
    /// let k5 = Knn::new(5)?;
    /// assert_eq!(GroupMethod::auto(49, 500, &k5, config), GroupMethod::Exact);
    /// assert_eq!(GroupMethod::auto(50, 500, &k5, config), GroupMethod::Sampled(config));
    /// assert_eq!(GroupMethod::auto(10_000, 500, &Knn::new(1)?, config), GroupMethod::Exact);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn auto(n_players: usize, n_test: usize, knn: &Knn, config: SamplingConfig) -> GroupMethod {
        let work = leaves_bound(n_players, knn.k()).saturating_mul(n_test as u128);
        if work <= EXACT_WORK_MAX {
            GroupMethod::Exact
        } else {
            GroupMethod::Sampled(config)
        }
    }
}

/// `leaves(n, K) = Σ_{j=0}^{min(K, n)} C(n, j)`, capped at `2^n` and
/// saturating at `u128::MAX`: the most leaves of one test point's decision
/// tree.
///
/// ```
/// use procura_valuation::knn_group::leaves_bound;
/// assert_eq!(leaves_bound(20, 5), 1 + 20 + 190 + 1140 + 4845 + 15504);
/// assert_eq!(leaves_bound(12, 1), 13);
/// assert_eq!(leaves_bound(3, 5), 8);
/// ```
#[must_use]
pub fn leaves_bound(n_players: usize, k: usize) -> u128 {
    let n = n_players as u128;
    let mut total: u128 = 1;
    let mut binomial: u128 = 1;
    for j in 1..=(k.min(n_players) as u128) {
        // C(n, j) = C(n, j − 1) · (n − j + 1) / j, exact in integers.
        binomial = match binomial.checked_mul(n - j + 1) {
            Some(product) => product / j,
            None => return u128::MAX,
        };
        total = total.saturating_add(binomial);
    }
    if n_players < 128 {
        total.min(1u128 << n_players)
    } else {
        total
    }
}

/// The Shapley values of the providers `players` of `train` in the KNN
/// soft-vote game against `test` (see the module documentation), computed
/// by `method`; [`GroupMethod::auto`] chooses one. The values sum to
/// `U(N)` (exactly for [`GroupMethod::Exact`], to rounding; every sampled
/// permutation too).
///
/// Refuses a `test` with other features or classes than `train`, and
/// players that are not of `train`'s rows. `progress` is told how many
/// test points (exact) or permutations (sampled) are done.
///
/// ```
/// use procura_valuation::{
///     knn_group_shapley, knn_utility, no_progress, Dataset, GroupMethod, Knn, Players,
/// };
/// // Provider 0 owns the two rows at 0 and 1, provider 1 the row at 5.
/// let train = Dataset::new(vec![0.0, 1.0, 5.0], 1, vec![0, 1, 0], 2)?;
/// let test = Dataset::new(vec![0.2, 4.0], 1, vec![0, 0], 2)?;
/// let players = Players::groups(vec![0, 0, 1])?;
/// let knn = Knn::new(1)?;
/// let values = knn_group_shapley(&train, &test, &knn, &players, GroupMethod::Exact, &no_progress)?;
/// let total: f64 = values.values.iter().sum();
/// assert!((total - knn_utility(&train, &test, &knn, &[0, 1, 2])?).abs() < 1e-12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn knn_group_shapley(
    train: &Dataset,
    test: &Dataset,
    knn: &Knn,
    players: &Players,
    method: GroupMethod,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Estimate, ValuationError> {
    check_pair(train, test, players)?;
    match method {
        GroupMethod::Exact => Ok(exact(train, test, knn.k(), players, progress)),
        GroupMethod::Sampled(config) => {
            let game = KnnGroupGame::new(train, test, knn, players)?;
            tmc_shapley(&game, &config, 0.0, progress)
        }
    }
}

/// The exact values: the mean over test points of their decision trees'
/// shares.
fn exact(
    train: &Dataset,
    test: &Dataset,
    k: usize,
    players: &Players,
    progress: &(dyn Fn(Progress) + Sync),
) -> Estimate {
    let n = players.n_players();
    let n_test = test.n_rows();
    let chunk = n_test.div_ceil(CHUNKS);
    let done = AtomicUsize::new(0);
    let weights = LeafWeights::new(n, k);
    let partials: Vec<Vec<f64>> = (0..n_test)
        .step_by(chunk)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| {
            let end = (start + chunk).min(n_test);
            let mut values = vec![0.0; n];
            let mut walk = Walk::new(train, players, k, &weights);
            for t in start..end {
                walk.add_point(test.row_at(t), test.label_at(t), &mut values);
            }
            let finished = done.fetch_add(end - start, Ordering::Relaxed) + (end - start);
            progress(Progress {
                done: finished,
                total: n_test,
            });
            values
        })
        .collect();
    let mut values = vec![0.0; n];
    for partial in &partials {
        for (sum, value) in values.iter_mut().zip(partial) {
            *sum += value;
        }
    }
    let scale = 1.0 / (k as f64 * n_test as f64);
    for value in &mut values {
        *value *= scale;
    }
    Estimate {
        values,
        std_errors: vec![0.0; n],
        samples: 0,
    }
}

/// A provider's membership while a decision tree is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Membership {
    Undecided,
    In,
    Out,
}

/// One pending branch of the decision tree: the provider decided there and
/// the walk's state just before its row.
#[derive(Debug, Clone, Copy)]
struct Branch {
    player: usize,
    position: usize,
    members: usize,
    hits: usize,
    /// Providers decided in and out above this branch.
    decided: (usize, usize),
    /// The in-subtree's sums `(Σ h·w_in, Σ h·w_out)`, once it is walked.
    in_sums: Option<(f64, f64)>,
}

/// The buffers of the decision-tree walk, reused across test points.
struct Walk<'a> {
    k: usize,
    sequence: Sequence<'a>,
    membership: Vec<Membership>,
    stack: Vec<Branch>,
    weights: &'a LeafWeights,
}

impl<'a> Walk<'a> {
    fn new(
        train: &'a Dataset,
        players: &'a Players,
        k: usize,
        weights: &'a LeafWeights,
    ) -> Walk<'a> {
        Walk {
            k,
            sequence: Sequence::new(train, players, k),
            membership: vec![Membership::Undecided; players.n_players()],
            stack: Vec::new(),
            weights,
        }
    }

    /// Adds `K · φ_i(U_x)` of the test point `(x, y)` to `values[i]`.
    fn add_point(&mut self, x: &[f64], y: usize, values: &mut [f64]) {
        self.sequence.fill(x, y);
        self.walk(values);
    }

    /// Walks the decision tree depth first, in, then out, with an explicit
    /// stack (it may be as deep as there are providers). Each leaf returns
    /// `(h·w_in(a, o), h·w_out(a, o))`; a branch returns the sums over its
    /// two subtrees, and credits its provider with the in-subtree's `w_in`
    /// sum and debits it the out-subtree's `w_out` sum.
    fn walk(&mut self, values: &mut [f64]) {
        let k = self.k;
        // The state of the subtree to walk next, or None when returning.
        let mut next = Some((0usize, 0usize, 0usize, (0usize, 0usize)));
        let mut returned = (0.0, 0.0);
        loop {
            if let Some((mut position, mut members, mut hits, decided)) = next.take() {
                // Count the rows of providers already decided.
                while members < k && position < self.sequence.entries.len() {
                    let (player, hit) = self.sequence.entries[position];
                    match self.membership[player] {
                        Membership::In => {
                            members += 1;
                            hits += usize::from(hit);
                        }
                        Membership::Out => {}
                        Membership::Undecided => break,
                    }
                    position += 1;
                }
                if members == k || position == self.sequence.entries.len() {
                    returned = self.weights.leaf_sums(hits, decided);
                } else {
                    let player = self.sequence.entries[position].0;
                    self.membership[player] = Membership::In;
                    self.stack.push(Branch {
                        player,
                        position,
                        members,
                        hits,
                        decided,
                        in_sums: None,
                    });
                    next = Some((position, members, hits, (decided.0 + 1, decided.1)));
                    continue;
                }
            }
            let Some(branch) = self.stack.last_mut() else {
                break;
            };
            match branch.in_sums {
                None => {
                    branch.in_sums = Some(returned);
                    self.membership[branch.player] = Membership::Out;
                    let (a, o) = branch.decided;
                    next = Some((branch.position, branch.members, branch.hits, (a, o + 1)));
                }
                Some((in_w_in, in_w_out)) => {
                    let (out_w_in, out_w_out) = returned;
                    values[branch.player] += in_w_in - out_w_out;
                    self.membership[branch.player] = Membership::Undecided;
                    returned = (in_w_in + out_w_in, in_w_out + out_w_out);
                    self.stack.pop();
                }
            }
        }
    }
}

/// The weights of a leaf with `a` providers decided in and `o` out:
///
/// ```text
/// w_in(a, o)  = (a − 1)! o! / (a + o)! = 1 / (a · C(a + o, a))   (0 if a = 0)
/// w_out(a, o) = a! (o − 1)! / (a + o)! = 1 / (o · C(a + o, a))   (0 if o = 0)
/// ```
///
/// tabulated for `a ≤ min(K, n)` (a leaf has at most K providers in) and
/// `o ≤ n − a` when those are at most [`LeafWeights::TABLE_MAX`] pairs (a
/// fixed 1 MiB whatever the input: up to 10,922 providers at K = 5), and
/// computed at each leaf otherwise. `1 / C(a + o, a)` is built up as
/// `Π_{t=1}^{a} t / (o + t)`, which underflows to 0 (not NaN) where the
/// weight is below 10⁻³⁰⁸.
struct LeafWeights {
    /// `(w_in, w_out)` at `a · (n + 1) + o`, if tabulated.
    table: Option<Vec<(f64, f64)>>,
    n: usize,
}

impl LeafWeights {
    /// Most `(a, o)` pairs tabulated: 2¹⁶, 1 MiB.
    const TABLE_MAX: usize = 1 << 16;

    fn new(n: usize, k: usize) -> LeafWeights {
        let rows = k.min(n) + 1;
        let fits = rows
            .checked_mul(n + 1)
            .is_some_and(|size| size <= LeafWeights::TABLE_MAX);
        let table = fits.then(|| {
            let mut table = vec![(0.0, 0.0); rows * (n + 1)];
            for a in 0..rows {
                for o in 0..=n - a {
                    table[a * (n + 1) + o] = LeafWeights::compute(a, o);
                }
            }
            table
        });
        LeafWeights { table, n }
    }

    fn compute(a: usize, o: usize) -> (f64, f64) {
        let inverse_binomial: f64 = (1..=a).map(|t| t as f64 / (o + t) as f64).product();
        let w_in = if a == 0 {
            0.0
        } else {
            inverse_binomial / a as f64
        };
        let w_out = if o == 0 {
            0.0
        } else {
            inverse_binomial / o as f64
        };
        (w_in, w_out)
    }

    /// `(h·w_in(a, o), h·w_out(a, o))`.
    fn leaf_sums(&self, hits: usize, (a, o): (usize, usize)) -> (f64, f64) {
        if hits == 0 {
            return (0.0, 0.0);
        }
        let (w_in, w_out) = match &self.table {
            Some(table) => table[a * (self.n + 1) + o],
            None => LeafWeights::compute(a, o),
        };
        let h = hits as f64;
        (h * w_in, h * w_out)
    }
}

/// A test point's sequence: the training rows sorted by (distance, row),
/// each provider's K nearest only, as (provider, carries the test label);
/// with the buffers that build it, reused across test points.
struct Sequence<'a> {
    train: &'a Dataset,
    players: &'a Players,
    k: usize,
    keys: NeighbourKeys,
    scratch: NeighbourKeys,
    /// Per provider: how many of its rows the sequence holds so far (all 0
    /// between test points).
    taken: Vec<usize>,
    entries: Vec<(usize, bool)>,
}

impl<'a> Sequence<'a> {
    fn new(train: &'a Dataset, players: &'a Players, k: usize) -> Sequence<'a> {
        let n_rows = train.n_rows();
        Sequence {
            train,
            players,
            k,
            keys: Vec::with_capacity(n_rows),
            scratch: Vec::with_capacity(n_rows),
            taken: vec![0; players.n_players()],
            entries: Vec::new(),
        }
    }

    /// Builds the sequence of the test point `(x, y)`.
    fn fill(&mut self, x: &[f64], y: usize) {
        let train = self.train;
        self.keys.clear();
        self.keys.extend(
            (0..train.n_rows())
                .map(|row| neighbour_key(squared_distance(train.row_at(row), x), row)),
        );
        sort_neighbours(&mut self.keys, &mut self.scratch);
        let of_row = self.players.of_row();
        self.entries.clear();
        for &(_, row) in &self.keys {
            let player = of_row[row];
            if self.taken[player] < self.k {
                self.taken[player] += 1;
                self.entries.push((player, train.label_at(row) == y));
            }
        }
        for &(player, _) in &self.entries {
            self.taken[player] = 0;
        }
    }
}

/// The KNN soft-vote game of providers as a [`CooperativeGame`], for the
/// samplers ([`tmc_shapley`], [`crate::banzhaf_msr`]).
///
/// When `test rows × Σ_i min(K, rows of i)` is at most
/// [`KNN_GROUP_TABLE_MAX`], every test point's sequence of its providers'
/// K nearest rows is kept (4 bytes an entry) and a coalition's utility is a
/// scan of each sequence until K rows of the coalition are found;
/// otherwise each utility sorts the coalition's rows by distance to each
/// test point. Utilities are counts of hits over `K·|T|`, the same bits
/// either way.
#[derive(Debug)]
pub struct KnnGroupGame<'a> {
    train: &'a Dataset,
    test: &'a Dataset,
    players: &'a Players,
    k: usize,
    /// Each test point's sequence, `length` entries, as `provider << 1 |
    /// hit`.
    table: Option<Vec<u32>>,
    length: usize,
}

impl<'a> KnnGroupGame<'a> {
    /// The game of the providers `players` of `train`, scored on `test`.
    /// Refuses a `test` with other features or classes than `train`, and
    /// players that are not of `train`'s rows.
    ///
    /// ```
    /// use procura_valuation::{knn_utility, CooperativeGame, Dataset, Knn, KnnGroupGame, Players};
    /// let train = Dataset::new(vec![0.0, 1.0, 5.0], 1, vec![0, 1, 0], 2)?;
    /// let test = Dataset::new(vec![0.2, 4.0], 1, vec![0, 0], 2)?;
    /// let players = Players::groups(vec![0, 0, 1])?;
    /// let knn = Knn::new(2)?;
    /// let game = KnnGroupGame::new(&train, &test, &knn, &players)?;
    /// assert_eq!(game.utility(&[0]), knn_utility(&train, &test, &knn, &[0, 1])?);
    /// assert_eq!(game.utility(&[]), 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        train: &'a Dataset,
        test: &'a Dataset,
        knn: &Knn,
        players: &'a Players,
    ) -> Result<KnnGroupGame<'a>, ValuationError> {
        check_pair(train, test, players)?;
        let k = knn.k();
        let n = players.n_players();
        let length: usize = (0..n).map(|i| players.rows_of(i).len().min(k)).sum();
        let fits = test
            .n_rows()
            .checked_mul(length)
            .is_some_and(|size| size <= KNN_GROUP_TABLE_MAX)
            && u32::try_from(n).is_ok_and(|n| n < 1 << 31);
        let table = fits.then(|| {
            let mut table = vec![0u32; test.n_rows() * length];
            table
                .par_chunks_mut(length.max(1))
                .enumerate()
                .for_each_init(
                    || Sequence::new(train, players, k),
                    |sequence, (t, slots)| {
                        sequence.fill(test.row_at(t), test.label_at(t));
                        for (slot, &(player, hit)) in slots.iter_mut().zip(&sequence.entries) {
                            // player < 2³¹, checked above.
                            *slot = (player as u32) << 1 | u32::from(hit);
                        }
                    },
                );
            table
        });
        Ok(KnnGroupGame {
            train,
            test,
            players,
            k,
            table,
            length,
        })
    }

    /// Hits among the K nearest rows of the coalition (`member` flags),
    /// summed over the test points.
    fn hits(&self, member: &[bool]) -> usize {
        match &self.table {
            Some(table) if self.length > 0 => table
                .chunks_exact(self.length)
                .map(|sequence| {
                    let mut members = 0;
                    let mut hits = 0;
                    for &entry in sequence {
                        if member[(entry >> 1) as usize] {
                            members += 1;
                            hits += (entry & 1) as usize;
                            if members == self.k {
                                break;
                            }
                        }
                    }
                    hits
                })
                .sum(),
            _ => {
                let rows: Vec<usize> = (0..self.train.n_rows())
                    .filter(|&row| member[self.players.of_row()[row]])
                    .collect();
                let mut keys = Vec::with_capacity(rows.len());
                let k = self.k.min(rows.len());
                self.test
                    .iter()
                    .map(|(x, y)| {
                        if k == 0 {
                            return 0;
                        }
                        keys.clear();
                        keys.extend(rows.iter().map(|&row| {
                            neighbour_key(squared_distance(self.train.row_at(row), x), row)
                        }));
                        keys.select_nth_unstable(k - 1);
                        keys[..k]
                            .iter()
                            .filter(|&&(_, row)| self.train.label_at(row) == y)
                            .count()
                    })
                    .sum()
            }
        }
    }
}

impl CooperativeGame for KnnGroupGame<'_> {
    fn n_players(&self) -> usize {
        self.players.n_players()
    }

    fn utility(&self, coalition: &[usize]) -> f64 {
        let mut member = vec![false; self.players.n_players()];
        for &player in coalition {
            if let Some(slot) = member.get_mut(player) {
                *slot = true;
            }
        }
        self.hits(&member) as f64 / (self.k as f64 * self.test.n_rows() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fallback utility (sorting the coalition's rows per test point)
    /// equals the scan of the sequence table, on every coalition of random
    /// games with ties in distance.
    #[test]
    fn fallback_utility_equals_the_table_scan() {
        for seed in 0..20u32 {
            let rows = 6 + seed as usize % 7;
            let x: Vec<f64> = (0..rows)
                .map(|r| f64::from((r as u32 * 7 + seed) % 4))
                .collect();
            let y: Vec<usize> = (0..rows).map(|r| (r + seed as usize) % 3).collect();
            let train = Dataset::new(x, 1, y, 3).expect("valid");
            let test = Dataset::new(vec![0.5, 2.0, 3.0], 1, vec![0, 1, 2], 3).expect("valid");
            let n = 1 + seed as usize % 4;
            let players = Players::groups((0..rows).map(|r| r % n).collect()).expect("groups");
            let knn = Knn::new(1 + seed as usize % 3).expect("k");
            let with_table = KnnGroupGame::new(&train, &test, &knn, &players).expect("game");
            assert!(with_table.table.is_some());
            let mut without = KnnGroupGame::new(&train, &test, &knn, &players).expect("game");
            without.table = None;
            for mask in 0..1usize << n {
                let coalition: Vec<usize> = (0..n).filter(|&i| mask >> i & 1 == 1).collect();
                assert_eq!(
                    with_table.utility(&coalition),
                    without.utility(&coalition),
                    "seed {seed}, coalition {coalition:?}"
                );
            }
        }
    }
}
