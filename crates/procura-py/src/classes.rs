//! Labels numbered as classes, as the command line numbers a CSV file's
//! label column: [`procura::valuation::table::Classes::of`], over the
//! labels' text.
//!
//! `Classes` is built only from CSV [`Table`](procura::valuation::Table)s,
//! so this module applies its rule to labels given as text: numerically
//! when every label (of every array) is a finite number, so `1`, `1.0` and
//! `1e0` are one class and `-0` is `0`; as text, in byte order, otherwise.
//! It refuses more than [`MAX_CLASSES`] classes, and more than two classes
//! when there are more than half as many classes as labels, with the
//! library's own message ([`TableError::TooManyClasses`]). The test suite
//! checks the numbering against the CLI's (`test_valuation.py`).
//!
//! Labels that are all numbers (integer, boolean or float arrays) are
//! numbered by value without writing them as text: the text of a number
//! parses back to it (an integer beyond 2⁵³ to the double nearest it, as
//! `as f64` rounds), so the classes are the same. Beside text labels,
//! numbers become text (integers in decimal, floats in their shortest
//! form) and the rule runs on the text.

use std::collections::HashMap;

use procura::valuation::table::{TableError, MAX_CLASSES};

use crate::arrays::Labels;

/// The classes of every label of `sets`, numbered in one order (see the
/// module documentation): each set's labels as class indices, and the
/// number of classes. `label` names the first set in the message of too
/// many classes.
pub(crate) fn number(sets: &[&Labels], label: &str) -> Result<(Vec<Vec<usize>>, usize), String> {
    let numbers: Option<Vec<Vec<f64>>> = sets
        .iter()
        .map(|set| match set {
            Labels::Integers(values) => Some(values.iter().map(|&v| v as f64 + 0.0).collect()),
            Labels::Floats(values) => Some(values.iter().map(|&v| v + 0.0).collect()),
            Labels::Text(_) => None,
        })
        .collect();
    if let Some(numbers) = numbers {
        return by_value(&numbers, label);
    }
    let text: Vec<Vec<String>> = sets
        .iter()
        .map(|set| match set {
            Labels::Integers(values) => values.iter().map(ToString::to_string).collect(),
            Labels::Floats(values) => values.iter().map(ToString::to_string).collect(),
            Labels::Text(values) => values.clone(),
        })
        .collect();
    let text: Vec<&[String]> = text.iter().map(Vec::as_slice).collect();
    by_text(&text, label)
}

/// Numbers numbered by value: the class of x is the number of distinct
/// values below it.
fn by_value(sets: &[Vec<f64>], label: &str) -> Result<(Vec<Vec<usize>>, usize), String> {
    let mut distinct: Vec<f64> = sets.iter().flatten().copied().collect();
    let n_rows = distinct.len();
    distinct.sort_unstable_by(f64::total_cmp);
    distinct.dedup();
    check(distinct.len(), n_rows, label)?;
    let classes = sets
        .iter()
        .map(|set| {
            set.iter()
                .map(|value| {
                    distinct
                        .binary_search_by(|probe| probe.total_cmp(value))
                        .unwrap_or_else(|insert| insert)
                })
                .collect()
        })
        .collect();
    Ok((classes, distinct.len()))
}

/// `Classes::of`'s limits: at most [`MAX_CLASSES`], and at most half as
/// many classes as rows when there are more than two.
fn check(n_classes: usize, n_rows: usize, label: &str) -> Result<(), String> {
    if n_classes > MAX_CLASSES || (n_classes > 2 && 2 * n_classes > n_rows) {
        return Err(TableError::TooManyClasses {
            label: label.to_owned(),
            n_classes,
            n_rows,
        }
        .to_string());
    }
    Ok(())
}

/// Text labels numbered by `Classes::of`'s rule.
fn by_text(sets: &[&[String]], label: &str) -> Result<(Vec<Vec<usize>>, usize), String> {
    let mut names: Vec<&str> = sets
        .iter()
        .flat_map(|set| set.iter().map(String::as_str))
        .collect();
    let n_rows = names.len();
    names.sort_unstable();
    names.dedup();
    // -0 + 0 = +0: "-0" and "0" are one class.
    let numbers: Option<Vec<f64>> = names
        .iter()
        .map(|name| {
            name.parse::<f64>()
                .ok()
                .filter(|value| value.is_finite())
                .map(|value| value + 0.0)
        })
        .collect();
    let (index, n_classes): (HashMap<&str, usize>, usize) = match numbers {
        Some(numbers) => {
            let mut distinct = numbers.clone();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            let index = names
                .iter()
                .zip(&numbers)
                .map(|(name, value)| {
                    let class = distinct
                        .binary_search_by(|probe| probe.total_cmp(value))
                        .unwrap_or_else(|insert| insert);
                    (*name, class)
                })
                .collect();
            (index, distinct.len())
        }
        None => (
            names
                .iter()
                .enumerate()
                .map(|(class, name)| (*name, class))
                .collect(),
            names.len(),
        ),
    };
    check(n_classes, n_rows, label)?;
    let classes = sets
        .iter()
        .map(|set| {
            set.iter()
                .map(|name| index.get(name.as_str()).copied().unwrap_or_default())
                .collect()
        })
        .collect();
    Ok((classes, n_classes))
}
