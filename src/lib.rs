//! ecr-login: a Docker credential helper for Amazon ECR.
//!
//! `docker-credential-ecr-login get` reads a registry on stdin and prints a
//! login for it. The layout says what the program does:
//!
//! - `main.rs` turns argv and the environment ([`settings::Settings`], read
//!   once) into a call of [`cli::run`];
//! - the two protocols, side by side: [`docker`] (the Docker
//!   credential-helper protocol: `get`, `store`, `erase`, `list`) and
//!   [`kubelet`] (the kubelet credential provider's request and response);
//! - front ends, in [`cli`]: one per protocol (`cli::docker`,
//!   `cli::kubelet`), Bazel's, `doctor`, the token commands,
//!   `configure` ([`configure`]), `cache`, `login`. `cli::run` wires one
//!   `App` (settings, policy, sign-ins) and hands it to each; each is a thin
//!   caller of the core;
//! - the core, in [`core`]: registry names, identities, the registry map,
//!   resolve, the token cache and the policy. It owns its seam,
//!   `core::source`: the traits it needs from outside (the token source, the
//!   sign-ins) and their error;
//! - AWS, in [`aws`]: the only code that speaks to the AWS SDK; it
//!   implements the core's traits;
//! - support, in [`support`]: secrets, redaction, logging, safe file access,
//!   time.
//!
//! Imports point inward: `cli -> core <- aws`, support under everything,
//! and no circle (`scripts/deps.py --cycles` checks).
//!
//! The public surface is what the fuzz targets (`fuzz/src/lib.rs`) and the
//! tests use (`core::{cache, login, registry}`, `support::redact`,
//! `configure`, `kubelet`, `settings`, `cli`); everything else is
//! crate-private. There are no crate-root aliases: a path names the module
//! an item lives in.
#![deny(missing_docs)]

pub(crate) mod aws;
pub mod cli;
pub mod configure;
pub mod core;
pub mod docker;
pub(crate) mod env;
pub(crate) mod error;
pub mod kubelet;
pub mod settings;
pub mod support;

/// The binary's name, as Docker looks for it (`docker-credential-` + the
/// helper name in its config).
pub const BIN: &str = "docker-credential-ecr-login";
