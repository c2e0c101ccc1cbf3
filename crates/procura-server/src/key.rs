//! The operator key file: a 32-byte Ed25519 seed as 64 lowercase hex
//! digits and a newline, created on first start with mode 0600.
//!
//! A new file is written under a temporary name and hard-linked into
//! place, so two servers starting at once never read a half-written key.
//! An existing file that the group or others may read is refused: the
//! seed signs every checkpoint and derives the key that seals stored
//! entries.

use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _};
use chacha20poly1305::aead::rand_core::RngCore as _;
use chacha20poly1305::aead::OsRng;
use procura_market::envelope::{key_file, parse_key_file};

/// The operator's seed.
pub(crate) struct Seed(pub(crate) [u8; 32]);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(..)")
    }
}

/// Reads the key file, or creates it when it does not exist.
pub(crate) fn load_or_create(path: &Path) -> anyhow::Result<Seed> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => read(path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(error) => {
            Err(error).with_context(|| format!("the operator key file {}", path.display()))
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Seed> {
    check_mode(path)?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the operator key file {}", path.display()))?;
    match parse_key_file(&text) {
        Ok(key) => Ok(Seed(key.to_bytes())),
        Err(error) => bail!("the operator key file {}: {error}", path.display()),
    }
}

#[cfg(unix)]
fn check_mode(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("the operator key file {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "the operator key file {} has mode {:04o}: its group or others may read it; it holds \
             the operator's secret key, so the server refuses to start (run `chmod 600 {}`)",
            path.display(),
            mode & 0o7777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

fn create(path: &Path) -> anyhow::Result<Seed> {
    let mut seed = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|error| anyhow::anyhow!("the OS random source failed: {error}"))?;
    let temporary = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = (|| -> std::io::Result<()> {
        let mut file = options.open(&temporary)?;
        file.write_all(key_file(&ed25519_dalek::SigningKey::from_bytes(&seed)).as_bytes())?;
        file.sync_all()?;
        std::fs::hard_link(&temporary, path)
    })();
    // Best effort: the temporary name is ours alone.
    let _ = std::fs::remove_file(&temporary);
    match written {
        Ok(()) => {
            if let Some(directory) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                if let Ok(directory) = std::fs::File::open(directory) {
                    let _ = directory.sync_all();
                }
            }
            tracing::info!(path = %path.display(), "created a new operator key file");
            Ok(Seed(seed))
        }
        // Another server created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(error) => {
            Err(error).with_context(|| format!("creating the operator key file {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_file_is_private_and_read_back_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("operator.key");
        let created = load_or_create(&path).expect("created");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load_or_create(&path).expect("read").0, created.0);
    }

    #[cfg(unix)]
    #[test]
    fn a_readable_or_malformed_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("operator.key");
        load_or_create(&path).expect("created");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = load_or_create(&path).expect_err("refused").to_string();
        assert!(
            error.contains("mode 0644") && error.contains("chmod 600"),
            "{error}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(&path, "ABCD\n").expect("write");
        let error = load_or_create(&path).expect_err("refused").to_string();
        assert!(error.contains("64 lowercase hex"), "{error}");
    }
}
