//! Files the helper obeys (its config file, `~/.ecr/config.toml`): read under
//! the cache's rule, with root accepted as an owner besides the user, as
//! OpenSSH accepts it for `~/.ssh/config`.
//!
//! The file is opened without following a symbolic link and without
//! blocking, then checked with `fstat`: a regular file owned by the effective
//! user or root, not writable by group or others (group write only for the
//! user's private group). Its directory passes the same test (it may be a
//! symbolic link that the user or root owns, as a cache root may, and the
//! directory it points to is checked), and the directory holding that one
//! must not let every user replace it (world-writable without the sticky
//! bit). A missing file is `Ok(None)`: there is nothing to obey.

use std::io::{self, Read};
use std::path::Path;

#[cfg(unix)]
use super::{euid, kind_name, Untrusted, Why};

/// The text of the file `path` (at most `max` bytes), or `None` when it does
/// not exist. An [`Untrusted`] error names what failed: the file or a
/// directory.
#[cfg(unix)]
pub fn read_obeyed(path: &Path, max: u64) -> io::Result<Option<String>> {
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(Untrusted::error(path, Why::Symlink));
            }
            // Say which directory is wrong, when one is (EACCES on a
            // foreign 0700 directory, say).
            check_obeyed_dir(path)?;
            return Err(e);
        }
    };
    check_obeyed(path, &file.metadata()?, false)?;
    check_obeyed_dir(path)?;
    read_capped(file, path, max).map(Some)
}

/// The directory of `path` and the one holding it, as [`read_obeyed`] says.
#[cfg(unix)]
fn check_obeyed_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let link = std::fs::symlink_metadata(dir)?;
    if link.file_type().is_symlink() && link.uid() != euid() && link.uid() != 0 {
        return Err(Untrusted::error(
            dir,
            Why::Owner {
                owner: link.uid(),
                me: euid(),
            },
        ));
    }
    check_obeyed(dir, &std::fs::metadata(dir)?, true)?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        let m = std::fs::metadata(parent)?;
        if m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0 {
            return Err(Untrusted::error(
                dir,
                Why::ParentReplaceable {
                    parent: parent.to_path_buf(),
                    mode: m.mode() & 0o7777,
                },
            ));
        }
    }
    Ok(())
}

/// The test of [`super::check_meta`], with root accepted as the owner.
#[cfg(unix)]
fn check_obeyed(path: &Path, meta: &std::fs::Metadata, dir: bool) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if dir && !meta.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory",
            path.display()
        )));
    }
    if !dir && !meta.is_file() {
        return Err(Untrusted::error(path, Why::NotRegular(kind_name(meta))));
    }
    let me = euid();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(Untrusted::error(
            path,
            Why::Owner {
                owner: meta.uid(),
                me,
            },
        ));
    }
    let private = meta.uid() == me && super::is_private_group(meta.gid());
    if meta.mode() & 0o002 != 0 || (meta.mode() & 0o020 != 0 && !private) {
        return Err(Untrusted::error(
            path,
            Why::Writable {
                mode: meta.mode() & 0o7777,
            },
        ));
    }
    Ok(())
}

/// Elsewhere (Windows) the profile directory is private by default: a
/// plain, bounded read.
#[cfg(not(unix))]
pub fn read_obeyed(path: &Path, max: u64) -> io::Result<Option<String>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    read_capped(file, path, max).map(Some)
}

/// The text of `file` (read from `path`), at most `max` bytes: more is an
/// error, never a silent cut.
fn read_capped(file: std::fs::File, path: &Path, max: u64) -> io::Result<String> {
    let mut text = String::new();
    file.take(max + 1).read_to_string(&mut text)?;
    if text.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is larger than {max} bytes", path.display()),
        ));
    }
    Ok(text)
}
