//! Labels numbered as classes, as the command line numbers a CSV file's
//! label column: [`procura::valuation::table::Classes::of`], over the
//! labels' text.
//!
//! The rule is the library's ([`Classes::of_labels`] for text,
//! [`Classes::number_values`] for numbers): numerically
//! when every label (of every array) is a finite number, so `1`, `1.0` and
//! `1e0` are one class and `-0` is `0`; as text, in byte order, otherwise.
//! It refuses more than `MAX_CLASSES` classes, and more than two classes
//! when there are more than half as many classes as labels, with the
//! library's own message (`TableError::TooManyClasses`). The test suite
//! checks the numbering against the CLI's (`test_valuation.py`).
//!
//! Labels that are all numbers (integer, boolean or float arrays) are
//! numbered by value without writing them as text: the text of a number
//! parses back to it (an integer beyond 2⁵³ to the double nearest it, as
//! `as f64` rounds), so the classes are the same. Beside text labels,
//! numbers become text (integers in decimal, floats in their shortest
//! form) and the rule runs on the text.

use procura::valuation::table::Classes;

use crate::arrays::Labels;

/// The classes of every label of `sets`, numbered in one order (see the
/// module documentation): each set's labels as class indices, and the
/// number of classes. `label` names the first set in the message of too
/// many classes.
pub(crate) fn number(sets: &[&Labels], label: &str) -> Result<(Vec<Vec<usize>>, usize), String> {
    let numbers: Option<Vec<Vec<f64>>> = sets
        .iter()
        .map(|set| match set {
            Labels::Integers(values) => Some(values.iter().map(|&v| v as f64).collect()),
            Labels::Floats(values) => Some(values.clone()),
            Labels::Text(_) => None,
        })
        .collect();
    if let Some(numbers) = numbers {
        let numbers: Vec<&[f64]> = numbers.iter().map(Vec::as_slice).collect();
        return Classes::number_values(&numbers, label).map_err(|error| error.to_string());
    }
    let text: Vec<Vec<String>> = sets
        .iter()
        .map(|set| match set {
            Labels::Integers(values) => values.iter().map(ToString::to_string).collect(),
            Labels::Floats(values) => values.iter().map(ToString::to_string).collect(),
            Labels::Text(values) => values.clone(),
        })
        .collect();
    let slices: Vec<&[String]> = text.iter().map(Vec::as_slice).collect();
    let classes = Classes::of_labels(&slices, label).map_err(|error| error.to_string())?;
    let numbered = text
        .iter()
        .map(|set| {
            set.iter()
                .map(|name| classes.class(name).unwrap_or_default())
                .collect()
        })
        .collect();
    Ok((numbered, classes.n_classes()))
}
