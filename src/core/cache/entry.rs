//! One cache entry: its format, when it is fresh, and what makes it
//! implausible (and so never served).

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::support::secret::Secret;
use crate::support::time::secs;

/// The format version written into every entry.
pub const FORMAT_VERSION: u32 = 1;

/// 9999-12-31T23:59:59Z: no cache timestamp is later.
pub const MAX_TIMESTAMP: u64 = 253_402_300_799;

/// Entries larger than this are not cache files.
pub(super) const MAX_ENTRY_BYTES: u64 = 64 * 1024;

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
    /// Registry password (written to the cache file: explicitly).
    #[serde(serialize_with = "Secret::serialize_exposed")]
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

    /// The entry's state at `now`, for people: `expired`, `valid, 5h 59m
    /// left`, or `valid, 2h 0m left, past half-life (the next use refreshes it)`.
    pub fn state(&self, now: SystemTime) -> String {
        let left = self.remaining(now);
        if left.is_zero() {
            "expired".to_string()
        } else if self.is_fresh(now) {
            format!("valid, {} left", crate::support::time::human(left))
        } else {
            format!(
                "valid, {} left, past half-life (the next use refreshes it)",
                crate::support::time::human(left)
            )
        }
    }

    /// How long the token is still valid (zero when expired).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        Duration::from_secs(self.expires_at.saturating_sub(secs(now)))
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
