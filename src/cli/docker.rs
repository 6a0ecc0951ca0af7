//! The Docker credential-helper protocol front end: decides who answers,
//! then wires [`crate::docker`] (the byte-exact protocol) to the helper.
//!
//! Who answers `get`, `store` and `erase`: this helper for an ECR registry or
//! a configured alias of one; for any other registry the fallback helper
//! ([`super::fallback`]) when one is configured, byte for byte; else this
//! helper, with the protocol's "not found" answer and, for `store` / `erase`,
//! an error that says how to configure a fallback.
//! `list` is ours (every ECR registry or alias the user can be expected to
//! pull from, [`super::list`]) merged with the fallback's answer, ours
//! winning for ECR hosts.
//!
//! `store` for an ECR registry or alias keeps what `docker login` gave
//! ([`crate::core::cache::Cache::store_login`]): it may be another identity's
//! token, so `get` serves it until its own expiry (or `erase`), then the
//! helper's own token. With the cache off it is not kept, and one stderr line
//! says so.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use super::app::{App, Policy};
use super::fallback::{self, Fallback};
use super::list::MIN_STORED_VALIDITY;
use super::ExitCode;
use crate::core::registry::NotEcr;
use crate::core::regmap::MapFile;
use crate::core::resolve::Named;
use crate::docker::{self as protocol, Action, Credentials, Outcome, Request};
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::support::secret::Secret;

/// Runs one protocol action: the answer on stdout, the cause on stderr.
/// Stdin is read once (at most [`protocol::MAX_INPUT`] bytes and one more),
/// the request parsed once, and the registry it names resolved once: that
/// decides who answers, and is what this helper answers for.
pub fn run(action: Action, app: &App, stdin: impl Read, stdout: &mut dyn Write) -> ExitCode {
    let settings = app.settings();
    let (config, config_path) = match crate::core::resolve::config(settings) {
        Ok((config, path)) => (Some(config), path),
        // A file that does not parse may hold the fallback or an alias:
        // guessing could send a registry to the wrong helper.
        Err(e) if action != Action::List => return refuse(action, e.into(), stdout),
        Err(e) => {
            crate::warn!("{e}");
            (None, None)
        }
    };
    let helper = app.helper();
    let mut input = Vec::new();
    if action != Action::List {
        input = match protocol::read(stdin) {
            Ok(input) => input,
            Err(e) => {
                crate::error!("cannot read stdin: {e}");
                return ExitCode::Failure;
            }
        };
    }
    if let (Action::Get, Some(config)) = (action, &config) {
        if super::bazel::is_request(&input) {
            let path = config_path.as_deref();
            return super::bazel::run(&input, helper, config, path, settings, stdout);
        }
    }
    let request = Request::parse(action, &input);
    let empty = MapFile::default();
    let named =
        crate::core::resolve::named(request.server_url(), config.as_ref().unwrap_or(&empty));
    let ours = named.as_ref().is_ok_and(|n| n.registry.is_ok());
    if let (Some(config), false) = (&config, ours || request.server_url().is_empty()) {
        if let Some(exit) = pass_on(action, &input, config, settings, stdout) {
            return exit;
        }
    }
    let looks_ecr = crate::core::registry::looks_like_ecr(request.server_url());
    let backend = Backend {
        helper,
        settings,
        config: config.as_ref(),
        config_path: config_path.as_deref(),
        named,
    };
    answer(protocol::handle(&backend, request), looks_ecr, stdout)
}

/// For a registry that is not ours: the fallback's answer, when one is
/// configured (`None` when none is), or why it cannot be asked.
fn pass_on(
    action: Action,
    input: &[u8],
    config: &MapFile,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> Option<ExitCode> {
    match fallback::configured(settings, config) {
        // Passed whole or not at all: never cut short.
        Ok(Some(_)) if input.len() as u64 > protocol::MAX_INPUT => {
            let e = Error::Input(format!(
                "input is larger than {} MiB; not passing it to the fallback helper",
                protocol::MAX_INPUT >> 20
            ));
            Some(refuse(action, e, stdout))
        }
        Ok(Some(f)) => Some(pass(&f, action, input, settings, stdout)),
        Ok(None) => None,
        Err(e) => Some(refuse(action, e, stdout)),
    }
}

/// Writes `outcome`: its diagnostic on stderr (a warning for a host that
/// `looks_ecr` but is not), its text on stdout.
fn answer(outcome: Outcome, looks_ecr: bool, stdout: &mut dyn Write) -> ExitCode {
    if let Some(e) = &outcome.diagnostic {
        match e {
            // A mistyped ECR name would otherwise end in Docker's bare "not
            // found"; a host that is plainly not ECR stays quiet.
            Error::NotEcr(_) if looks_ecr => crate::warn!("{e}"),
            Error::NotEcr(_) => crate::info!("{e}"),
            _ => crate::error!("{e}"),
        }
    }
    if let Err(e) = super::write_out(stdout, &outcome.stdout) {
        crate::error!("{e}");
        return ExitCode::Failure;
    }
    if outcome.success {
        ExitCode::Success
    } else {
        ExitCode::Failure
    }
}

/// Passes `action` to the fallback and its answer to our caller.
fn pass(
    f: &Fallback,
    action: Action,
    input: &[u8],
    settings: &Settings,
    stdout: &mut dyn Write,
) -> ExitCode {
    let answer = match f.call(action.name(), input, settings) {
        Ok(a) => a,
        Err(e) => return refuse(action, e, stdout),
    };
    if let Err(e) = stdout
        .write_all(&answer.stdout)
        .and_then(|()| stdout.flush())
    {
        crate::error!("cannot write to stdout: {e}");
        return ExitCode::Failure;
    }
    ExitCode::Passed(answer.code)
}

/// The fallback cannot be used: `get` says "not found" (Docker then goes
/// anonymous), `store` and `erase` say why; the cause goes to stderr.
fn refuse(action: Action, e: Error, stdout: &mut dyn Write) -> ExitCode {
    crate::error!("{e}");
    let text = match action {
        Action::Get => protocol::NOT_FOUND.to_string(),
        _ => crate::support::redact::scrub(&e.to_string()),
    };
    let _ = super::write_out(stdout, &format!("{text}\n"));
    ExitCode::Failure
}

/// The protocol's back end for one request: the registry its server URL
/// names, resolved once ([`crate::core::resolve::named`]), and the policy that logs
/// in to it.
struct Backend<'a> {
    helper: &'a Policy,
    settings: &'a Settings,
    config: Option<&'a MapFile>,
    config_path: Option<&'a std::path::Path>,
    /// What the request's server URL names ([`Request::server_url`]: the
    /// URL the protocol passes to `get`, `store` and `erase`); an error for
    /// `list`, which names none.
    named: std::result::Result<Named, NotEcr>,
}

impl Backend<'_> {
    /// Ours: every ECR registry (or alias) the user can be expected to pull
    /// from ([`super::list`]).
    fn ours(&self) -> BTreeMap<String, String> {
        super::list::registries(self.helper, self.settings, self.config)
            .into_iter()
            .map(|host| (format!("https://{host}"), "AWS".to_string()))
            .collect()
    }

    /// The fallback's `list`, without the registries that are ours.
    fn theirs(&self, config: &MapFile) -> Result<BTreeMap<String, String>> {
        let Some(f) = fallback::configured(self.settings, config)? else {
            return Ok(BTreeMap::new());
        };
        let answer = f.call(Action::List.name(), b"", self.settings)?;
        if answer.code != 0 {
            return Err(Error::Fallback(format!(
                "{} list failed (exit code {})",
                f.program(),
                answer.code
            )));
        }
        let map: BTreeMap<String, String> =
            serde_json::from_slice(&answer.stdout).map_err(|e| {
                Error::Fallback(format!(
                    "{} list did not print a JSON map: {e}",
                    f.program()
                ))
            })?;
        Ok(map
            .into_iter()
            .filter(|(url, _)| !crate::core::resolve::is_ecr(url, config))
            .collect())
    }
}

impl Backend<'_> {
    /// What the request names; an error when it has no host.
    fn named(&self) -> Result<&Named> {
        self.named.as_ref().map_err(|e| e.clone().into())
    }

    /// The host `store` / `erase` keep a login under, or the error that says
    /// how to keep logins of a registry that is not ECR.
    fn storage_host(&self) -> Result<String> {
        let named = self.named()?;
        let host = named.host.clone();
        if named.registry.is_ok() {
            return Ok(host);
        }
        let config = self
            .config_path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "~/.ecr/config.toml".to_string());
        Err(Error::Input(format!(
            "{}: {host} is not an ECR registry and no fallback store is configured; to keep its logins, set fallback = \"NAME\" in {config} or {}=NAME (runs docker-credential-NAME: desktop, pass, secretservice, osxkeychain, wincred), e.g. `docker-credential-ecr-login configure --fallback desktop`",
            protocol::NOT_IMPLEMENTED,
            crate::env::FALLBACK_HELPER,
        )))
    }

    /// The login `docker login` stored for `host`, while it is valid.
    fn stored(&self, host: &str) -> Option<crate::core::cache::CacheEntry> {
        let entry = self.helper.cache()?.stored_login(host)?;
        let left = entry.remaining(std::time::SystemTime::now());
        if left < MIN_STORED_VALIDITY {
            crate::debug!(
                "the login docker login stored for {host} expires within 5 minutes; using our own"
            );
            return None;
        }
        crate::info!(
            "using the login docker login stored for {host} ({} left; `docker logout {host}` forgets it)",
            crate::support::time::human(left)
        );
        Some(entry)
    }
}

impl Credentials for Backend<'_> {
    fn get(&self, _server_url: &str) -> Result<(String, Secret)> {
        let named = self.named()?;
        if let Some(entry) = self.stored(&named.host) {
            return Ok((entry.username, entry.password));
        }
        // `get` and friends only run with a config that was read (a file
        // that does not parse was refused before), or none at all.
        let empty = MapFile::default();
        let file = self.config.unwrap_or(&empty);
        let registry = named.registry.clone()?;
        let resolved = crate::core::resolve::resolve_registry(
            registry,
            file,
            self.config_path,
            self.settings,
        )?;
        let login = self.helper.login_to(&resolved)?;
        // One token serves every account of its region: remember the
        // registry itself, for `list`.
        if let Some(cache) = self.helper.cache() {
            cache.note_registry(&resolved.identity, &named.host);
        }
        Ok((login.username, login.password))
    }

    fn list(&self) -> Result<BTreeMap<String, String>> {
        let ours = self.ours();
        let Some(config) = self.config else {
            return Ok(ours);
        };
        let mut merged = match self.theirs(config) {
            Ok(theirs) => theirs,
            Err(e) => {
                crate::warn!("{e}; listing the ECR registries only");
                BTreeMap::new()
            }
        };
        merged.extend(ours);
        Ok(merged)
    }

    fn ignore_storage(&self) -> bool {
        self.settings.flag(crate::env::IGNORE_CREDS_STORAGE)
    }

    fn store(&self, _server_url: &str, username: &str, secret: Secret) -> Result<()> {
        let host = self.storage_host()?;
        if secret.is_empty() {
            return Err(Error::Input(format!(
                "the login for {host} has no password: nothing was kept"
            )));
        }
        let Some(cache) = self.helper.cache() else {
            crate::warn!(
                "the login for {host} is not kept ({} is set): `get` answers with a token of this helper's own AWS identity",
                crate::env::DISABLE_CACHE
            );
            return Ok(());
        };
        let entry = cache
            .store_login(&host, username, secret)
            .map_err(|source| Error::StoredLogin {
                what: "keep",
                host: host.clone(),
                source,
            })?;
        crate::info!(
            "kept the login for {host} for {} (served instead of this helper's own token until then, or until `docker logout {host}`)",
            crate::support::time::human(entry.remaining(std::time::SystemTime::now()))
        );
        Ok(())
    }

    fn erase(&self, _server_url: &str) -> Result<()> {
        let host = self.storage_host()?;
        if let Some(cache) = self.helper.cache() {
            match cache.forget_login(&host) {
                Ok(true) => crate::info!("forgot the login docker login stored for {host}"),
                Ok(false) => {}
                Err(source) => {
                    return Err(Error::StoredLogin {
                        what: "forget",
                        host,
                        source,
                    })
                }
            }
        }
        Ok(())
    }
}
