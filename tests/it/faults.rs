//! The API misbehaving (throttling, failing, slow, hanging, resetting,
//! cutting answers short, answering HTML) while many `get`s race, through the
//! built binary and the fake ECR: each case counts the requests the fake saw
//! and the answers given, with generous upper bounds on wall time.
//!
//! One row per case of the table in the README's "When the API misbehaves".

use std::io::Write;
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Caches a token, then makes it 7 hours old with 5 hours left: past its
/// half-life, still valid. Returns its password.
fn cache_token_past_half_life(env: &TestEnv) -> String {
    let secret = env.get(REGISTRY).secret();
    let files = env.cache_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    v["requested_at"] = (now() - 7 * 3600).into();
    v["expires_at"] = (now() + 5 * 3600).into();
    std::fs::write(&files[0], serde_json::to_vec(&v).unwrap()).unwrap();
    secret
}

/// The failure records (`*.failure`) in the cache.
fn failure_files(env: &TestEnv) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "failure") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&env.cache_dir(), &mut out);
    out
}

/// Ends the backoff of the one remembered failure, as if it had passed.
fn expire_failure(env: &TestEnv) {
    let files = failure_files(env);
    assert_eq!(files.len(), 1, "{files:?}");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    v["failed_at"] = (now() - 60).into();
    v["retry_at"] = (now() - 1).into();
    std::fs::write(&files[0], serde_json::to_vec(&v).unwrap()).unwrap();
}

fn spawn_get(env: &TestEnv) -> (Instant, Child) {
    let start = Instant::now();
    let mut child = env.command(&["get"]).spawn().expect("spawn get");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(REGISTRY.as_bytes())
        .unwrap();
    (start, child)
}

/// `n` racing `get`s: each one's run.
fn race(env: &TestEnv, n: usize) -> Vec<Run> {
    let children: Vec<_> = (0..n)
        .map(|_| spawn(env.command(&["get"]), REGISTRY.as_bytes()))
        .collect();
    children.into_iter().map(|c| c.wait(LIMIT)).collect()
}

fn slowest(runs: &[Run]) -> Duration {
    runs.iter().map(|r| r.elapsed).max().unwrap_or_default()
}

// Row 1: 50 gets at once, the API throttling every request, a cached token
// past half-life (5 h left). Before: 200 requests, max 26.3 s.
#[test]
fn racing_gets_under_throttling_serve_the_cached_token_with_one_refresh() {
    let env = TestEnv::new();
    let cached = cache_token_past_half_life(&env);
    env.ecr
        .set_default(Reply::Error(400, "ThrottlingException"));
    let before = env.ecr.count();
    let runs = race(&env, 50);
    for run in &runs {
        assert_eq!(run.secret(), cached, "{run:#?}");
    }
    let requests = env.ecr.count() - before;
    eprintln!(
        "50 racing gets, throttled: {requests} requests, max {:?}",
        slowest(&runs)
    );
    // One refresh attempt (the SDK retries it at most 3 times), not one per get.
    assert!((1..=4).contains(&requests), "{requests} requests");
    assert!(
        slowest(&runs) < Duration::from_secs(20),
        "{:?}",
        slowest(&runs)
    );
    // The failure is remembered: the next gets serve the token without asking.
    let run = env.get(REGISTRY);
    assert_eq!(run.secret(), cached);
    assert_eq!(env.ecr.count() - before, requests);
}

// Row 2: the same with a cold cache. Before: all fail after 23 s median, 200 requests.
#[test]
fn racing_cold_gets_under_throttling_share_one_failure() {
    let env = TestEnv::new();
    env.ecr
        .set_default(Reply::Error(400, "ThrottlingException"));
    let runs = race(&env, 50);
    for run in &runs {
        run.assert_not_found();
        assert!(
            run.stderr.contains("fake ThrottlingException"),
            "every get names the cause: {run:#?}"
        );
    }
    let requests = env.ecr.count();
    eprintln!(
        "50 racing cold gets, throttled: {requests} requests, max {:?}",
        slowest(&runs)
    );
    assert!((1..=4).contains(&requests), "{requests} requests");
    assert!(
        slowest(&runs) < Duration::from_secs(25),
        "{:?}",
        slowest(&runs)
    );
    let remembered = runs
        .iter()
        .filter(|r| r.stderr.contains("not asking ECR again"))
        .count();
    assert_eq!(
        remembered, 49,
        "all but the refreshing get learn its outcome"
    );
}

// Row 3: one get, the API hanging, a cached token past half-life. Before:
// the cached token after 30.0 s.
#[test]
fn a_hanging_api_serves_the_cached_token_within_the_refresh_budget() {
    let env = TestEnv::new();
    let cached = cache_token_past_half_life(&env);
    env.ecr.set_default(Reply::Hang);
    let run = env.get(REGISTRY);
    assert_eq!(run.secret(), cached, "{run:#?}");
    assert_eq!(env.ecr.count(), 2, "one refresh request");
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    assert!(run.stderr.contains("budget"), "{run:#?}");
    // Remembered: the next get does not wait for the API at all.
    let run = env.get(REGISTRY);
    assert_eq!(run.secret(), cached);
    assert_eq!(env.ecr.count(), 2);
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
}

// Row 4: one get, the API answering in 12 s. Before: the cached token after
// 30.0 s and 3 requests.
#[test]
fn a_slow_api_serves_the_cached_token_within_the_refresh_budget() {
    let env = TestEnv::new();
    let cached = cache_token_past_half_life(&env);
    env.ecr.set_default(Reply::Slow(Duration::from_secs(12)));
    let run = env.get(REGISTRY);
    assert_eq!(run.secret(), cached, "{run:#?}");
    assert_eq!(env.ecr.count(), 2, "one refresh request");
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
}

// Row 5: cold, the API answering in 12 s, AWS_ECR_TIMEOUT=60. Before: failed
// after 43.8 s and 4 requests (a fixed 10 s per attempt).
#[test]
fn a_slow_api_succeeds_under_a_generous_deadline() {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_TIMEOUT", "60");
    env.ecr.set_default(Reply::Slow(Duration::from_secs(12)));
    let run = env.get(REGISTRY);
    assert_eq!(
        run.secret(),
        FakeEcr::password("123456789012", AKID, 1),
        "{run:#?}"
    );
    assert_eq!(env.ecr.count(), 1);
    assert!(run.elapsed < Duration::from_secs(40), "{:?}", run.elapsed);
}

// Row 6: every get under permanent throttling, cold. Before: 4 requests and
// 2.8-4.5 s each, every time.
#[test]
fn permanent_throttling_is_asked_once_per_backoff() {
    let env = TestEnv::new();
    env.ecr
        .set_default(Reply::Error(400, "ThrottlingException"));
    let first = env.get(REGISTRY);
    first.assert_not_found();
    let requests = env.ecr.count();
    assert!((1..=4).contains(&requests), "{requests}");
    for _ in 0..5 {
        let run = env.get(REGISTRY);
        run.assert_not_found();
        assert!(
            run.stderr.contains("fake ThrottlingException")
                && run.stderr.contains("not asking ECR again"),
            "{run:#?}"
        );
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
        assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
    }
    assert_eq!(env.ecr.count(), requests, "no request within the backoff");
    // After the backoff, the API is asked again; a success clears the memory.
    expire_failure(&env);
    env.ecr
        .set_default(Reply::Token(Duration::from_secs(12 * 3600)));
    env.get(REGISTRY).secret();
    assert_eq!(env.ecr.count(), requests + 1);
    assert!(
        failure_files(&env).is_empty(),
        "a success forgets the failure"
    );
}

#[test]
fn a_success_after_the_backoff_replaces_the_cached_token_and_the_memory() {
    let env = TestEnv::new();
    let cached = cache_token_past_half_life(&env);
    env.ecr.set_default(Reply::Error(500, "ServerException"));
    assert_eq!(env.get(REGISTRY).secret(), cached);
    let failed = env.ecr.count();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&failure_files(&env)[0]).unwrap()).unwrap();
    assert_eq!(record["failures"], 1);
    assert!(record["cause"]
        .as_str()
        .unwrap()
        .contains("ServerException"));
    assert!(
        !record.to_string().contains(&cached),
        "no secret in the record"
    );
    // A second failure after the first backoff doubles it.
    expire_failure(&env);
    assert_eq!(env.get(REGISTRY).secret(), cached);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&failure_files(&env)[0]).unwrap()).unwrap();
    assert_eq!(record["failures"], 2);
    expire_failure(&env);
    env.ecr
        .set_default(Reply::Token(Duration::from_secs(12 * 3600)));
    let fresh = env.get(REGISTRY).secret();
    assert_ne!(fresh, cached);
    assert!(env.ecr.count() > failed);
    assert!(failure_files(&env).is_empty());
    assert_eq!(env.get(REGISTRY).secret(), fresh);
}

#[test]
fn local_failures_are_not_remembered() {
    // Access denied is the identity's to fix: the next get asks again.
    let env = TestEnv::new();
    env.ecr
        .set_default(Reply::Error(400, "AccessDeniedException"));
    env.get(REGISTRY).assert_not_found();
    env.get(REGISTRY).assert_not_found();
    assert_eq!(env.ecr.count(), 2);
    assert!(failure_files(&env).is_empty());
}

#[test]
fn an_html_answer_names_the_status_and_a_proxy() {
    let env = TestEnv::new();
    env.ecr.set_default(Reply::Html(502));
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(
        run.stderr.contains("HTTP 502")
            && run.stderr.contains("HTML")
            && run.stderr.contains("proxy"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("unexpected token"), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
}

#[test]
fn a_cut_answer_says_it_was_cut_short() {
    let env = TestEnv::new();
    env.ecr.set_default(Reply::Truncated);
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(run.stderr.contains("cut short"), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(env.cache_files().is_empty());
}

#[test]
fn a_reset_connection_is_retried() {
    let env = TestEnv::new();
    env.ecr.script(vec![Reply::Reset]);
    let run = env.get(REGISTRY);
    assert_eq!(
        run.secret(),
        FakeEcr::password("123456789012", AKID, 2),
        "{run:#?}"
    );
    assert_eq!(env.ecr.count(), 2);
}

#[test]
fn the_deadline_error_says_what_was_slow() {
    // Connected, request sent, no answer: raising the deadline may help.
    let mut env = TestEnv::new();
    let silent = crate::common::fake_ecr::silent_listener();
    env.set("AWS_ECR_TIMEOUT", "2");
    env.set("AWS_ENDPOINT_URL_ECR", &format!("http://{silent}"));
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(
        run.stderr.contains("the answer from") && run.stderr.contains("raise AWS_ECR_TIMEOUT"),
        "{run:#?}"
    );
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    // A TLS handshake nothing completes: it would not.
    env.set("AWS_ENDPOINT_URL_ECR", &format!("https://{silent}"));
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(
        run.stderr.contains("TLS handshake") && run.stderr.contains("will not help"),
        "{run:#?}"
    );
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
}

#[cfg(target_os = "linux")]
#[test]
fn the_deadline_error_names_an_unanswered_connection() {
    let mut env = TestEnv::new();
    let addr = crate::common::fake_ecr::unanswering_listener();
    env.set("AWS_ECR_TIMEOUT", "2");
    env.set("AWS_ENDPOINT_URL_ECR", &format!("https://{addr}"));
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(
        run.stderr.contains("TCP connection") && run.stderr.contains("will not help"),
        "{run:#?}"
    );
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
}

#[test]
fn a_corrupt_entry_is_reported_once_when_replaced() {
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    let file = env.cache_files()[0].clone();
    std::fs::write(&file, b"{\"version\":1,\"regis").unwrap();
    assert!(file.ends_with(format!("{KEY}.json")), "{}", file.display());
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 0, "{run:#?}");
    // (The directory part may be masked: test paths look like secrets to the scrubber.)
    assert!(
        run.stderr
            .contains(&format!("{KEY}.json is not valid JSON"))
            && run.stderr.contains("replaced"),
        "{run:#?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    let run = env.get(REGISTRY);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:#?}");
    assert_eq!(env.ecr.count(), 2);
}

#[cfg(unix)]
#[test]
fn killed_writes_leave_no_named_temp_file() {
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    let dir = env.cache_files()[0].parent().unwrap().to_path_buf();
    let temps = || -> Vec<PathBuf> {
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
            .collect()
    };
    // A temp file a killed write left (the name a write uses between linking
    // and renaming), however recent, goes with the next write under the lock.
    let planted = dir.join(format!(".tmp-{KEY}.json-1-0-0"));
    std::fs::write(&planted, "{\"password\":\"left behind\"}").unwrap();
    let mut sigkilled = 0;
    for i in 0..20u64 {
        std::fs::remove_file(&env.cache_files()[0]).unwrap();
        let (_, mut child) = spawn_get(&env);
        std::thread::sleep(Duration::from_micros(500 * (i % 10)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        sigkilled += usize::from(status.signal().is_some());
        if env.cache_files().is_empty() {
            env.get(REGISTRY).secret();
        }
    }
    eprintln!("{sigkilled} of 20 gets killed midway");
    assert!(temps().is_empty(), "{:?}", temps());
}
