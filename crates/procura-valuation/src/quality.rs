//! Quality scores: how often a provider's labels agree with a reference
//! model trained on a trusted set.
//!
//! ```text
//! q_i = (1/|D_i|) Σ_{(x, y) ∈ D_i} 1[f_ref(x) = y]
//! ```
//!
//! where `f_ref` is the model trained on the trusted set and `D_i` the rows
//! of provider i. With labels flipped at random at rate ρ, a reference of
//! accuracy a gives, for two classes, `E[q_i] = a(1 − ρ) + (1 − a)ρ`, which
//! falls as ρ rises: q ranks providers by label noise.
//!
//! Limits: q measures agreement with a model, not truth. It is capped by
//! the reference model's accuracy (a clean provider scores about a, not 1);
//! rows that are hard for the model count as disagreements whoever labels
//! them; a provider whose rows come from a different region of feature space
//! than the trusted set is scored where the reference is least reliable; and
//! a provider who labels with a model like the reference scores high without
//! being right. Compare providers against one another, not against 1.

use rayon::prelude::*;

use super::dataset::{Dataset, Players};
use super::model::{fit, Model};
use super::{check_pair, ValuationError};

/// The quality score q_i of each player of `data` (see the module
/// documentation), with the reference `model` trained on all of `trusted`.
/// A model too large for `trusted` ([`Model::check`]) is refused before
/// it is trained.
///
/// ```
/// use procura_valuation::{quality_scores, Dataset, Knn, Model, Players};
/// let trusted = Dataset::new(vec![0.0, 1.0, 10.0, 11.0], 1, vec![0, 0, 1, 1], 2)?;
/// let data = Dataset::new(vec![0.5, 10.5, 0.5, 10.5], 1, vec![0, 1, 1, 0], 2)?;
/// let players = Players::groups(vec![0, 0, 1, 1])?;
/// let q = quality_scores(&trusted, &data, &players, &Model::Knn(Knn::new(1)?))?;
/// assert_eq!(q, vec![1.0, 0.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn quality_scores(
    trusted: &Dataset,
    data: &Dataset,
    players: &Players,
    model: &Model,
) -> Result<Vec<f64>, ValuationError> {
    check_pair(data, trusted, players)?;
    let all: Vec<usize> = (0..trusted.n_rows()).collect();
    let Some(reference) = fit(model, trusted, &all)? else {
        // A Dataset has rows, so the reference always fits.
        return Err(ValuationError::Dataset(super::DatasetError::Empty));
    };
    let agrees: Vec<bool> = (0..data.n_rows())
        .into_par_iter()
        .map(|row| reference.predict(data.row_at(row)) == data.label_at(row))
        .collect();
    Ok((0..players.n_players())
        .map(|player| {
            let rows = players.rows_of(player);
            let hits = rows.iter().filter(|&&row| agrees[row]).count();
            hits as f64 / rows.len() as f64
        })
        .collect())
}
