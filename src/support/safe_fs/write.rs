//! The one atomic writer: a new file (unnamed on Linux, else an exclusively
//! created temp name) written, synced, then renamed over the target, so that
//! readers see the old or the new content, never a mix, and a planted link
//! is replaced instead of followed.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

/// Temp files of writes cut short (`.tmp-*`) older than this are removed.
const STALE_TEMP: Duration = Duration::from_secs(600);

/// The permission bits and owner a replaced file gets (Unix; ignored
/// elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms {
    /// Permission bits.
    pub mode: u32,
    /// `(uid, gid)` to give the file to, when it differs from ours. Only
    /// root may give a file away: when we are root, failing to is an error;
    /// anyone else writes the file as themselves.
    pub owner: Option<(u32, u32)>,
}

/// What the cache writes: 0600, ours.
const PRIVATE: Perms = Perms {
    mode: 0o600,
    owner: None,
};

/// Replaces `dir/name` with `bytes` atomically, never through a planted
/// link: the content goes into a new 0600 file, synced, then renamed over
/// `name` (which replaces a planted link instead of following it). On Linux
/// the file is unnamed while it is written (`O_TMPFILE`), so a process killed
/// midway leaves nothing behind; it gets a temp name only between `linkat`
/// and `rename`. Elsewhere (or where the file system has no `O_TMPFILE`) it
/// is a named temp file, created exclusively. Removes temp files that earlier
/// writes, killed midway, left behind (once older than 10 minutes: another
/// process may be writing the same name).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    remove_stale_temp_files(dir, None);
    write_new(dir, OsStr::new(name), bytes, PRIVATE)
}

/// [`write_atomic`] for a caller that holds the lock of `name` (so that no
/// other process is writing it): every temp file of `name` left behind is
/// removed, whatever its age.
pub fn write_atomic_locked(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    remove_stale_temp_files(dir, Some(name));
    write_new(dir, OsStr::new(name), bytes, PRIVATE)
}

/// [`write_atomic`] of a file outside the cache (`configure`'s edit of a
/// user's Docker config, its backup): the new file gets `perms`, and no
/// other temp file in that directory (another program's) is touched.
pub fn replace_file(path: &Path, bytes: &[u8], perms: Perms) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    write_new(dir, name, bytes, perms)
}

fn write_new(dir: &Path, name: &OsStr, bytes: &[u8], perms: Perms) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    match write_unnamed(dir, name, bytes, perms) {
        Ok(()) => return Ok(()),
        // No O_TMPFILE here (an old kernel, a file system without it), or no /proc.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL | libc::ENOENT)
            ) => {}
        Err(e) => return Err(e),
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(&name.to_string_lossy()))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    set_perms(tmp.as_file(), perms)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
}

/// Gives the new `file` its owner, then its mode (a change of owner may
/// clear set-id bits). Nothing to do for [`PRIVATE`]: new files are 0600.
#[cfg(unix)]
fn set_perms(file: &File, perms: Perms) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if perms == PRIVATE {
        return Ok(());
    }
    if let Some((uid, gid)) = perms.owner {
        let now = file.metadata()?;
        if (now.uid(), now.gid()) != (uid, gid) {
            match std::os::unix::fs::fchown(file, Some(uid), Some(gid)) {
                Err(e) if now.uid() == 0 => return Err(e),
                _ => {}
            }
        }
    }
    file.set_permissions(std::fs::Permissions::from_mode(perms.mode))
}

#[cfg(not(unix))]
fn set_perms(_: &File, _: Perms) -> io::Result<()> {
    Ok(())
}

/// The prefix of `name`'s temp files.
fn temp_prefix(name: &str) -> String {
    format!(".tmp-{name}-")
}

#[cfg(target_os = "linux")]
fn write_unnamed(dir: &Path, name: &OsStr, bytes: &[u8], perms: Perms) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let mut file = OpenOptions::new()
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)?;
    file.write_all(bytes)?;
    set_perms(&file, perms)?;
    file.sync_all()?;
    let fd_path = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .map_err(io::Error::other)?;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = dir.join(format!(
            "{}{}-{nanos:x}-{n}",
            temp_prefix(&name.to_string_lossy()),
            std::process::id()
        ));
        let tmp_c = std::ffi::CString::new(tmp.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: fd_path and tmp_c are valid NUL-terminated C strings that
        // outlive the call (linkat only reads them); AT_FDCWD with absolute
        // or cwd-relative paths needs no directory descriptor.
        let linked = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                fd_path.as_ptr(),
                libc::AT_FDCWD,
                tmp_c.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if linked != 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::AlreadyExists {
                continue;
            }
            return Err(e);
        }
        return std::fs::rename(&tmp, dir.join(name)).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        });
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temp file name",
    ))
}

/// Removes the temp files of writes cut short: those of `mine` (a name whose
/// lock the caller holds) whatever their age, the others once stale.
fn remove_stale_temp_files(dir: &Path, mine: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mine = mine.map(temp_prefix);
    for e in entries.flatten() {
        let file_name = e.file_name();
        let file_name = file_name.to_string_lossy();
        if !file_name.starts_with(".tmp-") {
            continue;
        }
        // DirEntry::metadata does not follow links; remove_file unlinks the
        // name only.
        let old = mine
            .as_ref()
            .is_some_and(|p| file_name.starts_with(p.as_str()))
            || e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
