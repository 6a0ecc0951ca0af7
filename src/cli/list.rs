//! What `list` names: every ECR registry the user can be expected to pull
//! from, so that clients that read credentials through `list` and then `get`
//! each entry (Docker's legacy builder under `credsStore`, docker-py's
//! `get_all_credentials()`, GitLab Runner) work on a cold cache too.
//!
//! From local state alone: logins `docker login` stored; registries of
//! tokens cached by earlier versions; registries the identity used, and the
//! default registry ECR named for it ([`crate::core::cache::Cache::known_hosts`]);
//! the Docker config's `credHelpers` entries that send an ECR host (or alias)
//! to this helper; the config file's exact aliases and their registries, its
//! rules' exact ECR hosts, and its rules' account ids in the identity's region. When nothing
//! local names any registry, one bounded `GetAuthorizationToken` in the
//! identity's region (`AWS_REGION`, else the profile's `region`) finds its
//! default registry (the answer's `proxyEndpoint`); the token is cached like
//! any other, so the `get` that follows costs no call. A dead network costs
//! at most [`DISCOVERY_DEADLINE`] (or `AWS_ECR_TIMEOUT` when shorter).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use crate::core::cache::{Cache, CacheEntry, FORMAT_VERSION, MAX_LIFETIME};
use crate::core::helper::Helper;
use crate::core::identity::{Identity, SourceKind};
use crate::core::registry::{self, Registry};
use crate::core::regmap::MapFile;
use crate::core::source::TokenSource;
use crate::settings::Settings;
use crate::support::time::secs;

/// The longest `list` waits for ECR to name the default registry.
pub const DISCOVERY_DEADLINE: Duration = Duration::from_secs(5);
/// The account of the registry `list` asks ECR about when it looks for the
/// default one: a placeholder, since the request names no registry.
const PROBE_ACCOUNT: &str = "000000000000";
/// A stored login this close to expiry is no longer served or listed.
pub const MIN_STORED_VALIDITY: Duration = Duration::from_secs(5 * 60);

/// The hosts `list` names for this helper (normalised, without scheme).
pub fn registries<S: TokenSource>(
    helper: &Helper<S>,
    settings: &Settings,
    config: Option<&MapFile>,
) -> BTreeSet<String> {
    let mut hosts = BTreeSet::new();
    let now = SystemTime::now();
    if let Some(cache) = helper.cache() {
        hosts.extend(
            cache
                .stored_logins()
                .into_iter()
                .filter(|e| e.remaining(now) >= MIN_STORED_VALIDITY)
                .map(|e| e.registry),
        );
    }
    let empty = MapFile::default();
    let file = config.unwrap_or(&empty);
    hosts.extend(docker_credhelpers(settings, file));
    hosts.extend(file.aliases.iter().filter_map(|a| a.exact_host()));
    hosts.extend(
        file.aliases
            .iter()
            .filter_map(|a| Registry::parse(&a.registry).ok())
            .map(|r| r.host().to_string()),
    );
    hosts.extend(
        file.rules
            .iter()
            .filter_map(|r| Registry::parse(&r.pattern).ok())
            .map(|r| r.host().to_string()),
    );
    let identity = match Identity::resolve(settings) {
        Ok(identity) => identity,
        Err(e) => {
            crate::warn!("{e}");
            return hosts;
        }
    };
    if let Some(cache) = helper.cache() {
        // Entries of earlier versions are named by their registry.
        hosts.extend(
            cache
                .entries(&identity)
                .into_iter()
                .filter(|e| e.remaining(now) > Duration::ZERO)
                .filter(|e| Registry::parse(&e.registry).is_ok_and(|r| r.host() == e.registry))
                .map(|e| e.registry),
        );
        hosts.extend(cache.known_hosts(&identity));
    }
    let Some(region) = region(settings) else {
        return hosts;
    };
    let Some(key) = registry::private_host(PROBE_ACCOUNT, &region)
        .and_then(|h| Registry::parse(&h).ok())
        .map(|r| r.cache_key().to_string())
    else {
        return hosts;
    };
    hosts.extend(
        file.rules
            .iter()
            .filter(|r| r.pattern.len() == 12 && r.pattern.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|r| Registry::in_key(&key, &r.pattern))
            .map(|r| r.host().to_string()),
    );
    // Network-free whenever anything local names a registry.
    if hosts.is_empty() && identity.source != SourceKind::None {
        if let Some(host) = discover(helper, settings, &identity, &key) {
            hosts.insert(host);
        }
    }
    hosts
}

/// The region the identity works in: `AWS_REGION`, else its profile's.
fn region(settings: &Settings) -> Option<String> {
    if let Some(r) = settings.lookup(crate::env::AWS_REGION) {
        return Some(r);
    }
    let profile = settings
        .lookup(crate::env::AWS_PROFILE)
        .unwrap_or_else(|| "default".to_string());
    crate::core::profile::ProfileSet::load(settings)
        .profile(&profile)?
        .get("region")
        .cloned()
}

/// The `credHelpers` entries of the Docker config that send a registry this
/// helper answers for to `ecr-login`.
fn docker_credhelpers(settings: &Settings, file: &MapFile) -> Vec<String> {
    let path = match settings.lookup(crate::env::DOCKER_CONFIG) {
        Some(dir) => std::path::PathBuf::from(dir).join("config.json"),
        None => match settings.home() {
            Some(home) => home.join(".docker").join("config.json"),
            None => return Vec::new(),
        },
    };
    let Ok(bytes) = std::fs::read(&path) else {
        return Vec::new();
    };
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        crate::debug!(
            "{} is not JSON; its credHelpers are not listed",
            path.display()
        );
        return Vec::new();
    };
    let Some(helpers) = doc.get("credHelpers").and_then(|h| h.as_object()) else {
        return Vec::new();
    };
    helpers
        .iter()
        .filter(|(_, v)| v.as_str() == Some("ecr-login"))
        .filter(|(k, _)| crate::core::resolve::is_ecr(k, file))
        .filter_map(|(k, _)| registry::host_of(k).ok())
        .collect()
}

/// One bounded call for the default registry of `identity` under `key`; its
/// token is cached under the key and the registry recorded.
fn discover<S: TokenSource>(
    helper: &Helper<S>,
    settings: &Settings,
    identity: &Identity,
    key: &str,
) -> Option<String> {
    // The account is a placeholder: the request names none (a token is the
    // principal's), only the region and endpoint variant count.
    let probe = Registry::in_key(key, PROBE_ACCOUNT)?;
    let deadline = settings.timeout.min(DISCOVERY_DEADLINE);
    let cache = helper.cache();
    let lock = cache.and_then(|c| c.lock(identity, key, deadline).ok());
    if let Some(host) = cache.and_then(|c| c.default_registry(identity, key)) {
        return Some(host); // another process found it while we waited
    }
    crate::info!(
        "list: asking ECR for the default registry in {}",
        probe.api_region()
    );
    let (login, default) = match helper
        .source()
        .fetch_with_default(&probe, identity, deadline)
    {
        Ok(answer) => answer,
        Err(e) => {
            // The placeholder account means nothing to the user.
            let e = e
                .to_string()
                .replace(&format!("for account {PROBE_ACCOUNT} "), "");
            crate::warn!(
                "list: cannot find the default registry in {} (list waits at most {}): {e}; listing what is known locally",
                probe.api_region(),
                crate::support::time::human(deadline)
            );
            return None;
        }
    };
    let host = default?;
    if let (Some(cache), Some(lock)) = (cache, &lock) {
        put(cache, lock, identity, key, &login);
        cache.note_default(identity, key, &host);
    }
    Some(host)
}

/// Caches `login` under `key` as `helper` does after a refresh.
fn put(
    cache: &Cache,
    lock: &crate::core::cache::CacheLock,
    identity: &Identity,
    key: &str,
    login: &crate::core::login::Login,
) {
    let now = SystemTime::now();
    if login.expires_at <= now {
        return;
    }
    let entry = CacheEntry {
        version: FORMAT_VERSION,
        registry: key.to_string(),
        identity: identity.fingerprint.clone(),
        identity_label: identity.label.clone(),
        username: login.username.clone(),
        password: login.password.clone(),
        requested_at: secs(now),
        expires_at: secs(login.expires_at).min(secs(now + MAX_LIFETIME)),
    };
    if let Err(e) = cache.put(lock, &entry) {
        crate::warn!("{e}; the token was not cached");
    }
}
