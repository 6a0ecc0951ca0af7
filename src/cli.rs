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

/// `name (package) version`, as docker-credential-helpers prints it.
pub fn version_line() -> String {
    format!("{BIN} (ecr-login) {}", env!("CARGO_PKG_VERSION"))
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
        [] => Err(Error::Usage("no command given".into())),
        [cmd, ..] if matches!(*cmd, "get" | "store" | "erase" | "list" | "version") => {
            Err(Error::Usage(format!("{cmd} takes no arguments")))
        }
        [cmd, ..] => Err(Error::Usage(format!(
            "unknown command {:?}",
            cmd.escape_debug().to_string()
        ))),
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
        let identity = Identity::resolve()?;
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
