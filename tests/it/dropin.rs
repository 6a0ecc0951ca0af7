//! A drop-in for the Go helper's workflows: `store` / `erase` of a `docker
//! login` for ECR, `list` on a cold cache, one token per identity and region,
//! and tokens capped at the credentials' expiry. Through the built binary,
//! the real SDK and the fake ECR server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;
use base64::Engine as _;

const B: &str = "210987654321.dkr.ecr.us-east-1.amazonaws.com";
const C: &str = "333333333333.dkr.ecr.us-east-1.amazonaws.com";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A password shaped like ECR's (base64 JSON with an `expiration`).
fn ecr_password(tag: &str, expires_in: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!(
        r#"{{"payload":"{tag}","datakey":"k","version":"2","type":"DATA_KEY","expiration":{}}}"#,
        now() + expires_in
    ))
}

fn store(env: &TestEnv, host: &str, password: &str) -> Run {
    env.run(
        &["store"],
        &format!(r#"{{"ServerURL":"{host}","Username":"AWS","Secret":"{password}"}}"#),
    )
}

fn list(env: &TestEnv) -> serde_json::Map<String, serde_json::Value> {
    let run = env.run(&["list"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    run.json().as_object().expect("a JSON map").clone()
}

#[test]
fn a_login_of_another_identity_is_kept_served_listed_and_erased() {
    let env = TestEnv::new();
    let theirs = ecr_password("other-profile", 3600);
    let run = store(&env, &format!("https://{B}"), &theirs);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run:#?}");
    // Served instead of our own token, with no API call.
    assert_eq!(env.get(B).secret(), theirs);
    assert_eq!(env.get(&format!("https://{B}/v2/")).secret(), theirs);
    assert_eq!(env.ecr.count(), 0);
    assert!(list(&env).contains_key(&format!("https://{B}")));
    // The file is private, and holds no more than the login.
    let kept = env.cache_dir().join("v1/stored").join(format!("{B}.json"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    let run = env.run(&["erase"], &format!("{B}\n"));
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run:#?}");
    assert!(!kept.exists());
    // Our own token from now on.
    assert_eq!(env.get(B).secret(), FakeEcr::password(B, AKID, 1));
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn a_login_without_a_password_is_refused_not_kept() {
    let env = TestEnv::new();
    let run = store(&env, B, "");
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (
            1,
            format!("the login for {B} has no password: nothing was kept\n").as_str()
        )
    );
    assert!(!env
        .cache_dir()
        .join("v1/stored")
        .join(format!("{B}.json"))
        .exists());
}

#[test]
fn a_stored_login_gives_way_to_our_token_when_it_expires() {
    let env = TestEnv::new();
    // Two minutes left: under the 5-minute margin.
    assert_eq!(store(&env, B, &ecr_password("short", 120)).code, 0);
    assert_eq!(env.get(B).secret(), FakeEcr::password(B, AKID, 1));
}

#[test]
fn a_login_the_cache_cannot_keep_is_accepted_with_one_stderr_line() {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_DISABLE_CACHE", "true");
    let run = store(&env, B, &ecr_password("x", 3600));
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.contains("not kept"), "{run:#?}");
    assert!(run.stderr.contains("own AWS identity"), "{run:#?}");
    assert_eq!(env.get(B).secret(), FakeEcr::password(B, AKID, 1));
}

#[test]
fn ignore_creds_storage_keeps_its_meaning() {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_IGNORE_CREDS_STORAGE", "true");
    let run = store(&env, B, &ecr_password("x", 3600));
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
    assert!(!env.cache_dir().join("v1/stored").exists());
    assert_eq!(env.get(B).secret(), FakeEcr::password(B, AKID, 1));
    let run = env.run(&["erase"], "ghcr.io\n");
    assert_eq!(run.code, 0, "{run:#?}");
}

#[test]
fn store_for_another_registry_without_a_fallback_says_how_to_configure_one() {
    let env = TestEnv::new();
    for run in [
        store(&env, "ghcr.io", "pw"),
        env.run(&["erase"], "https://ghcr.io\n"),
    ] {
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(
            run.stdout
                .starts_with("not implemented: ghcr.io is not an ECR registry"),
            "{run:#?}"
        );
        assert!(run.stdout.contains("fallback = \"NAME\""), "{run:#?}");
        assert!(run.stdout.contains("AWS_ECR_FALLBACK_HELPER"), "{run:#?}");
        assert!(!run.stdout.contains("pw\""), "{run:#?}");
    }
}

#[test]
fn three_accounts_in_one_region_cost_one_call_without_registry_ids() {
    let env = TestEnv::new();
    let password = FakeEcr::password(REGISTRY, AKID, 1);
    for host in [REGISTRY, B, C, B] {
        assert_eq!(env.get(host).secret(), password, "{host}");
    }
    let calls = env.ecr.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(calls[0].registry_ids.is_empty(), "{calls:#?}");
    // Another region, and the FIPS variant, are tokens of their own.
    env.get("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
        .secret();
    env.get("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com")
        .secret();
    assert_eq!(env.ecr.count(), 3);
    let names: Vec<String> = env
        .cache_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"dkr.ecr.us-east-1.amazonaws.com.json".to_string()),
        "{names:?}"
    );
}

#[test]
fn both_names_of_ecr_public_share_one_token() {
    let env = TestEnv::new();
    let a = env.get("public.ecr.aws").secret();
    let b = env.get("ecr-public.aws.com").secret();
    assert_eq!(a, b);
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn entries_of_earlier_versions_keep_serving_their_region() {
    let env = TestEnv::new();
    let first = env.get(REGISTRY).secret();
    // Turn the entry into one an earlier version wrote: named by its registry.
    let entry = env
        .cache_files()
        .into_iter()
        .find(|p| p.ends_with("dkr.ecr.us-east-1.amazonaws.com.json"))
        .expect("the key's entry");
    let text = std::fs::read_to_string(&entry).unwrap().replace(
        "\"registry\": \"dkr.ecr.us-east-1.amazonaws.com\"",
        &format!("\"registry\": \"{REGISTRY}\""),
    );
    std::fs::remove_file(&entry).unwrap();
    std::fs::write(entry.with_file_name(format!("{REGISTRY}.json")), text).unwrap();
    assert_eq!(env.get(C).secret(), first);
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn list_on_a_cold_cache_finds_the_default_registry_with_one_call() {
    let mut env = TestEnv::new();
    env.set("AWS_REGION", "eu-west-1");
    let default = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    assert!(list(&env).contains_key(default));
    let calls = env.ecr.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].region, "eu-west-1");
    // The token was cached: the get that follows, and the next list, are free.
    env.get(default).secret();
    assert!(list(&env).contains_key(default));
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn list_names_configured_registries_without_a_call() {
    let mut env = TestEnv::new();
    env.set("AWS_REGION", "us-east-1");
    env.write(
        "home/.docker/config.json",
        &format!(r#"{{"credsStore":"ecr-login","credHelpers":{{"{C}":"ecr-login","ghcr.io":"desktop","444444444444.dkr.ecr.us-west-2.amazonaws.com":"other"}}}}"#),
    );
    env.write(
        "home/.ecr/config.toml",
        &format!("[[alias]]\nhost = \"Mirror.Example.com\"\nregistry = \"{REGISTRY}\"\n[[alias]]\nhost = \"*.glob.example\"\nregistry = \"{REGISTRY}\"\n[[registry]]\nmatch = \"{B}\"\nprofile = \"x\"\n[[registry]]\nmatch = \"555555555555\"\nprofile = \"y\"\n"),
    );
    let keys: Vec<String> = list(&env).keys().cloned().collect();
    assert_eq!(
        keys,
        vec![
            format!("https://{REGISTRY}"),
            format!("https://{B}"),
            format!("https://{C}"),
            "https://555555555555.dkr.ecr.us-east-1.amazonaws.com".to_string(),
            "https://mirror.example.com".to_string(),
        ]
    );
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn list_names_every_registry_a_get_used() {
    let env = TestEnv::new();
    env.get(B).secret();
    env.get(&format!("https://{C}/v2/")).secret();
    let listed = list(&env);
    assert!(listed.contains_key(&format!("https://{B}")), "{listed:?}");
    assert!(listed.contains_key(&format!("https://{C}")), "{listed:?}");
    assert_eq!(env.ecr.count(), 1);
}

#[test]
fn list_with_a_dead_network_answers_within_its_deadline() {
    let mut env = TestEnv::new();
    env.set("AWS_REGION", "us-east-1");
    env.ecr.set_default(Reply::Hang);
    let run = env.run(&["list"], "");
    assert_eq!((run.code, run.stdout.as_str()), (0, "{}\n"), "{run:#?}");
    // 5 s for the one call, generous slack for a loaded machine.
    assert!(run.elapsed < Duration::from_secs(20), "{run:#?}");
    assert!(run.stderr.contains("default registry"), "{run:#?}");
}

#[test]
fn a_token_is_not_cached_past_the_credentials_that_minted_it() {
    let env = TestEnv::new();
    // An assumed role: the fake's STS gives one-hour credentials.
    env.write(
        "home/.ecr/config.toml",
        "[[registry]]\nmatch = \"123456789012\"\nrole_arn = \"arn:aws:iam::123456789012:role/EcrPull\"\n",
    );
    env.get(REGISTRY).secret();
    let entry = env
        .cache_files()
        .into_iter()
        .find(|p| p.ends_with("dkr.ecr.us-east-1.amazonaws.com.json"))
        .expect("the key's entry");
    let e: serde_json::Value = serde_json::from_slice(&std::fs::read(entry).unwrap()).unwrap();
    let lifetime = e["expires_at"].as_u64().unwrap() - e["requested_at"].as_u64().unwrap();
    assert!(
        lifetime <= 3600,
        "cached for {lifetime} s, past the session"
    );
    assert!(lifetime > 3000, "cached for {lifetime} s");
}

#[test]
fn kubelet_keys_the_answer_by_the_image_host_as_written() {
    let env = TestEnv::new();
    for (image, key) in [
        (
            "123456789012.dkr.ecr.US-EAST-1.amazonaws.com/app:1",
            "123456789012.dkr.ecr.US-EAST-1.amazonaws.com",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443/app:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
        ),
        ("ecr-public.aws.com/team/app", "ecr-public.aws.com"),
    ] {
        let request = format!(
            r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{image}"}}"#
        );
        let run = env.run(&["kubelet"], &request);
        assert_eq!(run.code, 0, "{run:#?}");
        let auth = run.json()["auth"].as_object().unwrap().clone();
        assert_eq!(auth.keys().collect::<Vec<_>>(), vec![key], "{image}");
    }
    // Two private images of one region and ECR Public: two calls.
    assert_eq!(env.ecr.count(), 2);
}

#[test]
fn kubelet_config_lists_every_host_form_the_binary_accepts() {
    let env = TestEnv::new();
    let run = env.run(&["kubelet", "config"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    let globs: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    for want in [
        "*.dkr.ecr.*.amazonaws.com",
        "*.dkr.ecr-fips.*.amazonaws.com",
        "*.dkr-ecr.*.on.aws",
        "*.dkr.ecr.*.amazonaws.com.cn",
        "public.ecr.aws",
        "ecr-public.aws.com",
        "*.dkr.ecr.*.amazonaws.com:443",
    ] {
        assert!(globs.contains(&want), "{want} missing from {globs:?}");
    }
    // Every glob, filled in, is a host `get` accepts (no API call needed to
    // tell: a host it refuses fails without one).
    for glob in &globs {
        let host = glob
            .replacen('*', "123456789012", 1)
            .replacen('*', "us-east-1", 1);
        let region_for = |h: &str| {
            for (domain, region) in [
                ("amazonaws.com.cn", "cn-north-1"),
                ("on.amazonwebservices.com.cn", "cn-north-1"),
                ("amazonaws.eu", "eusc-de-east-1"),
                ("sc2s.sgov.gov", "us-isob-east-1"),
                ("csp.hci.ic.gov", "us-isof-south-1"),
                ("c2s.ic.gov", "us-iso-east-1"),
                ("cloud.adc-e.uk", "eu-isoe-west-1"),
            ] {
                if h.trim_end_matches(":443").ends_with(domain) {
                    return h.replace("us-east-1", region);
                }
            }
            h.to_string()
        };
        let run = env.run(&["doctor", &region_for(&host)], "");
        assert!(
            !run.stdout.contains("not an ECR registry")
                && !run.stderr.contains("not an ECR registry"),
            "{glob}: {run:#?}"
        );
    }
}

#[test]
fn doctor_and_cache_show_tell_a_kept_login_without_its_secret() {
    let env = TestEnv::new();
    let theirs = ecr_password("kept", 3 * 3600);
    assert_eq!(store(&env, B, &theirs).code, 0);
    let doctor = env.run(&["doctor", B], "");
    assert!(
        doctor
            .stdout
            .contains(&format!("  kept       a `docker login` for {B}")),
        "{doctor:#?}"
    );
    let show = env.run(&["cache", "show"], "");
    assert!(
        show.stdout.contains(&format!(
            "  {B}  docker login (kept; served to every identity)  valid, 2h 59m left"
        )) || show.stdout.contains(&format!(
            "  {B}  docker login (kept; served to every identity)  valid, 3h 0m left"
        )),
        "{show:#?}"
    );
    for out in [&doctor.stdout, &doctor.stderr, &show.stdout, &show.stderr] {
        assert!(!out.contains(&theirs), "{out}");
    }
}

#[test]
fn list_says_why_it_found_no_default_registry_without_a_placeholder_account() {
    let mut env = TestEnv::new();
    env.set("AWS_REGION", "us-east-1");
    env.ecr
        .set_default(Reply::Error(400, "AccessDeniedException"));
    let run = env.run(&["list"], "");
    assert_eq!((run.code, run.stdout.as_str()), (0, "{}\n"), "{run:#?}");
    assert!(
        run.stderr.contains("access denied in us-east-1"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("000000000000"), "{run:#?}");
}
