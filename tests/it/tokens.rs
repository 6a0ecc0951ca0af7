//! `get-login-password` and `authorization-token`, through the built binary,
//! the real SDK and the fake ECR server.

// The harness re-exports items that only some test files use.
use crate::common::*;
#[allow(unused_imports)]
use base64::Engine as _;

#[test]
fn get_login_password_prints_the_password_and_a_newline() {
    let env = TestEnv::new();
    let run = env.run(&["get-login-password", REGISTRY], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stdout,
        format!("{}\n", FakeEcr::password("123456789012", AKID, 1))
    );
    assert_eq!(run.stderr, "");
    let calls = env.ecr.calls();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].registry_ids.is_empty(),
        "registryIds is deprecated"
    );
    assert_eq!(calls[0].region, "us-east-1");
}

#[test]
fn authorization_token_is_base64_of_aws_colon_password() {
    let env = TestEnv::new();
    let run = env.run(&["authorization-token", REGISTRY], "");
    assert_eq!(run.code, 0, "{run:#?}");
    let line = run.stdout.strip_suffix('\n').expect("newline-terminated");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(line)
        .expect("base64");
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("AWS:{}", FakeEcr::password("123456789012", AKID, 1))
    );
}

#[test]
fn both_share_the_cache_with_get() {
    let env = TestEnv::new();
    let password = env.get(REGISTRY).secret();
    let run = env.run(&["get-login-password", REGISTRY], "");
    assert_eq!(run.stdout, format!("{password}\n"));
    let run = env.run(
        &["authorization-token", &format!("https://{REGISTRY}/app")],
        "",
    );
    assert_eq!(
        run.stdout,
        format!(
            "{}\n",
            base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"))
        )
    );
    assert_eq!(env.ecr.count(), 1, "the cached token was not reused");
}

#[test]
fn ecr_public_works_too() {
    let env = TestEnv::new();
    let run = env.run(&["get-login-password", "public.ecr.aws"], "");
    assert_eq!(
        run.stdout,
        format!("{}\n", FakeEcr::password("public", AKID, 1))
    );
    assert_eq!(
        env.ecr.calls()[0].target,
        "SpencerFrontendService.GetAuthorizationToken"
    );
}

#[test]
fn missing_or_extra_arguments_are_usage_errors() {
    let env = TestEnv::new();
    for cmd in ["get-login-password", "authorization-token"] {
        let run = env.run(&[cmd], "");
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{run:#?}");
        assert!(
            run.stderr.contains("needs the registry host")
                && run
                    .stderr
                    .contains("(see `docker-credential-ecr-login help`)")
                && run.stderr.lines().count() == 1,
            "{run:#?}"
        );
        let run = env.run(&[cmd, REGISTRY, "extra"], "");
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{run:#?}");
        assert!(run.stderr.contains("takes one argument"), "{run:#?}");
    }
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn failures_are_one_line_on_stderr_and_nothing_on_stdout() {
    let env = TestEnv::new();
    for cmd in ["get-login-password", "authorization-token"] {
        let run = env.run(&[cmd, "ghcr.io"], "");
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{run:#?}");
        assert!(run.stderr.contains("not an ECR registry"), "{run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    }
    assert_eq!(env.ecr.count(), 0);
    env.ecr
        .set_default(Reply::Error(400, "AccessDeniedException"));
    for cmd in ["get-login-password", "authorization-token"] {
        let run = env.run(&[cmd, REGISTRY], "");
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{run:#?}");
        assert!(
            run.stderr
                .contains("access denied for account 123456789012"),
            "{run:#?}"
        );
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    }
}

#[test]
fn no_secret_on_stderr_at_trace_level() {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_LOG", "trace");
    let run = env.run(&["get-login-password", REGISTRY], "");
    let password = FakeEcr::password("123456789012", AKID, 1);
    assert_eq!(run.stdout, format!("{password}\n"));
    assert!(!run.stderr.is_empty(), "trace logging said nothing");
    assert!(!run.stderr.contains(&password), "{}", run.stderr);
    assert!(!run.stderr.contains(SECRET_KEY), "{}", run.stderr);
}
