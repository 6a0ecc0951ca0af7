//! The token cache through the built binary: hits, refreshes, identities,
//! damage, permissions and racing processes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Rewrites the one cache entry's timestamps.
fn age_entry(env: &TestEnv, requested_ago: u64, expires_in: i64) {
    let files = env.cache_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    v["requested_at"] = (now() - requested_ago).into();
    v["expires_at"] = ((now() as i64) + expires_in).into();
    std::fs::write(&files[0], serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn warm_get_is_served_from_the_cache() {
    let env = TestEnv::new();
    let first = env.get(REGISTRY).secret();
    for _ in 0..3 {
        assert_eq!(env.get(REGISTRY).secret(), first);
    }
    assert_eq!(env.ecr.count(), 1);
    let entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&env.cache_files()[0]).unwrap()).unwrap();
    assert_eq!(entry["version"], 1);
    assert_eq!(entry["registry"], KEY);
    assert!(entry["expires_at"].as_u64().unwrap() > now() + 11 * 3600);
}

#[test]
fn disabled_cache_always_calls_ecr() {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_DISABLE_CACHE", "true");
    env.get(REGISTRY).secret();
    env.get(REGISTRY).secret();
    assert_eq!(env.ecr.count(), 2);
    assert!(env.cache_files().is_empty());
}

#[test]
fn refresh_after_half_the_lifetime() {
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    age_entry(&env, 7 * 3600, 5 * 3600); // 12 h token, 7 h old
    let second = env.get(REGISTRY).secret();
    assert_eq!(second, FakeEcr::password("123456789012", AKID, 2));
    assert_eq!(env.ecr.count(), 2);
    assert_eq!(env.get(REGISTRY).secret(), second);
    assert_eq!(env.ecr.count(), 2);
}

#[test]
fn short_lived_tokens_refresh_at_half_life() {
    let env = TestEnv::new();
    env.ecr.set_default(Reply::Token(Duration::from_secs(40)));
    env.get(REGISTRY).secret();
    env.get(REGISTRY).secret();
    assert_eq!(env.ecr.count(), 1);
    // 21 s later (the entry moved back in time instead of sleeping): past
    // half of its 40 s life, 19 s before it expires.
    let files = env.cache_files();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    for field in ["requested_at", "expires_at"] {
        v[field] = (v[field].as_u64().unwrap() - 21).into();
    }
    std::fs::write(&files[0], serde_json::to_vec(&v).unwrap()).unwrap();
    env.get(REGISTRY).secret();
    assert_eq!(env.ecr.count(), 2);
}

#[test]
fn refresh_failure_serves_a_still_valid_token_with_a_warning() {
    let env = TestEnv::new();
    let first = env.get(REGISTRY).secret();
    age_entry(&env, 10 * 3600, 2 * 3600);
    env.ecr.set_default(Reply::Error(500, "ServerException"));
    let run = env.get(REGISTRY);
    assert_eq!(run.secret(), first);
    assert!(run.stderr.contains("Using the cached token"), "{run:#?}");
}

#[test]
fn expired_tokens_are_never_served() {
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    age_entry(&env, 12 * 3600, -10);
    env.ecr.set_default(Reply::Error(500, "ServerException"));
    env.get(REGISTRY).assert_not_found();
    // Nor a token with less than five minutes left.
    age_entry(&env, 12 * 3600, 120);
    env.get(REGISTRY).assert_not_found();
}

#[test]
fn an_already_expired_answer_is_not_cached() {
    let env = TestEnv::new();
    env.ecr.set_default(Reply::Expired);
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 0);
    assert!(env.cache_files().is_empty());
}

#[test]
fn identities_never_share_tokens() {
    let mut env = TestEnv::new();
    let one = env.get(REGISTRY).secret();
    env.set("AWS_ACCESS_KEY_ID", "AKIDTESTTWO")
        .set("AWS_SECRET_ACCESS_KEY", "another-secret-key");
    let two = env.get(REGISTRY).secret();
    assert_eq!(two, FakeEcr::password("123456789012", "AKIDTESTTWO", 2));
    // Profiles: two profiles with different keys.
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    let creds = env.write("home/.aws/credentials", "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = d\n[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = p\n");
    env.set("AWS_SHARED_CREDENTIALS_FILE", &creds.display().to_string());
    env.set("AWS_PROFILE", "dev");
    let dev = env.get(REGISTRY).secret();
    env.set("AWS_PROFILE", "prod");
    let prod = env.get(REGISTRY).secret();
    assert_eq!(dev, FakeEcr::password("123456789012", "AKIDDEV", 3));
    assert_eq!(prod, FakeEcr::password("123456789012", "AKIDPROD", 4));
    // Switching back hits each identity's own entry.
    env.set("AWS_PROFILE", "dev");
    assert_eq!(env.get(REGISTRY).secret(), dev);
    env.set("AWS_PROFILE", "prod")
        .set("AWS_ACCESS_KEY_ID", AKID)
        .set("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    assert_eq!(env.get(REGISTRY).secret(), one);
    assert_eq!(env.ecr.count(), 4);
}

#[test]
fn rotated_secret_of_the_same_key_still_hits() {
    let mut env = TestEnv::new();
    let one = env.get(REGISTRY).secret();
    env.set("AWS_SECRET_ACCESS_KEY", "rotated-secret");
    assert_eq!(env.get(REGISTRY).secret(), one);
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn corrupt_or_foreign_entries_are_rewritten() {
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    let file = env.cache_files()[0].clone();
    for (n, body) in [
        "{{{ not json",
        "{\"version\":99,\"registry\":\"x\"}",
        "",
        "\u{0}\u{1}binary",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(&file, body).unwrap();
        let run = env.get(REGISTRY);
        assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, n + 2));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(v["version"], 1);
    }
}

#[cfg(unix)]
#[test]
fn cache_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.cache_dir()), 0o700);
    let file = &env.cache_files()[0];
    assert_eq!(mode(file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
}

#[test]
fn unusable_cache_directory_degrades_to_no_cache() {
    let mut env = TestEnv::new();
    let file = env.write("not-a-dir", "x");
    env.set("AWS_ECR_CACHE_DIR", &file.display().to_string());
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains("continuing without the cache"),
        "{run:#?}"
    );
}

#[test]
fn list_shows_this_identitys_unexpired_registries_without_calling_ecr() {
    let mut env = TestEnv::new();
    let run = env.run(&["list"], "");
    assert_eq!((run.stdout.as_str(), run.code), ("{}\n", 0));
    env.get(REGISTRY).secret();
    env.get("public.ecr.aws").secret();
    let calls = env.ecr.count();
    let run = env.run(&["list"], "");
    assert_eq!(
        run.stdout,
        format!("{{\"https://{REGISTRY}\":\"AWS\",\"https://public.ecr.aws\":\"AWS\"}}\n")
    );
    assert_eq!(env.ecr.count(), calls);
    env.set("AWS_ACCESS_KEY_ID", "AKIDSOMEONEELSE");
    assert_eq!(env.run(&["list"], "").stdout, "{}\n");
}

#[test]
fn cache_show_and_clear() {
    let env = TestEnv::new();
    let secret = env.get(REGISTRY).secret();
    let run = env.run(&["cache", "show"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(KEY) && run.stdout.contains("access keys from the environment"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(&secret) && !run.stdout.contains(AKID));
    let run = env.run(&["cache", "clear"], "");
    assert!(run.stdout.starts_with("removed 1 cached token"), "{run:#?}");
    assert!(env.cache_files().is_empty());
    env.get(REGISTRY).secret();
    assert_eq!(env.ecr.count(), 2);
}

#[test]
fn racing_processes_make_one_call() {
    let env = TestEnv::new();
    env.ecr.set_delay(Duration::from_millis(500));
    let children: Vec<_> = (0..32)
        .map(|_| spawn(env.command(&["get"]), REGISTRY.as_bytes()))
        .collect();
    let expected = FakeEcr::password("123456789012", AKID, 1);
    for child in children {
        assert_eq!(child.wait(LIMIT).secret(), expected);
    }
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn concurrent_writes_of_different_registries_all_land() {
    let env = TestEnv::new();
    env.ecr.set_delay(Duration::from_millis(100));
    // One token per region: sixteen regions, sixteen entries.
    let regions = [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "sa-east-1",
    ];
    let hosts: Vec<String> = (0..16)
        .map(|i| {
            format!(
                "{:012}.dkr.ecr.{}.amazonaws.com",
                100000000000u64 + i as u64,
                regions[i]
            )
        })
        .collect();
    let children: Vec<_> = hosts
        .iter()
        .map(|h| spawn(env.command(&["get"]), h.as_bytes()))
        .collect();
    for child in children {
        let run = child.wait(LIMIT);
        assert_eq!(run.code, 0, "{run:#?}");
    }
    assert_eq!(env.cache_files().len(), 16);
    let listed: serde_json::Value = serde_json::from_str(&env.run(&["list"], "").stdout).unwrap();
    for h in &hosts {
        assert_eq!(
            listed[format!("https://{h}")],
            "AWS",
            "{h} missing from {listed}"
        );
    }
    let before = env.ecr.count();
    for h in &hosts {
        env.get(h).secret();
    }
    assert_eq!(env.ecr.count(), before);
}

#[test]
fn impossible_timestamps_are_treated_as_corrupt() {
    // Found by the cache_entry fuzz target: an expiry beyond SystemTime's range
    // used to panic when the entry was served.
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    let file = env.cache_files()[0].clone();
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for (requested, expires) in [(0u64, u64::MAX), (now() + 100, now() + 50)] {
        v["requested_at"] = requested.into();
        v["expires_at"] = expires.into();
        std::fs::write(&file, serde_json::to_vec(&v).unwrap()).unwrap();
        let run = env.get(REGISTRY);
        assert_eq!(run.code, 0, "{run:#?}");
    }
    assert_eq!(env.ecr.count(), 3);
}
