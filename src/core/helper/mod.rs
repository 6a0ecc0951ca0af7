//! The policy: registry → cache → token source, with freshness, single-flight
//! refreshes across processes, and the stale-but-valid fallback.

use std::time::{Duration, Instant, SystemTime};

use crate::core::cache::{
    Cache, CacheEntry, CacheError, CacheLock, Failure, FORMAT_VERSION, MAX_LIFETIME,
};
use crate::core::identity::{Identity, SourceKind};
use crate::core::login::Login;
use crate::core::registry::Registry;
use crate::core::source::{FetchError, TokenSource, WebIdentity};
use crate::settings::Settings;

type Result<T, E = FetchError> = std::result::Result<T, E>;
use crate::support::time::{human, secs};

/// A cached token this close to expiry is not served when a refresh fails
/// (nor instead of one: within it a refresh is needed).
pub const MIN_FALLBACK_VALIDITY: Duration = Duration::from_secs(5 * 60);

/// How long an optional refresh (of a token past its half-life that is still
/// servable) may take before the cached token is served instead. A healthy
/// API answers in well under a second.
pub const REFRESH_BUDGET: Duration = Duration::from_secs(3);

/// Whether `e` may be served when a refresh fails or is not tried.
fn servable(e: &CacheEntry) -> bool {
    e.remaining(SystemTime::now()) >= MIN_FALLBACK_VALIDITY
}

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
            expires_at: crate::support::time::at(e.expires_at).unwrap_or(std::time::UNIX_EPOCH),
        }
    }
}

impl<S: TokenSource> Helper<S> {
    /// A helper with the cache and deadlines of `settings`.
    pub fn from_settings(source: S, settings: &Settings) -> Helper<S> {
        Helper::with_cache(source, Cache::from_settings(settings), settings)
    }

    /// A helper with `cache` (the one its token source was given too) and
    /// the deadlines of `settings`.
    pub fn with_cache(source: S, cache: Option<Cache>, settings: &Settings) -> Helper<S> {
        Helper {
            source,
            cache,
            timeout: settings.timeout,
            lock_timeout: settings.lock_timeout,
        }
    }

    /// A helper with explicit settings (tests).
    #[cfg(test)]
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

    /// A login for a registry [`crate::core::resolve`] resolved, as the identity
    /// it says logs in there.
    pub fn login_to(&self, resolved: &crate::core::resolve::Resolved) -> Result<Login> {
        self.login(&resolved.registry, &resolved.identity)
    }

    /// The token source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// A login for `registry` as the role a pod's web-identity token asks
    /// for (`pod`): STS first, for every request, so that only a token STS
    /// accepts for this role may see the role's (cached) ECR token; then,
    /// as the role's identity (`identity`, given STS's session), the cache
    /// and the token source within what is left of the deadline.
    pub fn login_with_web_identity<E: From<FetchError>>(
        &self,
        registry: &Registry,
        pod: &WebIdentity,
        identity: impl FnOnce() -> Result<Identity, E>,
    ) -> Result<Login, E> {
        let started = Instant::now();
        let session = self
            .source
            .assume_role_with_web_identity(pod, self.timeout)?;
        let identity = identity()?.with_session(session);
        crate::debug!(
            "registry {} as {} ({})",
            registry.host(),
            identity.label,
            identity.short()
        );
        Ok(self.login_within(
            registry,
            &identity,
            self.timeout.saturating_sub(started.elapsed()),
        )?)
    }

    /// A login for `registry` as `identity`, within the configured deadline.
    pub fn login(&self, registry: &Registry, identity: &Identity) -> Result<Login> {
        self.login_within(registry, identity, self.timeout)
    }

    /// A login for `registry` as `identity`, within `timeout` (what is left of
    /// a deadline that earlier steps, such as an STS call, used part of).
    ///
    /// A fresh cached token (before its half-life) is served as it is. Past
    /// its half-life, while it still has [`MIN_FALLBACK_VALIDITY`] left, a
    /// refresh is optional: one process tries it within [`REFRESH_BUDGET`]
    /// while the others serve the cached token at once, and a failure serves
    /// it too. Without such a token the refresh is needed: one process
    /// refreshes within the deadline and the others wait for its outcome,
    /// success or failure. A failed refresh is remembered for a backoff
    /// ([`crate::core::cache::Failure`]) during which the API is not asked again.
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
            return self.source.fetch(registry, identity, timeout);
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
            return self.source.fetch(registry, identity, timeout);
        }
        if let Some(answer) = self.remembered(cache, identity, host, cached.as_ref()) {
            return answer;
        }
        if let Some(e) = cached.as_ref().filter(|e| servable(e)) {
            return Ok(self.optional_refresh(cache, registry, identity, e, timeout));
        }
        let lock = match cache.lock(identity, host, self.lock_timeout.min(timeout)) {
            Ok(lock) => Some(lock),
            Err(CacheError::LockTimeout { waited, .. })
                if timeout.saturating_sub(started.elapsed()).is_zero() =>
            {
                // The whole deadline went waiting: a fetch could not start.
                return Err(FetchError::Busy {
                    host: host.to_string(),
                    waited,
                    mfa_profile: identity.mfa.as_ref().map(|m| m.profile.clone()),
                });
            }
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
        // Another process may have refreshed, or failed to, while we waited
        // for the lock: its outcome is ours.
        let cached = if lock.is_some() {
            cache.get(identity, host)
        } else {
            cached
        };
        if let Some(e) = cached.as_ref().filter(|e| e.is_fresh(SystemTime::now())) {
            crate::info!("cache hit for {host} after waiting for another process's refresh");
            return Ok(e.into());
        }
        if lock.is_some() {
            if let Some(answer) = self.remembered(cache, identity, host, cached.as_ref()) {
                return answer;
            }
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
                let usable = cached.filter(servable);
                if let Some(lock) = &lock {
                    remember(
                        cache,
                        lock,
                        identity,
                        host,
                        &err,
                        &err.to_string(),
                        usable.as_ref(),
                    );
                }
                match usable {
                    Some(e) => {
                        crate::warn!(
                            "refreshing the token for {host} failed: {err}. Using the cached token, valid for {} more",
                            human(e.remaining(SystemTime::now()))
                        );
                        Ok((&e).into())
                    }
                    None => Err(err),
                }
            }
        }
    }

    /// The answer a remembered failure gives, while it is active: the cached
    /// token if it is still servable, else the remembered error.
    fn remembered(
        &self,
        cache: &Cache,
        identity: &Identity,
        host: &str,
        cached: Option<&CacheEntry>,
    ) -> Option<Result<Login>> {
        let now = SystemTime::now();
        let failure = cache.failure(identity, host).filter(|f| f.active(now))?;
        Some(match cached.filter(|e| servable(e)) {
            Some(e) => {
                crate::info!(
                    "refreshing {host} failed {} ago ({}); serving the cached token ({} left) without asking ECR for another {}",
                    human(failure.age(now)),
                    failure.cause,
                    human(e.remaining(now)),
                    human(failure.retry_in(now))
                );
                Ok(e.into())
            }
            None => Err(FetchError::Remembered {
                ago: failure.age(now),
                retry_in: failure.retry_in(now),
                cause: failure.cause,
            }),
        })
    }

    /// A refresh of the servable token `e`: by this process within
    /// [`REFRESH_BUDGET`] if no other is refreshing, else none. Whatever
    /// happens, a token comes back.
    fn optional_refresh(
        &self,
        cache: &Cache,
        registry: &Registry,
        identity: &Identity,
        e: &CacheEntry,
        timeout: Duration,
    ) -> Login {
        let host = registry.cache_key();
        let lock = match cache.try_lock(identity, host) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                crate::info!(
                    "another process is refreshing {host}; serving the cached token ({} left)",
                    human(e.remaining(SystemTime::now()))
                );
                return e.into();
            }
            Err(err) => {
                crate::debug!("{err}; serving the cached token without refreshing it");
                return e.into();
            }
        };
        // Another process may have just refreshed, or failed to.
        let now = SystemTime::now();
        if let Some(fresh) = cache.get(identity, host).filter(|c| c.is_fresh(now)) {
            return (&fresh).into();
        }
        if cache.failure(identity, host).is_some_and(|f| f.active(now)) {
            return e.into();
        }
        let budget = REFRESH_BUDGET.min(timeout);
        match self.source.fetch(registry, identity, budget) {
            Ok(token) => {
                self.store(cache, &lock, host, identity, &token);
                token
            }
            Err(err) => {
                let cause = match &err {
                    FetchError::Timeout { stage, .. } if budget < timeout => format!(
                        "refreshing the token for {host} did not finish within its {}s budget (still waiting for {})",
                        budget.as_secs_f64(),
                        stage.describe()
                    ),
                    _ => format!("refreshing the token for {host} failed: {err}"),
                };
                remember(cache, &lock, identity, host, &err, &cause, Some(e));
                crate::warn!(
                    "{cause}. Using the cached token, valid for {} more",
                    human(e.remaining(SystemTime::now()))
                );
                e.into()
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
        cache.clear_failure(lock);
    }

    /// Token keys (entries of earlier versions: registries) with a non-expired
    /// token for `identity`, from the cache alone (the tests' view; `list`
    /// reads the cache itself).
    #[cfg(test)]
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

/// Remembers a failed refresh (an API or network failure only: a fix of
/// the local configuration must take effect at once), backing off no
/// longer than the cached token `usable` stays servable.
fn remember(
    cache: &Cache,
    lock: &CacheLock,
    identity: &Identity,
    host: &str,
    err: &FetchError,
    cause: &str,
    usable: Option<&CacheEntry>,
) {
    if !err.is_transient() {
        return;
    }
    let now = SystemTime::now();
    let previous = cache.failure(identity, host);
    let limit = usable.map(|e| e.remaining(now).saturating_sub(MIN_FALLBACK_VALIDITY));
    let failure = Failure::next(previous.as_ref(), host, identity, cause, now, limit);
    if let Err(e) = cache.put_failure(lock, &failure) {
        crate::debug!("{e}; the failure is not remembered");
    }
}

#[cfg(test)]
mod tests;
