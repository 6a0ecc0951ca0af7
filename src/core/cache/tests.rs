//! Unit tests of [`super`].

use super::*;
use crate::support::secret::Secret;
use crate::support::time::secs;

fn identity(fp: char) -> Identity {
    Identity::for_tests(fp.to_string().repeat(64))
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
