//! The on-disk token cache.
//!
//! Layout: `<dir>/v1/<identity fingerprint, 16 hex>/<token key>.json`, one
//! small JSON file per (identity, token key), written atomically (temp file +
//! rename in the same directory). The key is what one token serves
//! ([`crate::core::registry::Registry::cache_key`]: partition, region and endpoint
//! variant, `dkr.ecr.us-east-1.amazonaws.com`); entries written before that,
//! named by a registry host, are still read for their key ([`known`]). Beside each entry, `<host>.lock` serialises
//! refreshes across processes so that N processes missing at once make one
//! API call. One file per entry means writers of different registries never
//! touch the same file, so no update can be lost.
//!
//! MFA sessions live beside it in `<dir>/mfa/` ([`crate::mfa`]).
//!
//! New directories are 0700 and files 0600. The cache trusts only what
//! another local user cannot have planted: the root and every directory
//! below it must be ours and not writable by group or others, every file is
//! opened without following links and must be a regular file of ours (see
//! [`crate::support::safe_fs`]). Anything else is reported once and skipped: the
//! helper fetches a fresh token. Into a directory that fails the rule it
//! writes nothing; a file that fails it in a directory that passes (an entry
//! of ours left 0666, a link, a FIFO) is never read and is replaced by the
//! next write of that entry (a new 0600 file renamed over the name: the old
//! one is neither followed nor changed). The directory is ours and only we
//! can write to it, so its names are ours to replace. An unreadable,
//! corrupt, foreign-version or implausible entry (a lifetime over 12 hours, a
//! request time in the future) reads as absent and is rewritten on the next
//! refresh (a corrupt one is reported on stderr when it is replaced). Beside
//! an entry, `<host>.failure` remembers a failed refresh for a bounded
//! backoff ([`Failure`]).

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

mod entry;
mod failure;
mod known;
mod stored;

use entry::MAX_ENTRY_BYTES;
pub use entry::{parse_entry, CacheEntry, FORMAT_VERSION, MAX_LIFETIME, MAX_TIMESTAMP};
pub use failure::{Failure, FIRST_BACKOFF, MAX_BACKOFF};
pub use stored::{password_expiry, STORED_IDENTITY};

use crate::core::identity::Identity;
use crate::support::safe_fs;

/// Cache failures. None of them fails a `get`; they are reported as warnings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The cache directory could not be created or used.
    #[error("cannot use cache directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing an entry failed (disk full, rename refused, …).
    #[error("cannot write cache entry {path}: {source}")]
    Write {
        /// The entry.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Part of the cache is not trusted (another user's, writable by others,
    /// a link); already reported once by [`safe_fs::warn_once`].
    #[error("{0}")]
    Untrusted(safe_fs::Untrusted),
    /// Another process held the refresh lock for too long.
    #[error("waited {waited:?} for another docker-credential-ecr-login refreshing {path}; raise AWS_ECR_LOCK_TIMEOUT (seconds) if refreshes are slow here")]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
}

/// The token cache rooted at a directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// An exclusive refresh lock on one (identity, registry) entry; released on drop.
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
    dir: PathBuf,
    host: String,
}

/// What [`Cache::clear`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Cached registry tokens.
    pub tokens: usize,
    /// Kept MFA sessions.
    pub mfa_sessions: usize,
}

/// The subdirectory of the versioned entries.
const VERSIONED: &str = "v1";
/// The subdirectory of MFA sessions.
pub(crate) const MFA_DIR: &str = "mfa";

impl Cache {
    /// The cache configured by the environment: `AWS_ECR_CACHE_DIR`, else
    /// `~/.ecr`; `None` when `AWS_ECR_DISABLE_CACHE` is set or there is no home.
    pub fn from_settings(settings: &crate::settings::Settings) -> Option<Cache> {
        settings.cache_dir().map(Cache::new)
    }

    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { root: dir.into() }
    }

    /// The configured directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The trusted directory `root/sub/...`: every level checked (and, with
    /// `create`, made when missing). `Ok(None)`: a level is missing.
    /// An untrusted level is reported once and is an error.
    fn trusted_dir(&self, sub: &[&str], create: bool) -> Result<Option<PathBuf>, CacheError> {
        let mut path = self.root.clone();
        match safe_fs::check_root(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !create {
                    return Ok(None);
                }
                create_root(&path).map_err(|e| fail(&path, e))?;
                safe_fs::check_root(&path).map_err(|e| fail(&path, e))?;
            }
            other => other.map_err(|e| fail(&path, e))?,
        }
        for s in sub {
            path.push(s);
            let checked = if create {
                safe_fs::ensure_dir(&path)
            } else {
                safe_fs::check_dir(&path)
            };
            match checked {
                Ok(()) => {}
                Err(e) if !create && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(fail(&path, e)),
            }
        }
        Ok(Some(path))
    }

    /// The content of the trusted file `root/sub/.../name` (at most 64 KiB and
    /// one byte), if there is one.
    pub(crate) fn read_private(&self, sub: &[&str], name: &str) -> Option<Vec<u8>> {
        let dir = self.trusted_dir(sub, false).ok()??;
        read_file(&dir.join(name))
    }

    /// Replaces `root/sub/.../name` atomically with `bytes`, making the
    /// directories when missing.
    pub(crate) fn write_private(
        &self,
        sub: &[&str],
        name: &str,
        bytes: &[u8],
    ) -> Result<(), CacheError> {
        let dir = self.dir_or_err(sub)?;
        safe_fs::write_atomic(&dir, name, bytes).map_err(|source| CacheError::Write {
            path: dir.join(name),
            source,
        })
    }

    /// Opens (creating) the lock file `root/sub/.../name`, unlocked.
    pub(crate) fn open_lock_file(
        &self,
        sub: &[&str],
        name: &str,
    ) -> Result<(File, PathBuf), CacheError> {
        let dir = self.dir_or_err(sub)?;
        let path = dir.join(name);
        let file = safe_fs::open_lock(&path).map_err(|e| fail(&path, e))?;
        Ok((file, dir))
    }

    fn dir_or_err(&self, sub: &[&str]) -> Result<PathBuf, CacheError> {
        self.trusted_dir(sub, true)?.ok_or_else(|| CacheError::Dir {
            path: self.root.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "vanished"),
        })
    }

    /// The entry for `host` (a token key) as `identity`, if a valid one is
    /// on disk; for a key, else the longest-lived entry of a registry of that
    /// key written by an earlier version (one file per registry host).
    pub fn get(&self, identity: &Identity, host: &str) -> Option<CacheEntry> {
        let dir = self
            .trusted_dir(&[VERSIONED, identity.short()], false)
            .ok()??;
        let Some(entry) = read_entry(&dir, host) else {
            return known::legacy_entry(&dir, identity, host);
        };
        if entry.identity != identity.fingerprint {
            crate::debug!(
                "cache entry {} belongs to someone else; ignoring it",
                dir.join(host).display()
            );
            return None;
        }
        Some(entry)
    }

    /// Every valid entry of `identity`.
    pub fn entries(&self, identity: &Identity) -> Vec<CacheEntry> {
        let mut out: Vec<CacheEntry> = self
            .trusted_dir(&[VERSIONED, identity.short()], false)
            .ok()
            .flatten()
            .map(|dir| entries_in(&dir))
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.identity == identity.fingerprint)
            .collect();
        out.sort_by(|a, b| a.registry.cmp(&b.registry));
        out
    }

    /// Every valid entry of every identity (for `cache show`).
    pub fn all_entries(&self) -> Vec<CacheEntry> {
        let mut out = Vec::new();
        let Ok(Some(versioned)) = self.trusted_dir(&[VERSIONED], false) else {
            return out;
        };
        for d in fs::read_dir(versioned).into_iter().flatten().flatten() {
            let name = d.file_name().to_string_lossy().into_owned();
            let is_fingerprint = name.len() == 16
                && name
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !is_fingerprint {
                continue;
            }
            if let Ok(Some(dir)) = self.trusted_dir(&[VERSIONED, &name], false) {
                out.extend(
                    entries_in(&dir)
                        .into_iter()
                        .filter(|e| e.identity.starts_with(&name)),
                );
            }
        }
        out.sort_by(|a, b| (&a.identity, &a.registry).cmp(&(&b.identity, &b.registry)));
        out
    }

    /// Takes the refresh lock of (identity, host), waiting up to `timeout`.
    pub fn lock(
        &self,
        identity: &Identity,
        host: &str,
        timeout: Duration,
    ) -> Result<CacheLock, CacheError> {
        let (mut file, dir) =
            self.open_lock_file(&[VERSIONED, identity.short()], &format!("{host}.lock"))?;
        let start = Instant::now();
        let mut announced = false;
        loop {
            file = match take_lock(file, dir.clone(), host)? {
                Ok(lock) => return Ok(lock),
                Err(file) => file,
            };
            if start.elapsed() >= timeout {
                return Err(CacheError::LockTimeout {
                    path: dir.join(format!("{host}.lock")),
                    waited: start.elapsed(),
                });
            }
            if !announced {
                crate::debug!("another process is refreshing {host}; waiting for it");
                announced = true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Takes the refresh lock of (identity, host) if no other process holds
    /// it; `Ok(None)` when one does.
    pub fn try_lock(
        &self,
        identity: &Identity,
        host: &str,
    ) -> Result<Option<CacheLock>, CacheError> {
        let (file, dir) =
            self.open_lock_file(&[VERSIONED, identity.short()], &format!("{host}.lock"))?;
        Ok(take_lock(file, dir, host)?.ok())
    }

    /// Writes `entry` atomically. Takes the lock so it cannot run unlocked.
    pub fn put(&self, lock: &CacheLock, entry: &CacheEntry) -> Result<(), CacheError> {
        let name = format!("{}.json", lock.host);
        let err = |source| CacheError::Write {
            path: lock.dir.join(&name),
            source,
        };
        let body = serde_json::to_vec_pretty(entry).map_err(|e| err(e.into()))?;
        safe_fs::write_atomic_locked(&lock.dir, &name, &body).map_err(err)?;
        let path = lock.dir.join(&name);
        if let Some(why) = corrupt().lock().ok().and_then(|mut m| m.remove(&path)) {
            crate::warn!(
                "cache entry {} {why}; replaced it with the new token",
                path.display()
            );
        }
        Ok(())
    }

    /// Removes every entry, lock and kept MFA session. Refuses a cache root
    /// that is not trusted (it may be someone else's).
    pub fn clear(&self) -> Result<Cleared, CacheError> {
        if self.trusted_dir(&[], false)?.is_none() {
            return Ok(Cleared::default());
        }
        let cleared = Cleared {
            tokens: self.all_entries().len(),
            mfa_sessions: self
                .trusted_dir(&[MFA_DIR], false)
                .ok()
                .flatten()
                .map(|d| json_names(&d).len())
                .unwrap_or(0),
        };
        for sub in [VERSIONED, MFA_DIR] {
            let path = self.root.join(sub);
            match fs::remove_dir_all(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(CacheError::Dir { path, source }),
            }
        }
        Ok(cleared)
    }
}

/// Locks the open lock file `file` of `host` in `dir` without waiting: the
/// lock, or the file back when another process holds it.
fn take_lock(file: File, dir: PathBuf, host: &str) -> Result<Result<CacheLock, File>, CacheError> {
    match file.try_lock() {
        Ok(()) => Ok(Ok(CacheLock {
            _file: file,
            dir,
            host: host.to_string(),
        })),
        Err(fs::TryLockError::WouldBlock) => Ok(Err(file)),
        Err(fs::TryLockError::Error(source)) => Err(CacheError::Dir {
            path: dir.join(format!("{host}.lock")),
            source,
        }),
    }
}

/// Reports an untrusted path once; anything else becomes [`CacheError::Dir`].
fn fail(path: &Path, e: std::io::Error) -> CacheError {
    match safe_fs::untrusted(&e) {
        Some(u) => {
            safe_fs::warn_once(u);
            CacheError::Untrusted(u.clone())
        }
        None => CacheError::Dir {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// The stems of the `*.json` files in `dir` (temp files excluded).
fn json_names(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".json")?;
            (!stem.is_empty() && !stem.starts_with('.')).then(|| stem.to_string())
        })
        .collect()
}

/// The entries of one identity directory, each named after a token key or
/// (written by an earlier version) a valid registry host: the registry comes
/// from the file name, never from the content.
fn entries_in(dir: &Path) -> Vec<CacheEntry> {
    json_names(dir)
        .into_iter()
        .filter(|stem| {
            crate::core::registry::Registry::is_cache_key(stem)
                || crate::core::registry::Registry::parse(stem)
                    .is_ok_and(|r| r.host() == stem.as_str())
        })
        .filter_map(|stem| read_entry(dir, &stem))
        .collect()
}

/// Reads `dir/<host>.json`: a trusted file holding a valid entry for `host`.
fn read_entry(dir: &Path, host: &str) -> Option<CacheEntry> {
    let path = dir.join(format!("{host}.json"));
    let bytes = read_file(&path)?;
    let why = match parse_entry(&bytes) {
        Ok(entry) if entry.registry != host => "names another registry",
        Ok(entry) => match entry.implausible(SystemTime::now()) {
            None => return Some(entry),
            Some(why) => why,
        },
        Err(why) => why,
    };
    crate::debug!("cache entry {} {why}; ignoring it", path.display());
    if why != "has another format version" {
        if let Ok(mut m) = corrupt().lock() {
            m.insert(path, why);
        }
    }
    None
}

/// Entries found corrupt by this process, and why: reported once, when
/// [`Cache::put`] replaces them.
fn corrupt() -> &'static std::sync::Mutex<std::collections::HashMap<PathBuf, &'static str>> {
    static CORRUPT: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<PathBuf, &'static str>>,
    > = std::sync::OnceLock::new();
    CORRUPT.get_or_init(Default::default)
}

/// The content of the trusted file `path`; `None` when it is missing or not
/// trusted (reported once) or unreadable.
fn read_file(path: &Path) -> Option<Vec<u8>> {
    let file = match safe_fs::open_read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            match safe_fs::untrusted(&e) {
                Some(u) => safe_fs::warn_once(u),
                None => crate::debug!("cannot read {}: {e}", path.display()),
            }
            return None;
        }
    };
    // Sized from the file (capped), so an entry is read in one call and the
    // end found in a second, not in a growing series of small reads.
    let size = file.metadata().map_or(0, |m| m.len()).min(MAX_ENTRY_BYTES);
    let mut bytes = Vec::with_capacity(size as usize + 1);
    if let Err(e) = file.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut bytes) {
        crate::debug!("cannot read {}: {e}", path.display());
        return None;
    }
    Some(bytes)
}

/// Makes the cache root and any missing parents, 0700. Directories that
/// exist are left as they are.
fn create_root(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests;
