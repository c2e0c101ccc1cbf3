//! Writing output files atomically: each file is written in full to a
//! temporary file in its folder and renamed over its path only once
//! complete, so a failed command leaves no partial file.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::fmt;

/// An error writing output, as opposed to bad input: `main` exits with
/// code 1 for it, and 2 for everything else.
#[derive(Debug)]
pub(crate) struct WriteFailure(String);

impl fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WriteFailure {}

fn failure(message: String) -> anyhow::Error {
    anyhow::Error::new(WriteFailure(message))
}

/// A file written in full into a temporary file in its folder but not yet
/// in place: output is written atomically, renamed over its path only once
/// complete (see [`commit`]), so that a failure leaves no partial file.
pub(crate) struct Staged(tempfile::NamedTempFile);

/// Writes `contents` to a temporary file next to `path`.
pub(crate) fn stage(path: &Path, contents: &[u8]) -> anyhow::Result<Staged> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    // Temporary files are private (0600) by default; output files are
    // ordinary files, readable as the umask allows.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(&folder).map_err(|error| {
        failure(format!(
            "{}: cannot create a file in {}: {error}",
            path.display(),
            folder.display()
        ))
    })?;
    file.write_all(contents)
        .and_then(|()| file.flush())
        .map_err(|error| failure(format!("{}: cannot write: {error}", path.display())))?;
    Ok(Staged(file))
}

/// Moves a staged file to `path`.
pub(crate) fn commit(staged: Staged, path: &Path) -> anyhow::Result<()> {
    staged
        .0
        .persist(path)
        .map_err(|e| failure(format!("{}: cannot write: {}", path.display(), e.error)))?;
    Ok(())
}

/// Writes `files` (paths relative to `folder`, `/`-separated) into
/// `folder`, creating it and its subfolders: every file is staged before
/// any is moved into place, so a failure to write one leaves the others'
/// old contents untouched.
pub(crate) fn write_folder(folder: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (name, contents) in files {
        let path = folder.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| {
                failure(format!(
                    "{}: cannot create the folder: {error}",
                    parent.display()
                ))
            })?;
        }
        staged.push((stage(&path, contents)?, path));
    }
    for (file, path) in staged {
        commit(file, &path)?;
    }
    Ok(())
}
