//! The command line: argv → [`args::Command`] → one front end → exit code.
//! Stdout carries only what the caller parses; diagnostics go through
//! [`crate::support::log`].
//!
//! [`run`] wires one [`app::App`] (the settings, the policy, the sign-ins;
//! the one place the AWS implementation meets the core's traits) and hands
//! it to the front end, each a thin caller of [`crate::core::resolve`] (who
//! logs in where) and [`crate::core::helper`] (cache, then token source):
//!
//! - [`docker`]: the Docker credential-helper front end (who answers `get`,
//!   `store`, `erase`, `list`; the protocol itself is [`crate::docker`]);
//! - [`kubelet`]: the kubelet image credential provider's front end (the
//!   protocol itself is [`crate::kubelet`]);
//! - [`bazel`]: the credential-helpers protocol of Bazel and other build
//!   tools (on `get`, for a JSON request);
//! - [`tokens`]: `get-login-password`, `authorization-token`;
//! - [`doctor`]: explains one registry;
//! - [`cache_cmd`]: `cache show`, `cache clear`;
//! - [`login`]: `login --profile P` (MFA, SSO);
//! - `configure`: [`crate::configure`].

use std::ffi::OsString;
use std::io::{Read, Write};

use crate::error::{Error, Result};
use crate::settings::Settings;

mod app;
pub mod args;
mod bazel;
mod cache_cmd;
mod docker;
pub mod doctor;
pub mod fallback;
mod kubelet;
mod list;
mod login;
mod tokens;

use app::App;
use args::Command;

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success.
    Success,
    /// Failure (the protocol's only failure code).
    Failure,
    /// The exit code of the fallback helper a protocol action was passed to.
    Passed(u8),
}

impl ExitCode {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failure => 1,
            ExitCode::Passed(code) => i32::from(code),
        }
    }
}

pub use crate::BIN;

/// `name (package) version (commit C, target T)`: docker-credential-helpers'
/// `name (package) version`, plus what a bug report needs to name the binary
/// (set by build.rs).
pub fn version_line() -> String {
    format!(
        "{BIN} (ecr-login) {} (commit {}, {})",
        env!("CARGO_PKG_VERSION"),
        env!("ECR_LOGIN_BUILD_COMMIT"),
        env!("ECR_LOGIN_BUILD_TARGET"),
    )
}

fn usage() -> String {
    format!(
        "Usage: {BIN} <command>

Docker credential-helper protocol (registry on stdin):
  get            print {{\"ServerURL\",\"Username\",\"Secret\"}} for an ECR registry
  store, erase   keep / forget a docker login for an ECR registry until it expires
                 (no-ops with AWS_ECR_IGNORE_CREDS_STORAGE=true)
  list           the ECR registries you pull from (cache, Docker and ecr-login
                 configs; one bounded API call when nothing local names any)
  (for a registry that is not ECR, get, store and erase go to the fallback
  helper if one is configured: fallback = \"NAME\" in ~/.ecr/config.toml, or
  AWS_ECR_FALLBACK_HELPER=NAME; list adds its answer)

Other commands:
  cache show     cached registries, identities and expiry (no secrets)
  cache clear    remove every cached token and kept MFA session
  login --profile P [--force]
                 sign in for profile P now: its MFA code (the session is kept),
                 or SSO in the browser (device code; no AWS CLI needed)
  doctor HOST    explain how HOST is handled and try to get a token (no secrets shown)
  get-login-password HOST
                 print HOST's password (docker login -u AWS --password-stdin HOST)
  authorization-token HOST
                 print HOST's base64 AWS:password token (Authorization: Basic)
  kubelet        kubelet image credential provider (CredentialProviderRequest on stdin)
  kubelet config
                 print kubelet's CredentialProviderConfig (matchImages: every host form accepted)
  configure [--registry HOST]... [--store] [--fallback NAME] [--from-aws-config]
            [--podman] [--dry-run]
                 add this helper to the Docker (or Podman) config file
  version        print the version (also -v, --version)
  help           this text (also -h, --help)

Environment:
  AWS_ECR_CONFIG          the config file (default ~/.ecr/config.toml)
  AWS_ECR_CACHE_DIR       the token cache (default ~/.ecr)
  AWS_ECR_DISABLE_CACHE   true: no token cache
  AWS_ECR_IGNORE_CREDS_STORAGE
                          true: store and erase succeed without doing anything
  AWS_ECR_FALLBACK_HELPER the helper for registries that are not ECR (e.g. desktop)
  AWS_ECR_TIMEOUT         seconds one command may take in all (default 30)
  AWS_ECR_LOCK_TIMEOUT    seconds to wait for another process's refresh
  AWS_ECR_IMDS            auto (default), on or off: ask the EC2 instance metadata service
  AWS_ECR_ROLE_ARN        kubelet: the role to pull as when a request names none
  AWS_ECR_LOG             error, warn (default), info, debug or trace
  AWS_ECR_LOG_FILE        a file diagnostics are also appended to
and the standard AWS variables (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_ECR, ...).
Paths must be absolute or start with ~/. See the README.
"
    )
}

/// Runs the command in `args` (without the program name) with `settings`.
pub fn run(
    args: Vec<OsString>,
    settings: &Settings,
    stdin: impl Read,
    stdout: &mut dyn Write,
) -> ExitCode {
    // Before any file is opened: a closed stdout or stderr must not lend its
    // number to a cache file.
    #[cfg(unix)]
    crate::support::safe_fs::ensure_std_fds();
    crate::support::log::init(settings);
    for problem in &settings.problems {
        crate::warn!("{problem}");
    }
    let command = match args::parse(args) {
        Ok(command) => command,
        Err(e) => return fail(e),
    };
    let app = App::new(settings);
    let result = match command {
        Command::Protocol(action) => return docker::run(action, &app, stdin, stdout),
        Command::Kubelet => return kubelet::run(&app, stdin, stdout),
        Command::KubeletConfig => write_out(stdout, &crate::kubelet::provider_config()),
        Command::Version => write_out(stdout, &format!("{}\n", version_line())),
        Command::Help => write_out(stdout, &usage()),
        Command::CacheShow => cache_cmd::show(&app, stdout),
        Command::CacheClear => cache_cmd::clear(&app, stdout),
        Command::Login { profile, force } => login::run(&profile, force, &app, stdout),
        Command::Doctor(host) => match doctor::run(&host, &app, stdout) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::Failure,
            Err(e) => Err(e),
        },
        Command::Token { host, basic_auth } => tokens::print(&host, basic_auth, &app, stdout),
        Command::Configure(opts) => {
            crate::configure::run(&opts, settings, stdout).map_err(Error::from)
        }
    };
    match result {
        Ok(()) => ExitCode::Success,
        Err(e) => fail(e),
    }
}

/// Reports `e` on stderr as one line (a usage error points to `help`).
fn fail(e: Error) -> ExitCode {
    match e {
        Error::Usage(msg) => {
            crate::support::log::stderr(&format!(
                "{BIN}: {} (see `{BIN} help`)\n",
                crate::support::redact::scrub(&msg)
            ));
        }
        e => crate::error!("{e}"),
    }
    ExitCode::Failure
}

/// Writes `text` to stdout and flushes it.
fn write_out(stdout: &mut dyn Write, text: &str) -> Result<()> {
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("cannot write to stdout", e))
}

#[cfg(test)]
mod tests {
    /// Every variable of the helper's own (`AWS_ECR_*`, from the one list in
    /// `env.rs`) is named in `help`, so a new one cannot be left out.
    #[test]
    fn help_names_every_variable_of_the_helper() {
        let text = super::usage();
        let names: Vec<&str> = include_str!("../env.rs")
            .split('"')
            .filter(|s| s.starts_with("AWS_ECR_"))
            .collect();
        assert!(names.len() >= 11, "{names:?}");
        for name in names {
            assert!(
                text.split_whitespace().any(|w| w == name),
                "`help` does not name {name}"
            );
        }
    }
}
