//! Writing an edited config file: atomically (`safe_fs::replace_file`: a new
//! file in the same directory, renamed over the target), keeping the target's mode and owner,
//! with the previous content saved as `<file>.bak`; or, for a dry run, the
//! diff instead.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::support::safe_fs;

use super::{diff, ConfigureError, HomeOwner, Plan};

/// Writes `plan` to `path` (or with `dry_run`, shows its diff); the report.
/// With `for_user` (root on another user's home), new directories and files
/// are given to that user.
pub fn apply(
    path: &Path,
    before: Option<&str>,
    plan: &Plan,
    dry_run: bool,
    for_user: Option<&HomeOwner>,
) -> Result<String, ConfigureError> {
    let shown = path.display().to_string();
    let mut report = String::new();
    if !plan.changed {
        report.push_str(&format!("no change: {shown} is already configured\n"));
    } else if dry_run {
        let old_label = if before.is_some() {
            shown.as_str()
        } else {
            "/dev/null"
        };
        report.push_str(&diff::unified_diff(
            before.unwrap_or_default(),
            &plan.after,
            old_label,
            &shown,
        ));
        report.push_str(&format!("dry run: {shown} was not changed\n"));
    } else {
        // Root editing a user's file (sudo, a provisioning script) leaves it,
        // and its backup, owned by the user: the file's owner, or for a new
        // file the owner of the home root acts for, else of its directory.
        let user = for_user
            .filter(|u| path.starts_with(&u.home))
            .map(|u| (u.uid, u.gid));
        let owner = owner_of(path)
            .or(user)
            .or_else(|| path.parent().and_then(owner_of));
        match before {
            Some(old) => {
                let backup = backup_path(path);
                write_atomically(&backup, old.as_bytes(), 0o600, owner.as_ref()).map_err(|e| {
                    ConfigureError::io(format!("cannot write the backup {}", backup.display()), e)
                })?;
                report.push_str(&format!(
                    "updated {shown} (previous content saved as {})\n",
                    backup.display()
                ));
            }
            None => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    create_private_dir(dir, user).map_err(|e| {
                        ConfigureError::io(format!("cannot create {}", dir.display()), e)
                    })?;
                }
                report.push_str(&format!("created {shown}\n"));
            }
        }
        let mode = existing_mode(path).unwrap_or(0o600);
        write_atomically(path, plan.after.as_bytes(), mode, owner.as_ref())
            .map_err(|e| ConfigureError::io(format!("cannot write {shown}"), e))?;
        for c in &plan.changes {
            report.push_str(&format!("  {c}\n"));
        }
    }
    Ok(report)
}

/// `config.json` → `config.json.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(".bak");
    path.with_file_name(name)
}

/// Makes `dir` and its missing parents (0700), each given to `owner` when set.
fn create_private_dir(dir: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err())
        .collect();
    for d in missing.into_iter().rev() {
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(d) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        #[cfg(unix)]
        if let Some((uid, gid)) = owner {
            // lchown: a link put there since is not followed.
            std::os::unix::fs::lchown(d, Some(uid), Some(gid))?;
        }
    }
    #[cfg(not(unix))]
    let _ = owner;
    Ok(())
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

/// Writes `content` over `path` atomically with `mode` and (when it differs
/// from ours and we may) `owner`: [`safe_fs::replace_file`], the writer the
/// cache uses.
fn write_atomically(
    path: &Path,
    content: &[u8],
    mode: u32,
    owner: Option<&(u32, u32)>,
) -> std::io::Result<()> {
    let perms = safe_fs::Perms {
        mode,
        owner: owner.copied(),
    };
    safe_fs::replace_file(path, content, perms)
}
