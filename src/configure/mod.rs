//! `configure`: points Docker (or Podman) at this helper by editing its JSON
//! config file.
//!
//! - `--registry HOST` (repeatable) adds `"credHelpers": {"HOST": "ecr-login"}`;
//! - `--store` sets `"credsStore": "ecr-login"` (Docker only);
//! - `--podman` edits the containers auth file instead of Docker's config;
//! - `--dry-run` prints a unified diff of the change ([`diff`]) and writes nothing.
//!
//! The text itself is edited by [`plan`]; this module finds the file and
//! writes it.
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

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::settings::Settings;

pub mod diff;
pub mod plan;

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
    #[error("{0}")]
    Io(String),
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

/// Runs `configure` with `args` (after the command name); reports on `stdout`.
/// Edits the file `opts` names (or with `--dry-run`, shows the diff) and
/// reports what changed on `stdout`.
pub fn run(
    opts: &Options,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> Result<(), ConfigureError> {
    let path = config_file(
        opts.podman,
        &|name| settings.lookup(name),
        settings.home().map(Path::to_path_buf),
    )?;
    // Edit the target of a symlink (dotfile managers), not the link.
    let path = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&path)
            .map_err(|e| ConfigureError::Io(format!("cannot resolve {}: {e}", path.display())))?,
        _ => path,
    };
    let before = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(ConfigureError::Io(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let plan = plan(before.as_deref(), opts, &path)?;
    if !on_path(crate::BIN, settings.path_var().cloned()) {
        crate::warn!(
            "no executable named {} on PATH: {} runs the helper by that name, so install it in a PATH directory",
            crate::BIN,
            if opts.podman { "Podman" } else { "Docker" }
        );
    }
    for w in &plan.warnings {
        crate::warn!("{w}");
    }
    let shown = path.display().to_string();
    let mut report = String::new();
    if !plan.changed {
        report.push_str(&format!("no change: {shown} is already configured\n"));
    } else if opts.dry_run {
        let old_label = if before.is_some() {
            shown.as_str()
        } else {
            "/dev/null"
        };
        report.push_str(&diff::unified_diff(
            before.as_deref().unwrap_or_default(),
            &plan.after,
            old_label,
            &shown,
        ));
        report.push_str(&format!("dry run: {shown} was not changed\n"));
    } else {
        // Root editing a user's file (sudo, a provisioning script) leaves it,
        // and its backup, owned by the user: the file's owner, or for a new
        // file the owner of its directory.
        let owner = owner_of(&path).or_else(|| path.parent().and_then(owner_of));
        match &before {
            Some(old) => {
                let backup = backup_path(&path);
                write_atomically(&backup, old.as_bytes(), 0o600, owner.as_ref()).map_err(|e| {
                    ConfigureError::Io(format!("cannot write the backup {}: {e}", backup.display()))
                })?;
                report.push_str(&format!(
                    "updated {shown} (previous content saved as {})\n",
                    backup.display()
                ));
            }
            None => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    create_private_dir(dir).map_err(|e| {
                        ConfigureError::Io(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                report.push_str(&format!("created {shown}\n"));
            }
        }
        let mode = existing_mode(&path).unwrap_or(0o600);
        write_atomically(&path, plan.after.as_bytes(), mode, owner.as_ref())
            .map_err(|e| ConfigureError::Io(format!("cannot write {shown}: {e}")))?;
        for c in &plan.changes {
            report.push_str(&format!("  {c}\n"));
        }
    }
    stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| ConfigureError::Io(format!("cannot write to stdout: {e}")))
}

/// `config.json` → `config.json.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(".bak");
    path.with_file_name(name)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// The owner and group of `path`, if it exists (Unix).
#[cfg(unix)]
fn owner_of(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.uid(), m.gid()))
}

#[cfg(not(unix))]
fn owner_of(_: &Path) -> Option<(u32, u32)> {
    None
}

#[cfg(unix)]
fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn existing_mode(_: &Path) -> Option<u32> {
    None
}

/// Writes `content` to a temp file next to `path` with `mode` (and, when it
/// differs from ours and we may, `owner`), then renames it over `path`:
/// readers see the old or the new content, never a mix.
fn write_atomically(
    path: &Path,
    content: &[u8],
    mode: u32,
    owner: Option<&(u32, u32)>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ecr-login-configure-")
        .tempfile_in(dir)?;
    tmp.write_all(content)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        use std::os::unix::fs::PermissionsExt;
        let file = tmp.as_file();
        if let Some(&(uid, gid)) = owner {
            let now = file.metadata()?;
            if (now.uid(), now.gid()) != (uid, gid) {
                // Only root may give a file away; anyone else writes it as
                // themselves, as before.
                match std::os::unix::fs::fchown(file, Some(uid), Some(gid)) {
                    Err(e) if now.uid() == 0 => return Err(e),
                    _ => {}
                }
            }
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (mode, owner);
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
