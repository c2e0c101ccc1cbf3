//! Cooperative games over data: a set of players and a utility on every
//! coalition. [`LearningGame`] is the one that trains real models; tests
//! and the sampling methods also use small games with known values.

use rayon::prelude::*;

use super::dataset::{Dataset, Players};
use super::model::{accuracy, majority, neighbour_key, sort_neighbours, squared_distance, Model};
use super::{check_pair, ValuationError};

/// A cooperative game: players `0..n_players()` and a utility `U(S)` on
/// every coalition S.
///
/// Valuation methods evaluate `utility` from several threads at once, so it
/// must be a pure function of the coalition as a set.
pub trait CooperativeGame: Sync {
    /// Number of players.
    fn n_players(&self) -> usize;
    /// `U(S)` for the coalition S, given as distinct players in any order.
    fn utility(&self, coalition: &[usize]) -> f64;
}

/// The learning game: a coalition of players is worth the test accuracy of
/// the model trained on the rows they own (see [`crate::model`]
/// for the conventions on empty and single-class training sets).
#[derive(Debug)]
pub struct LearningGame<'a> {
    train: &'a Dataset,
    test: &'a Dataset,
    players: &'a Players,
    model: Model,
    /// For KNN on small enough data: each test point's training rows sorted
    /// by (distance, row), `n_test × n_train`, so that a coalition's
    /// neighbours are a scan rather than a distance computation.
    neighbours: Option<Vec<u32>>,
}

/// Largest `n_test × n_train` for which the KNN game keeps every test
/// point's neighbour order in memory (4 bytes per entry: 64 MiB).
const NEIGHBOUR_TABLE_MAX: usize = 1 << 24;

impl<'a> LearningGame<'a> {
    /// The game of `players` (who own the rows of `train`), scored on `test`.
    pub fn new(
        train: &'a Dataset,
        test: &'a Dataset,
        players: &'a Players,
        model: Model,
    ) -> Result<LearningGame<'a>, ValuationError> {
        check_pair(train, test, players)?;
        let n_train = train.n_rows();
        let small = test
            .n_rows()
            .checked_mul(n_train)
            .is_some_and(|size| size <= NEIGHBOUR_TABLE_MAX);
        let neighbours = match model {
            Model::Knn(_) if small && u32::try_from(n_train).is_ok() => {
                let mut table = vec![0u32; test.n_rows() * n_train];
                table
                    .par_chunks_mut(n_train)
                    .enumerate()
                    .for_each(|(t, order)| {
                        let x = test.row(t);
                        let mut keys: Vec<(u64, usize)> = (0..n_train)
                            .map(|row| neighbour_key(squared_distance(train.row(row), x), row))
                            .collect();
                        sort_neighbours(&mut keys, &mut Vec::new());
                        for (slot, (_, row)) in order.iter_mut().zip(keys) {
                            // n_train fits in u32, checked above.
                            *slot = row as u32;
                        }
                    });
                Some(table)
            }
            _ => None,
        };
        Ok(LearningGame {
            train,
            test,
            players,
            model,
            neighbours,
        })
    }

    /// The training rows of a coalition, increasing.
    fn rows(&self, coalition: &[usize]) -> Vec<usize> {
        let mut rows: Vec<usize> = coalition
            .iter()
            .flat_map(|&player| self.players.rows_of(player).iter().copied())
            .collect();
        rows.sort_unstable();
        rows
    }

    /// KNN accuracy from the neighbour table.
    fn knn_accuracy(&self, table: &[u32], k: usize, rows: &[usize]) -> f64 {
        if rows.is_empty() {
            return self.test.majority_rate();
        }
        let n_train = self.train.n_rows();
        let mut member = vec![false; n_train];
        for &row in rows {
            member[row] = true;
        }
        let k = k.min(rows.len());
        let mut votes = Vec::with_capacity(k);
        let mut correct = 0usize;
        for (t, order) in table.chunks_exact(n_train).enumerate() {
            votes.clear();
            for &row in order {
                let row = row as usize;
                if member[row] {
                    votes.push(self.train.label(row));
                    if votes.len() == k {
                        break;
                    }
                }
            }
            if majority(&votes, self.train.n_classes()) == self.test.label(t) {
                correct += 1;
            }
        }
        correct as f64 / self.test.n_rows() as f64
    }
}

impl CooperativeGame for LearningGame<'_> {
    fn n_players(&self) -> usize {
        self.players.n_players()
    }

    fn utility(&self, coalition: &[usize]) -> f64 {
        let rows = self.rows(coalition);
        match (&self.model, &self.neighbours) {
            (Model::Knn(knn), Some(table)) => self.knn_accuracy(table, knn.k(), &rows),
            _ => accuracy(&self.model, self.train, &rows, self.test),
        }
    }
}
