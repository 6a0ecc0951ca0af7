//! The policy's tests, against a token source that counts calls and answers
//! from a script.

use super::*;
use crate::support::secret::Secret;
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
        pod: &crate::core::source::WebIdentity,
        _: Duration,
    ) -> std::result::Result<crate::support::secret::SessionCredentials, FetchError> {
        Err(FetchError::WebIdentity {
            role: pod.role_arn.clone(),
            detail: "the policy tests use no STS".into(),
        })
    }

    fn api_endpoint(&self, _: &Registry) -> String {
        "https://fake.example".into()
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
    let lock = cache
        .lock(id, reg.cache_key(), Duration::from_secs(1))
        .unwrap();
    let now = secs(SystemTime::now());
    let entry = CacheEntry {
        version: FORMAT_VERSION,
        registry: reg.cache_key().into(),
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
    // The failure is remembered: no call within the backoff.
    assert_eq!(h.login(&reg, &id).unwrap().password.expose(), "old");
    assert_eq!(fake.calls.get(), 1);
    let cache = Cache::new(dir.path());
    let failure = cache.failure(&id, reg.cache_key()).expect("remembered");
    assert_eq!(failure.failures, 1);
    // Once it has passed, the next login refreshes and forgets it.
    let lock = cache
        .lock(&id, reg.cache_key(), Duration::from_secs(1))
        .unwrap();
    let mut expired = failure.clone();
    expired.retry_at = expired.failed_at;
    cache.put_failure(&lock, &expired).unwrap();
    drop(lock);
    assert_eq!(h.login(&reg, &id).unwrap().password.expose(), "pw2");
    assert_eq!(fake.calls.get(), 2);
    assert_eq!(cache.failure(&id, reg.cache_key()), None);
}

#[test]
fn a_refresh_in_progress_elsewhere_serves_the_cached_token_at_once() {
    let (dir, reg, id) = setup();
    write_entry(&dir, &reg, &id, 7 * 3600, 5 * 3600);
    let fake = Fake::new(vec![]);
    let cache = Cache::new(dir.path());
    let _held = cache
        .lock(&id, reg.cache_key(), Duration::from_secs(1))
        .unwrap();
    assert_eq!(
        helper(&fake, &dir)
            .login(&reg, &id)
            .unwrap()
            .password
            .expose(),
        "old"
    );
    assert_eq!(fake.calls.get(), 0);
}

#[test]
fn a_remembered_failure_without_a_servable_token_fails_at_once() {
    let (dir, reg, id) = setup();
    let fake = Fake::new(vec![Err(())]);
    let h = helper(&fake, &dir);
    let first = h.login(&reg, &id).unwrap_err().to_string();
    let second = h.login(&reg, &id).unwrap_err().to_string();
    assert_eq!(fake.calls.get(), 1);
    assert!(second.starts_with(&first), "{second} / {first}");
    assert!(second.contains("not asking ECR again"), "{second}");
}

#[test]
fn an_almost_expired_token_is_not_served_when_refresh_fails() {
    let (dir, reg, id) = setup();
    write_entry(&dir, &reg, &id, 12 * 3600, 60);
    let fake = Fake::new(vec![Err(())]);
    assert!(helper(&fake, &dir).login(&reg, &id).is_err());
}

#[test]
fn a_web_identity_sts_refuses_never_sees_the_role_s_cached_token() {
    let (dir, reg, id) = setup();
    // A fresh token of the role's identity is cached...
    write_entry(&dir, &reg, &id, 60, 11 * 3600);
    let fake = Fake::new(vec![]);
    let pod = WebIdentity {
        role_arn: "arn:aws:iam::123456789012:role/pull".into(),
        token: Secret::new("jwt"),
        session_name: "s".into(),
        region: "us-east-1".into(),
    };
    let asked = Cell::new(false);
    // ...but STS is asked first, and refuses: no login, no fetch, and the
    // role's identity is not even worked out.
    let err = helper(&fake, &dir)
        .login_with_web_identity(&reg, &pod, || {
            asked.set(true);
            Ok::<_, FetchError>(id.clone())
        })
        .unwrap_err();
    assert!(matches!(err, FetchError::WebIdentity { .. }), "{err}");
    assert!(!asked.get());
    assert_eq!(fake.calls.get(), 0);
}
