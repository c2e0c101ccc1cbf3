//! Cooperative games over data: a set of players and a utility on every
//! coalition. [`LearningGame`] is the one that trains real models; tests
//! and the sampling methods also use small games with known values.

use rayon::prelude::*;

use super::dataset::{Dataset, Players};
use super::model::{
    accuracy_checked, majority, neighbour_key, sort_neighbours, squared_distance, Model,
};
use super::{check_pair, ValuationError};
use crate::limits::NEIGHBOUR_TABLE_MAX;

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

impl<'a> LearningGame<'a> {
    /// The game of `players` (who own the rows of `train`), scored on `test`.
    /// Refuses a model that `train` would make too large
    /// ([`Model::check`]), before anything is trained.
    pub fn new(
        train: &'a Dataset,
        test: &'a Dataset,
        players: &'a Players,
        model: Model,
    ) -> Result<LearningGame<'a>, ValuationError> {
        check_pair(train, test, players)?;
        model.check(train)?;
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
                        let x = test.row_at(t);
                        let mut keys: Vec<(u64, usize)> = (0..n_train)
                            .map(|row| neighbour_key(squared_distance(train.row_at(row), x), row))
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

    /// The training rows of a coalition, increasing: rows of `train`, since
    /// the players were checked against it. An index that is no player's
    /// owns no rows.
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
                    votes.push(self.train.label_at(row));
                    if votes.len() == k {
                        break;
                    }
                }
            }
            if majority(&votes, self.train.n_classes()) == self.test.label_at(t) {
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
            // `new` checked the model and the test set against `train`.
            _ => accuracy_checked(&self.model, self.train, &rows, self.test),
        }
    }
}
