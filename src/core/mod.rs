//! The core: what a login is made of, with no AWS SDK and no front end in
//! sight. Everything here is local (files and the environment's settings);
//! what it needs from outside it asks through traits it defines itself.
//!
//! - [`registry`]: which hostnames are ECR, and what they say (account,
//!   region, partition, FIPS, dual-stack);
//! - `regmap`: the helper's config file (`~/.ecr/config.toml`): the registry
//!   → profile / role map, registry aliases, the fallback helper;
//! - `profile`: enough of the shared AWS files to know a profile's source;
//! - `identity`: who is asking, fingerprinted from local configuration;
//!   `imds`: whether the instance metadata service may be asked;
//! - `resolve`: host → registry, map rule, identity: the one way in;
//! - [`cache`]: the on-disk token cache, its trust rules and locks;
//! - `helper`: the policy: cache first, then the token source, with
//!   single-flight refreshes and the stale-but-valid fallback, and STS
//!   first for a pod's role;
//! - [`login`]: the login every front end hands out;
//! - `source`: the seam: `TokenSource` (tokens, STS for a pod, the API
//!   endpoint), `SignIn` (SSO and `aws login` caches, SSO's device flow,
//!   MFA sessions) and their `FetchError`. `src/aws/` implements them;
//!   nothing here imports it.

pub mod cache;
pub(crate) mod helper;
pub(crate) mod identity;
pub(crate) mod imds;
pub mod login;
pub(crate) mod profile;
pub mod registry;
pub(crate) mod regmap;
pub(crate) mod resolve;
pub(crate) mod source;
