//! Reading instance files: JSON text from a path or standard input, parsed
//! and validated by `procura-format`. Errors name the source, the field and
//! the record.

use std::fmt;
use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, Context};
use procura::procurement::Instance;
use procura::threshold::ThresholdInstance;
use procura_format::read;

/// Where an instance came from, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Source(String);

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads the whole input: the file at `path`, or standard input for `-`.
pub(crate) fn read(path: &Path) -> anyhow::Result<(Source, String)> {
    if path == Path::new("-") {
        let source = Source("<stdin>".to_owned());
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("{source}: cannot read"))?;
        Ok((source, text))
    } else {
        let source = Source(path.display().to_string());
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{source}: cannot read"))?;
        Ok((source, text))
    }
}

/// Parses and validates a procurement instance (spec §A.1).
pub(crate) fn procurement_instance(source: &Source, text: &str) -> anyhow::Result<Instance> {
    read::procurement_instance(text).map_err(|error| anyhow!("{source}: {error}"))
}

/// Parses and validates a threshold instance (spec §B.1).
pub(crate) fn threshold_instance(source: &Source, text: &str) -> anyhow::Result<ThresholdInstance> {
    read::threshold_instance(text).map_err(|error| anyhow!("{source}: {error}"))
}
