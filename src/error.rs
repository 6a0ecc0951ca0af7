//! The error of the library's public boundary.

use crate::core::cache::CacheError;
use crate::core::identity::IdentityError;
use crate::core::registry::NotEcr;
use crate::core::resolve::ResolveError;
use crate::core::source::FetchError;

/// Everything that can make a command fail. `Display` is the one line shown
/// to the user on stderr, and says what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registry is not an ECR registry.
    #[error(transparent)]
    NotEcr(#[from] NotEcr),
    /// The local AWS configuration is inconsistent.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// No token could be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The cache could not be used where it was required (`cache clear`).
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The registry map file is unusable.
    #[error(transparent)]
    Config(#[from] crate::core::regmap::ConfigError),
    /// A kubelet request cannot be answered.
    #[error(transparent)]
    Kubelet(#[from] crate::kubelet::KubeletError),
    /// The Docker (or Podman) config file cannot be edited.
    #[error(transparent)]
    Configure(#[from] crate::configure::ConfigureError),
    /// The fallback helper cannot be run.
    #[error("{0}")]
    Fallback(String),
    /// A command needs the cache, and it is turned off.
    #[error(
        "the cache is disabled ({} is set, or there is no home directory)",
        crate::env::DISABLE_CACHE
    )]
    CacheDisabled,
    /// What came on stdin is not what the command reads.
    #[error("{0}")]
    Input(String),
    /// The command line is wrong (the usage text follows the message).
    #[error("{0}")]
    Usage(String),
    /// Reading stdin or writing stdout failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done ("cannot read stdin").
        what: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A login `docker login` gave could not be kept or forgotten.
    #[error("cannot {what} the login for {host}: {source}")]
    StoredLogin {
        /// `keep` or `forget`.
        what: &'static str,
        /// The registry host.
        host: String,
        /// The cache's error.
        #[source]
        source: CacheError,
    },
    /// An answer could not be encoded as JSON.
    #[error("cannot encode the answer: {0}")]
    Encode(#[source] serde_json::Error),
}

impl Error {
    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

impl From<ResolveError> for Error {
    fn from(e: ResolveError) -> Error {
        match e {
            ResolveError::NotEcr(e) => Error::NotEcr(e),
            ResolveError::Identity(e) => Error::Identity(e),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
