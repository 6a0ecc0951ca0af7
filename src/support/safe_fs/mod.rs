//! Files in a tree another local user might reach, opened the way ssh and pip
//! open theirs.
//!
//! Another user must not choose what the helper reads nor where it writes.
//! So a directory is trusted only if it is a real directory (not a symbolic
//! link) owned by the effective user and not writable by group or others, and
//! a file is opened with `O_NOFOLLOW | O_NONBLOCK` (a planted symbolic link
//! fails, a planted FIFO cannot block) and then checked with `fstat`: a
//! regular file owned by the effective user, not writable by group or others.
//! What fails is an [`Untrusted`], carried inside an [`std::io::Error`]; the
//! caller warns once ([`warn_once`]) and carries on without it. Nothing here
//! changes the mode or owner of anything that already exists; new directories
//! are 0700, new files 0600, and [`write_atomic`] is the one way to replace a
//! file (an unnamed or temp file, then rename); [`replace_file`] is the same
//! writer for a file outside the cache, with the mode and owner it had.
//!
//! Files the helper obeys rather than caches (its config file) are read by
//! [`read_obeyed`]: the same rule with root accepted as an owner, and the
//! caller refuses (stops) instead of carrying on.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

mod obeyed;
mod write;
pub use obeyed::read_obeyed;
pub use write::{replace_file, write_atomic, write_atomic_locked, Perms};

/// Why a path is not trusted, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted {
    /// The path.
    pub path: PathBuf,
    /// What is wrong with it.
    pub why: Why,
}

/// What is wrong with an untrusted path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Why {
    /// A symbolic link where a file or directory of our own belongs.
    Symlink,
    /// A FIFO, socket, device or directory where a regular file belongs.
    NotRegular(&'static str),
    /// Owned by another user.
    Owner {
        /// Its owner.
        owner: u32,
        /// The effective user id of this process.
        me: u32,
    },
    /// Writable by group or others.
    Writable {
        /// Its mode.
        mode: u32,
    },
    /// The directory holding it lets anyone replace it (world-writable, not sticky).
    ParentReplaceable {
        /// The parent.
        parent: PathBuf,
        /// The parent's mode.
        mode: u32,
    },
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.path.display();
        match &self.why {
            Why::Symlink => write!(
                f,
                "{p} is a symbolic link, which another user may have planted; not following it. Fix: rm {p}"
            ),
            Why::NotRegular(kind) => write!(
                f,
                "{p} is a {kind}, not a regular file; ignoring it. Fix: rm -r {p}"
            ),
            Why::Owner { owner, me } => write!(
                f,
                "{p} belongs to uid {owner}, not to you (uid {me}), so another user may have planted it; ignoring it. Fix: remove it, `chown {me} {p}`, or set AWS_ECR_CACHE_DIR to a directory of your own"
            ),
            Why::Writable { mode } if mode & 0o1000 != 0 => write!(
                f,
                "{p} is a shared directory (mode {mode:04o}) that other users can write to; not using it as a cache. Fix: set AWS_ECR_CACHE_DIR to a directory inside it that only you can write, e.g. {p}/ecr-$(id -u)"
            ),
            Why::Writable { mode } => write!(
                f,
                "{p} is writable by other users (mode {mode:04o}); ignoring it. Fix: `chmod go-w {p}` if its content is yours, or remove it"
            ),
            Why::ParentReplaceable { parent, mode } => write!(
                f,
                "{p} sits in {} (mode {mode:04o}), where any user can replace it; not using it as a cache. Fix: `chmod +t {}` or `chmod o-w {}`, or set AWS_ECR_CACHE_DIR elsewhere",
                parent.display(),
                parent.display(),
                parent.display()
            ),
        }
    }
}

impl std::error::Error for Untrusted {}

impl Untrusted {
    fn error(path: &Path, why: Why) -> io::Error {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            Untrusted {
                path: path.to_path_buf(),
                why,
            },
        )
    }
}

/// The [`Untrusted`] inside `e`, if that is why it failed.
pub fn untrusted(e: &io::Error) -> Option<&Untrusted> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Untrusted>())
}

/// Warns about `u` on stderr, once per path and process.
pub fn warn_once(u: &Untrusted) {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static WARNED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    let first = WARNED
        .get_or_init(Default::default)
        .lock()
        .map(|mut set| set.insert(u.path.clone()))
        .unwrap_or(true);
    if first {
        crate::warn!("{u}");
    } else {
        crate::debug!("{u}");
    }
}

/// The effective user id.
#[cfg(unix)]
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(unix)]
fn check_meta(path: &Path, meta: &std::fs::Metadata, dir: bool) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(Untrusted::error(path, Why::Symlink));
    }
    if dir && !kind.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a directory", path.display()),
        ));
    }
    if !dir && !kind.is_file() {
        return Err(Untrusted::error(path, Why::NotRegular(kind_name(meta))));
    }
    let me = euid();
    if meta.uid() != me {
        return Err(Untrusted::error(
            path,
            Why::Owner {
                owner: meta.uid(),
                me,
            },
        ));
    }
    let writable =
        meta.mode() & 0o002 != 0 || (meta.mode() & 0o020 != 0 && !is_private_group(meta.gid()));
    if writable {
        return Err(Untrusted::error(
            path,
            Why::Writable {
                mode: meta.mode() & 0o7777,
            },
        ));
    }
    Ok(())
}

/// Whether `gid` is the user's private group (the user-private-group scheme
/// of Debian, Ubuntu and Fedora, whose umask 002 makes `mkdir ~/.ecr` 0775):
/// the same number as the user and the primary group. Group write there is
/// accepted, as Debian's ssh accepts it.
#[cfg(unix)]
fn is_private_group(gid: u32) -> bool {
    // SAFETY: getegid has no preconditions and cannot fail.
    gid == euid() && gid == unsafe { libc::getegid() }
}

#[cfg(unix)]
fn kind_name(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() || t.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

/// Checks the directory `path` without following a symbolic link: ours, not
/// writable by group or others. A missing directory is `NotFound`.
#[cfg(unix)]
pub fn check_dir(path: &Path) -> io::Result<()> {
    check_meta(path, &std::fs::symlink_metadata(path)?, true)
}

/// Checks the root of a tree: like [`check_dir`], except that the root may be
/// a symbolic link that we or root own (`~/.ecr -> /data/ecr`), and that the
/// directory holding it must not let every user replace it (world-writable
/// without the sticky bit, unlike `/tmp`).
#[cfg(unix)]
pub fn check_root(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // The parent first: a root that does not exist yet must not be made there.
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        if let Ok(m) = std::fs::metadata(parent) {
            if m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0 {
                return Err(Untrusted::error(
                    path,
                    Why::ParentReplaceable {
                        parent: parent.to_path_buf(),
                        mode: m.mode() & 0o7777,
                    },
                ));
            }
        }
    }
    let link = std::fs::symlink_metadata(path)?;
    if link.file_type().is_symlink() && link.uid() != euid() && link.uid() != 0 {
        return Err(Untrusted::error(
            path,
            Why::Owner {
                owner: link.uid(),
                me: euid(),
            },
        ));
    }
    check_meta(path, &std::fs::metadata(path)?, true)
}

/// Makes the directory `path` (0700; its parent must exist) unless it exists,
/// then checks it. Never changes an existing directory.
#[cfg(unix)]
pub fn ensure_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match check_dir(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    check_dir(path)
}

#[cfg(unix)]
fn open_checked(path: &Path, opts: &mut OpenOptions, trusted: bool) -> io::Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    let file = match opts.open(path) {
        Ok(f) => f,
        // ELOOP (EMLINK on the BSDs), or EACCES where the kernel protects
        // links in sticky directories: say that it is a link.
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            return Err(if link {
                Untrusted::error(path, Why::Symlink)
            } else {
                e
            });
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if trusted {
        check_meta(path, &meta, false)?;
    } else if !meta.file_type().is_file() {
        return Err(Untrusted::error(path, Why::NotRegular(kind_name(&meta))));
    } else if meta.uid() != euid() {
        return Err(Untrusted::error(
            path,
            Why::Owner {
                owner: meta.uid(),
                me: euid(),
            },
        ));
    }
    Ok(file)
}

/// Opens `path` for reading as trusted content: no symbolic link, no FIFO,
/// ours, not writable by group or others.
#[cfg(unix)]
pub fn open_read(path: &Path) -> io::Result<File> {
    open_checked(path, OpenOptions::new().read(true), true)
}

/// Opens (creating, 0600) the lock file `path`, with the checks of [`open_read`].
#[cfg(unix)]
pub fn open_lock(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    open_checked(
        path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600),
        true,
    )
}

/// Opens (creating, 0600) `path` for appending, as for a log file: no symbolic
/// link, no FIFO, ours (its mode is the owner's business: it is never read).
#[cfg(unix)]
pub fn open_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    open_checked(
        path,
        OpenOptions::new().create(true).append(true).mode(0o600),
        false,
    )
}

/// Makes sure file descriptors 0, 1 and 2 are open (on `/dev/null` if they
/// were closed), so that no file opened later takes their number and receives
/// the protocol answer or diagnostics meant for stdout or stderr.
#[cfg(unix)]
pub fn ensure_std_fds() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD on any integer is harmless; it fails with EBADF when closed.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if closed {
            // SAFETY: a NUL-terminated literal; open returns the lowest free
            // descriptor, which is `fd` since the lower ones are open. The
            // descriptor is meant to stay open for the life of the process.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

#[cfg(not(unix))]
mod portable {
    //! Elsewhere (Windows) the user's profile directory is private by default;
    //! files are opened plainly.
    use super::*;
    pub fn check_dir(path: &Path) -> io::Result<()> {
        let m = std::fs::symlink_metadata(path)?;
        if m.file_type().is_symlink() {
            return Err(Untrusted::error(path, Why::Symlink));
        }
        if !m.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a directory", path.display()),
            ));
        }
        Ok(())
    }
    pub fn check_root(path: &Path) -> io::Result<()> {
        if std::fs::metadata(path)?.is_dir() {
            Ok(())
        } else {
            check_dir(path)
        }
    }
    pub fn ensure_dir(path: &Path) -> io::Result<()> {
        match std::fs::create_dir(path) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
            _ => check_dir(path),
        }
    }
    pub fn open_read(path: &Path) -> io::Result<File> {
        File::open(path)
    }
    pub fn open_lock(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    }
    pub fn open_append(path: &Path) -> io::Result<File> {
        OpenOptions::new().create(true).append(true).open(path)
    }
    pub fn ensure_std_fds() {}
}
#[cfg(not(unix))]
pub use portable::*;

/// Opens `path` for reading without blocking on it: a regular file, links
/// followed. For files that other programs keep and whose owner and mode are
/// theirs (the AWS CLI's caches, token files a platform mounts): a FIFO or
/// device there is an [`Untrusted`] (`NotRegular`) instead of a read that
/// stalls the helper past its deadline.
#[cfg(unix)]
pub fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(Untrusted::error(path, Why::NotRegular(kind_name(&meta))));
    }
    Ok(file)
}

/// Elsewhere, [`File::open`] and a check that it is a file.
#[cfg(not(unix))]
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(Untrusted::error(path, Why::NotRegular("special file")));
    }
    Ok(file)
}

/// The content of [`open_regular`]`(path)`, at most `max` bytes (more is an
/// error, never a silent cut).
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_regular(path)?.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is larger than {max} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

/// Why [`read_regular`] failed, without repeating the path: `a FIFO, not a
/// regular file`, or the system's words.
pub fn why_unreadable(e: &io::Error) -> String {
    match untrusted(e).map(|u| &u.why) {
        Some(Why::NotRegular(kind)) => format!("a {kind}, not a regular file"),
        _ => e.to_string(),
    }
}

#[cfg(all(test, unix))]
mod tests;
