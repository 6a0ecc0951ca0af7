//! ecr-login: a Docker credential helper for Amazon ECR.
//!
//! `docker-credential-ecr-login get` reads a registry on stdin and prints a
//! login for it. The pieces:
//!
//! - [`registry`]: which hostnames are ECR, and what they say (account,
//!   region, partition, FIPS, dual-stack). Purely local.
//! - [`identity`]: who is asking, fingerprinted from local configuration.
//! - [`cache`]: the on-disk token cache, with cross-process locking.
//! - [`safe_fs`]: opening cache files so that another local user cannot
//!   plant or redirect them.
//! - [`ecr`]: the [`TokenSource`] seam and its AWS SDK implementation.
//! - [`helper`]: the policy joining them.
//! - [`protocol`]: the Docker credential-helper protocol.
//! - [`cli`]: the command line.
#![deny(missing_docs)]

pub mod aws;
pub mod cache;
pub mod cli;
pub mod config;
pub mod configure;
pub mod env;
pub mod error;
pub mod helper;
pub mod identity;
pub mod imds;
pub mod kubelet;
pub mod log;
pub mod login;
pub mod profile;
pub mod protocol;
pub mod redact;
pub mod registry;
pub mod resolve;
pub mod safe_fs;
pub mod secret;
pub mod settings;
pub mod time;

pub use aws::{FetchError, SdkTokenSource, TokenSource};
pub use cache::{Cache, CacheEntry};
pub use error::{Error, Result};
pub use helper::Helper;
pub use identity::Identity;
pub use login::Login;
pub use registry::Registry;
pub use secret::Secret;
