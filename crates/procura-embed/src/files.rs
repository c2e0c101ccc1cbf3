//! Reading and checking the files of a sentence-transformers model folder,
//! before anything is built from them: each file's size is bounded before
//! it is read, and each configuration is checked against the one
//! architecture the encoder implements (a BERT encoder, a WordPiece
//! tokenizer, mean pooling, L2 normalisation). Messages name the file.

use std::io::Read;
use std::path::Path;

use candle_transformers::models::bert;
use serde::Deserialize;

use crate::EmbedError;

/// The most bytes of a JSON configuration file (the real ones are < 1 KiB).
const CONFIG_LIMIT: u64 = 1 << 20;
/// The most bytes of `tokenizer.json` (all-MiniLM-L6-v2's is 466 KB; a
/// vocabulary of a million word pieces is under 64 MiB).
const TOKENIZER_LIMIT: u64 = 64 << 20;
/// The most bytes of `model.safetensors` (all-MiniLM-L6-v2's is 91 MB,
/// BERT-large's 1.3 GB).
const WEIGHTS_LIMIT: u64 = 2 << 30;

/// Bounds on `config.json`, far above every BERT model in use, so that a
/// corrupt or hostile file cannot ask for an absurd allocation.
const MAX_HIDDEN: usize = 4096;
const MAX_LAYERS: usize = 64;
const MAX_INTERMEDIATE: usize = 16384;
const MAX_VOCAB: usize = 1 << 20;
const MAX_POSITIONS: usize = 8192;
const MAX_TYPE_VOCAB: usize = 16;

/// The checked configuration of a model folder.
#[derive(Debug)]
pub(crate) struct ModelFiles {
    /// The BERT configuration (`config.json`).
    pub(crate) bert: bert::Config,
    /// Longest token sequence, special tokens included
    /// (`sentence_bert_config.json`); longer ones are cut.
    pub(crate) max_seq_length: usize,
    /// Whether sentence-transformers lowercases the text before tokenizing
    /// (`sentence_bert_config.json`; the tokenizer may lowercase again).
    pub(crate) lowercase: bool,
    /// `tokenizer.json`, read.
    pub(crate) tokenizer: Vec<u8>,
    /// `model.safetensors`, read.
    pub(crate) weights: Vec<u8>,
}

/// Reads and checks every file of the model folder `dir`.
pub(crate) fn read_model_dir(dir: &Path) -> Result<ModelFiles, EmbedError> {
    let config_path = dir.join("config.json");
    let bert = bert_config(&config_path, &read_bounded(&config_path, CONFIG_LIMIT)?)?;
    let sbert_path = dir.join("sentence_bert_config.json");
    let sbert = sentence_bert_config(&sbert_path, &read_bounded(&sbert_path, CONFIG_LIMIT)?)?;
    if sbert.max_seq_length > bert.max_position_embeddings {
        return Err(unsupported(
            &sbert_path,
            format!(
                "max_seq_length {} is more than the {} positions of config.json",
                sbert.max_seq_length, bert.max_position_embeddings
            ),
        ));
    }
    let modules_path = dir.join("modules.json");
    let pooling_dir = modules(&modules_path, &read_bounded(&modules_path, CONFIG_LIMIT)?)?;
    let pooling_path = dir.join(pooling_dir).join("config.json");
    pooling_config(
        &pooling_path,
        &read_bounded(&pooling_path, CONFIG_LIMIT)?,
        bert.hidden_size,
    )?;
    let tokenizer_path = dir.join("tokenizer.json");
    let tokenizer = read_bounded(&tokenizer_path, TOKENIZER_LIMIT)?;
    let weights_path = dir.join("model.safetensors");
    let weights = read_bounded(&weights_path, WEIGHTS_LIMIT)?;
    Ok(ModelFiles {
        bert,
        max_seq_length: sbert.max_seq_length,
        lowercase: sbert.do_lower_case,
        tokenizer,
        weights,
    })
}

/// The file's bytes, refused unread when it has more than `limit`.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, EmbedError> {
    let read_error = |reason| EmbedError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > limit {
        return Err(EmbedError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // `take` keeps the bound even if the file grows while it is read.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(EmbedError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

fn unsupported(path: &Path, what: String) -> EmbedError {
    EmbedError::Unsupported {
        path: path.to_path_buf(),
        what,
    }
}

fn json<'a, T: Deserialize<'a>>(path: &Path, bytes: &'a [u8]) -> Result<T, EmbedError> {
    serde_json::from_slice(bytes).map_err(|e| EmbedError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `config.json`: a BERT model within the bounds above.
fn bert_config(path: &Path, bytes: &[u8]) -> Result<bert::Config, EmbedError> {
    #[derive(Deserialize)]
    struct Kind {
        model_type: Option<String>,
    }
    let kind: Kind = json(path, bytes)?;
    if kind.model_type.as_deref() != Some("bert") {
        return Err(unsupported(
            path,
            format!(
                "model_type {:?}, but only \"bert\" models are supported",
                kind.model_type.unwrap_or_default()
            ),
        ));
    }
    let config: bert::Config = json(path, bytes)?;
    let bounds = [
        ("hidden_size", config.hidden_size, MAX_HIDDEN),
        ("num_hidden_layers", config.num_hidden_layers, MAX_LAYERS),
        (
            "num_attention_heads",
            config.num_attention_heads,
            MAX_HIDDEN,
        ),
        (
            "intermediate_size",
            config.intermediate_size,
            MAX_INTERMEDIATE,
        ),
        ("vocab_size", config.vocab_size, MAX_VOCAB),
        (
            "max_position_embeddings",
            config.max_position_embeddings,
            MAX_POSITIONS,
        ),
        ("type_vocab_size", config.type_vocab_size, MAX_TYPE_VOCAB),
    ];
    for (field, value, max) in bounds {
        if value == 0 || value > max {
            return Err(unsupported(
                path,
                format!("{field} {value} is not in 1..={max}"),
            ));
        }
    }
    if !config
        .hidden_size
        .is_multiple_of(config.num_attention_heads)
    {
        return Err(unsupported(
            path,
            format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                config.hidden_size, config.num_attention_heads
            ),
        ));
    }
    Ok(config)
}

/// `sentence_bert_config.json`.
#[derive(Debug, Deserialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
    #[serde(default)]
    do_lower_case: bool,
}

fn sentence_bert_config(path: &Path, bytes: &[u8]) -> Result<SentenceBertConfig, EmbedError> {
    let config: SentenceBertConfig = json(path, bytes)?;
    // Two tokens are [CLS] and [SEP]; at least one is left for the text.
    if config.max_seq_length < 3 {
        return Err(unsupported(
            path,
            format!("max_seq_length {} is less than 3", config.max_seq_length),
        ));
    }
    Ok(config)
}

/// `modules.json`: exactly a Transformer, a Pooling and a Normalize
/// module, in this order. Returns the Pooling module's folder.
fn modules(path: &Path, bytes: &[u8]) -> Result<String, EmbedError> {
    #[derive(Deserialize)]
    struct Module {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        path: String,
    }
    const EXPECTED: [&str; 3] = [
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Normalize",
    ];
    let modules: Vec<Module> = json(path, bytes)?;
    let kinds: Vec<&str> = modules.iter().map(|m| m.kind.as_str()).collect();
    if kinds != EXPECTED {
        return Err(unsupported(
            path,
            format!(
                "modules {kinds:?}, but only {EXPECTED:?} (mean or other pooling, then L2 \
                 normalisation) is supported"
            ),
        ));
    }
    let pooling = &modules[1].path;
    // The folder must stay inside the model folder.
    let inside = Path::new(pooling)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if pooling.is_empty() || !inside {
        return Err(unsupported(
            path,
            format!("the Pooling module's path {pooling:?} is not a folder name"),
        ));
    }
    Ok(pooling.clone())
}

/// The Pooling module's `config.json`: mean pooling, and nothing else, of
/// `hidden` floats.
fn pooling_config(path: &Path, bytes: &[u8], hidden: usize) -> Result<(), EmbedError> {
    let config: serde_json::Map<String, serde_json::Value> = json(path, bytes)?;
    let dimension = config
        .get("word_embedding_dimension")
        .and_then(serde_json::Value::as_u64);
    if dimension != Some(hidden as u64) {
        return Err(unsupported(
            path,
            format!(
                "word_embedding_dimension {}, but config.json has hidden_size {hidden}",
                config
                    .get("word_embedding_dimension")
                    .map_or_else(|| "missing".to_owned(), ToString::to_string)
            ),
        ));
    }
    for (key, value) in &config {
        if !key.starts_with("pooling_mode_") {
            continue;
        }
        let wanted = key == "pooling_mode_mean_tokens";
        if value.as_bool() != Some(wanted) {
            return Err(unsupported(
                path,
                format!("{key} is {value}, but only mean pooling (pooling_mode_mean_tokens) is supported"),
            ));
        }
    }
    if config.get("pooling_mode_mean_tokens").is_none() {
        return Err(unsupported(
            path,
            "pooling_mode_mean_tokens is missing, but only mean pooling is supported".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// all-MiniLM-L6-v2's config.json.
    const MINILM_CONFIG: &str = r#"{"_name_or_path": "nreimers/MiniLM-L6-H384-uncased",
      "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1,
      "gradient_checkpointing": false, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
      "hidden_size": 384, "initializer_range": 0.02, "intermediate_size": 1536,
      "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
      "num_attention_heads": 12, "num_hidden_layers": 6, "pad_token_id": 0,
      "position_embedding_type": "absolute", "transformers_version": "4.8.2",
      "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522}"#;

    fn check_bert(text: &str, expected: Result<usize, &str>) {
        let got = bert_config(Path::new("m/config.json"), text.as_bytes())
            .map(|c| c.hidden_size)
            .map_err(|e| e.to_string());
        match (got, expected) {
            (Ok(hidden), Ok(want)) => assert_eq!(hidden, want),
            (Err(message), Err(want)) => assert!(message.contains(want), "{message}"),
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn bert_configs() {
        check_bert(MINILM_CONFIG, Ok(384));
        check_bert(
            &MINILM_CONFIG.replace("\"bert\"", "\"roberta\""),
            Err("m/config.json: model_type \"roberta\", but only \"bert\""),
        );
        check_bert(
            &MINILM_CONFIG.replace("\"model_type\": \"bert\",", ""),
            Err("model_type \"\""),
        );
        check_bert(
            &MINILM_CONFIG.replace("\"hidden_size\": 384", "\"hidden_size\": 100000"),
            Err("hidden_size 100000 is not in 1..=4096"),
        );
        check_bert(
            &MINILM_CONFIG.replace("\"num_hidden_layers\": 6", "\"num_hidden_layers\": 0"),
            Err("num_hidden_layers 0 is not in 1..=64"),
        );
        check_bert(
            &MINILM_CONFIG.replace("\"num_attention_heads\": 12", "\"num_attention_heads\": 7"),
            Err("hidden_size 384 is not a multiple of num_attention_heads 7"),
        );
        check_bert(
            &MINILM_CONFIG.replace("\"vocab_size\": 30522", "\"vocab_size\": -1"),
            Err("m/config.json: invalid value"),
        );
        check_bert(
            &MINILM_CONFIG.replace("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"swish\""),
            Err("m/config.json: unknown variant `swish`"),
        );
        check_bert("{", Err("m/config.json: EOF while parsing"));
    }

    fn check_modules(text: &str, expected: Result<&str, &str>) {
        let got = modules(Path::new("m/modules.json"), text.as_bytes()).map_err(|e| e.to_string());
        match (got, expected) {
            (Ok(folder), Ok(want)) => assert_eq!(folder, want),
            (Err(message), Err(want)) => assert!(message.contains(want), "{message}"),
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn module_lists() {
        let minilm = r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
            {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
            {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#;
        check_modules(minilm, Ok("1_Pooling"));
        let unnormalised = r#"[{"path":"","type":"sentence_transformers.models.Transformer"},
            {"path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#;
        check_modules(
            unnormalised,
            Err("only [\"sentence_transformers.models.Transformer\""),
        );
        check_modules(
            &minilm.replace("1_Pooling", "../elsewhere"),
            Err("the Pooling module's path \"../elsewhere\" is not a folder name"),
        );
        check_modules(
            &minilm.replace("1_Pooling", "/etc"),
            Err("is not a folder name"),
        );
        check_modules("{}", Err("m/modules.json: invalid type: map"));
    }

    fn check_pooling(text: &str, expected: Result<(), &str>) {
        let got = pooling_config(Path::new("m/1_Pooling/config.json"), text.as_bytes(), 384)
            .map_err(|e| e.to_string());
        match (got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(message), Err(want)) => assert!(message.contains(want), "{message}"),
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn pooling_configs() {
        let minilm = r#"{"word_embedding_dimension": 384, "pooling_mode_cls_token": false,
            "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
            "pooling_mode_mean_sqrt_len_tokens": false}"#;
        check_pooling(minilm, Ok(()));
        check_pooling(
            &minilm.replace(
                "\"pooling_mode_cls_token\": false",
                "\"pooling_mode_cls_token\": true",
            ),
            Err("pooling_mode_cls_token is true, but only mean pooling"),
        );
        check_pooling(
            &minilm.replace(
                "\"pooling_mode_mean_tokens\": true",
                "\"pooling_mode_mean_tokens\": false",
            ),
            Err("pooling_mode_mean_tokens is false, but only mean pooling"),
        );
        check_pooling(
            &minilm.replace("\"pooling_mode_mean_tokens\": true,", ""),
            Err("pooling_mode_mean_tokens is missing"),
        );
        check_pooling(
            &minilm.replace("384", "768"),
            Err("word_embedding_dimension 768, but config.json has hidden_size 384"),
        );
        check_pooling(
            r#"{"word_embedding_dimension": 384, "pooling_mode_mean_tokens": true,
                "pooling_mode_weightedmean_tokens": false, "pooling_mode_lasttoken": false,
                "include_prompt": true}"#,
            Ok(()),
        );
    }

    #[test]
    fn sentence_bert_configs() {
        let path = Path::new("m/sentence_bert_config.json");
        let config =
            sentence_bert_config(path, br#"{"max_seq_length": 256, "do_lower_case": false}"#)
                .expect("valid");
        assert_eq!((config.max_seq_length, config.do_lower_case), (256, false));
        let message = sentence_bert_config(path, br#"{"max_seq_length": 2}"#)
            .expect_err("too short")
            .to_string();
        assert_eq!(
            message,
            "m/sentence_bert_config.json: max_seq_length 2 is less than 3"
        );
        let message = sentence_bert_config(path, br#"{"do_lower_case": true}"#)
            .expect_err("missing")
            .to_string();
        assert!(
            message.contains("missing field `max_seq_length`"),
            "{message}"
        );
    }

    #[test]
    fn files_are_bounded_before_they_are_read() {
        let dir =
            std::env::temp_dir().join(format!("procura-embed-bounded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp folder");
        let path = dir.join("big.json");
        std::fs::write(&path, vec![b' '; 100]).expect("write");
        assert_eq!(read_bounded(&path, 100).expect("at the limit").len(), 100);
        let message = read_bounded(&path, 99).expect_err("over").to_string();
        assert!(
            message.ends_with(
                "big.json: 100 bytes, more than the 99 bytes a file of a supported model has"
            ),
            "{message}"
        );
        let message = read_bounded(&dir.join("absent.json"), 99)
            .expect_err("missing")
            .to_string();
        assert!(message.contains("absent.json: cannot read: "), "{message}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
