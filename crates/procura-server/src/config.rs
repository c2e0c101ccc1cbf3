//! The server's configuration: where it listens, its database, its
//! operator key file and its name, checked once when it is built.

use std::net::SocketAddr;
use std::path::PathBuf;

use procura_market::checkpoint::is_key_name;

/// The database used when none is given: a SQLite file in the working
/// directory, created if missing.
pub const DEFAULT_DB: &str = "sqlite://procura-market.sqlite";

/// The server's name when none is given (§C.4: the checkpoints' key name
/// and the first element of every origin).
pub const DEFAULT_NAME: &str = "procura.example";

/// The operator key file when none is given.
pub const DEFAULT_KEY_FILE: &str = "procura-operator.key";

/// Most rounds one server (or one database) holds; an `open` past it is
/// refused with 413.
pub const DEFAULT_MAX_ROUNDS: usize = 10_000;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The database URL is neither `sqlite:` nor `postgres://`.
    #[error("db: {0:?} is not a sqlite://PATH or postgres://… URL")]
    Db(String),
    /// The name cannot be a signed note's key name or an origin's first
    /// path element.
    #[error(
        "name: {0:?} must be non-empty, printable, without spaces, '+' or '/' (it is the \
         checkpoints' key name)"
    )]
    Name(String),
    /// The key file path is empty.
    #[error("key_file: the path is empty")]
    KeyFile,
    /// A round limit of 0.
    #[error("max_rounds: must be at least 1")]
    MaxRounds,
}

/// A checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    listen: SocketAddr,
    db: String,
    key_file: PathBuf,
    name: String,
    max_rounds: usize,
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Config {
    /// Checks and builds a configuration: `db` is `sqlite://PATH` (or
    /// `sqlite:PATH`) or `postgres://…` (`postgresql://…`), `name` is a
    /// valid key name without `/`.
    pub fn new(
        listen: SocketAddr,
        db: impl Into<String>,
        key_file: impl Into<PathBuf>,
        name: impl Into<String>,
    ) -> Result<Config, ConfigError> {
        let (db, key_file, name) = (db.into(), key_file.into(), name.into());
        if backend_of(&db).is_none() {
            return Err(ConfigError::Db(db));
        }
        if !is_key_name(&name) || name.contains('/') {
            return Err(ConfigError::Name(name));
        }
        if key_file.as_os_str().is_empty() {
            return Err(ConfigError::KeyFile);
        }
        Ok(Config {
            listen,
            db,
            key_file,
            name,
            max_rounds: DEFAULT_MAX_ROUNDS,
        })
    }

    /// The same configuration with another limit on the number of rounds.
    pub fn with_max_rounds(mut self, max_rounds: usize) -> Result<Config, ConfigError> {
        if max_rounds == 0 {
            return Err(ConfigError::MaxRounds);
        }
        self.max_rounds = max_rounds;
        Ok(self)
    }

    /// The address to listen on.
    #[must_use]
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// The database URL.
    #[must_use]
    pub fn db(&self) -> &str {
        &self.db
    }

    /// The operator key file.
    #[must_use]
    pub fn key_file(&self) -> &std::path::Path {
        &self.key_file
    }

    /// The server's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The most rounds served.
    #[must_use]
    pub fn max_rounds(&self) -> usize {
        self.max_rounds
    }

    pub(crate) fn backend(&self) -> Backend {
        // Checked in `new`.
        backend_of(&self.db).unwrap_or(Backend::Sqlite)
    }
}

fn backend_of(db: &str) -> Option<Backend> {
    if db.starts_with("sqlite:") && db.len() > "sqlite:".len() {
        Some(Backend::Sqlite)
    } else if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    #[test]
    fn urls_names_and_limits_are_checked() {
        assert!(Config::new(listen(), DEFAULT_DB, DEFAULT_KEY_FILE, DEFAULT_NAME).is_ok());
        assert!(Config::new(listen(), "postgres://u@h/db", "k", "n").is_ok());
        assert!(matches!(
            Config::new(listen(), "mysql://x", "k", "n"),
            Err(ConfigError::Db(_))
        ));
        for name in ["", "a b", "a+b", "a/b"] {
            assert!(matches!(
                Config::new(listen(), DEFAULT_DB, "k", name),
                Err(ConfigError::Name(_))
            ));
        }
        assert_eq!(
            Config::new(listen(), DEFAULT_DB, "", "n"),
            Err(ConfigError::KeyFile)
        );
        let config = Config::new(listen(), DEFAULT_DB, "k", "n").expect("valid");
        assert_eq!(
            config.clone().with_max_rounds(0),
            Err(ConfigError::MaxRounds)
        );
        assert_eq!(config.with_max_rounds(3).expect("valid").max_rounds(), 3);
    }
}
