//! The Docker credential-helper protocol front end: decides who answers,
//! then wires [`crate::protocol`] (the byte-exact protocol) to the helper.
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
use super::args::Action;
use super::fallback::{self, Fallback};
use super::list::MIN_STORED_VALIDITY;
use super::protocol::{self, Credentials};
use super::ExitCode;
use crate::core::regmap::MapFile;
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::support::secret::Secret;

/// Runs one protocol action: the answer on stdout, the cause on stderr.
pub fn run(action: Action, app: &App, mut stdin: impl Read, stdout: &mut dyn Write) -> ExitCode {
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
    let backend = Backend {
        helper: app.helper(),
        settings,
        config: config.as_ref(),
        config_path: config_path.as_deref(),
    };
    let mut looks_ecr = false;
    let outcome = if action == Action::List {
        protocol::handle(&backend, action.name(), std::io::empty())
    } else {
        let mut input = Vec::new();
        if let Err(e) = stdin
            .by_ref()
            .take(protocol::MAX_INPUT + 1)
            .read_to_end(&mut input)
        {
            crate::error!("cannot read stdin: {e}");
            return ExitCode::Failure;
        }
        if let (Action::Get, Some(config)) = (action, &config) {
            if super::bazel::is_request(&input) {
                let path = config_path.as_deref();
                return super::bazel::run(&input, config, path, app, stdout);
            }
        }
        let server_url = server_url(action, &input);
        looks_ecr = crate::core::registry::looks_like_ecr(&server_url);
        match config.as_ref().filter(|_| !server_url.is_empty()) {
            Some(config) if !crate::core::resolve::is_ecr(&server_url, config) => {
                match fallback::configured(settings, config) {
                    // Passed whole or not at all: never cut short.
                    Ok(Some(_)) if input.len() as u64 > protocol::MAX_INPUT => {
                        let e = Error::Input(format!(
                            "input is larger than {} MiB; not passing it to the fallback helper",
                            protocol::MAX_INPUT >> 20
                        ));
                        return refuse(action, e, stdout);
                    }
                    Ok(Some(f)) => return pass(&f, action, &input, settings, stdout),
                    Ok(None) => {}
                    Err(e) => return refuse(action, e, stdout),
                }
            }
            _ => {}
        }
        protocol::handle(&backend, action.name(), &input[..])
    };
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

/// The registry an input is about: the first line that is not blank of
/// `get` and `erase` (as [`protocol::read_server_url`] reads it),
/// the `ServerURL` of `store`'s JSON (empty when there is none).
fn server_url(action: Action, input: &[u8]) -> String {
    let text = String::from_utf8_lossy(input);
    match action {
        Action::Store => serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("ServerURL")?.as_str().map(str::to_string))
            .unwrap_or_default()
            .trim()
            .to_string(),
        _ => protocol::read_server_url(text.as_bytes()).unwrap_or_default(),
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

/// The protocol's back end: resolve, then log in.
struct Backend<'a> {
    helper: &'a Policy,
    settings: &'a Settings,
    config: Option<&'a MapFile>,
    config_path: Option<&'a std::path::Path>,
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
    /// The host `store` / `erase` keep a login under, or the error that says
    /// how to keep logins of a registry that is not ECR.
    fn storage_host(&self, server_url: &str) -> Result<String> {
        let empty = MapFile::default();
        let file = self.config.unwrap_or(&empty);
        let host = crate::core::registry::host_of(server_url)?;
        if crate::core::resolve::is_ecr(server_url, file) {
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

    /// The login `docker login` stored for `server_url`, while it is valid.
    fn stored(&self, server_url: &str) -> Option<crate::core::cache::CacheEntry> {
        let host = crate::core::registry::host_of(server_url).ok()?;
        let entry = self.helper.cache()?.stored_login(&host)?;
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
    fn get(&self, server_url: &str) -> Result<(String, Secret)> {
        if let Some(entry) = self.stored(server_url) {
            return Ok((entry.username, entry.password));
        }
        // `get` and friends only run with a config that was read (a file
        // that does not parse was refused before), or none at all.
        let empty = MapFile::default();
        let file = self.config.unwrap_or(&empty);
        let resolved =
            crate::core::resolve::resolve(server_url, file, self.config_path, self.settings)?;
        let login = self.helper.login(&resolved.registry, &resolved.identity)?;
        // One token serves every account of its region: remember the
        // registry itself, for `list`.
        if let (Some(cache), Ok(host)) = (
            self.helper.cache(),
            crate::core::registry::host_of(server_url),
        ) {
            cache.note_registry(&resolved.identity, &host);
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

    fn store(&self, server_url: &str, username: &str, secret: Secret) -> Result<()> {
        let host = self.storage_host(server_url)?;
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
            .map_err(|e| Error::Io(format!("cannot keep the login for {host}: {e}")))?;
        crate::info!(
            "kept the login for {host} for {} (served instead of this helper's own token until then, or until `docker logout {host}`)",
            crate::support::time::human(entry.remaining(std::time::SystemTime::now()))
        );
        Ok(())
    }

    fn erase(&self, server_url: &str) -> Result<()> {
        let host = self.storage_host(server_url)?;
        if let Some(cache) = self.helper.cache() {
            match cache.forget_login(&host) {
                Ok(true) => crate::info!("forgot the login docker login stored for {host}"),
                Ok(false) => {}
                Err(e) => {
                    return Err(Error::Io(format!(
                        "cannot forget the login for {host}: {e}"
                    )))
                }
            }
        }
        Ok(())
    }
}
