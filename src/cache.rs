//! The on-disk token cache.
//!
//! Layout: `<dir>/v1/<identity fingerprint, 16 hex>/<registry host>.json`, one
//! small JSON file per (identity, registry), written atomically (temp file +
//! rename in the same directory). Beside each entry, `<host>.lock` serialises
//! refreshes across processes so that N processes missing at once make one
//! API call. One file per entry means writers of different registries never
//! touch the same file, so no update can be lost.
//!
//! The directory is 0700 and every file 0600. An unreadable, corrupt or
//! foreign-version entry reads as absent and is rewritten on the next refresh.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::identity::Identity;
use crate::secret::Secret;
use crate::time::secs;

/// The format version written into every entry.
pub const FORMAT_VERSION: u32 = 1;

/// 9999-12-31T23:59:59Z: no cache timestamp is later.
pub const MAX_TIMESTAMP: u64 = 253_402_300_799;

/// Entries larger than this are not cache files.
const MAX_ENTRY_BYTES: u64 = 64 * 1024;

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
    entry: PathBuf,
}

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

    fn versioned(&self) -> PathBuf {
        self.root.join(format!("v{FORMAT_VERSION}"))
    }

    fn identity_dir(&self, identity: &Identity) -> PathBuf {
        self.versioned().join(identity.short())
    }

    fn entry_path(&self, identity: &Identity, host: &str) -> PathBuf {
        self.identity_dir(identity).join(format!("{host}.json"))
    }

    /// The entry for `host` as `identity`, if a valid one is on disk.
    pub fn get(&self, identity: &Identity, host: &str) -> Option<CacheEntry> {
        let path = self.entry_path(identity, host);
        let entry = read_entry(&path)?;
        if entry.identity != identity.fingerprint || entry.registry != host {
            crate::debug!(
                "cache entry {} belongs to someone else; ignoring it",
                path.display()
            );
            return None;
        }
        Some(entry)
    }

    /// Every valid entry of `identity`.
    pub fn entries(&self, identity: &Identity) -> Vec<CacheEntry> {
        let mut out: Vec<CacheEntry> = json_files(&self.identity_dir(identity))
            .filter_map(|p| read_entry(&p))
            .filter(|e| e.identity == identity.fingerprint)
            .collect();
        out.sort_by(|a, b| a.registry.cmp(&b.registry));
        out
    }

    /// Every valid entry of every identity (for `cache show`).
    pub fn all_entries(&self) -> Vec<CacheEntry> {
        let mut out = Vec::new();
        if let Ok(dirs) = fs::read_dir(self.versioned()) {
            for d in dirs.flatten() {
                out.extend(json_files(&d.path()).filter_map(|p| read_entry(&p)));
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
        let dir = self.identity_dir(identity);
        create_private_dir(&self.root)?;
        create_private_dir(&self.versioned())?;
        create_private_dir(&dir)?;
        let lock_path = dir.join(format!("{host}.lock"));
        let file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|source| CacheError::Dir {
                path: lock_path.clone(),
                source,
            })?;
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
            entry: self.entry_path(identity, host),
        })
    }

    /// Writes `entry` atomically. Takes the lock so it cannot run unlocked.
    pub fn put(&self, lock: &CacheLock, entry: &CacheEntry) -> Result<(), CacheError> {
        let path = &lock.entry;
        let dir = path.parent().unwrap_or(&self.root);
        let err = |source| CacheError::Write {
            path: path.clone(),
            source,
        };
        remove_stale_temp_files(dir);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".json")
            .tempfile_in(dir)
            .map_err(err)?;
        let body = serde_json::to_vec_pretty(entry).map_err(|e| err(e.into()))?;
        tmp.write_all(&body).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(path).map_err(|e| err(e.error))?;
        Ok(())
    }

    /// Removes every entry and lock; returns how many entries were removed.
    pub fn clear(&self) -> Result<usize, CacheError> {
        let root = self.versioned();
        let count = self.all_entries().len();
        match fs::remove_dir_all(&root) {
            Ok(()) => Ok(count),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(source) => Err(CacheError::Dir { path: root, source }),
        }
    }
}

fn json_files(dir: &Path) -> impl Iterator<Item = PathBuf> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
}

fn read_entry(path: &Path) -> Option<CacheEntry> {
    let file = File::open(path).ok()?;
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut bytes) {
        crate::debug!("cannot read cache entry {}: {e}", path.display());
        return None;
    }
    match parse_entry(&bytes) {
        Ok(entry) => Some(entry),
        Err(why) => {
            crate::debug!("cache entry {} {why}; ignoring it", path.display());
            None
        }
    }
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

fn private_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut opts = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

fn create_private_dir(dir: &Path) -> Result<(), CacheError> {
    let err = |source| CacheError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if m.permissions().mode() & 0o077 != 0 {
                    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
                }
            }
            return Ok(());
        }
        Ok(_) => {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists and is not a directory",
            )))
        }
        Err(_) => {}
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(err)
}

/// Temp files left by a process killed mid-write are removed after ten minutes.
fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if old {
            let _ = fs::remove_file(e.path());
        }
    }
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
    fn corrupt_and_foreign_files_read_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let id = identity('a');
        let lock = cache.lock(&id, HOST, Duration::from_secs(1)).unwrap();
        let path = lock.entry.clone();
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
        assert_eq!(mode(&cache.identity_dir(&id)), 0o700);
        assert_eq!(mode(&lock.entry), 0o600);
    }
}
