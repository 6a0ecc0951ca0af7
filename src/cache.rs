//! The on-disk token cache.
//!
//! Layout: `<dir>/v1/<identity fingerprint, 16 hex>/<registry host>.json`, one
//! small JSON file per (identity, registry), written atomically (temp file +
//! rename in the same directory). Beside each entry, `<host>.lock` serialises
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
//! [`crate::safe_fs`]). Anything else is reported once and skipped: the
//! helper fetches a fresh token and does not write there. An unreadable,
//! corrupt, foreign-version or implausible entry (a lifetime over 12 hours, a
//! request time in the future) reads as absent and is rewritten on the next
//! refresh.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::identity::Identity;
use crate::safe_fs;
use crate::secret::Secret;
use crate::time::secs;

/// The format version written into every entry.
pub const FORMAT_VERSION: u32 = 1;

/// 9999-12-31T23:59:59Z: no cache timestamp is later.
pub const MAX_TIMESTAMP: u64 = 253_402_300_799;

/// Entries larger than this are not cache files.
const MAX_ENTRY_BYTES: u64 = 64 * 1024;

/// ECR tokens live 12 hours; no entry may claim more (plus [`LIFETIME_SLACK`]).
pub const MAX_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Allowance for clock differences between this machine and AWS.
const LIFETIME_SLACK: u64 = 15 * 60;
/// An entry requested more than this far in the future is not served.
const FUTURE_SLACK: u64 = 5 * 60;

/// A cached registry login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// Always [`FORMAT_VERSION`].
    pub version: u32,
    /// The registry host.
    pub registry: String,
    /// The full identity fingerprint the token belongs to.
    pub identity: String,
    /// A description of the identity (no secrets).
    pub identity_label: String,
    /// Registry user name (`AWS`).
    pub username: String,
    /// Registry password.
    pub password: Secret,
    /// When the token was requested, seconds since the epoch.
    pub requested_at: u64,
    /// When ECR said it expires, seconds since the epoch.
    pub expires_at: u64,
}

impl CacheEntry {
    /// Whether the entry should be used without refreshing: less than half of
    /// its lifetime has passed.
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        let now = secs(now);
        let half_life = self.requested_at + self.expires_at.saturating_sub(self.requested_at) / 2;
        now < half_life && now < self.expires_at
    }

    /// Why the entry must not be served at `now`, if it must not: it claims a
    /// longer life than any ECR token has, or it was requested in the future
    /// (the clock went back, or someone wrote the file by hand).
    pub fn implausible(&self, now: SystemTime) -> Option<&'static str> {
        if self.expires_at.saturating_sub(self.requested_at)
            > MAX_LIFETIME.as_secs() + LIFETIME_SLACK
        {
            Some("claims a lifetime over 12 hours, which no ECR token has")
        } else if self.requested_at > secs(now) + FUTURE_SLACK {
            Some("was requested in the future")
        } else {
            None
        }
    }

    /// How long the token is still valid (zero when expired).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        Duration::from_secs(self.expires_at.saturating_sub(secs(now)))
    }
}

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

    /// The entry for `host` as `identity`, if a valid one is on disk.
    pub fn get(&self, identity: &Identity, host: &str) -> Option<CacheEntry> {
        let dir = self
            .trusted_dir(&[VERSIONED, identity.short()], false)
            .ok()??;
        let entry = read_entry(&dir, host)?;
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
        let (file, dir) =
            self.open_lock_file(&[VERSIONED, identity.short()], &format!("{host}.lock"))?;
        let lock_path = dir.join(format!("{host}.lock"));
        let start = Instant::now();
        let mut announced = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(source)) => {
                    return Err(CacheError::Dir {
                        path: lock_path,
                        source,
                    });
                }
            }
            if start.elapsed() >= timeout {
                return Err(CacheError::LockTimeout {
                    path: lock_path,
                    waited: start.elapsed(),
                });
            }
            if !announced {
                crate::debug!("another process is refreshing {host}; waiting for it");
                announced = true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(CacheLock {
            _file: file,
            dir,
            host: host.to_string(),
        })
    }

    /// Writes `entry` atomically. Takes the lock so it cannot run unlocked.
    pub fn put(&self, lock: &CacheLock, entry: &CacheEntry) -> Result<(), CacheError> {
        let name = format!("{}.json", lock.host);
        let err = |source| CacheError::Write {
            path: lock.dir.join(&name),
            source,
        };
        let body = serde_json::to_vec_pretty(entry).map_err(|e| err(e.into()))?;
        safe_fs::write_atomic(&lock.dir, &name, &body).map_err(err)
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

/// The entries of one identity directory, each named after a valid registry
/// host: the registry comes from the file name, never from the content.
fn entries_in(dir: &Path) -> Vec<CacheEntry> {
    json_names(dir)
        .into_iter()
        .filter(|stem| {
            crate::registry::Registry::parse(stem).is_ok_and(|r| r.host() == stem.as_str())
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
    None
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
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut bytes) {
        crate::debug!("cannot read {}: {e}", path.display());
        return None;
    }
    Some(bytes)
}

/// Parses the bytes of a cache entry file; the error says why it is unusable.
pub fn parse_entry(bytes: &[u8]) -> Result<CacheEntry, &'static str> {
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return Err("is too large");
    }
    #[derive(Deserialize)]
    struct Version {
        version: u32,
    }
    match serde_json::from_slice::<Version>(bytes) {
        Ok(v) if v.version == FORMAT_VERSION => {}
        Ok(_) => return Err("has another format version"),
        Err(_) => return Err("is not valid JSON"),
    }
    let entry: CacheEntry = serde_json::from_slice(bytes).map_err(|_| "is malformed")?;
    if entry.registry.is_empty() || entry.identity.len() < 16 || !entry.identity.is_ascii() {
        return Err("is malformed");
    }
    // ECR tokens live 12 hours; anything past the year 9999 is not a token
    // time (and would overflow SystemTime arithmetic on some platforms).
    if entry.expires_at > MAX_TIMESTAMP || entry.requested_at > entry.expires_at {
        return Err("has impossible timestamps");
    }
    Ok(entry)
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
mod tests {
    use super::*;
    use crate::identity::SourceKind;

    fn identity(fp: char) -> Identity {
        Identity {
            fingerprint: fp.to_string().repeat(64),
            label: "test".into(),
            source: SourceKind::Environment,
            profile: None,
            mfa: None,
            assume_role: None,
            session: None,
        }
    }

    fn entry(id: &Identity, host: &str, requested_at: u64, expires_at: u64) -> CacheEntry {
        CacheEntry {
            version: FORMAT_VERSION,
            registry: host.into(),
            identity: id.fingerprint.clone(),
            identity_label: id.label.clone(),
            username: "AWS".into(),
            password: Secret::new("pw"),
            requested_at,
            expires_at,
        }
    }

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    #[test]
    fn round_trip_and_identity_isolation() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let (a, b) = (identity('a'), identity('b'));
        let lock = cache.lock(&a, HOST, Duration::from_secs(1)).unwrap();
        let e = entry(&a, HOST, 100, 200);
        cache.put(&lock, &e).unwrap();
        assert_eq!(cache.get(&a, HOST), Some(e.clone()));
        assert_eq!(cache.get(&b, HOST), None);
        assert_eq!(cache.entries(&a), vec![e]);
        assert!(cache.entries(&b).is_empty());
    }

    #[test]
    fn freshness_is_half_the_lifetime() {
        let id = identity('a');
        let e = entry(&id, HOST, 1000, 1000 + 12 * 3600);
        let at = |s: u64| std::time::UNIX_EPOCH + Duration::from_secs(s);
        assert!(e.is_fresh(at(1000 + 6 * 3600 - 1)));
        assert!(!e.is_fresh(at(1000 + 6 * 3600)));
        assert_eq!(e.remaining(at(1000 + 12 * 3600 + 5)), Duration::ZERO);
    }

    #[test]
    fn implausible_entries_are_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let id = identity('a');
        let lock = cache.lock(&id, HOST, Duration::from_secs(1)).unwrap();
        let now = secs(SystemTime::now());
        #[rustfmt::skip]
        let cases = [
            ("a 12-hour token", now - 60, now + 12 * 3600 - 60, true),
            ("12 hours and 10 minutes (clock skew)", now - 60, now + 12 * 3600 + 540, true),
            ("13 hours", now - 60, now + 13 * 3600, false),
            ("ten years", now - 60, now + 10 * 365 * 86400, false),
            ("requested a minute ahead", now + 60, now + 3600, true),
            ("requested an hour ahead", now + 3600, now + 7200, false),
        ];
        for (name, requested_at, expires_at, served) in cases {
            cache
                .put(&lock, &entry(&id, HOST, requested_at, expires_at))
                .unwrap();
            assert_eq!(cache.get(&id, HOST).is_some(), served, "{name}");
            assert_eq!(cache.entries(&id).len(), usize::from(served), "{name}");
        }
    }

    #[test]
    fn corrupt_and_foreign_files_read_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let id = identity('a');
        let lock = cache.lock(&id, HOST, Duration::from_secs(1)).unwrap();
        let path = lock.dir.join(format!("{HOST}.json"));
        for body in ["{not json", "{\"version\":2}", "{\"version\":1}", ""] {
            fs::write(&path, body).unwrap();
            assert_eq!(cache.get(&id, HOST), None, "{body}");
        }
        cache.put(&lock, &entry(&id, HOST, 1, 2)).unwrap();
        assert!(cache.get(&id, HOST).is_some());
    }

    #[test]
    fn second_lock_waits_then_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let id = identity('a');
        let _held = cache.lock(&id, HOST, Duration::from_secs(1)).unwrap();
        let err = cache
            .lock(&id, HOST, Duration::from_millis(50))
            .unwrap_err();
        assert!(err.to_string().contains("AWS_ECR_LOCK_TIMEOUT"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ecr");
        let cache = Cache::new(&root);
        let id = identity('a');
        let lock = cache.lock(&id, HOST, Duration::from_secs(1)).unwrap();
        cache.put(&lock, &entry(&id, HOST, 1, 2)).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&lock.dir), 0o700);
        assert_eq!(mode(&lock.dir.join(format!("{HOST}.json"))), 0o600);
    }
}
