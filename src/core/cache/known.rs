//! What the cache knows about registries beyond tokens: entries of earlier
//! versions (one per registry host) read for their token key, the registries
//! an identity has used (`<host>.seen`, empty files) and the default registry
//! ECR named for a token key (`<key>.default`, the host). None of these is a
//! secret; `list` names them (see [`crate::cli`]'s Docker front end).

use std::path::Path;

use super::{json_names, read_entry, Cache, CacheEntry, VERSIONED};
use crate::core::identity::Identity;
use crate::core::registry::Registry;

const SEEN: &str = ".seen";
const DEFAULT: &str = ".default";

/// The longest-lived valid entry of `identity` in `dir` written for a
/// registry host whose token key is `key` (before one token per key).
pub(super) fn legacy_entry(dir: &Path, identity: &Identity, key: &str) -> Option<CacheEntry> {
    if !Registry::is_cache_key(key) {
        return None;
    }
    json_names(dir)
        .into_iter()
        .filter(|stem| stem != key)
        .filter(|stem| {
            Registry::parse(stem).is_ok_and(|r| r.host() == stem.as_str() && r.cache_key() == key)
        })
        .filter_map(|stem| read_entry(dir, &stem))
        .filter(|e| e.identity == identity.fingerprint)
        .max_by_key(|e| e.expires_at)
}

/// The file names in `dir` ending with `suffix`, without it.
fn names_with(dir: &Path, suffix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(suffix)?;
            (!stem.is_empty() && !stem.starts_with('.')).then(|| stem.to_string())
        })
        .collect()
}

impl Cache {
    /// Remembers that `identity` used the registry `host` (once: a marker
    /// that exists is not rewritten).
    pub fn note_registry(&self, identity: &Identity, host: &str) {
        let name = format!("{host}{SEEN}");
        // One system call when the marker exists (every warm `get` but the
        // first); a marker someone else planted could only keep a name out
        // of `list`. Writing goes through the trusted path.
        let path = self.root.join(VERSIONED).join(identity.short()).join(&name);
        if std::fs::symlink_metadata(path).is_ok() {
            return;
        }
        if let Err(e) = self.write_private(&[VERSIONED, identity.short()], &name, b"") {
            crate::debug!("{e}; {host} will not be listed");
        }
    }

    /// Records that ECR named `host` the default registry of `identity`
    /// for the token key `key`.
    pub fn note_default(&self, identity: &Identity, key: &str, host: &str) {
        let name = format!("{key}{DEFAULT}");
        if let Err(e) = self.write_private(&[VERSIONED, identity.short()], &name, host.as_bytes()) {
            crate::debug!("{e}; the default registry of {key} is not recorded");
        }
    }

    /// The default registry recorded for `key`, if any.
    pub fn default_registry(&self, identity: &Identity, key: &str) -> Option<String> {
        let bytes =
            self.read_private(&[VERSIONED, identity.short()], &format!("{key}{DEFAULT}"))?;
        let host = String::from_utf8(bytes).ok()?;
        let registry = Registry::parse(&host).ok()?;
        (registry.host() == host && registry.cache_key() == key).then_some(host)
    }

    /// Every registry `identity` used or was told is its default, by host.
    pub fn known_hosts(&self, identity: &Identity) -> Vec<String> {
        let Ok(Some(dir)) = self.trusted_dir(&[VERSIONED, identity.short()], false) else {
            return Vec::new();
        };
        let mut out: Vec<String> = names_with(&dir, SEEN)
            .into_iter()
            .filter(|h| Registry::parse(h).is_ok_and(|r| r.host() == h.as_str()))
            .chain(
                names_with(&dir, DEFAULT)
                    .into_iter()
                    .filter_map(|key| self.default_registry(identity, &key)),
            )
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cache::FORMAT_VERSION;
    use crate::support::secret::Secret;
    use std::time::{Duration, SystemTime};

    const KEY: &str = "dkr.ecr.us-east-1.amazonaws.com";

    fn entry(id: &Identity, host: &str, expires_in: u64, pw: &str) -> CacheEntry {
        let now = crate::support::time::secs(SystemTime::now());
        CacheEntry {
            version: FORMAT_VERSION,
            registry: host.into(),
            identity: id.fingerprint.clone(),
            identity_label: id.label.clone(),
            username: "AWS".into(),
            password: Secret::new(pw),
            requested_at: now,
            expires_at: now + expires_in,
        }
    }

    #[test]
    fn entries_of_earlier_versions_serve_their_token_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let id = Identity::for_tests("a".repeat(64));
        let other = Identity::for_tests("b".repeat(64));
        for (host, left, pw) in [
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com",
                3600,
                "short",
            ),
            ("222222222222.dkr.ecr.us-east-1.amazonaws.com", 7200, "long"),
            (
                "333333333333.dkr.ecr.eu-west-1.amazonaws.com",
                9000,
                "elsewhere",
            ),
        ] {
            let lock = cache.lock(&id, host, Duration::from_secs(1)).unwrap();
            cache.put(&lock, &entry(&id, host, left, pw)).unwrap();
        }
        let got = cache.get(&id, KEY).unwrap();
        assert_eq!(got.password.expose(), "long");
        assert!(cache.get(&other, KEY).is_none());
        assert!(cache.get(&id, "dkr.ecr.ap-south-1.amazonaws.com").is_none());
        // A key's own entry wins over the old ones.
        let lock = cache.lock(&id, KEY, Duration::from_secs(1)).unwrap();
        cache.put(&lock, &entry(&id, KEY, 600, "new")).unwrap();
        assert_eq!(cache.get(&id, KEY).unwrap().password.expose(), "new");
        assert_eq!(cache.entries(&id).len(), 4);
    }

    #[test]
    fn used_and_default_registries_are_remembered_per_identity() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let id = Identity::for_tests("a".repeat(64));
        let other = Identity::for_tests("b".repeat(64));
        let a = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
        let b = "222222222222.dkr.ecr.us-east-1.amazonaws.com";
        cache.note_registry(&id, a);
        cache.note_registry(&id, a);
        cache.note_default(&id, KEY, b);
        // A record that names a registry of another key is not believed.
        cache.note_default(&id, "dkr.ecr.eu-west-1.amazonaws.com", a);
        assert_eq!(cache.default_registry(&id, KEY).as_deref(), Some(b));
        assert_eq!(cache.known_hosts(&id), vec![a.to_string(), b.to_string()]);
        assert!(cache.known_hosts(&other).is_empty());
        assert!(cache.all_entries().is_empty());
    }
}
