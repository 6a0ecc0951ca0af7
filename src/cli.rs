//! The command line: argv → command → exit code. Stdout carries only what the
//! caller parses; diagnostics go through [`crate::log`].

use std::collections::BTreeMap;
use std::io::{Read, Write};

use crate::cache::Cache;
use crate::ecr::{SdkTokenSource, TokenSource};
use crate::env;
use crate::error::{Error, Result};
use crate::helper::{human, Helper};
use crate::identity::Identity;
use crate::protocol::{self, Credentials};
use crate::registry::Registry;
use crate::secret::Secret;

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success.
    Success = 0,
    /// Failure (the protocol's only failure code).
    Failure = 1,
}

/// The binary's name, as Docker looks for it.
pub const BIN: &str = "docker-credential-ecr-login";

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
  store, erase   not supported (no-ops with AWS_ECR_IGNORE_CREDS_STORAGE=true)
  list           registries with a cached, unexpired token

Other commands:
  cache show     cached registries, identities and expiry (no secrets)
  cache clear    remove every cached token
  login --profile P [--force]
                 prompt for the MFA code of profile P now and keep the session
  doctor HOST    explain how HOST is handled and try to get a token (no secrets shown)
  get-login-password HOST
                 print HOST's password (docker login -u AWS --password-stdin HOST)
  authorization-token HOST
                 print HOST's base64 AWS:password token (Authorization: Basic)
  kubelet        kubelet image credential provider (CredentialProviderRequest on stdin)
  configure [--registry HOST]... [--store] [--podman] [--dry-run]
                 add this helper to the Docker (or Podman) config file
  version        print the version (also -v, --version)
  help           this text (also -h, --help)

Environment: AWS_ECR_CACHE_DIR, AWS_ECR_DISABLE_CACHE, AWS_ECR_IGNORE_CREDS_STORAGE,
AWS_ECR_LOG, AWS_ECR_LOG_FILE, AWS_ECR_TIMEOUT, AWS_ECR_LOCK_TIMEOUT and the standard
AWS variables (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_ECR, ...). See the README.
"
    )
}

/// Runs the command in `args` (without the program name).
pub fn run(args: &[String], stdin: impl Read, stdout: &mut dyn Write) -> ExitCode {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [action @ ("get" | "store" | "erase" | "list")] => {
            return run_protocol(action, stdin, stdout);
        }
        ["version" | "-v" | "--version"] => write_out(stdout, &format!("{}\n", version_line())),
        ["help" | "-h" | "--help"] => write_out(stdout, &usage()),
        ["cache", "show"] => cache_show(stdout),
        ["cache", "clear"] => cache_clear(stdout),
        ["login", "--profile", profile] => mfa_login(profile, false, stdout),
        ["login", "--profile", profile, "--force"] => mfa_login(profile, true, stdout),
        ["doctor", host] => match crate::doctor::run(host, &SdkTokenSource, stdout) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::Failure,
            Err(e) => Err(e),
        },
        [cmd @ ("get-login-password" | "authorization-token"), host] => {
            print_login(host, *cmd == "authorization-token", stdout)
        }
        [cmd @ ("get-login-password" | "authorization-token")] => Err(Error::Usage(format!(
            "{cmd} needs the registry host, e.g. {cmd} 123456789012.dkr.ecr.us-east-1.amazonaws.com"
        ))),
        [cmd @ ("get-login-password" | "authorization-token"), ..] => Err(Error::Usage(format!(
            "{cmd} takes one argument, the registry host"
        ))),
        ["kubelet"] => return run_kubelet(stdin, stdout),
        ["kubelet", ..] => Err(Error::Usage(
            "kubelet takes no arguments (the request comes on stdin)".into(),
        )),
        ["configure", rest @ ..] => crate::configure::run(rest, stdout),
        ["login", ..] => Err(Error::Usage(
            "usage: login --profile PROFILE [--force]".into(),
        )),
        ["doctor", ..] => Err(Error::Usage(
            "usage: doctor HOST (one registry host)".into(),
        )),
        ["cache", ..] => Err(Error::Usage("usage: cache show | cache clear".into())),
        [] => Err(Error::Usage("no command given".into())),
        [cmd, ..] if matches!(*cmd, "get" | "store" | "erase" | "list" | "version") => {
            Err(Error::Usage(format!("{cmd} takes no arguments")))
        }
        [cmd, ..] => Err(Error::Usage(format!("unknown command {}", shorten(cmd)))),
    };
    match result {
        Ok(()) => ExitCode::Success,
        Err(Error::Usage(msg)) => {
            eprint!("{BIN}: {}\n\n{}", crate::redact::scrub(&msg), usage());
            ExitCode::Failure
        }
        Err(e) => {
            crate::error!("{e}");
            ExitCode::Failure
        }
    }
}

fn write_out(stdout: &mut dyn Write, text: &str) -> Result<()> {
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::Io(format!("cannot write to stdout: {e}")))
}

fn run_protocol(action: &str, stdin: impl Read, stdout: &mut dyn Write) -> ExitCode {
    let backend = Backend {
        helper: Helper::from_env(SdkTokenSource),
    };
    let outcome = protocol::handle(&backend, action, stdin);
    if let Some(e) = &outcome.diagnostic {
        match e {
            Error::NotEcr(_) => crate::info!("{e}"),
            _ => crate::error!("{e}"),
        }
    }
    if let Err(e) = write_out(stdout, &outcome.stdout) {
        crate::error!("{e}");
        return ExitCode::Failure;
    }
    if outcome.success {
        ExitCode::Success
    } else {
        ExitCode::Failure
    }
}

/// The protocol back end: parse, identify, log in.
pub struct Backend<S> {
    /// The policy.
    pub helper: Helper<S>,
}

impl<S: TokenSource> Backend<S> {
    /// Parses `server_url`, resolves the identity, and logs in.
    pub fn login(&self, server_url: &str) -> Result<(Registry, crate::helper::Login)> {
        let registry = Registry::parse(server_url)?;
        let role = crate::config::apply(&registry)?;
        let mut identity = Identity::resolve()?;
        if let Some(role) = role {
            identity = identity.with_assumed_role(&role);
        }
        crate::debug!(
            "registry {} as {} ({})",
            registry.host(),
            identity.label,
            identity.short()
        );
        let login = self.helper.login(&registry, &identity)?;
        Ok((registry, login))
    }
}

impl<S: TokenSource> Credentials for Backend<S> {
    fn get(&self, server_url: &str) -> Result<(String, Secret)> {
        let (_, login) = self.login(server_url)?;
        Ok((login.username, login.password))
    }

    fn list(&self) -> Result<BTreeMap<String, String>> {
        let identity = Identity::resolve()?;
        Ok(self
            .helper
            .known_registries(&identity)
            .into_iter()
            .map(|host| (format!("https://{host}"), "AWS".to_string()))
            .collect())
    }

    fn ignore_storage(&self) -> bool {
        env::flag(env::IGNORE_CREDS_STORAGE)
    }
}

fn cache_or_err() -> Result<Cache> {
    Cache::from_env().ok_or_else(|| {
        Error::Usage(format!(
            "the cache is disabled ({} is set, or there is no home directory)",
            env::DISABLE_CACHE
        ))
    })
}

fn cache_show(stdout: &mut dyn Write) -> Result<()> {
    let cache = cache_or_err()?;
    let current = Identity::resolve().ok();
    let now = std::time::SystemTime::now();
    let mut text = format!("cache directory: {}\n", cache.dir().display());
    if let Some(id) = &current {
        text.push_str(&format!(
            "current identity: {} ({})\n",
            id.short(),
            id.label
        ));
    }
    let entries = cache.all_entries();
    if entries.is_empty() {
        text.push_str("no cached tokens\n");
    }
    for e in entries {
        let state = if e.remaining(now).is_zero() {
            "expired".to_string()
        } else if e.is_fresh(now) {
            format!("valid, {} left", human(e.remaining(now)))
        } else {
            format!(
                "valid, {} left (refreshes on next use)",
                human(e.remaining(now))
            )
        };
        let mine = current
            .as_ref()
            .is_some_and(|id| id.fingerprint == e.identity);
        text.push_str(&format!(
            "{}{}  identity {} ({})  {state}\n",
            if mine { "* " } else { "  " },
            e.registry,
            &e.identity[..16.min(e.identity.len())],
            e.identity_label
        ));
    }
    write_out(stdout, &text)
}

fn cache_clear(stdout: &mut dyn Write) -> Result<()> {
    let cache = cache_or_err()?;
    let n = cache.clear()?;
    write_out(
        stdout,
        &format!(
            "removed {n} cached token(s) from {}\n",
            cache.dir().display()
        ),
    )
}

/// `get-login-password` / `authorization-token`: the password (or the base64
/// `user:password` token) of `host`, and a newline, through the same cache and
/// identity rules as `get`.
fn print_login(host: &str, basic_auth: bool, stdout: &mut dyn Write) -> Result<()> {
    let backend = Backend {
        helper: Helper::from_env(SdkTokenSource),
    };
    let (_, login) = backend.login(host)?;
    let secret = if basic_auth {
        login.basic_auth()
    } else {
        login.password
    };
    write_out(stdout, &format!("{}\n", secret.expose()))
}

/// `kubelet`: one CredentialProviderRequest on stdin, one response on stdout.
/// Failures are one line on stderr and nothing on stdout.
fn run_kubelet(stdin: impl Read, stdout: &mut dyn Write) -> ExitCode {
    match kubelet_answer(stdin).and_then(|text| write_out(stdout, &text)) {
        Ok(()) => ExitCode::Success,
        Err(e) => {
            crate::error!("{e}");
            ExitCode::Failure
        }
    }
}

fn kubelet_answer(stdin: impl Read) -> Result<String> {
    use crate::kubelet::{self, PullAs};
    let mut bytes = Vec::new();
    stdin
        .take(kubelet::MAX_REQUEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Io(format!("cannot read the kubelet request from stdin: {e}")))?;
    if bytes.len() as u64 > kubelet::MAX_REQUEST {
        return Err(Error::Usage(format!(
            "kubelet request: larger than {} KiB",
            kubelet::MAX_REQUEST / 1024
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Usage("kubelet request: stdin is not valid UTF-8".into()))?;
    let request = kubelet::parse_request(&text)?;
    let backend = Backend {
        helper: Helper::from_env(SdkTokenSource),
    };
    let env_role = env::var(kubelet::ROLE_ARN_ENV);
    let login = match kubelet::pull_as(&request, env_role.as_deref())? {
        PullAs::Role { role_arn, token } => {
            // The process is still single-threaded: no runtime has started.
            let session = kubelet::WebIdentity::install(&role_arn, &token)?;
            let identity = session.identity()?;
            crate::debug!(
                "registry {} as {} ({})",
                request.registry.host(),
                identity.label,
                identity.short()
            );
            backend.helper.login(&request.registry, &identity)?
        }
        PullAs::Ambient => {
            if request.service_account_token.is_none() && env_role.is_some() {
                crate::info!(
                    "no service-account token in the request: pulling with the node's credentials, not {}",
                    kubelet::ROLE_ARN_ENV
                );
            }
            backend.login(request.registry.host())?.1
        }
    };
    kubelet::response(&request, &login, std::time::SystemTime::now()).to_json()
}

fn mfa_login(profile: &str, force: bool, stdout: &mut dyn Write) -> Result<()> {
    std::env::set_var(env::AWS_PROFILE, profile);
    let identity = Identity::resolve()?;
    let Some(mfa) = identity.mfa.clone() else {
        return write_out(
            stdout,
            &format!("profile {profile} does not use MFA (no mfa_serial); nothing to do\n"),
        );
    };
    let session = crate::ecr::mfa_session(&mfa, force)?;
    let left = std::time::Duration::from_secs(
        session
            .expires_at
            .saturating_sub(crate::cache::secs(std::time::SystemTime::now())),
    );
    write_out(
        stdout,
        &format!(
            "MFA session for profile {profile} is valid for {}\n",
            human(left)
        ),
    )
}

/// `"abc…"`: an argument quoted for a message, escaped and cut to 64 characters.
fn shorten(arg: &str) -> String {
    let escaped: String = arg.escape_debug().collect();
    match escaped.char_indices().nth(64) {
        Some((cut, _)) => format!("\"{}…\" ({} bytes)", &escaped[..cut], arg.len()),
        None => format!("\"{escaped}\""),
    }
}
