//! The corpus of `procura demo --text`, compiled into the binary: the
//! snippets of `data/text/snippets.csv` (text, label, source) and their
//! sentence embeddings, `data/text/snippets.npz` (`procura embed`), row for
//! row. See `data/README.md` for their source, licence and the commands
//! that made them.
//!
//! Rows whose source is [`TASK_SOURCE`] are the task: movie-review snippets
//! labelled `fresh` or `rotten`. The others are off-task text (sentences
//! of political speeches) carrying a `fresh` or `rotten` label at random:
//! what a provider passes off as reviews.

use std::collections::HashMap;
use std::io::Cursor;

use anyhow::{anyhow, bail, Context as _};
use procura::valuation::npz;
use procura::valuation::table::Classes;
use procura::valuation::Dataset;

/// The snippets, one per row: `text,label,source`.
const SNIPPETS_CSV: &str = include_str!("../../../../../data/text/snippets.csv");
/// Their embeddings: `x` (float32, one row per snippet) and `y` (labels).
const SNIPPETS_NPZ: &[u8] = include_bytes!("../../../../../data/text/snippets.npz");

/// The source of the task's snippets.
pub(crate) const TASK_SOURCE: &str = "rotten-tomatoes";

/// The built-in corpus: the task's snippets and the off-task ones, each a
/// dataset of embeddings with the classes numbered over both.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Corpus {
    /// The task's snippets, labelled with their true class.
    pub(crate) reviews: Dataset,
    /// Off-task snippets, labelled with a class drawn at random.
    pub(crate) speeches: Dataset,
    /// The class names, by class number (`fresh`, `rotten`).
    pub(crate) classes: Vec<String>,
}

/// Reads the built-in corpus ([`read`] of the compiled-in files).
pub(crate) fn builtin() -> anyhow::Result<Corpus> {
    read(SNIPPETS_CSV, SNIPPETS_NPZ).context("built-in text corpus (data/text/)")
}

/// One row of the snippets file, as far as the demo needs it.
struct Snippet {
    label: String,
    source: String,
}

/// Reads `csv` (`text,label,source`) and `npz` (`x` and `y`, the same rows
/// in the same order) into a [`Corpus`]. Refuses files whose rows or
/// labels differ (naming the row), a corpus without task or off-task rows
/// or without two classes, and two snippets with the same embedding (the
/// demo tells a snippet's true label by its embedding).
pub(crate) fn read(csv: &str, npz: &[u8]) -> anyhow::Result<Corpus> {
    let snippets = read_csv(csv)?;
    let embedded = npz::read(Cursor::new(npz)).context("snippets.npz")?;
    let dim = embedded.features.dim();
    let n_rows = embedded.features.n_rows();
    if n_rows != snippets.len() {
        bail!(
            "snippets.npz has {n_rows} rows but snippets.csv has {}: embed the csv again",
            snippets.len()
        );
    }
    for (row, (snippet, label)) in snippets.iter().zip(&embedded.labels).enumerate() {
        if snippet.label != *label {
            bail!(
                "row {row}: snippets.csv says label {:?}, snippets.npz says {label:?}: embed the \
                 csv again",
                snippet.label
            );
        }
    }
    let x = embedded.features.to_f64();
    if let Some((first, second)) = repeated_row(&x, dim) {
        bail!("snippets.npz: rows {first} and {second} have the same embedding");
    }
    let labels: Vec<String> = snippets.iter().map(|s| s.label.clone()).collect();
    let classes = Classes::of_labels(&[&labels], "label")?;
    if classes.n_classes() != 2 {
        bail!(
            "label: {} classes, the demo's task has two",
            classes.n_classes()
        );
    }
    let mut names = vec![String::new(); classes.n_classes()];
    for label in &labels {
        if let Some(class) = classes.class(label) {
            names[class].clone_from(label);
        }
    }
    let part = |on_task: bool| -> anyhow::Result<Dataset> {
        let rows: Vec<usize> = (0..snippets.len())
            .filter(|&row| (snippets[row].source == TASK_SOURCE) == on_task)
            .collect();
        if rows.is_empty() {
            let what = if on_task { "task" } else { "off-task" };
            bail!("source: no {what} snippets (the task's source is {TASK_SOURCE})");
        }
        let features = rows
            .iter()
            .flat_map(|&row| x[row * dim..(row + 1) * dim].iter().copied())
            .collect();
        let classes_of = rows
            .iter()
            .map(|&row| {
                classes
                    .class(&snippets[row].label)
                    .ok_or_else(|| anyhow!("row {row}: unknown label"))
            })
            .collect::<anyhow::Result<Vec<usize>>>()?;
        Ok(Dataset::new(
            features,
            dim,
            classes_of,
            classes.n_classes(),
        )?)
    };
    Ok(Corpus {
        reviews: part(true)?,
        speeches: part(false)?,
        classes: names,
    })
}

/// The rows of `text`, a CSV file with columns `text`, `label` and
/// `source` (in any order); errors name the line.
fn read_csv(text: &str) -> anyhow::Result<Vec<Snippet>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().context("snippets.csv: header")?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|field| field == name)
            .ok_or_else(|| anyhow!("snippets.csv: no column {name:?}"))
    };
    let (text_column, label, source) = (column("text")?, column("label")?, column("source")?);
    let mut snippets = Vec::new();
    for record in reader.records() {
        let record = record.context("snippets.csv")?;
        let line = record.position().map_or(0, csv::Position::line);
        let field = |column: usize, name: &str| -> anyhow::Result<String> {
            match record.get(column) {
                Some(value) if !value.is_empty() => Ok(value.to_owned()),
                _ => Err(anyhow!("snippets.csv line {line}: {name} is empty")),
            }
        };
        field(text_column, "text")?;
        snippets.push(Snippet {
            label: field(label, "label")?,
            source: field(source, "source")?,
        });
    }
    Ok(snippets)
}

/// Two rows of `x` (rows of `dim` numbers) that are equal, bit for bit,
/// if there are.
fn repeated_row(x: &[f64], dim: usize) -> Option<(usize, usize)> {
    let mut seen: HashMap<Vec<u64>, usize> = HashMap::new();
    for (row, values) in x.chunks_exact(dim).enumerate() {
        if let Some(&first) = seen.get(&bits(values)) {
            return Some((first, row));
        }
        seen.insert(bits(values), row);
    }
    None
}

/// The bits of a row: a key under which equal rows meet.
pub(crate) fn bits(row: &[f64]) -> Vec<u64> {
    row.iter().map(|value| value.to_bits()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npz_of(x: &[f32], dim: usize, labels: &[&str]) -> Vec<u8> {
        let labels: Vec<String> = labels.iter().map(|&l| l.to_owned()).collect();
        let mut file = Cursor::new(Vec::new());
        npz::write(&mut file, x, dim, Some(&labels), None).expect("write npz");
        file.into_inner()
    }

    const CSV: &str = "text,label,source\n\
        good,fresh,rotten-tomatoes\n\
        bad,rotten,rotten-tomatoes\n\
        \"vote, now\",rotten,convention-2012\n";

    #[test]
    fn splits_task_and_off_task_rows() {
        let npz = npz_of(
            &[0.0, 1.0, 1.0, 0.0, 0.5, 0.5],
            2,
            &["fresh", "rotten", "rotten"],
        );
        let corpus = read(CSV, &npz).expect("reads");
        assert_eq!(corpus.classes, ["fresh", "rotten"]);
        assert_eq!(corpus.reviews.n_rows(), 2);
        assert_eq!(corpus.reviews.labels(), [0, 1]);
        assert_eq!(corpus.reviews.features(), [0.0, 1.0, 1.0, 0.0]);
        assert_eq!(corpus.speeches.labels(), [1]);
        assert_eq!(corpus.speeches.features(), [0.5, 0.5]);
    }

    #[test]
    fn refuses_files_that_do_not_match() {
        let check = |npz: &[u8], expected: &str| {
            let error = format!("{:#}", read(CSV, npz).expect_err("refused"));
            assert!(error.contains(expected), "{error}");
        };
        check(
            &npz_of(&[0.0, 1.0, 1.0, 0.0], 2, &["fresh", "rotten"]),
            "snippets.npz has 2 rows but snippets.csv has 3",
        );
        check(
            &npz_of(
                &[0.0, 1.0, 1.0, 0.0, 0.5, 0.5],
                2,
                &["fresh", "fresh", "rotten"],
            ),
            "row 1: snippets.csv says label \"rotten\", snippets.npz says \"fresh\"",
        );
        check(
            &npz_of(
                &[0.0, 1.0, 0.5, 0.5, 0.5, 0.5],
                2,
                &["fresh", "rotten", "rotten"],
            ),
            "rows 1 and 2 have the same embedding",
        );
    }

    #[test]
    fn the_builtin_corpus_reads() {
        let corpus = builtin().expect("the built-in corpus reads");
        assert_eq!(corpus.classes, ["fresh", "rotten"]);
        assert!(
            corpus.reviews.n_rows() >= 1000,
            "{}",
            corpus.reviews.n_rows()
        );
        assert!(
            corpus.speeches.n_rows() >= 100,
            "{}",
            corpus.speeches.n_rows()
        );
    }
}
