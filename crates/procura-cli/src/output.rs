//! Writing output atomically: each file is written in full to a temporary
//! file in its folder and renamed over its path only once complete, so a
//! failed command leaves no partial file; a folder of files
//! ([`write_folder`]) is staged whole and committed all or nothing.
//!
//! A command that writes a folder of results (`experiment`, `merge`,
//! `reproduce`) checks it first with [`check_out`]: it must be new or
//! empty, unless `--force`, which clears only a folder that the command
//! wrote ([`FolderMark`]), once the new files are in place
//! ([`write_results`]).

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};

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

impl WriteFailure {
    /// A failure to write output, described by `message` (which names the
    /// path): `main` exits with code 1 for it.
    pub(crate) fn new(message: String) -> WriteFailure {
        WriteFailure(message)
    }
}

fn failure(message: String) -> anyhow::Error {
    anyhow::Error::new(WriteFailure::new(message))
}

/// The one CSV quoting of every table the command line writes (RFC 4180),
/// the experiment tables' own.
pub(crate) use procura::experiment::results_csv::csv_field;

/// Where a command writes one output: a file, or standard output when the
/// path is `-` (never a file named `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Standard output.
    Stdout,
    /// This file.
    File(PathBuf),
}

impl Target {
    /// The target a path names: `-` is standard output.
    pub(crate) fn of(path: &Path) -> Target {
        if path == Path::new("-") {
            Target::Stdout
        } else {
            Target::File(path.to_path_buf())
        }
    }
}

/// A file written in full into a temporary file in its folder but not yet
/// in place: output is written atomically, renamed over its path only once
/// complete (see [`commit`]), so that a failure leaves no partial file.
pub(crate) struct Staged(tempfile::NamedTempFile);

/// An output file whose place was checked before the work that fills it:
/// an empty temporary file in its folder, removed if it is dropped unfilled.
pub(crate) struct Reserved {
    path: PathBuf,
    file: tempfile::NamedTempFile,
}

/// Writes `contents` to a temporary file next to `path`.
pub(crate) fn stage(path: &Path, contents: &[u8]) -> anyhow::Result<Staged> {
    reserve(path)?.fill(contents)
}

/// Checks that `path` can be written, before any work: it is not a folder,
/// and its folder exists and takes a new file (an empty temporary one,
/// which [`Reserved::fill`] fills). Messages name `path` and its folder,
/// never the temporary file.
pub(crate) fn reserve(path: &Path) -> anyhow::Result<Reserved> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if path.is_dir() {
        return Err(failure(format!(
            "{}: cannot write: it is a folder",
            path.display()
        )));
    }
    match fs::metadata(&folder) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(failure(format!(
                "{}: cannot write: {} is not a folder",
                path.display(),
                folder.display()
            )))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(failure(format!(
                "{}: cannot write: the folder {} does not exist",
                path.display(),
                folder.display()
            )))
        }
        Err(error) => {
            return Err(failure(format!(
                "{}: cannot write: {}: {error}",
                path.display(),
                folder.display()
            )))
        }
    }
    let mut builder = tempfile::Builder::new();
    // Temporary files are private (0600) by default; output files are
    // ordinary files, readable as the umask allows.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let file = builder.tempfile_in(&folder).map_err(|error| {
        failure(format!(
            "{}: cannot create a file in {}: {}",
            path.display(),
            folder.display(),
            without_temporary_name(&error)
        ))
    })?;
    Ok(Reserved {
        path: path.to_path_buf(),
        file,
    })
}

impl Reserved {
    /// Writes `contents` to the reserved file, to be committed.
    pub(crate) fn fill(mut self, contents: &[u8]) -> anyhow::Result<Staged> {
        // The plain file, whose errors do not carry the temporary name.
        let file = self.file.as_file_mut();
        file.write_all(contents)
            .and_then(|()| file.flush())
            .map_err(|error| failure(format!("{}: cannot write: {error}", self.path.display())))?;
        Ok(Staged(self.file))
    }
}

/// The error without the temporary file's name, which tempfile adds to
/// what the system said (" at path \"…/.tmpXXXX\""): that name means
/// nothing to the user, and the file is gone.
fn without_temporary_name(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => {
            let message = error.to_string();
            match message.rfind(" at path ") {
                Some(at) => message[..at].to_owned(),
                None => message,
            }
        }
    }
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

/// What to do with an output folder that is not empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotEmpty {
    /// Refuse it (the default).
    Refuse,
    /// Replace what it holds (`--force`).
    Replace,
}

impl NotEmpty {
    /// What `--force` (given or not) asks for.
    pub(crate) fn of(force: bool) -> NotEmpty {
        if force {
            NotEmpty::Replace
        } else {
            NotEmpty::Refuse
        }
    }
}

/// The output folder as the run found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutFolder {
    /// Missing (or an empty folder): the results are all it will hold.
    Fresh,
    /// Not empty, and to be cleared once the results are written: the
    /// folder's resolved path when it was checked.
    Replace(PathBuf),
}

/// How a command knows an output folder as one it wrote, so that `--force`
/// clears no other: the files that every such folder holds at its top (the
/// first may also be the command's input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FolderMark {
    /// The files' names, each a plain file (not a link).
    pub(crate) files: &'static [&'static str],
    /// Why a folder without it is not cleared, after "--force will not
    /// clear ".
    pub(crate) refusal: &'static str,
}

/// Checks an output folder before anything runs: a missing or empty
/// folder is fine; a non-empty one is refused unless `not_empty` is
/// [`NotEmpty::Replace`], and even then a folder is refused
///
/// - that is the root, the current folder, or a folder that holds the
///   current folder or the home folder;
/// - that does not hold every one of `mark`'s files (so only a folder that
///   the command wrote is ever cleared), or that holds a `.git` (a
///   version-controlled folder is somebody's work);
/// - that holds one of `inputs` (an experiment file, the shards), except
///   its own first `mark` file, which is read before anything is written.
///
/// The refusals are errors of the arguments (exit code 2), not
/// [`WriteFailure`]s: nothing has been written.
pub(crate) fn check_out(
    out: &Path,
    not_empty: NotEmpty,
    mark: FolderMark,
    inputs: &[&Path],
) -> anyhow::Result<OutFolder> {
    let shown = out.display();
    let entries = match fs::read_dir(out) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(OutFolder::Fresh),
        Err(_) if out.exists() && !out.is_dir() => {
            return Err(anyhow!("--out {shown}: exists and is not a folder"))
        }
        Err(error) => return Err(anyhow!("--out {shown}: cannot read the folder: {error}")),
    };
    if entries.count() == 0 {
        return Ok(OutFolder::Fresh);
    }
    if not_empty == NotEmpty::Refuse {
        return Err(anyhow!(
            "--out {shown}: the folder is not empty; choose a new or empty folder, or add \
             --force to replace what it holds with this run's files"
        ));
    }
    let folder = fs::canonicalize(out)
        .with_context(|| format!("--out {shown}: cannot resolve the folder"))?;
    let refuse = |why: &str| Err(anyhow!("--out {shown}: --force will not clear {why}"));
    if folder.parent().is_none() {
        return refuse("the root of the file system");
    }
    let holds = |path: &Path| fs::canonicalize(path).is_ok_and(|path| path.starts_with(&folder));
    if std::env::current_dir().is_ok_and(|here| holds(&here)) {
        return refuse("the current folder or a folder that holds it");
    }
    if std::env::var_os("HOME").is_some_and(|home| holds(Path::new(&home))) {
        return refuse("the home folder or a folder that holds it");
    }
    let plain_file = |name: &str| {
        fs::symlink_metadata(folder.join(name)).is_ok_and(|metadata| metadata.is_file())
    };
    if !mark.files.iter().all(|name| plain_file(name)) {
        return refuse(mark.refusal);
    }
    if fs::symlink_metadata(folder.join(".git")).is_ok() {
        return refuse("a folder under version control (it holds .git)");
    }
    let own = folder.join(mark.files[0]);
    for input in inputs {
        let inside = fs::canonicalize(input)
            .ok()
            .filter(|p| p.starts_with(&folder));
        if inside.is_some_and(|path| path != own) {
            return refuse(&format!("the folder that holds {}", input.display()));
        }
    }
    Ok(OutFolder::Replace(folder))
}

/// Writes `files` into `out` (all or nothing: [`write_folder`]) and, when
/// `folder` is [`OutFolder::Replace`], then deletes every other file and
/// folder in it; a deletion that fails is a [`WriteFailure`].
pub(crate) fn write_results(
    out: &Path,
    files: &[(String, Vec<u8>)],
    folder: &OutFolder,
) -> anyhow::Result<()> {
    if let OutFolder::Replace(checked) = folder {
        // The folder cleared is the one checked: not another one that a
        // link on the way now points to.
        let now = fs::canonicalize(out).ok();
        if now.as_ref() != Some(checked) {
            return Err(failure(format!(
                "{}: the folder is no longer the one checked before the run ({}); nothing \
                 was written",
                out.display(),
                checked.display()
            )));
        }
    }
    write_folder(out, files)?;
    if matches!(folder, OutFolder::Replace(_)) {
        let kept: BTreeSet<PathBuf> = files.iter().map(|(name, _)| PathBuf::from(name)).collect();
        remove_others(out, Path::new(""), &kept).map_err(|error| {
            failure(format!(
                "{}: the new results are written, but the old files could not all be removed: \
                 {error}",
                out.display()
            ))
        })?;
    }
    Ok(())
}

/// Removes every entry under `root/below` whose path (relative to `root`)
/// is neither in `kept` nor a folder on the way to one. Links are removed,
/// never followed; a link on the way to a kept file (the file was written
/// through it) is kept.
fn remove_others(root: &Path, below: &Path, kept: &BTreeSet<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(root.join(below))? {
        let entry = entry?;
        let relative = below.join(entry.file_name());
        let path = entry.path();
        let is_folder = fs::symlink_metadata(&path)?.is_dir();
        let on_the_way = kept
            .iter()
            .any(|name| name != &relative && name.starts_with(&relative));
        let written = kept.contains(&relative) && !is_folder;
        if on_the_way {
            if is_folder {
                remove_others(root, &relative, kept)?;
            }
        } else if is_folder {
            fs::remove_dir_all(&path)?;
        } else if !written {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
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

    /// A reservation is checked at once, its messages never name the
    /// temporary file, and an unfilled one leaves nothing behind.
    #[test]
    fn a_reserved_file_is_checked_first_and_named_plainly() {
        let dir = scratch("reserve");
        let cases = [
            (
                dir.join("missing/out.csv"),
                format!(
                    "{}: cannot write: the folder {} does not exist",
                    dir.join("missing/out.csv").display(),
                    dir.join("missing").display()
                ),
            ),
            (
                dir.clone(),
                format!("{}: cannot write: it is a folder", dir.display()),
            ),
        ];
        for (path, expected) in cases {
            let error = reserve(&path).err().expect("refused");
            assert!(error.downcast_ref::<WriteFailure>().is_some());
            assert_eq!(error.to_string(), expected);
        }
        let unfilled = reserve(&dir.join("a.csv")).expect("reserved");
        assert_eq!(entries(&dir).len(), 1, "the temporary file");
        drop(unfilled);
        assert!(entries(&dir).is_empty());
        let staged = reserve(&dir.join("a.csv"))
            .and_then(|reserved| reserved.fill(b"a,b\n"))
            .expect("filled");
        commit(staged, &dir.join("a.csv")).expect("committed");
        assert_eq!(entries(&dir), ["a.csv"]);
        assert_eq!(fs::read(dir.join("a.csv")).expect("read"), b"a,b\n");
        let _ = fs::remove_dir_all(&dir);
    }

    /// The root is refused by its own rule, before any other (the check
    /// itself never deletes anything, so this is safe to test).
    #[test]
    fn force_never_clears_the_root() {
        let mark = FolderMark {
            files: &["experiment.toml"],
            refusal: "a folder without an experiment.toml",
        };
        let error = check_out(Path::new("/"), NotEmpty::Replace, mark, &[]).expect_err("refused");
        assert_eq!(
            error.to_string(),
            "--out /: --force will not clear the root of the file system"
        );
        let error = check_out(Path::new("/"), NotEmpty::Refuse, mark, &[]).expect_err("refused");
        assert!(
            error.to_string().contains("the folder is not empty"),
            "{error}"
        );
        assert!(
            error.downcast_ref::<WriteFailure>().is_none(),
            "exit code 2"
        );
    }

    #[test]
    fn the_temporary_name_is_cut_from_messages() {
        let wrapped = std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "Permission denied (os error 13) at path \"/x/.tmpAb12\"",
        );
        assert_eq!(
            without_temporary_name(&wrapped),
            "Permission denied (os error 13)"
        );
        let plain = std::io::Error::from_raw_os_error(2);
        assert_eq!(without_temporary_name(&plain), plain.to_string());
        assert_eq!(Target::of(Path::new("-")), Target::Stdout);
        assert_eq!(
            Target::of(Path::new("./-")),
            Target::File(PathBuf::from("./-"))
        );
    }
}
