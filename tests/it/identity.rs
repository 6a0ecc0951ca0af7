//! Issue 6: the registry → profile / role map, MFA for assume-role profiles,
//! and `doctor`.

use std::process::{Command, Stdio};

use crate::common::*;

const OTHER: &str = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";

fn with_profiles(env: &mut TestEnv) {
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    let creds = env.write(
        "home/.aws/credentials",
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n[other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = o\n[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = b\n",
    );
    let config = env.write(
        "home/.aws/config",
        "[profile mfa]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nduration_seconds = 900\n",
    );
    env.set("AWS_SHARED_CREDENTIALS_FILE", &creds.display().to_string());
    env.set("AWS_CONFIG_FILE", &config.display().to_string());
}

fn with_map(env: &mut TestEnv, text: &str) {
    let map = env.write("home/.ecr/config.toml", text);
    env.set("AWS_ECR_CONFIG", &map.display().to_string());
}

#[test]
fn the_map_selects_a_profile_per_registry() {
    let mut env = TestEnv::new();
    with_profiles(&mut env);
    with_map(
        &mut env,
        "[[registry]]\nmatch = \"210987654321\"\nprofile = \"other\"\n",
    );
    assert_eq!(
        env.get(OTHER).secret(),
        FakeEcr::password("210987654321", "AKIDOTHER", 1)
    );
    assert_eq!(
        env.get(REGISTRY).secret(),
        FakeEcr::password("123456789012", "AKIDDEFAULT", 2)
    );
    // Both are cached under their own identity.
    env.get(OTHER).secret();
    env.get(REGISTRY).secret();
    assert_eq!(env.ecr.count(), 2);
}

#[test]
fn explicit_environment_wins_over_the_maps_profile() {
    let mut env = TestEnv::new();
    with_profiles(&mut env);
    with_map(
        &mut env,
        "[[registry]]\nmatch = \"*.eu-west-1.amazonaws.com\"\nprofile = \"other\"\n",
    );
    env.set("AWS_PROFILE", "default");
    assert_eq!(
        env.get(OTHER).secret(),
        FakeEcr::password("210987654321", "AKIDDEFAULT", 1)
    );
}

#[test]
fn the_map_can_assume_a_role() {
    let mut env = TestEnv::new();
    with_map(&mut env, "[[registry]]\nmatch = \"210987654321.dkr.ecr.eu-west-1.amazonaws.com\"\nrole_arn = \"arn:aws:iam::210987654321:role/EcrPull\"\n");
    let secret = env.get(OTHER).secret();
    let calls = env.ecr.calls();
    assert_eq!(calls[0].target, "STS.AssumeRole");
    assert_eq!(
        calls[0].param("RoleArn"),
        Some("arn:aws:iam::210987654321:role/EcrPull")
    );
    assert_eq!(calls[0].access_key, AKID);
    assert_eq!(secret, FakeEcr::password("210987654321", "ASIATEMP1", 2));
    // The plain identity does not see the role's token.
    assert_eq!(
        env.get(REGISTRY).secret(),
        FakeEcr::password("123456789012", AKID, 3)
    );
}

#[test]
fn a_broken_map_is_a_clear_error() {
    let mut env = TestEnv::new();
    with_map(&mut env, "[[registry]]\nmatch = \"x\"\nprofle = \"typo\"\n");
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(
        run.stderr.contains("config.toml") && run.stderr.contains("AWS_ECR_CONFIG"),
        "{run:#?}"
    );
    assert_eq!(env.ecr.count(), 0);
}

/// Runs the helper under a pseudo-terminal (util-linux `script`), typing `typed`.
fn run_in_pty(env: &TestEnv, args: &str, typed: &str) -> Run {
    run_command(env.pty_command(args), typed.as_bytes())
}

/// Runs the helper with no controlling terminal at all.
fn run_without_terminal(env: &TestEnv, args: &[&str], stdin: &str) -> Run {
    let inner = env.command(args);
    let mut cmd = Command::new("setsid");
    cmd.arg("-w").arg(BIN).args(args);
    cmd.env_clear()
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))));
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_command(cmd, stdin.as_bytes())
}

#[cfg(target_os = "linux")]
#[test]
fn mfa_prompts_once_then_the_session_serves_every_get() {
    let mut env = TestEnv::new();
    with_profiles(&mut env);
    env.set("AWS_PROFILE", "mfa");
    let run = run_in_pty(&env, "login --profile mfa", "123456\n");
    assert!(
        run.stdout
            .contains("MFA code for arn:aws:iam::123456789012:mfa/me"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("MFA session for profile mfa is valid"),
        "{run:#?}"
    );
    let sts = env.ecr.calls();
    assert_eq!(sts.len(), 1);
    assert_eq!(sts[0].target, "STS.AssumeRole");
    assert_eq!(
        (sts[0].param("SerialNumber"), sts[0].param("TokenCode")),
        (Some("arn:aws:iam::123456789012:mfa/me"), Some("123456"))
    );
    assert_eq!(sts[0].access_key, "AKIDBASE");
    // Several gets without any terminal: no prompt, the kept session signs the ECR calls.
    for host in [REGISTRY, OTHER, REGISTRY] {
        let run = run_without_terminal(&env, &["get"], host);
        assert_eq!(run.code, 0, "{run:#?}");
    }
    let calls = env.ecr.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.target.starts_with("STS."))
            .count(),
        1
    );
    assert_eq!(
        calls.len(),
        3,
        "two ECR calls (one per registry) after the one STS call: {calls:#?}"
    );
    assert!(calls[1..].iter().all(|c| c.access_key == "ASIATEMP1"));
    // The kept session is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mfa_dir = env.cache_dir().join("mfa");
        let file = std::fs::read_dir(&mfa_dir)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn login_acts_on_the_named_profile_even_with_keys_in_the_environment() {
    let mut env = TestEnv::new();
    with_profiles(&mut env);
    env.set("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
        .set("AWS_SECRET_ACCESS_KEY", "env-secret");
    let run = run_in_pty(&env, "login --profile mfa", "123456\n");
    assert!(
        run.stdout.contains("MFA session for profile mfa is valid"),
        "{run:#?}"
    );
    let sts = env.ecr.calls();
    assert_eq!(sts.len(), 1, "{sts:#?}");
    assert_eq!(sts[0].target, "STS.AssumeRole");
    assert_eq!(sts[0].access_key, "AKIDBASE");
}

#[cfg(target_os = "linux")]
#[test]
fn get_prompts_on_the_terminal_when_it_has_one() {
    let mut env = TestEnv::new();
    with_profiles(&mut env);
    env.set("AWS_PROFILE", "mfa");
    // The registry line, end of input (^D), then the code at the prompt.
    let run = run_in_pty(&env, "get", &format!("{REGISTRY}\n\u{4}654321\n"));
    assert!(run.stdout.contains("MFA code for"), "{run:#?}");
    assert!(
        run.stdout
            .contains(&FakeEcr::password("123456789012", "ASIATEMP1", 2)),
        "{run:#?}"
    );
    assert_eq!(env.ecr.calls()[0].param("TokenCode"), Some("654321"));
}

#[cfg(target_os = "linux")]
#[test]
fn mfa_without_a_terminal_fails_fast_and_says_how_to_fix_it() {
    let mut env = TestEnv::new();
    with_profiles(&mut env);
    env.set("AWS_PROFILE", "mfa");
    let run = run_without_terminal(&env, &["get"], REGISTRY);
    run.assert_not_found();
    assert!(
        run.stderr
            .contains("docker-credential-ecr-login login --profile mfa"),
        "{run:#?}"
    );
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn doctor_redacts_the_password_of_an_endpoint_override() {
    let mut env = TestEnv::new();
    let url = env.ecr.url.replace("http://", "http://admin:hunter2pass@");
    env.set("AWS_ENDPOINT_URL_ECR", &url);
    let run = env.run(&["doctor", REGISTRY], "");
    assert!(run.stdout.contains("endpoint"), "{run:#?}");
    assert!(run.stdout.contains("http://****@127.0.0.1"), "{run:#?}");
    for out in [&run.stdout, &run.stderr] {
        assert!(!out.contains("hunter2pass"), "{out}");
        assert!(!out.contains("admin:"), "{out}");
    }
}

#[test]
fn doctor_explains_and_never_prints_a_secret() {
    let mut env = TestEnv::new();
    env.set(
        "AWS_SESSION_TOKEN",
        "FwoGZXIvYXdzEBYaDSESSIONTOKENSECRETVALUE0123456789",
    );
    let password = env.get(REGISTRY).secret();
    let run = env.run(
        &[
            "doctor",
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{run:#?}");
    for expect in [
        "account    123456789012",
        "region     us-east-1",
        "partition  aws",
        "fips       yes",
        "access keys from the environment",
        "token        ok",
    ] {
        assert!(
            run.stdout.contains(expect),
            "missing {expect:?} in\n{}",
            run.stdout
        );
    }
    let run2 = env.run(&["doctor", REGISTRY], "");
    assert!(
        run2.stdout.contains("cache ") && run2.stdout.contains(": valid, 1"),
        "{}",
        run2.stdout
    );
    for out in [&run.stdout, &run.stderr, &run2.stdout, &run2.stderr] {
        for secret in [
            password.as_str(),
            SECRET_KEY,
            "FwoGZXIvYXdzEBYaDSESSIONTOKENSECRETVALUE",
        ] {
            assert!(!out.contains(secret), "secret in doctor output: {out}");
        }
    }
    env.ecr
        .set_default(Reply::Error(400, "AccessDeniedException"));
    let run = env.run(&["doctor", OTHER], "");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("FAILED")
            && run
                .stdout
                .contains("fix        grant the identity ecr:GetAuthorizationToken"),
        "{}",
        run.stdout
    );
    let run = env.run(&["doctor", "ghcr.io"], "");
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("not an ECR registry"), "{}", run.stdout);
}

/// Holds the prompt lock of the `mfa` profile, as a process prompting would.
#[cfg(target_os = "linux")]
fn hold_mfa_lock(env: &TestEnv) -> std::fs::File {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = env.cache_dir().join("mfa");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(dir.join(format!("{}.lock", mfa_key())))
        .unwrap();
    file.lock().unwrap();
    file
}

/// `get` under a pseudo-terminal whose user types the registry, ^D, and then
/// nothing at all (the terminal stays open): killed and failed past 20 s.
#[cfg(target_os = "linux")]
fn spawn_silent_pty_get(env: &TestEnv) -> std::process::Child {
    use std::io::Write;
    let mut child = env.pty_command("get").spawn().unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(format!("{REGISTRY}\n\u{4}").as_bytes())
        .unwrap();
    child
}

/// A pty `get` may take this long before it counts as ignoring its deadline.
#[cfg(target_os = "linux")]
const PTY_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

#[cfg(target_os = "linux")]
#[test]
fn the_mfa_prompt_obeys_the_deadline() {
    let mut env = TestEnv::new();
    with_profiles(&mut env);
    env.set("AWS_PROFILE", "mfa").set("AWS_ECR_TIMEOUT", "2");
    let run = wait_bounded(spawn_silent_pty_get(&env), PTY_LIMIT, "the pty get");
    let elapsed = run.elapsed;
    assert!(run.stdout.contains("MFA code for"), "{run:#?}");
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(
        elapsed < std::time::Duration::from_secs(6),
        "{elapsed:?}: {run:#?}"
    );
    assert_eq!(env.ecr.count(), 0);
}

/// While another process prompts for the profile (it holds the prompt lock),
/// a second `get` does not prompt: it waits, and uses the session the first
/// one keeps.
#[cfg(target_os = "linux")]
#[test]
fn a_second_get_waits_for_the_first_prompts_session() {
    let mut env = TestEnv::new();
    with_profiles(&mut env);
    let log = env.dir.path().join("helper.log");
    env.set("AWS_PROFILE", "mfa")
        .set("AWS_ECR_TIMEOUT", "10")
        .set("AWS_ECR_LOG", "info")
        .set("AWS_ECR_LOG_FILE", &log.display().to_string());
    let lock = hold_mfa_lock(&env);
    let child = spawn_silent_pty_get(&env);
    // The second get has found the prompt lock taken and waits for it.
    wait_until(
        PTY_LIMIT,
        "the second get to wait for the prompt lock",
        || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("waiting for its session")),
    );
    // The first process keeps its session, then releases the lock.
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let session = serde_json::json!({
        "version": 1, "profile": "mfa", "access_key_id": "ASIAFIRST",
        "secret_access_key": "s", "session_token": "t", "expires_at": expires,
        "made_from": mfa_made_from("AKIDBASE"),
    });
    {
        use std::os::unix::fs::OpenOptionsExt;
        let path = env
            .cache_dir()
            .join("mfa")
            .join(format!("{}.json", mfa_key()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .unwrap();
        use std::io::Write;
        f.write_all(session.to_string().as_bytes()).unwrap();
    }
    drop(lock);
    let run = wait_bounded(child, PTY_LIMIT, "the pty get");
    assert!(
        !run.stdout.contains("MFA code for"),
        "a second prompt: {run:#?}"
    );
    assert!(
        run.stdout
            .contains(&FakeEcr::password("123456789012", "ASIAFIRST", 1)),
        "{run:#?}"
    );
    assert!(env
        .ecr
        .calls()
        .iter()
        .all(|c| !c.target.starts_with("STS.")));
}

/// If the first prompt outlasts the second `get`'s deadline, the second fails
/// at its deadline, still without prompting.
#[cfg(target_os = "linux")]
#[test]
fn waiting_for_another_prompt_ends_at_the_deadline() {
    let mut env = TestEnv::new();
    with_profiles(&mut env);
    env.set("AWS_PROFILE", "mfa").set("AWS_ECR_TIMEOUT", "2");
    let _lock = hold_mfa_lock(&env);
    let run = wait_bounded(spawn_silent_pty_get(&env), PTY_LIMIT, "the pty get");
    let elapsed = run.elapsed;
    assert!(!run.stdout.contains("MFA code for"), "{run:#?}");
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(
        elapsed < std::time::Duration::from_secs(6),
        "{elapsed:?}: {run:#?}"
    );
}
