//! The progress bar of the long-running commands (`audit --population`,
//! `value`), drawn on stderr. indicatif draws nothing when stderr is not a
//! terminal, so output piped or captured stays clean.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps, labelled `what` (say, "auditing"), with the count,
/// elapsed time and estimated time left. `len` may be 0 and set later with
/// [`ProgressBar::set_length`].
pub(crate) fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template = format!(
        "{{spinner}} {what} {{pos}}/{{len}} [{{elapsed_precise}}, eta {{eta}}] {{wide_bar}}"
    );
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
