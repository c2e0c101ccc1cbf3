//! `experiment`: a Monte-Carlo sweep described in TOML (or an equivalent
//! `dict`), run by `procura::experiment::design` as `procura experiment`
//! runs it (`crates/procura-cli/src/experiment.rs`), returned as columns:
//! `results` (the rows of `results.csv`) and `summary` (the rows of
//! `summary.csv`), each a `dict` of equal-length lists.

use procura::experiment::design::{parse_design, run_design, Design};
use procura::experiment::{summary_rows, CellResult, Shard, SUMMARY_COLUMNS};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::json::text_of as json_text;
use crate::{input_error, with_threads};

/// The experiment's TOML text: `config` itself, or a `dict` written as
/// TOML (through JSON, so every number keeps its value and type).
fn toml_text(config: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = config.cast::<PyString>() {
        return Ok(text.to_cow()?.into_owned());
    }
    let json = json_text(config, "config")?;
    let value: serde_json::Value = serde_json::from_str(&json)
        .map_err(|error| input_error(format!("config: not a table of TOML values: {error}")))?;
    toml::to_string(&value)
        .map_err(|error| input_error(format!("config: cannot be written as TOML: {error}")))
}

/// A shard: `"I/N"` or `(I, N)`.
fn shard(value: Option<&Bound<'_, PyAny>>) -> PyResult<Shard> {
    let Some(value) = value.filter(|value| !value.is_none()) else {
        return Ok(Shard::WHOLE);
    };
    let text = match value.extract::<(u64, u64)>() {
        Ok((index, count)) => format!("{index}/{count}"),
        Err(_) => value
            .extract::<String>()
            .map_err(|_| input_error("shard: expected \"I/N\" or (I, N)"))?,
    };
    text.parse::<Shard>()
        .map_err(|error| input_error(format!("shard: {error}")))
}

/// Columns under construction: a name and a list per column, in order.
struct Columns<'py> {
    names: Vec<String>,
    lists: Vec<Bound<'py, PyList>>,
}

impl<'py> Columns<'py> {
    fn new(py: Python<'py>, names: Vec<String>) -> Columns<'py> {
        let lists = names.iter().map(|_| PyList::empty(py)).collect();
        Columns { names, lists }
    }

    fn push(&self, column: usize, value: impl IntoPyObject<'py>) -> PyResult<()> {
        match self.lists.get(column) {
            Some(list) => list.append(value),
            None => Ok(()),
        }
    }

    fn into_dict(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, list) in self.names.into_iter().zip(self.lists) {
            dict.set_item(name, list)?;
        }
        Ok(dict)
    }
}

/// The rows of `results.csv` as columns: `cell`, `replicate`, the swept
/// keys (their values as numbers), `mechanism`, then the record's columns
/// (`None` where a field does not apply).
fn results_columns<'py>(
    py: Python<'py>,
    design: &Design,
    results: &[CellResult],
) -> PyResult<Bound<'py, PyDict>> {
    let mut names = vec!["cell".to_owned(), "replicate".to_owned()];
    names.extend(design.keys().iter().cloned());
    names.push("mechanism".to_owned());
    names.extend(design.columns().iter().map(|&name| name.to_owned()));
    let columns = Columns::new(py, names);
    let keys = design.keys().len();
    for result in results {
        let point = design
            .cells()
            .get(result.cell() as usize)
            .map(|cell| cell.point().to_vec())
            .unwrap_or_default();
        let mechanisms = result.mechanisms();
        for (replicate, records) in result.rows().enumerate() {
            for (mechanism, record) in mechanisms.iter().zip(records) {
                columns.push(0, result.cell())?;
                columns.push(1, replicate)?;
                for (key, value) in point.iter().enumerate() {
                    columns.push(2 + key, *value)?;
                }
                columns.push(2 + keys, mechanism.to_string())?;
                for (field, value) in record.fields().into_iter().enumerate() {
                    columns.push(3 + keys + field, value)?;
                }
            }
        }
    }
    columns.into_dict(py)
}

/// The rows of `summary.csv` as columns: `cell`, the swept keys,
/// `mechanism`, `metric`, `n`, `mean`, `sd`, `ci_low` and `ci_high` (NaN
/// where a statistic is undefined), for each cell, mechanism and metric
/// with at least one value, as the CLI's `summary_csv` writes them.
fn summary_columns<'py>(
    py: Python<'py>,
    design: &Design,
    results: &[CellResult],
) -> PyResult<Bound<'py, PyDict>> {
    let mut names = vec!["cell".to_owned()];
    names.extend(design.keys().iter().cloned());
    names.extend(SUMMARY_COLUMNS.map(str::to_owned));
    let columns = Columns::new(py, names);
    let keys = design.keys().len();
    for row in summary_rows(results) {
        let point = design
            .cells()
            .get(row.cell as usize)
            .map(|cell| cell.point().to_vec())
            .unwrap_or_default();
        columns.push(0, row.cell)?;
        for (key, value) in point.iter().enumerate() {
            columns.push(1 + key, *value)?;
        }
        let summary = row.summary;
        let statistics = [summary.mean, summary.sd, summary.ci_low, summary.ci_high];
        columns.push(1 + keys, row.mechanism.to_string())?;
        columns.push(2 + keys, row.metric.name())?;
        columns.push(3 + keys, summary.n)?;
        for (offset, value) in statistics.into_iter().enumerate() {
            columns.push(4 + keys + offset, value)?;
        }
    }
    columns.into_dict(py)
}

/// Run a Monte-Carlo experiment, as `procura experiment FILE.toml` does.
///
/// `config` is an experiment file's TOML text, or an equivalent `dict`
/// (keys `name`, `seed`, `replicates`, `mechanisms`, a `procurement` or
/// `threshold` population, optional `strategic`, `audit` and `sweep`
/// lists). Every cell of the grid runs `replicates` replicates, replicate r
/// of cell c drawing from its own ChaCha8 stream, so the output is the same
/// on any number of `threads` and with any sharding. `shard` (`"I/N"` or
/// `(I, N)`) runs only the cells c with c mod N = I − 1; `procura.merge`
/// joins the shards' results into the whole run's.
///
/// Returns a `dict` with `results` (a row per cell, replicate and
/// mechanism: `cell`, `replicate`, the swept keys, `mechanism`, then the
/// metrics, `None` where one does not apply) and `summary` (n, mean, sd and
/// 95% CI per cell, mechanism and metric), each a `dict` of equal-length
/// column lists (so `pandas.DataFrame(result["results"])` works), and
/// `name`, `experiment` (the TOML text) and `shard` (`"I/N"`). Runs with the
/// GIL released.
///
/// >>> import procura
/// >>> config = {"name": "tiny", "seed": 1, "replicates": 3, "mechanisms": ["subsidy"],
/// ...           "threshold": {"users": 4, "threshold_fraction": 0.5, "payment": 0.6,
/// ...                         "floor": 1.0,
/// ...                         "cost": {"distribution": "uniform", "low": 0.0, "high": 1.5},
/// ...                         "capacity": {"distribution": "uniform", "low": 0.5, "high": 2.0}}}
/// >>> len(procura.experiment(config)["results"]["cell"])
/// 3
#[pyfunction]
#[pyo3(signature = (config, *, threads = None, shard = None))]
pub(crate) fn experiment<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    threads: Option<usize>,
    shard: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let shard = self::shard(shard)?;
    let text = toml_text(config)?;
    let (design, results) = py
        .detach(|| {
            let design = parse_design(&text).map_err(|error| error.to_string())?;
            let results = with_threads(threads, || run_design(&design, shard, &|| {}))?
                .map_err(|error| error.to_string())?;
            Ok::<_, String>((design, results))
        })
        .map_err(input_error)?;
    let dict = PyDict::new(py);
    dict.set_item("name", design.name())?;
    dict.set_item("experiment", design.source())?;
    dict.set_item("shard", shard.to_string())?;
    dict.set_item("results", results_columns(py, &design, &results)?)?;
    dict.set_item("summary", summary_columns(py, &design, &results)?)?;
    Ok(dict)
}
