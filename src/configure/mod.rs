//! `configure`: points Docker (or Podman) at this helper by editing its JSON
//! config file.
//!
//! - `--registry HOST` (repeatable) adds `"credHelpers": {"HOST": "ecr-login"}`;
//! - `--store` sets `"credsStore": "ecr-login"` (Docker only);
//! - `--podman` edits the containers auth file instead of Docker's config;
//! - `--fallback NAME` sets `fallback = "NAME"` in the helper's own config
//!   file (`~/.ecr/config.toml`); `--store` does the same with the
//!   `credsStore` it replaces (`desktop`, `osxkeychain`...), so that the
//!   logins kept there keep working for registries that are not ECR;
//! - `--from-aws-config` adds the registries the AWS profiles imply
//!   ([`from_aws`]) to `credHelpers`, and a rule per account selecting its
//!   profile to the helper's config file;
//! - `--dry-run` prints a unified diff of each change ([`diff`]) and writes nothing.
//!
//! The JSON text is edited by [`plan`], the TOML text by [`ecr_config`];
//! this module finds the files and writes them.
//!
//! Files: Docker's is `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`. Podman's is `$REGISTRY_AUTH_FILE`, else
//! `$XDG_RUNTIME_DIR/containers/auth.json`, else
//! `~/.config/containers/auth.json` (containers-auth.json(5) reads the same
//! `credHelpers` map).
//!
//! Every other key and value is kept, in the same order (new keys go last;
//! duplicate keys become one, with the value Docker reads: the last). The file is re-indented with the unit of its first indented
//! line (a tab or N spaces; a tab for new or one-line files, as Docker writes
//! them). Strings and numbers are re-encoded by serde_json: `\u00e9` becomes
//! `é`, `1.50` becomes `1.5`.
//!
//! Writes are atomic (a temp file in the same directory, renamed over the
//! target, keeping the target's mode; new files are 0600 in a 0700 directory).
//! When the content changes, the previous content is first saved as
//! `<file>.bak` (0600). A file that is not a JSON object, or whose
//! `credHelpers` is not an object, is refused and left untouched. Running the
//! same command twice changes nothing the second time.
//!
//! Root on another user's home edits only that user's files there and gives
//! what it creates to the home's owner ([`HomeOwner`]). Files are read
//! without blocking, and only regular files.

use std::ffi::OsString;
use std::io::Write;

use std::path::{Path, PathBuf};
pub use write::backup_path;

use crate::settings::Settings;

pub mod diff;
pub mod ecr_config;
pub mod from_aws;
mod owner;
pub mod plan;
pub mod which;
mod write;

pub use owner::HomeOwner;

pub use plan::{plan, Plan};

/// The helper's name in Docker's config (`docker-credential-<name>`).
pub const HELPER_NAME: &str = "ecr-login";

/// What `configure` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Normalised registry hosts for `credHelpers`, without duplicates.
    pub registries: Vec<String>,
    /// Set `credsStore`.
    pub store: bool,
    /// Edit the containers auth file instead of Docker's config.
    pub podman: bool,
    /// Print the diff, write nothing.
    pub dry_run: bool,
    /// Set the fallback helper in the helper's config file.
    pub fallback: Option<String>,
    /// Add the registries and profile rules the AWS profiles imply.
    pub from_aws_config: bool,
}

/// Why the config file cannot be edited. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigureError {
    /// The file cannot be located.
    #[error("{0}")]
    Locate(String),
    /// The file's content is not something to edit (not JSON, not an object...).
    #[error("{0}")]
    Refused(String),
    /// Reading or writing failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done ("cannot write ~/.docker/config.json").
        what: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The edited configuration could not be encoded.
    #[error("cannot encode the configuration: {0}")]
    Encode(#[source] serde_json::Error),
}

impl ConfigureError {
    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> ConfigureError {
        ConfigureError::Io {
            what: what.into(),
            source,
        }
    }
}

/// The file to edit, from the environment (`var`) and the home directory.
pub fn config_file(
    podman: bool,
    var: &dyn Fn(&str) -> Option<String>,
    home: Option<PathBuf>,
) -> Result<PathBuf, ConfigureError> {
    let no_home = |what: &str| {
        ConfigureError::Locate(format!(
            "cannot locate {what}: no home directory (set HOME)"
        ))
    };
    if podman {
        if let Some(p) = var("REGISTRY_AUTH_FILE") {
            return Ok(PathBuf::from(p));
        }
        if let Some(run) = var("XDG_RUNTIME_DIR") {
            return Ok(Path::new(&run).join("containers").join("auth.json"));
        }
        return home
            .map(|h| h.join(".config").join("containers").join("auth.json"))
            .ok_or_else(|| no_home("the containers auth file (or set REGISTRY_AUTH_FILE)"));
    }
    if let Some(dir) = var("DOCKER_CONFIG") {
        return Ok(Path::new(&dir).join("config.json"));
    }
    home.map(|h| h.join(".docker").join("config.json"))
        .ok_or_else(|| no_home("the Docker config (or set DOCKER_CONFIG)"))
}

/// Whether an executable named `name` (on Windows also `name.exe`) is in one
/// of the `path` directories.
pub fn on_path(name: &str, path: Option<OsString>) -> bool {
    find_on_path(name, path.as_ref()).is_some()
}

/// The first executable named `name` (on Windows also `name.exe`) in the
/// `path` directories. Relative directories (`.`, an empty entry) are
/// skipped: what runs must not depend on the current directory.
pub fn find_on_path(name: &str, path: Option<&OsString>) -> Option<PathBuf> {
    let names = if cfg!(windows) {
        vec![name.to_string(), format!("{name}.exe")]
    } else {
        vec![name.to_string()]
    };
    std::env::split_paths(path?)
        .filter(|dir| dir.is_absolute())
        .find_map(|dir| {
            names
                .iter()
                .map(|n| dir.join(n))
                .find(|p| match std::fs::metadata(p) {
                    #[cfg(unix)]
                    Ok(m) => {
                        use std::os::unix::fs::PermissionsExt;
                        m.is_file() && m.permissions().mode() & 0o111 != 0
                    }
                    #[cfg(not(unix))]
                    Ok(m) => m.is_file(),
                    Err(_) => false,
                })
        })
}

/// Runs `configure` as `opts` asks: edits Docker's (or Podman's) config file
/// and, for a fallback or profile rules, the helper's own config file (or
/// with `--dry-run`, shows the diffs), and reports what changed on `stdout`.
/// Both edits are planned before either file is written: a file that is
/// refused leaves both untouched.
pub fn run(
    opts: &Options,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> Result<(), ConfigureError> {
    let mut opts = opts.clone();
    let mut warnings = Vec::new();
    let mut rules = Vec::new();
    if opts.from_aws_config {
        let implied = from_aws::implied(&crate::core::profile::ProfileSet::load(settings));
        if implied.registries.is_empty() {
            warnings.push(
                "no profile of the AWS config names an account (sso_account_id or role_arn) and a region: no registry to add".to_string(),
            );
        }
        for host in implied.registries {
            if !opts.registries.contains(&host) {
                opts.registries.push(host);
            }
        }
        rules = implied.rules;
        warnings.extend(implied.warnings);
    }
    let mut edits = Vec::new();
    let mut previous_store = None;
    let for_user = HomeOwner::of(settings.home());
    if !opts.registries.is_empty() || opts.store {
        let path = config_file(
            opts.podman,
            &|name| settings.lookup(name),
            settings.home().map(Path::to_path_buf),
        )?;
        let (path, before) = read_target(path, for_user.as_ref())?;
        let plan = plan(before.as_deref(), &opts, &path)?;
        previous_store.clone_from(&plan.previous_store);
        edits.push((path, before, plan));
        match which::helper_on_path(settings) {
            which::OnPath::This(_) => {}
            found => crate::warn!("{}", found.describe()),
        }
    }
    let fallback = match (&opts.fallback, &previous_store) {
        (Some(name), _) => Some((name.as_str(), "")),
        (None, Some(name)) => Some((
            name.as_str(),
            " (the previous credsStore: its logins are still used for registries that are not ECR)",
        )),
        (None, None) => None,
    };
    if let Some((name, _)) = fallback {
        if which::fallback_on_path(name, settings).is_none() {
            warnings.push(format!(
                "the fallback helper docker-credential-{name} is not on PATH: logins for registries that are not ECR fail until it is installed"
            ));
        }
    }
    if fallback.is_some() || !rules.is_empty() {
        let path = settings
            .config_file()
            .map_err(ConfigureError::Locate)?
            .ok_or_else(|| {
                ConfigureError::Locate(format!(
                    "cannot locate the helper's config file: no home directory (set HOME or {})",
                    crate::env::CONFIG
                ))
            })?;
        let (path, before) = read_target(path, for_user.as_ref())?;
        let plan = ecr_config::plan(before.as_deref(), fallback, &rules, &path)?;
        edits.push((path, before, plan));
    }
    for w in warnings
        .iter()
        .chain(edits.iter().flat_map(|e| &e.2.warnings))
    {
        crate::warn!("{w}");
    }
    let mut report = String::new();
    for (path, before, plan) in &edits {
        report.push_str(&write::apply(
            path,
            before.as_deref(),
            plan,
            opts.dry_run,
            for_user.as_ref(),
        )?);
    }
    stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| ConfigureError::io("cannot write to stdout", e))
}

/// The file to edit (the target of a symlink: dotfile managers link them)
/// and its text (`None` when it does not exist). Root on another user's home
/// edits only that user's files ([`HomeOwner::check`]).
fn read_target(
    path: PathBuf,
    for_user: Option<&HomeOwner>,
) -> Result<(PathBuf, Option<String>), ConfigureError> {
    if let Some(user) = for_user {
        user.check(&path)?;
    }
    let path = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&path)
            .map_err(|e| ConfigureError::io(format!("cannot resolve {}", path.display()), e))?,
        _ => path,
    };
    let text = owner::read_text(&path)?;
    Ok((path, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_locations() {
        let home = Some(PathBuf::from("/home/u"));
        let none = |_: &str| None;
        assert_eq!(
            config_file(false, &none, home.clone()).unwrap(),
            Path::new("/home/u/.docker/config.json")
        );
        assert_eq!(
            config_file(true, &none, home.clone()).unwrap(),
            Path::new("/home/u/.config/containers/auth.json")
        );
        let vars = |k: &str| match k {
            "DOCKER_CONFIG" => Some("/etc/docker-cfg".to_string()),
            "XDG_RUNTIME_DIR" => Some("/run/user/1000".to_string()),
            _ => None,
        };
        assert_eq!(
            config_file(false, &vars, home.clone()).unwrap(),
            Path::new("/etc/docker-cfg/config.json")
        );
        assert_eq!(
            config_file(true, &vars, home.clone()).unwrap(),
            Path::new("/run/user/1000/containers/auth.json")
        );
        let auth_file = |k: &str| (k == "REGISTRY_AUTH_FILE").then(|| "/tmp/a.json".to_string());
        assert_eq!(
            config_file(true, &auth_file, None).unwrap(),
            Path::new("/tmp/a.json")
        );
        assert!(config_file(false, &none, None).is_err());
    }

    #[test]
    fn backup_names() {
        assert_eq!(
            backup_path(Path::new("/h/.docker/config.json")),
            Path::new("/h/.docker/config.json.bak")
        );
    }
}
