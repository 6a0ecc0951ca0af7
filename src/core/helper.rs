//! The policy: registry → cache → token source, with freshness, single-flight
//! refreshes across processes, and the stale-but-valid fallback.

use std::time::{Duration, Instant, SystemTime};

use crate::aws::TokenSource;
use crate::cache::{Cache, CacheEntry, CacheError, CacheLock, FORMAT_VERSION, MAX_LIFETIME};
use crate::error::Result;
use crate::identity::{Identity, SourceKind};
use crate::login::Login;
use crate::registry::Registry;
use crate::settings::Settings;
use crate::time::{human, secs};

/// A cached token this close to expiry is not served when a refresh fails.
pub const MIN_FALLBACK_VALIDITY: Duration = Duration::from_secs(5 * 60);

/// Gets registry logins, from the cache when it can.
pub struct Helper<S> {
    source: S,
    cache: Option<Cache>,
    timeout: Duration,
    lock_timeout: Duration,
}

impl From<&CacheEntry> for Login {
    fn from(e: &CacheEntry) -> Login {
        Login {
            username: e.username.clone(),
            password: e.password.clone(),
            expires_at: crate::time::at(e.expires_at).unwrap_or(std::time::UNIX_EPOCH),
        }
    }
}

impl<S: TokenSource> Helper<S> {
    /// A helper with the cache and deadlines of `settings`.
    pub fn from_settings(source: S, settings: &Settings) -> Helper<S> {
        Helper {
            source,
            cache: Cache::from_settings(settings),
            timeout: settings.timeout,
            lock_timeout: settings.lock_timeout,
        }
    }

    /// A helper with explicit settings (tests).
    pub fn new(
        source: S,
        cache: Option<Cache>,
        timeout: Duration,
        lock_timeout: Duration,
    ) -> Helper<S> {
        Helper {
            source,
            cache,
            timeout,
            lock_timeout,
        }
    }

    /// The cache, if enabled.
    pub fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }

    /// A login for the registry `host` names (as Docker sends it), as whoever
    /// [`crate::resolve`] says logs in there (with the config file `file`,
    /// read from `path`).
    pub fn login_to(
        &self,
        host: &str,
        file: &crate::regmap::MapFile,
        path: Option<&std::path::Path>,
        settings: &Settings,
    ) -> Result<Login> {
        let resolved = crate::resolve::resolve(host, file, path, settings)?;
        self.login(&resolved.registry, &resolved.identity)
    }

    /// The token source (for the steps before a login, such as STS).
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The total deadline of one login.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A login for `registry` as `identity`, within the configured deadline.
    pub fn login(&self, registry: &Registry, identity: &Identity) -> Result<Login> {
        self.login_within(registry, identity, self.timeout)
    }

    /// A login for `registry` as `identity`, within `timeout` (what is left of
    /// a deadline that earlier steps, such as an STS call, used part of).
    pub fn login_within(
        &self,
        registry: &Registry,
        identity: &Identity,
        timeout: Duration,
    ) -> Result<Login> {
        let started = Instant::now();
        // One token per identity and key (partition, region, endpoint
        // variant): it opens every account's registry there.
        let host = registry.cache_key();
        let Some(cache) = &self.cache else {
            return Ok(self.source.fetch(registry, identity, timeout)?);
        };
        let cached = cache.get(identity, host);
        if let Some(e) = cached.as_ref().filter(|e| e.is_fresh(SystemTime::now())) {
            crate::info!(
                "cache hit for {host} ({} left)",
                human(e.remaining(SystemTime::now()))
            );
            return Ok(e.into());
        }
        if identity.source == SourceKind::None {
            // Nothing can be fetched: fail now, without taking a lock (or
            // creating the cache directory) first.
            return Ok(self.source.fetch(registry, identity, timeout)?);
        }
        let lock = match cache.lock(identity, host, self.lock_timeout.min(timeout)) {
            Ok(lock) => Some(lock),
            Err(e @ CacheError::LockTimeout { .. }) => {
                crate::warn!("{e}; fetching without waiting any longer");
                None
            }
            Err(e @ CacheError::Untrusted(_)) => {
                // Already reported, once.
                crate::debug!("{e}; continuing without the cache");
                None
            }
            Err(e) => {
                crate::warn!("{e}; continuing without the cache");
                None
            }
        };
        // Another process may have refreshed while we waited for the lock.
        let cached = if lock.is_some() {
            cache.get(identity, host)
        } else {
            cached
        };
        if let Some(e) = cached.as_ref().filter(|e| e.is_fresh(SystemTime::now())) {
            crate::info!("cache hit for {host} after waiting for another process's refresh");
            return Ok(e.into());
        }
        let remaining = timeout.saturating_sub(started.elapsed());
        match self.source.fetch(registry, identity, remaining) {
            Ok(token) => {
                if let Some(lock) = &lock {
                    self.store(cache, lock, host, identity, &token);
                }
                Ok(token)
            }
            Err(err) => {
                match cached.filter(|e| e.remaining(SystemTime::now()) >= MIN_FALLBACK_VALIDITY) {
                    Some(e) => {
                        crate::warn!(
                        "refreshing the token for {host} failed: {err}. Using the cached token, valid for {} more",
                        human(e.remaining(SystemTime::now()))
                    );
                        Ok((&e).into())
                    }
                    None => Err(err.into()),
                }
            }
        }
    }

    fn store(
        &self,
        cache: &Cache,
        lock: &CacheLock,
        host: &str,
        identity: &Identity,
        token: &Login,
    ) {
        let now = SystemTime::now();
        if token.expires_at <= now {
            crate::warn!(
                "ECR returned a token for {host} that has already expired; not caching it"
            );
            return;
        }
        let entry = CacheEntry {
            version: FORMAT_VERSION,
            registry: host.to_string(),
            identity: identity.fingerprint.clone(),
            identity_label: identity.label.clone(),
            username: token.username.clone(),
            password: token.password.clone(),
            requested_at: secs(now),
            // A clock behind AWS's makes the token look longer-lived than
            // it is; never record more than ECR's 12 hours.
            expires_at: secs(token.expires_at).min(secs(now + MAX_LIFETIME)),
        };
        if let Err(e) = cache.put(lock, &entry) {
            crate::warn!("{e}; the token was not cached");
        }
    }

    /// Token keys (entries of earlier versions: registries) with a non-expired
    /// token for `identity`, from the cache alone.
    pub fn known_registries(&self, identity: &Identity) -> Vec<String> {
        let now = SystemTime::now();
        self.cache
            .as_ref()
            .map(|c| c.entries(identity))
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.remaining(now) > Duration::ZERO)
            .map(|e| e.registry)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::FetchError;
    use crate::secret::Secret;
    use std::cell::{Cell, RefCell};

    /// A token source that counts calls and answers from a script.
    struct Fake {
        calls: Cell<usize>,
        next: RefCell<Vec<std::result::Result<Duration, ()>>>,
    }

    impl Fake {
        fn new(answers: Vec<std::result::Result<Duration, ()>>) -> Fake {
            Fake {
                calls: Cell::new(0),
                next: RefCell::new(answers),
            }
        }
    }

    impl TokenSource for &Fake {
        fn fetch(
            &self,
            _: &Registry,
            _: &Identity,
            _: Duration,
        ) -> std::result::Result<Login, FetchError> {
            self.calls.set(self.calls.get() + 1);
            match self.next.borrow_mut().remove(0) {
                Ok(lifetime) => Ok(Login {
                    username: "AWS".into(),
                    password: Secret::new(format!("pw{}", self.calls.get())),
                    expires_at: SystemTime::now() + lifetime,
                }),
                Err(()) => Err(FetchError::Unavailable {
                    region: "r".into(),
                    detail: "down".into(),
                }),
            }
        }

        fn assume_role_with_web_identity(
            &self,
            pod: &crate::aws::WebIdentity,
            _: Duration,
        ) -> std::result::Result<crate::secret::SessionCredentials, FetchError> {
            Err(FetchError::WebIdentity {
                role: pod.role_arn.clone(),
                detail: "the policy tests use no STS".into(),
            })
        }
    }

    fn setup() -> (tempfile::TempDir, Registry, Identity) {
        let id = Identity::for_tests("f".repeat(64));
        let reg = Registry::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        (tempfile::tempdir().unwrap(), reg, id)
    }

    fn helper<'a>(fake: &'a Fake, dir: &tempfile::TempDir) -> Helper<&'a Fake> {
        Helper::new(
            fake,
            Some(Cache::new(dir.path())),
            Duration::from_secs(5),
            Duration::from_secs(1),
        )
    }

    /// Caches the password "old", requested `age` seconds ago, expiring in `left` seconds.
    fn write_entry(dir: &tempfile::TempDir, reg: &Registry, id: &Identity, age: u64, left: u64) {
        let cache = Cache::new(dir.path());
        let lock = cache.lock(id, reg.host(), Duration::from_secs(1)).unwrap();
        let now = secs(SystemTime::now());
        let entry = CacheEntry {
            version: FORMAT_VERSION,
            registry: reg.host().into(),
            identity: id.fingerprint.clone(),
            identity_label: "t".into(),
            username: "AWS".into(),
            password: Secret::new("old"),
            requested_at: now - age,
            expires_at: now + left,
        };
        cache.put(&lock, &entry).unwrap();
    }

    const HOURS_12: Duration = Duration::from_secs(12 * 3600);

    #[test]
    fn second_login_is_a_cache_hit() {
        let (dir, reg, id) = setup();
        let fake = Fake::new(vec![Ok(HOURS_12)]);
        let h = helper(&fake, &dir);
        assert_eq!(h.login(&reg, &id).unwrap().password.expose(), "pw1");
        assert_eq!(h.login(&reg, &id).unwrap().password.expose(), "pw1");
        assert_eq!(fake.calls.get(), 1);
        assert_eq!(h.known_registries(&id), vec![reg.cache_key().to_string()]);
    }

    #[test]
    fn past_half_life_refreshes_and_failure_falls_back_to_valid_token() {
        let (dir, reg, id) = setup();
        // A 12-hour token requested 7 hours ago: past its half-life, 5 hours left.
        write_entry(&dir, &reg, &id, 7 * 3600, 5 * 3600);
        let fake = Fake::new(vec![Err(()), Ok(HOURS_12)]);
        let h = helper(&fake, &dir);
        assert_eq!(h.login(&reg, &id).unwrap().password.expose(), "old");
        assert_eq!(h.login(&reg, &id).unwrap().password.expose(), "pw2");
        assert_eq!(fake.calls.get(), 2);
    }

    #[test]
    fn an_almost_expired_token_is_not_served_when_refresh_fails() {
        let (dir, reg, id) = setup();
        write_entry(&dir, &reg, &id, 12 * 3600, 60);
        let fake = Fake::new(vec![Err(())]);
        assert!(helper(&fake, &dir).login(&reg, &id).is_err());
    }
}
