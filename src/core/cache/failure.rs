//! The memory of a failed refresh: `<host>.failure` beside the entry, under
//! the entry's trust rule and written under its refresh lock. While it is
//! active (until `retry_at`), a `get` does not call the API again: it serves
//! the cached token if one is still valid, or fails at once with the
//! remembered cause. A successful refresh removes it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{read_file, Cache, CacheError, CacheLock, VERSIONED};
use crate::core::identity::Identity;
use crate::support::safe_fs;
use crate::support::time::secs;

/// The first backoff after a failure; each consecutive failure doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(10);
/// No backoff is longer.
pub const MAX_BACKOFF: Duration = Duration::from_secs(120);
/// A remembered cause longer than this is cut.
const MAX_CAUSE: usize = 1000;

/// A remembered failed refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Always [`super::FORMAT_VERSION`].
    pub version: u32,
    /// The registry host.
    pub registry: String,
    /// The full identity fingerprint.
    pub identity: String,
    /// When the refresh failed, seconds since the epoch.
    pub failed_at: u64,
    /// Until when no refresh is tried, seconds since the epoch.
    pub retry_at: u64,
    /// Consecutive failures, this one included.
    pub failures: u32,
    /// Why it failed (an error message: no secret).
    pub cause: String,
}

impl Failure {
    /// The failure after `previous` (if any), at `now`, backing off for at
    /// most `limit` (what the cached token's validity allows).
    pub fn next(
        previous: Option<&Failure>,
        registry: &str,
        identity: &Identity,
        cause: &str,
        now: SystemTime,
        limit: Option<Duration>,
    ) -> Failure {
        let failures = previous.map_or(0, |p| p.failures).saturating_add(1);
        let mut backoff = FIRST_BACKOFF
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(MAX_BACKOFF);
        if let Some(limit) = limit {
            backoff = backoff.min(limit);
        }
        let mut cause: String = cause.chars().filter(|c| !c.is_control()).collect();
        if let Some((i, _)) = cause.char_indices().nth(MAX_CAUSE) {
            cause.truncate(i);
        }
        Failure {
            version: super::FORMAT_VERSION,
            registry: registry.to_string(),
            identity: identity.fingerprint.clone(),
            failed_at: secs(now),
            retry_at: secs(now + backoff),
            failures,
            cause,
        }
    }

    /// Whether no refresh should be tried at `now`.
    pub fn active(&self, now: SystemTime) -> bool {
        secs(now) < self.retry_at
    }

    /// How long ago it failed.
    pub fn age(&self, now: SystemTime) -> Duration {
        Duration::from_secs(secs(now).saturating_sub(self.failed_at))
    }

    /// How long until a refresh is tried again.
    pub fn retry_in(&self, now: SystemTime) -> Duration {
        Duration::from_secs(self.retry_at.saturating_sub(secs(now)))
    }

    /// Whether it is a record we may act on: ours, for `host`, plausible.
    fn plausible(&self, identity: &Identity, host: &str, now: SystemTime) -> bool {
        self.version == super::FORMAT_VERSION
            && self.registry == host
            && self.identity == identity.fingerprint
            && self.failed_at <= secs(now) + 60
            && self.retry_at >= self.failed_at
            && self.retry_at - self.failed_at <= MAX_BACKOFF.as_secs()
    }
}

fn file_name(host: &str) -> String {
    format!("{host}.failure")
}

impl Cache {
    /// The remembered failure of (identity, host), if a plausible one is on disk.
    pub fn failure(&self, identity: &Identity, host: &str) -> Option<Failure> {
        let dir = self
            .trusted_dir(&[VERSIONED, identity.short()], false)
            .ok()??;
        let path = dir.join(file_name(host));
        let bytes = read_file(&path)?;
        match serde_json::from_slice::<Failure>(&bytes) {
            Ok(f) if f.plausible(identity, host, SystemTime::now()) => Some(f),
            _ => {
                crate::debug!("{} is not a failure record; ignoring it", path.display());
                None
            }
        }
    }

    /// Remembers `failure` for the entry `lock` guards.
    pub fn put_failure(&self, lock: &CacheLock, failure: &Failure) -> Result<(), CacheError> {
        let name = file_name(&lock.host);
        let err = |source| CacheError::Write {
            path: lock.dir.join(&name),
            source,
        };
        let body = serde_json::to_vec(failure).map_err(|e| err(e.into()))?;
        safe_fs::write_atomic_locked(&lock.dir, &name, &body).map_err(err)
    }

    /// Forgets the failure of the entry `lock` guards (after a success).
    pub fn clear_failure(&self, lock: &CacheLock) {
        remove_if_present(&lock.dir.join(file_name(&lock.host)));
    }
}

fn remove_if_present(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => crate::debug!("cannot remove {}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_bound_and_the_token_limit() {
        let id = Identity::for_tests("a".repeat(64));
        let now = SystemTime::now();
        let first = Failure::next(None, "h", &id, "down\nnow", now, None);
        assert_eq!((first.failures, first.retry_in(now)), (1, FIRST_BACKOFF));
        assert_eq!(first.cause, "downnow", "control characters are dropped");
        let second = Failure::next(Some(&first), "h", &id, "x", now, None);
        assert_eq!(second.retry_in(now), FIRST_BACKOFF * 2);
        let mut f = second;
        for _ in 0..40 {
            f = Failure::next(Some(&f), "h", &id, "x", now, None);
        }
        assert_eq!(f.retry_in(now), MAX_BACKOFF);
        let limited = Failure::next(None, "h", &id, "x", now, Some(Duration::from_secs(3)));
        assert_eq!(limited.retry_in(now), Duration::from_secs(3));
        assert!(limited.active(now));
        assert!(!limited.active(now + Duration::from_secs(3)));
    }
}
