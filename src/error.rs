//! The error of the library's public boundary.

use crate::cache::CacheError;
use crate::ecr::FetchError;
use crate::identity::IdentityError;
use crate::registry::NotEcr;

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
    Config(#[from] crate::config::ConfigError),
    /// The command line or the input is wrong.
    #[error("{0}")]
    Usage(String),
    /// Reading input or writing output failed.
    #[error("{0}")]
    Io(String),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
