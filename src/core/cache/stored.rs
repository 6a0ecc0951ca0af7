//! Logins that `docker login` handed to `store` for an ECR registry (or an
//! alias of one), kept until their own expiry: `<dir>/v1/stored/<host>.json`,
//! one entry per host as Docker names it (lower case, no port), 0600 like
//! every entry. Such a login may be another identity's (`aws ecr
//! get-login-password --profile other | docker login ...`): the Docker
//! protocol's `get` serves it, whoever is asking, until it expires or `erase`
//! (`docker logout`) forgets it; then the helper's own token takes over.
//!
//! An ECR password carries its expiry (base64 of a JSON document with an
//! `expiration` in epoch seconds); a password that does not is kept for 12
//! hours, the longest an ECR token lives.

use std::time::SystemTime;

use base64::Engine as _;

use super::VERSIONED;
use super::{json_names, read_entry, Cache, CacheEntry, CacheError, FORMAT_VERSION, MAX_LIFETIME};
use crate::support::secret::Secret;
use crate::support::time::secs;

/// The subdirectory of stored logins (not a fingerprint: never listed as one).
const STORED: &str = "stored";
/// The identity recorded in a stored entry: Docker's, not one of ours.
pub const STORED_IDENTITY: &str = "docker-login-store";

/// When an ECR password says it expires, if it says so.
pub fn password_expiry(password: &str) -> Option<u64> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(password.trim())
        .ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    let at = &doc["expiration"];
    at.as_u64().or_else(|| at.as_f64().map(|f| f as u64))
}

impl Cache {
    /// Keeps `username` / `password` for `host` until the password's expiry
    /// (at most 12 hours from now). Returns the entry written.
    pub fn store_login(
        &self,
        host: &str,
        username: &str,
        password: Secret,
    ) -> Result<CacheEntry, CacheError> {
        let now = secs(SystemTime::now());
        let longest = now + MAX_LIFETIME.as_secs();
        let expires_at = password_expiry(password.expose())
            .unwrap_or(longest)
            .min(longest);
        let entry = CacheEntry {
            version: FORMAT_VERSION,
            registry: host.to_string(),
            identity: STORED_IDENTITY.to_string(),
            identity_label: "docker login".to_string(),
            username: username.to_string(),
            password,
            requested_at: now.min(expires_at),
            expires_at,
        };
        let body = serde_json::to_vec_pretty(&entry).map_err(|e| CacheError::Write {
            path: self.root.join(VERSIONED).join(STORED),
            source: e.into(),
        })?;
        self.write_private(&[VERSIONED, STORED], &format!("{host}.json"), &body)?;
        Ok(entry)
    }

    /// The stored login for `host`, if one is kept (expired or not).
    pub fn stored_login(&self, host: &str) -> Option<CacheEntry> {
        // The common case, nothing stored, in one system call; what exists
        // is then read only through the trusted path.
        let name = format!("{host}.json");
        let path = self.root.join(VERSIONED).join(STORED).join(&name);
        if let Err(e) = std::fs::symlink_metadata(path) {
            if e.kind() == std::io::ErrorKind::NotFound {
                return None;
            }
        }
        let dir = self.trusted_dir(&[VERSIONED, STORED], false).ok()??;
        read_entry(&dir, host).filter(|e| e.identity == STORED_IDENTITY)
    }

    /// Forgets the stored login for `host`; `Ok(false)` when there was none.
    pub fn forget_login(&self, host: &str) -> Result<bool, CacheError> {
        let Some(dir) = self.trusted_dir(&[VERSIONED, STORED], false)? else {
            return Ok(false);
        };
        let path = dir.join(format!("{host}.json"));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(CacheError::Write { path, source }),
        }
    }

    /// Every stored login (expired ones included), by host.
    pub fn stored_logins(&self) -> Vec<CacheEntry> {
        let Ok(Some(dir)) = self.trusted_dir(&[VERSIONED, STORED], false) else {
            return Vec::new();
        };
        let mut out: Vec<CacheEntry> = json_names(&dir)
            .into_iter()
            .filter_map(|host| read_entry(&dir, &host))
            .filter(|e| e.identity == STORED_IDENTITY)
            .collect();
        out.sort_by(|a, b| a.registry.cmp(&b.registry));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecr_password(expiration: u64) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!(
            r#"{{"payload":"x","datakey":"y","version":"2","type":"DATA_KEY","expiration":{expiration}}}"#
        ))
    }

    #[test]
    fn a_stored_login_is_kept_until_its_own_expiry_and_erase_forgets_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let host = "210987654321.dkr.ecr.us-east-1.amazonaws.com";
        let in_an_hour = secs(SystemTime::now()) + 3600;
        let pw = ecr_password(in_an_hour);
        let kept = cache
            .store_login(host, "AWS", Secret::new(pw.clone()))
            .unwrap();
        assert_eq!(kept.expires_at, in_an_hour);
        let got = cache.stored_login(host).unwrap();
        assert_eq!(
            (got.username.as_str(), got.password.expose()),
            ("AWS", pw.as_str())
        );
        assert_eq!(cache.stored_logins().len(), 1);
        // Not a fingerprint directory: never another identity's token entry.
        assert!(cache.all_entries().is_empty());
        assert!(cache.forget_login(host).unwrap());
        assert!(cache.stored_login(host).is_none());
        assert!(!cache.forget_login(host).unwrap());
    }

    #[test]
    fn expiry_comes_from_the_password_capped_at_12_hours() {
        let now = secs(SystemTime::now());
        assert_eq!(password_expiry(&ecr_password(now + 60)), Some(now + 60));
        assert_eq!(password_expiry("not base64!"), None);
        assert_eq!(password_expiry("aGVsbG8="), None); // "hello"
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let far = cache
            .store_login(
                "h.example",
                "u",
                Secret::new(ecr_password(now + 86400 * 30)),
            )
            .unwrap();
        assert!(far.expires_at <= now + MAX_LIFETIME.as_secs() + 5);
        let plain = cache
            .store_login("p.example", "u", Secret::new("plain"))
            .unwrap();
        assert!(plain.expires_at >= now + MAX_LIFETIME.as_secs());
    }
}
