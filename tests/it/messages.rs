//! Issue 23: mistakes whose message used to point the wrong way. Each test
//! asserts that the message names the cause and the fix.

use std::time::Duration;

use crate::common::*;

const US_EAST_7: &str = "123456789012.dkr.ecr.us-east-7.amazonaws.com";

/// An endpoint name that cannot resolve anywhere (RFC 2606's `.invalid`).
fn unresolvable(env: &mut TestEnv) {
    env.set("AWS_ENDPOINT_URL_ECR", "https://api.ecr.us-east-7.invalid");
}

#[test]
fn a_region_whose_endpoint_does_not_resolve_is_tried_once_and_named() {
    let mut env = TestEnv::new();
    unresolvable(&mut env);
    env.set("AWS_ECR_LOG", "debug");
    let run = env.get(US_EAST_7);
    run.assert_not_found();
    let error = run
        .stderr
        .lines()
        .find(|l| l.contains("error:"))
        .unwrap_or_else(|| panic!("no error line: {run:#?}"));
    for expect in [
        "api.ecr.us-east-7.invalid",
        "does not resolve",
        "region us-east-7 looks wrong for the aws partition",
        "check the region in the registry's hostname",
        "AWS_ENDPOINT_URL_ECR",
    ] {
        assert!(error.contains(expect), "{expect:?} missing: {error}");
    }
    assert!(!error.contains("dispatch failure"), "{error}");
    let attempts = run.stderr.matches("debug: request ").count();
    assert_eq!(attempts, 1, "retried: {run:#?}");
    // The SDK's backoff alone took 2.6-5.4 s.
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
    // Not remembered as an outage: the next get tries again.
    let again = env.get(US_EAST_7);
    assert_eq!(
        again.stderr.matches("debug: request ").count(),
        1,
        "{again:#?}"
    );
}

#[test]
fn doctor_names_a_region_that_does_not_resolve_at_once() {
    let mut env = TestEnv::new();
    unresolvable(&mut env);
    let run = env.run(&["doctor", US_EAST_7], "");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("FAILED") && run.stdout.contains("does not resolve"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("fix        check the region in the registry's hostname"),
        "{}",
        run.stdout
    );
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
}

#[test]
fn credentials_aws_rejects_are_named_with_where_they_came_from() {
    let cases = [
        (
            "UnrecognizedClientException",
            "does not know the access key",
        ),
        ("InvalidClientTokenId", "does not know the access key"),
        ("ExpiredTokenException", "the session token has expired"),
        (
            "InvalidSignatureException",
            "the secret access key does not match",
        ),
    ];
    for (code, why) in cases {
        let env = TestEnv::new();
        env.ecr.set_default(Reply::Error(400, code));
        let run = env.get(REGISTRY);
        run.assert_not_found();
        for expect in [
            "AWS rejected the credentials (access keys from the environment)",
            code,
            why,
            "refresh",
        ] {
            assert!(run.stderr.contains(expect), "{code}: {expect:?}: {run:#?}");
        }
        assert!(
            !run.stderr.contains("ecr:GetAuthorizationToken"),
            "{code}: points at the permission: {run:#?}"
        );
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
        // A local fault: fixed credentials take effect at once.
        env.ecr.set_default(Reply::Token(Duration::from_secs(3600)));
        assert_eq!(env.get(REGISTRY).code, 0, "{code}: remembered");
    }
}

#[test]
fn rejected_credentials_name_the_profile_they_came_from() {
    let mut env = TestEnv::new();
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    env.write(
        "home/.aws/credentials",
        "[stale]\naws_access_key_id = AKIDSTALE\naws_secret_access_key = s\n",
    );
    env.set("AWS_PROFILE", "stale");
    env.ecr
        .set_default(Reply::Error(400, "UnrecognizedClientException"));
    let run = env.get(REGISTRY);
    assert!(
        run.stderr
            .contains("AWS rejected the credentials (profile stale"),
        "{run:#?}"
    );
    let doctor = env.run(&["doctor", REGISTRY], "");
    assert!(
        doctor.stdout.contains("fix        refresh the credentials"),
        "{}",
        doctor.stdout
    );
}

#[test]
fn a_clock_that_is_off_is_named_with_by_how_much() {
    let cases = [
        (
            "InvalidSignatureException",
            "Signature expired: 20261201T100000Z is now earlier than 20261201T103500Z (20261201T105000Z - 15 min.)",
            "this machine's clock is 50m 0s behind AWS's",
        ),
        (
            "InvalidSignatureException",
            "Signature not yet current: 20261201T120000Z is still later than 20261201T111500Z (20261201T110000Z + 15 min.)",
            "this machine's clock is 1h 0m ahead of AWS's",
        ),
        (
            "SignatureDoesNotMatch",
            "Signature expired: 20261201T100000Z is now earlier than 20261201T103500Z",
            "this machine's clock is 50m 0s behind AWS's",
        ),
        (
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            "this machine's clock is off",
        ),
    ];
    for (code, message, expect) in cases {
        let env = TestEnv::new();
        env.ecr.set_default(Reply::ErrorMessage(400, code, message));
        let run = env.get(REGISTRY);
        run.assert_not_found();
        assert!(run.stderr.contains(expect), "{code}: {run:#?}");
        assert!(run.stderr.contains("set the clock right"), "{run:#?}");
        assert!(
            !run.stderr.contains("ecr:GetAuthorizationToken") && !run.stderr.contains("rejected"),
            "{code}: {run:#?}"
        );
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    }
}

#[test]
fn a_failing_credential_process_is_one_clean_line() {
    let mut env = TestEnv::new();
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    env.write(
        "home/.aws/config",
        "[profile cp]\ncredential_process = sh -c \"echo boom >&2; echo second line >&2; exit 3\"\n",
    );
    env.set("AWS_PROFILE", "cp");
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("exited with status 3. Stderr: boom / second line"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("\\n"), "{run:#?}");
    assert!(!run.stderr.contains("code exit status"), "{run:#?}");
}

#[test]
fn a_log_file_in_a_missing_directory_is_named_once() {
    let mut env = TestEnv::new();
    let dir = env.dir.path().join("no-such-dir");
    env.set(
        "AWS_ECR_LOG_FILE",
        &dir.join("ecr.log").display().to_string(),
    );
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("the directory {} does not exist", dir.display()))
            && run.stderr.contains("create it"),
        "{run:#?}"
    );
    let mut env = TestEnv::new();
    env.set("AWS_ECR_LOG_FILE", "logs/ecr.log");
    let run = env.get(REGISTRY);
    assert!(
        run.stderr
            .contains("AWS_ECR_LOG_FILE=\"logs/ecr.log\" is a relative path"),
        "{run:#?}"
    );
}

#[test]
fn log_file_lines_carry_rfc3339_times() {
    let mut env = TestEnv::new();
    let log = env.dir.path().join("ecr.log");
    env.set("AWS_ECR_LOG_FILE", &log.display().to_string())
        .set("AWS_ECR_LOG", "info");
    env.get(REGISTRY).secret();
    let text = std::fs::read_to_string(&log).expect("log file");
    let first = text.lines().next().expect("a line");
    let stamp = first.split(' ').next().unwrap_or_default();
    // 2026-12-01T21:00:00.123Z
    assert_eq!(stamp.len(), 24, "{first}");
    assert!(
        stamp.as_bytes()[10] == b'T' && stamp.ends_with('Z') && stamp.starts_with("20"),
        "{first}"
    );
}

#[cfg(target_os = "linux")]
mod mfa {
    use std::io::{Read, Write};
    use std::process::{Child, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use crate::common::*;

    fn with_mfa_profile(env: &mut TestEnv) {
        env.unset("AWS_ACCESS_KEY_ID")
            .unset("AWS_SECRET_ACCESS_KEY");
        env.write(
            "home/.aws/credentials",
            "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = b\n",
        );
        env.write(
            "home/.aws/config",
            "[profile mfa]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n",
        );
        env.set("AWS_PROFILE", "mfa");
    }

    /// `get` under a pseudo-terminal whose user types the registry, ^D, and
    /// then nothing (the terminal stays open). Its output (stdout and stderr:
    /// the terminal's) is gathered as it comes.
    fn silent_pty_get(env: &TestEnv) -> (Child, Arc<Mutex<String>>) {
        silent_pty_get_of(env, REGISTRY)
    }

    fn silent_pty_get_of(env: &TestEnv, registry: &str) -> (Child, Arc<Mutex<String>>) {
        let mut cmd = env.pty_command("get");
        cmd.stderr(Stdio::null());
        let mut child = cmd.spawn().expect("script");
        child
            .stdin
            .as_mut()
            .expect("stdin")
            .write_all(format!("{registry}\n\u{4}").as_bytes())
            .expect("write");
        let out = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().expect("stdout");
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        (child, out)
    }

    /// Waits (at most 20 s) for `child` to end; its exit code, elapsed time
    /// and all its output.
    fn finish(mut child: Child, out: &Arc<Mutex<String>>) -> (i32, Duration, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("the helper ignored its deadline");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = start.elapsed();
        drop(child.stdin.take());
        // The reader thread sees the end of the output once the child is gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut text = out.lock().unwrap().clone();
        while !text.contains("credentials not found") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            text = out.lock().unwrap().clone();
        }
        (status.code().unwrap_or(-1), elapsed, text)
    }

    /// Waits (at most 10 s) until `out` contains `text`.
    fn wait_for(out: &Arc<Mutex<String>>, text: &str) {
        wait_until(
            Duration::from_secs(10),
            &format!("{text:?} in the output"),
            || out.lock().unwrap().contains(text),
        );
    }

    #[test]
    fn an_mfa_code_not_entered_in_time_is_called_that() {
        let mut env = TestEnv::new();
        with_mfa_profile(&mut env);
        env.set("AWS_ECR_TIMEOUT", "2");
        let (child, out) = silent_pty_get(&env);
        let (code, elapsed, text) = finish(child, &out);
        assert_ne!(code, 0, "{text}");
        assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
        for expect in [
            "the MFA code for profile mfa was not entered within 2.0s",
            "docker-credential-ecr-login login --profile mfa",
            "AWS_ECR_TIMEOUT",
        ] {
            assert!(text.contains(expect), "{expect:?} missing: {text}");
        }
        assert!(!text.contains("network"), "{text}");
        // The user's slowness is not an outage to remember: the next get asks again.
        let (child, out) = silent_pty_get(&env);
        let (_, _, text) = finish(child, &out);
        assert!(text.contains("MFA code for"), "no second prompt: {text}");
        assert!(!text.contains("not asking ECR again"), "{text}");
    }

    #[test]
    fn a_get_waiting_on_another_process_s_mfa_prompt_says_so() {
        let mut env = TestEnv::new();
        with_mfa_profile(&mut env);
        env.set("AWS_ECR_TIMEOUT", "15");
        let (first, first_out) = silent_pty_get(&env);
        wait_for(&first_out, "MFA code for");
        env.set("AWS_ECR_TIMEOUT", "2");
        let (second, out) = silent_pty_get(&env);
        let (code, elapsed, text) = finish(second, &out);
        let mut first = first;
        let _ = first.kill();
        let _ = first.wait();
        assert_ne!(code, 0, "{text}");
        assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
        assert!(!text.contains("MFA code for"), "a second prompt: {text}");
        for expect in [
            "another docker-credential-ecr-login was getting the token for",
            "waiting for the MFA code of profile mfa",
            "enter the code at its prompt",
        ] {
            assert!(text.contains(expect), "{expect:?} missing: {text}");
        }
        assert!(!text.contains("0.0s"), "{text}");
    }

    /// Two registries, one MFA profile: the second get waits on the first's
    /// prompt (the profile's prompt lock), not on its refresh.
    pub fn same_prompt_other_registry() {
        let mut env = TestEnv::new();
        with_mfa_profile(&mut env);
        env.set("AWS_ECR_TIMEOUT", "15");
        let (mut first, first_out) = silent_pty_get(&env);
        wait_for(&first_out, "MFA code for");
        env.set("AWS_ECR_TIMEOUT", "2");
        let (second, out) = silent_pty_get_of(&env, "210987654321.dkr.ecr.eu-west-1.amazonaws.com");
        let (code, _, text) = finish(second, &out);
        let _ = first.kill();
        let _ = first.wait();
        assert_ne!(code, 0, "{text}");
        assert!(!text.contains("MFA code for"), "a second prompt: {text}");
        for expect in [
            "another docker-credential-ecr-login held the MFA prompt of profile mfa",
            "no session came within 2.0s",
            "enter the code at that prompt",
        ] {
            assert!(text.contains(expect), "{expect:?} missing: {text}");
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_get_of_another_registry_waiting_on_the_same_mfa_prompt_says_so() {
    mfa::same_prompt_other_registry();
}

#[test]
fn doctor_s_cache_line_reads_as_a_sentence() {
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    let run = env.run(&["doctor", REGISTRY], "");
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("cache "))
        .unwrap_or_else(|| panic!("no cache line: {}", run.stdout));
    assert!(
        line.contains(&format!("{}: valid, ", env.cache_dir().display())),
        "{line}"
    );
    assert!(!line.contains(" : ") && !line.contains(" ,"), "{line}");
}

#[test]
fn an_override_s_password_never_reaches_the_unresolved_message_or_the_log() {
    let mut env = TestEnv::new();
    env.set(
        "AWS_ENDPOINT_URL_ECR",
        "https://admin:hunter2pass@api.ecr.us-east-7.invalid",
    )
    .set("AWS_ECR_LOG", "debug");
    let run = env.get(US_EAST_7);
    run.assert_not_found();
    assert!(
        run.stderr
            .contains("the ECR endpoint api.ecr.us-east-7.invalid (from AWS_ENDPOINT_URL_ECR)"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("hunter2pass"), "{run:#?}");
}
