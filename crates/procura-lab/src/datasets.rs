//! The built-in datasets: real data compiled into the library, so that a
//! round on real data ([`crate::round`]) needs no file.
//!
//! Today there is one, the red wines of the UCI Wine Quality data
//! (`data/winequality-red.csv`, CC BY 4.0, see `data/README.md`), with the
//! split that `procura demo` and claim P2-b of `procura reproduce` use:
//!
//! ```
//! use procura_lab::datasets::{self, WINE_TEST, WINE_TRUSTED};
//! use procura_lab::round::RoundData;
//!
//! let wine = datasets::wine()?;
//! assert_eq!((wine.n_rows(), wine.n_features(), wine.n_classes()), (1599, 11, 2));
//! let parts = RoundData::split(&wine, WINE_TEST, WINE_TRUSTED, 0)?;
//! assert_eq!(parts.pool.n_rows(), 1599 - 400 - 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use procura_valuation::table::{Columns, ProviderColumn, Table, TableError};
use procura_valuation::{Dataset, DatasetError};

/// The red-wine quality data as shipped: a header row, then 1,599 wines,
/// 11 features and a quality score (3 to 8), comma-separated.
const WINE_CSV: &str = include_str!("../../../data/winequality-red.csv");

/// Wines in [`wine`].
pub const WINE_ROWS: usize = 1599;
/// Wines of [`wine`] held out to score the final models.
pub const WINE_TEST: usize = 400;
/// Wines of [`wine`] the buyer trusts: the quality reference and the
/// valuation's utility set.
pub const WINE_TRUSTED: usize = 200;

/// Why a built-in dataset could not be read. The data is compiled in, so
/// any of these is a bug in the shipped file, not a user error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuiltinError {
    /// The shipped text is not a valid table.
    #[error("built-in {dataset} data: {source}")]
    Table {
        /// The dataset.
        dataset: &'static str,
        /// Why the table is invalid.
        source: TableError,
    },
    /// A label of the shipped file is not what the dataset expects.
    #[error("built-in {dataset} data: data row {row}: label {label:?} {problem}")]
    Label {
        /// The dataset.
        dataset: &'static str,
        /// 0-based data row.
        row: usize,
        /// The label as written.
        label: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The rows do not form a valid dataset.
    #[error("built-in {dataset} data: {source}")]
    Dataset {
        /// The dataset.
        dataset: &'static str,
        /// Why the dataset is invalid.
        source: DatasetError,
    },
}

/// The red wines: the 11 features as measured and label 1 when the quality
/// score is at least 6 (855 of 1,599 wines), 2 classes.
///
/// The features are not standardised: [`crate::round::RoundData::split`]
/// standardises them on the rows the buyer sees, never the test rows.
pub fn wine() -> Result<Dataset, BuiltinError> {
    const DATASET: &str = "wine";
    let columns = Columns {
        label: Some("quality"),
        provider: ProviderColumn::Unused,
    };
    let table =
        Table::read_csv(WINE_CSV.as_bytes(), columns).map_err(|source| BuiltinError::Table {
            dataset: DATASET,
            source,
        })?;
    let labels = table
        .labels()
        .iter()
        .enumerate()
        .map(|(row, label)| match label.parse::<f64>() {
            Ok(quality) => Ok(usize::from(quality >= 6.0)),
            Err(_) => Err(BuiltinError::Label {
                dataset: DATASET,
                row,
                label: label.clone(),
                problem: "is not a quality score",
            }),
        })
        .collect::<Result<Vec<usize>, BuiltinError>>()?;
    Dataset::new(table.features().to_vec(), table.n_features(), labels, 2).map_err(|source| {
        BuiltinError::Dataset {
            dataset: DATASET,
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wine_is_the_binarised_shipped_file() {
        let wine = wine().expect("the shipped wine data is valid");
        assert_eq!(wine.n_rows(), WINE_ROWS);
        assert_eq!(wine.n_features(), 11);
        assert_eq!(
            wine.labels().iter().filter(|&&label| label == 1).count(),
            855
        );
        // The first wine: 7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4 and quality 5.
        assert_eq!(
            wine.row(0),
            Some(&[7.4, 0.7, 0.0, 1.9, 0.076, 11.0, 34.0, 0.9978, 3.51, 0.56, 9.4][..])
        );
        assert_eq!(wine.label(0), Some(0));
        assert!(WINE_TEST + WINE_TRUSTED < wine.n_rows());
    }
}
