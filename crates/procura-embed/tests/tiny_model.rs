//! The encoder's plumbing on a tiny BERT written by the test itself (8
//! floats, 2 layers, a 12-piece vocabulary, pseudo-random weights), so
//! that it runs everywhere, without the real model: loading and its
//! errors, truncation, padding, batching, determinism, progress. That the
//! numbers are sentence-transformers' is `minilm.rs`'s to test.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use procura_embed::{EmbedError, SentenceEncoder};

const HIDDEN: usize = 8;
const INTERMEDIATE: usize = 16;
const LAYERS: usize = 2;
const POSITIONS: usize = 16;
const MAX_SEQ_LENGTH: usize = 8;
const VOCAB: [&str; 12] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "film", "was", "good", "bad", "##s", "a", ",",
];
const CLS: u32 = 2;
const SEP: u32 = 3;

/// A fresh folder under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "procura-embed-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join("1_Pooling")).expect("create the model folder");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config_json(vocab_size: usize) -> String {
    format!(
        r#"{{"architectures": ["BertModel"], "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": {HIDDEN}, "initializer_range": 0.02, "intermediate_size": {INTERMEDIATE},
        "layer_norm_eps": 1e-12, "max_position_embeddings": {POSITIONS}, "model_type": "bert",
        "num_attention_heads": 2, "num_hidden_layers": {LAYERS}, "pad_token_id": 0,
        "type_vocab_size": 2, "vocab_size": {vocab_size}}}"#
    )
}

/// The fields of tokenizer.json's model, but its vocabulary.
const WORD_PIECE: &str = r###""type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100"###;
const WORD_LEVEL: &str = r#""type": "WordLevel", "unk_token": "[UNK]""#;

fn tokenizer_json(model: &str, lowercase: bool) -> String {
    let vocab: Vec<String> = VOCAB
        .iter()
        .enumerate()
        .map(|(i, piece)| format!("{piece:?}: {i}"))
        .collect();
    format!(
        r###"{{"version": "1.0", "truncation": {{"max_length": 4, "strategy": "LongestFirst", "stride": 0}},
        "padding": null, "added_tokens": [],
        "normalizer": {{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": null, "lowercase": {lowercase}}},
        "pre_tokenizer": {{"type": "BertPreTokenizer"}},
        "post_processor": {{"type": "TemplateProcessing",
            "single": [{{"SpecialToken": {{"id": "[CLS]", "type_id": 0}}}},
                       {{"Sequence": {{"id": "A", "type_id": 0}}}},
                       {{"SpecialToken": {{"id": "[SEP]", "type_id": 0}}}}],
            "pair": [{{"Sequence": {{"id": "A", "type_id": 0}}}}, {{"Sequence": {{"id": "B", "type_id": 1}}}}],
            "special_tokens": {{"[CLS]": {{"id": "[CLS]", "ids": [{CLS}], "tokens": ["[CLS]"]}},
                                "[SEP]": {{"id": "[SEP]", "ids": [{SEP}], "tokens": ["[SEP]"]}}}}}},
        "decoder": null,
        "model": {{{model}, "vocab": {{{}}}}}}}"###,
        vocab.join(", ")
    )
}

/// The tensors of the tiny BERT: name → (shape, values).
fn tensors(vocab_size: usize) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // A fixed linear congruential stream: weights in [-0.5, 0.5).
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let mut out = BTreeMap::new();
    let mut add = |name: String, shape: Vec<usize>, values: Option<f32>| {
        let n = shape.iter().product();
        let data = (0..n).map(|_| values.unwrap_or_else(&mut next)).collect();
        out.insert(name, (shape, data));
    };
    let h = HIDDEN;
    add(
        "embeddings.word_embeddings.weight".into(),
        vec![vocab_size, h],
        None,
    );
    add(
        "embeddings.position_embeddings.weight".into(),
        vec![POSITIONS, h],
        None,
    );
    add(
        "embeddings.token_type_embeddings.weight".into(),
        vec![2, h],
        None,
    );
    add("embeddings.LayerNorm.weight".into(), vec![h], Some(1.0));
    add("embeddings.LayerNorm.bias".into(), vec![h], Some(0.0));
    for layer in 0..LAYERS {
        let p = format!("encoder.layer.{layer}");
        for part in ["query", "key", "value"] {
            add(
                format!("{p}.attention.self.{part}.weight"),
                vec![h, h],
                None,
            );
            add(format!("{p}.attention.self.{part}.bias"), vec![h], None);
        }
        add(
            format!("{p}.attention.output.dense.weight"),
            vec![h, h],
            None,
        );
        add(format!("{p}.attention.output.dense.bias"), vec![h], None);
        add(
            format!("{p}.attention.output.LayerNorm.weight"),
            vec![h],
            Some(1.0),
        );
        add(
            format!("{p}.attention.output.LayerNorm.bias"),
            vec![h],
            Some(0.0),
        );
        add(
            format!("{p}.intermediate.dense.weight"),
            vec![INTERMEDIATE, h],
            None,
        );
        add(
            format!("{p}.intermediate.dense.bias"),
            vec![INTERMEDIATE],
            None,
        );
        add(
            format!("{p}.output.dense.weight"),
            vec![h, INTERMEDIATE],
            None,
        );
        add(format!("{p}.output.dense.bias"), vec![h], None);
        add(format!("{p}.output.LayerNorm.weight"), vec![h], Some(1.0));
        add(format!("{p}.output.LayerNorm.bias"), vec![h], Some(0.0));
    }
    out
}

/// The safetensors file of `tensors`: an 8-byte little-endian header
/// length, the JSON header (padded to 8 bytes), the data.
fn safetensors(tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>) -> Vec<u8> {
    let mut header = Vec::new();
    let mut data = Vec::new();
    for (name, (shape, values)) in tensors {
        let start = data.len();
        for v in values {
            data.extend_from_slice(&v.to_le_bytes());
        }
        header.push(format!(
            r#""{name}": {{"dtype": "F32", "shape": {shape:?}, "data_offsets": [{start}, {}]}}"#,
            data.len()
        ));
    }
    let mut header = format!("{{{}}}", header.join(", ")).into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header);
    file.extend(data);
    file
}

/// The files of a valid tiny model.
fn files() -> BTreeMap<&'static str, Vec<u8>> {
    let mut files = BTreeMap::new();
    files.insert("config.json", config_json(VOCAB.len()).into_bytes());
    files.insert(
        "sentence_bert_config.json",
        format!(r#"{{"max_seq_length": {MAX_SEQ_LENGTH}, "do_lower_case": false}}"#).into_bytes(),
    );
    files.insert(
        "modules.json",
        br#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"#
            .to_vec(),
    );
    files.insert(
        "1_Pooling/config.json",
        format!(
            r#"{{"word_embedding_dimension": {HIDDEN}, "pooling_mode_cls_token": false,
            "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
            "pooling_mode_mean_sqrt_len_tokens": false}}"#
        )
        .into_bytes(),
    );
    files.insert(
        "tokenizer.json",
        tokenizer_json(WORD_PIECE, true).into_bytes(),
    );
    files.insert("model.safetensors", safetensors(&tensors(VOCAB.len())));
    files
}

/// A model folder holding `files`.
fn model_dir(name: &str, files: &BTreeMap<&'static str, Vec<u8>>) -> TempDir {
    let dir = TempDir::new(name);
    for (file, bytes) in files {
        std::fs::write(dir.0.join(file), bytes).expect("write a model file");
    }
    dir
}

fn load(
    name: &str,
    files: &BTreeMap<&'static str, Vec<u8>>,
) -> Result<SentenceEncoder, EmbedError> {
    let dir = model_dir(name, files);
    SentenceEncoder::load(&dir.0)
}

fn batch(size: usize) -> NonZeroUsize {
    NonZeroUsize::new(size).expect("a positive batch size")
}

const TEXTS: [&str; 7] = [
    "The film was good",
    "the film was bad, bad, bad, bad, bad",
    "",
    "films",
    "a",
    "The FILM was good.",
    "unknown words here",
];

#[test]
fn loads_and_tokenizes_with_the_sentence_transformers_limit() {
    let encoder = load("tokens", &files()).expect("loads");
    assert_eq!(encoder.dim(), HIDDEN);
    assert_eq!(encoder.max_seq_length(), MAX_SEQ_LENGTH);
    let ids = |text: &str| encoder.token_ids(text).expect("tokenizes");
    assert_eq!(ids("The film was good"), [CLS, 4, 5, 6, 7, SEP]);
    assert_eq!(ids(""), [CLS, SEP]);
    assert_eq!(ids("  films \n"), [CLS, 5, 9, SEP]);
    assert_eq!(ids("unknown"), [CLS, 1, SEP]);
    // Cut at max_seq_length (8) tokens, specials included, not at the
    // tokenizer.json's own 4: the end of the text is dropped.
    assert_eq!(
        ids("the film was bad, bad, bad, bad, bad"),
        [CLS, 4, 5, 6, 8, 11, 8, SEP]
    );
}

#[test]
fn embeddings_have_unit_norm_and_ignore_what_is_cut() {
    let encoder = load("norms", &files()).expect("loads");
    let x = encoder.encode(&TEXTS, batch(3)).expect("encodes");
    assert_eq!(x.len(), TEXTS.len() * HIDDEN);
    for row in x.chunks_exact(HIDDEN) {
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "{norm}");
    }
    // Only the first 6 word pieces count.
    let cut = encoder
        .encode(
            &[
                "the film was bad, bad",
                "the film was bad, bad, good good good",
            ],
            batch(1),
        )
        .expect("encodes");
    assert_eq!(cut[..HIDDEN], cut[HIDDEN..]);
    // Lowercased by the tokenizer, trimmed.
    let same = encoder
        .encode(&["The film was good", "  THE FILM WAS GOOD\t"], batch(1))
        .expect("encodes");
    assert_eq!(same[..HIDDEN], same[HIDDEN..]);
    // Different texts, different embeddings.
    assert_ne!(x[..HIDDEN], x[HIDDEN..2 * HIDDEN]);
    assert!(encoder
        .encode::<&str>(&[], batch(4))
        .expect("encodes")
        .is_empty());
}

#[test]
fn do_lower_case_lowercases_before_the_tokenizer() {
    let mut files = files();
    files.insert(
        "tokenizer.json",
        tokenizer_json(WORD_PIECE, false).into_bytes(),
    );
    let cased = load("cased", &files).expect("loads");
    assert_eq!(cased.token_ids("FILM").expect("tokenizes"), [CLS, 1, SEP]);
    files.insert(
        "sentence_bert_config.json",
        br#"{"max_seq_length": 8, "do_lower_case": true}"#.to_vec(),
    );
    let lowered = load("lowered", &files).expect("loads");
    assert_eq!(lowered.token_ids("FILM").expect("tokenizes"), [CLS, 5, SEP]);
}

#[test]
fn rows_follow_the_input_order_whatever_the_batching() {
    let encoder = load("batches", &files()).expect("loads");
    let all = encoder.encode(&TEXTS, batch(TEXTS.len())).expect("encodes");
    for size in [1, 2, 3, 100] {
        let x = encoder.encode(&TEXTS, batch(size)).expect("encodes");
        for (a, b) in x.iter().zip(&all) {
            assert!((a - b).abs() <= 1e-6, "batch {size}: {a} vs {b}");
        }
    }
    // Each row is the text's own: encoded alone, it is the same.
    for (i, text) in TEXTS.iter().enumerate() {
        let alone = encoder.encode(&[text], batch(1)).expect("encodes");
        for (a, b) in alone.iter().zip(&all[i * HIDDEN..]) {
            assert!((a - b).abs() <= 1e-6, "text {i}: {a} vs {b}");
        }
    }
}

#[test]
fn same_input_same_bits_on_any_number_of_threads() {
    let encoder = load("threads", &files()).expect("loads");
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool")
            .install(|| encoder.encode(&TEXTS, batch(2)).expect("encodes"))
    };
    let first = run(1);
    assert_eq!(first, run(1));
    assert_eq!(first, run(2));
    assert_eq!(first, run(4));
}

#[test]
fn progress_is_reported_after_each_batch() {
    let encoder = load("progress", &files()).expect("loads");
    let mut seen = Vec::new();
    encoder
        .encode_with_progress(&TEXTS, batch(3), &mut |done| seen.push(done))
        .expect("encodes");
    assert_eq!(seen, [3, 6, 7]);
}

/// Loading `files` fails with a message that contains each of `parts`.
fn check_refused(name: &str, files: &BTreeMap<&'static str, Vec<u8>>, parts: &[&str]) {
    let message = load(name, files).expect_err("refused").to_string();
    for part in parts {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}

#[test]
fn broken_model_folders_are_refused_with_the_file_and_the_reason() {
    let mut missing = files();
    missing.remove("model.safetensors");
    check_refused("missing", &missing, &["model.safetensors: cannot read: "]);

    let mut garbage = files();
    garbage.insert("model.safetensors", b"not a safetensors file".to_vec());
    check_refused(
        "garbage",
        &garbage,
        &["model.safetensors: not a safetensors file: "],
    );

    let mut no_layer = tensors(VOCAB.len());
    no_layer.remove("encoder.layer.1.output.dense.weight");
    let mut lacking = files();
    lacking.insert("model.safetensors", safetensors(&no_layer));
    check_refused(
        "lacking",
        &lacking,
        &["model.safetensors: ", "encoder.layer.1.output.dense.weight"],
    );

    let mut misshapen = tensors(VOCAB.len());
    misshapen.insert(
        "embeddings.LayerNorm.weight".into(),
        (vec![HIDDEN + 1], vec![1.0; HIDDEN + 1]),
    );
    let mut wrong_shape = files();
    wrong_shape.insert("model.safetensors", safetensors(&misshapen));
    check_refused("shape", &wrong_shape, &["model.safetensors: ", "shape"]);

    let mut word_level = files();
    word_level.insert(
        "tokenizer.json",
        tokenizer_json(WORD_LEVEL, true).into_bytes(),
    );
    check_refused(
        "word-level",
        &word_level,
        &["tokenizer.json: the model is not WordPiece"],
    );

    let mut not_json = files();
    not_json.insert("tokenizer.json", b"{\"model\": 3}".to_vec());
    check_refused(
        "not-json",
        &not_json,
        &["tokenizer.json: not a tokenizer: "],
    );

    let mut small_vocab = files();
    small_vocab.insert("config.json", config_json(10).into_bytes());
    small_vocab.insert("model.safetensors", safetensors(&tensors(10)));
    check_refused(
        "vocab",
        &small_vocab,
        &["tokenizer.json: 12 tokens, more than the vocab_size 10 of config.json"],
    );

    let mut long = files();
    long.insert(
        "sentence_bert_config.json",
        br#"{"max_seq_length": 17}"#.to_vec(),
    );
    check_refused(
        "long",
        &long,
        &["sentence_bert_config.json: max_seq_length 17 is more than the 16 positions"],
    );

    let mut max_pooling = files();
    max_pooling.insert(
        "1_Pooling/config.json",
        format!(r#"{{"word_embedding_dimension": {HIDDEN}, "pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": true}}"#)
            .into_bytes(),
    );
    check_refused(
        "pooling",
        &max_pooling,
        &["1_Pooling/config.json: pooling_mode_"],
    );

    check_refused("nothing", &BTreeMap::new(), &["config.json: cannot read: "]);
}

#[test]
fn a_missing_folder_is_named() {
    let message = SentenceEncoder::load(Path::new("/nonexistent/model"))
        .expect_err("no folder")
        .to_string();
    assert!(
        message.starts_with("/nonexistent/model/config.json: cannot read: "),
        "{message}"
    );
}
