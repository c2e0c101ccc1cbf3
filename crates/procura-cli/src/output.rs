//! Writing output atomically: each file is written in full to a temporary
//! file in its folder and renamed over its path only once complete, so a
//! failed command leaves no partial file; a folder of files
//! ([`write_folder`]) is staged whole and committed all or nothing.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// The one CSV quoting of every table the command line writes (RFC 4180),
/// the experiment tables' own.
pub(crate) use procura::experiment::results_csv::csv_field;

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
/// `folder`, creating it and its subfolders, **all or nothing**: when the
/// command fails, `folder` is as it was. Files of `folder` that are not
/// among `files` are never touched (`--out .` is safe).
///
/// Every file is first written in full, and flushed to disk (fsync), into
/// a staging folder on the same file system; only then is anything moved:
///
/// - **a new folder** is staged whole as a hidden sibling,
///   `.NAME.procura-staging-*`, and renamed into place: one atomic step.
///   A crash before it leaves no `NAME`, only that sibling (delete it).
/// - **an existing folder** is staged in a hidden subfolder,
///   `NAME/.procura-staging-*/new/`; then, file by file, the old file is
///   linked (or, where links fail, moved) to `…/old/` and the new one
///   renamed over it, so that each path always holds a whole file, old or
///   new. If a step fails, the files already replaced are put back from
///   `…/old/` (and those new to the folder removed) before the error is
///   reported; on success the staging folder, old files included, is
///   removed. A crash during these renames leaves `NAME` with some files
///   new and the rest old, and the staging folder with the old versions
///   of the replaced ones (in `old/`) and the new versions not yet moved
///   (in `new/`): running the command again completes the folder; moving
///   `old/`'s files back restores the previous one.
///
/// Each name may appear once: a second copy would overwrite the saved old
/// version of the first, so a list with a name twice is refused before
/// anything is written.
pub(crate) fn write_folder(folder: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let mut names = std::collections::BTreeSet::new();
    if let Some((name, _)) = files.iter().find(|(name, _)| !names.insert(name.as_str())) {
        return Err(failure(format!(
            "{}: {name} is to be written twice",
            folder.display()
        )));
    }
    match fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => replace_in_folder(folder, files),
        Ok(_) => Err(failure(format!(
            "{}: exists and is not a folder",
            folder.display()
        ))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => new_folder(folder, files),
        Err(error) => Err(failure(format!("{}: {error}", folder.display()))),
    }
}

/// A hidden staging folder, removed when dropped unless kept.
struct Staging {
    path: PathBuf,
    keep: bool,
}

impl Staging {
    /// Creates a fresh folder `.{stem}procura-staging-PID-N` in `parent`.
    fn create(parent: &Path, stem: &str) -> anyhow::Result<Staging> {
        let pid = std::process::id();
        for attempt in 0u32.. {
            let path = parent.join(format!(".{stem}procura-staging-{pid}-{attempt}"));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(Staging { path, keep: false }),
                Err(error)
                    if error.kind() == std::io::ErrorKind::AlreadyExists && attempt < 1000 => {}
                Err(error) => {
                    return Err(failure(format!(
                        "{}: cannot create a staging folder: {error}",
                        path.display()
                    )))
                }
            }
        }
        Err(failure(format!(
            "{}: cannot create a staging folder",
            parent.display()
        )))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Writes `files` under `root` (which exists), each flushed to disk, and
/// flushes the folders that hold them.
fn write_all(root: &Path, files: &[(String, Vec<u8>)], shown: &Path) -> anyhow::Result<()> {
    for (name, contents) in files {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|error| {
                failure(format!(
                    "{}: cannot create the folder: {error}",
                    shown.join(name).parent().unwrap_or(shown).display()
                ))
            })?;
        }
        let written = fs::File::create(&path).and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        });
        written.map_err(|error| {
            failure(format!(
                "{}: cannot write: {error}",
                shown.join(name).display()
            ))
        })?;
    }
    for name in folders(files) {
        sync_folder(&root.join(name));
    }
    sync_folder(root);
    Ok(())
}

/// The subfolders that `files` lie in, each once, parents first.
fn folders(files: &[(String, Vec<u8>)]) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = Vec::new();
    for (name, _) in files {
        let mut parent = Path::new(name).parent();
        let mut chain = Vec::new();
        while let Some(folder) = parent.filter(|p| !p.as_os_str().is_empty()) {
            chain.push(folder.to_path_buf());
            parent = folder.parent();
        }
        for folder in chain.into_iter().rev() {
            if !folders.contains(&folder) {
                folders.push(folder);
            }
        }
    }
    folders
}

/// Flushes a folder's entries to disk, where the platform can (a rename is
/// durable once its folder is flushed); best effort.
fn sync_folder(folder: &Path) {
    if let Ok(handle) = fs::File::open(folder) {
        let _ = handle.sync_all();
    }
}

/// A new folder: staged whole beside it, then renamed into place.
fn new_folder(folder: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let parent = match folder.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|error| {
        failure(format!(
            "{}: cannot create the folder: {error}",
            parent.display()
        ))
    })?;
    let stem = folder
        .file_name()
        .map(|name| format!("{}.", name.to_string_lossy()))
        .unwrap_or_default();
    let mut staging = Staging::create(&parent, &stem)?;
    write_all(&staging.path, files, folder)?;
    fs::rename(&staging.path, folder)
        .map_err(|error| failure(format!("{}: cannot create: {error}", folder.display())))?;
    staging.keep = true;
    sync_folder(&parent);
    Ok(())
}

/// One file moved into an existing folder, to undo on failure.
struct Moved {
    target: PathBuf,
    /// Where the old file is kept, if there was one.
    old: Option<PathBuf>,
}

/// An existing folder: staged in a hidden subfolder, then committed file by
/// file, undone on failure.
fn replace_in_folder(folder: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let mut staging = Staging::create(folder, "")?;
    let new = staging.path.join("new");
    let old = staging.path.join("old");
    write_all(&new, files, folder)?;
    let mut moved: Vec<Moved> = Vec::with_capacity(files.len());
    let mut created: Vec<PathBuf> = Vec::new();
    let result = files
        .iter()
        .try_for_each(|(name, _)| commit_one(folder, &new, &old, name, &mut moved, &mut created));
    if let Err(error) = result {
        if let Err(undo) = undo(&moved, &created) {
            // The old files stay where the message says.
            staging.keep = true;
            return Err(failure(format!(
                "{error:#}; and restoring the folder failed ({undo}): the old files are in {}",
                old.display()
            )));
        }
        return Err(error);
    }
    for name in folders(files) {
        sync_folder(&folder.join(name));
    }
    sync_folder(folder);
    Ok(())
}

/// Moves the staged `new/NAME` to `folder/NAME`, keeping any old file in
/// `old/NAME` (linked where the file system can, moved otherwise).
fn commit_one(
    folder: &Path,
    new: &Path,
    old: &Path,
    name: &str,
    moved: &mut Vec<Moved>,
    created: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let target = folder.join(name);
    let cannot =
        |error: std::io::Error| failure(format!("{}: cannot write: {error}", target.display()));
    // Subfolders the folder lacks, made (and noted, to remove on failure).
    if let Some(parent) = Path::new(name).parent() {
        let mut missing = Vec::new();
        let mut at = Some(parent);
        while let Some(sub) = at.filter(|p| !p.as_os_str().is_empty()) {
            if folder.join(sub).is_dir() {
                break;
            }
            missing.push(folder.join(sub));
            at = sub.parent();
        }
        for sub in missing.into_iter().rev() {
            fs::create_dir(&sub).map_err(|error| {
                failure(format!(
                    "{}: cannot create the folder: {error}",
                    sub.display()
                ))
            })?;
            created.push(sub);
        }
    }
    let kept = match fs::symlink_metadata(&target) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(cannot(error)),
        Ok(meta) if meta.is_dir() => {
            return Err(failure(format!(
                "{}: cannot write: a folder is in the way",
                target.display()
            )))
        }
        Ok(_) => {
            let keep = old.join(name);
            if let Some(parent) = keep.parent() {
                fs::create_dir_all(parent).map_err(cannot)?;
            }
            // A link keeps the old file in place until the new one replaces
            // it in one rename; a move leaves the path empty meanwhile.
            fs::hard_link(&target, &keep)
                .or_else(|_| fs::rename(&target, &keep))
                .map_err(cannot)?;
            Some(keep)
        }
    };
    match fs::rename(new.join(name), &target) {
        Ok(()) => {
            moved.push(Moved { target, old: kept });
            Ok(())
        }
        Err(error) => {
            // Nothing of this file changed but (maybe) its path: put the
            // old one back.
            if let Some(keep) = &kept {
                if !target.exists() {
                    let _ = fs::rename(keep, &target);
                }
            }
            Err(cannot(error))
        }
    }
}

/// Puts back the old files of `moved` (removing those that are new to the
/// folder), then the subfolders `created`, in reverse order.
fn undo(moved: &[Moved], created: &[PathBuf]) -> std::io::Result<()> {
    let mut first_error = None;
    for file in moved.iter().rev() {
        let restored = match &file.old {
            Some(old) => fs::rename(old, &file.target),
            None => fs::remove_file(&file.target),
        };
        if let Err(error) = restored {
            first_error.get_or_insert(error);
        }
    }
    for folder in created.iter().rev() {
        let _ = fs::remove_dir(folder);
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("procura-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch");
        dir
    }

    #[test]
    fn a_name_given_twice_is_refused_before_anything_is_written() {
        let dir = scratch("twice");
        let folder = dir.join("out");
        fs::create_dir_all(&folder).expect("folder");
        fs::write(folder.join("a.csv"), b"old").expect("old file");
        let files = vec![
            ("a.csv".to_owned(), b"new".to_vec()),
            ("a.csv".to_owned(), b"newer".to_vec()),
        ];
        let error = write_folder(&folder, &files).expect_err("refused");
        assert!(
            error.to_string().contains("a.csv is to be written twice"),
            "{error}"
        );
        assert_eq!(fs::read(folder.join("a.csv")).expect("kept"), b"old");
        assert_eq!(entries(&folder), ["a.csv"]);
        let _ = fs::remove_dir_all(&dir);
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn files(names: &[&str]) -> Vec<(String, Vec<u8>)> {
        names
            .iter()
            .map(|name| ((*name).to_owned(), format!("new {name}").into_bytes()))
            .collect()
    }

    #[test]
    fn a_failure_puts_back_every_file_and_removes_what_was_new() {
        let dir = scratch("undo");
        let out = dir.join("out");
        fs::create_dir_all(out.join("blocked")).expect("folder");
        fs::write(out.join("blocked/x"), "x").expect("write");
        fs::write(out.join("a.txt"), "old a").expect("write");
        fs::write(out.join("mine.txt"), "mine").expect("write");
        // a.txt is replaced, sub/b.txt is new (and sub/ with it), then
        // `blocked` cannot be: a folder is in the way.
        let error = write_folder(&out, &files(&["a.txt", "sub/b.txt", "blocked"]))
            .expect_err("a folder in the way");
        assert!(error.downcast_ref::<WriteFailure>().is_some());
        assert!(error
            .to_string()
            .contains("blocked: cannot write: a folder is in the way"));
        assert_eq!(entries(&out), ["a.txt", "blocked", "mine.txt"]);
        assert_eq!(fs::read_to_string(out.join("a.txt")).expect("a"), "old a");
        assert_eq!(entries(&out.join("blocked")), ["x"]);
        // Without the obstacle, everything is written, and the rest kept.
        fs::remove_dir_all(out.join("blocked")).expect("remove");
        write_folder(&out, &files(&["a.txt", "sub/b.txt", "blocked"])).expect("written");
        assert_eq!(entries(&out), ["a.txt", "blocked", "mine.txt", "sub"]);
        assert_eq!(
            fs::read_to_string(out.join("sub/b.txt")).expect("b"),
            "new sub/b.txt"
        );
        assert_eq!(
            fs::read_to_string(out.join("mine.txt")).expect("mine"),
            "mine"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_new_folder_appears_whole_or_not_at_all() {
        let dir = scratch("new");
        let out = dir.join("deep/out");
        write_folder(&out, &files(&["a.txt", "figures/b.svg"])).expect("written");
        assert_eq!(entries(&dir.join("deep")), ["out"]);
        assert_eq!(entries(&out), ["a.txt", "figures"]);
        // A file where the folder should be: nothing is made.
        let error = write_folder(&out.join("a.txt"), &files(&["c"])).expect_err("a file");
        assert!(error.to_string().contains("exists and is not a folder"));
        // A name that cannot be written: the staging folder is removed.
        let bad = dir.join("bad");
        let error = write_folder(&bad, &files(&["x", "x/y"])).expect_err("x is a file");
        assert!(error.downcast_ref::<WriteFailure>().is_some());
        assert_eq!(entries(&dir), ["deep"]);
        let _ = fs::remove_dir_all(&dir);
    }
}
