//! The `get` command and the protocol, through the built binary, the real SDK
//! and the fake ECR server.

use std::net::TcpListener;
use std::time::Duration;

use crate::common::*;

#[test]
fn get_returns_the_protocol_json_and_calls_ecr_once() {
    let env = TestEnv::new();
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stdout,
        format!(
            "{{\"ServerURL\":\"{REGISTRY}\",\"Username\":\"AWS\",\"Secret\":\"{}\"}}\n",
            FakeEcr::password("123456789012", AKID, 1)
        )
    );
    assert_eq!(run.stderr, "");
    let calls = env.ecr.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].target,
        "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
    );
    assert_eq!(calls[0].region, "us-east-1");
    assert!(
        calls[0].registry_ids.is_empty(),
        "registryIds is deprecated"
    );
    assert_eq!(calls[0].access_key, AKID);
}

#[test]
fn server_url_is_echoed_as_given() {
    let env = TestEnv::new();
    for input in [
        "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
        "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM:443",
    ] {
        let run = env.get(input);
        assert_eq!(run.json()["ServerURL"], input, "{run:#?}");
    }
}

#[test]
fn region_and_account_come_from_the_hostname() {
    let env = TestEnv::new();
    for (host, region, account) in [
        (
            "210987654321.dkr.ecr.eu-west-1.amazonaws.com",
            "eu-west-1",
            "210987654321",
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "cn-north-1",
            "123456789012",
        ),
        (
            "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
            "us-gov-west-1",
            "123456789012",
        ),
        (
            "123456789012.dkr-ecr.ap-south-1.on.aws",
            "ap-south-1",
            "123456789012",
        ),
        (
            "123456789012.dkr.ecr-fips.us-east-2.amazonaws.com",
            "us-east-2",
            "123456789012",
        ),
    ] {
        let run = env.get(host);
        assert_eq!(run.code, 0, "{host}: {run:#?}");
        let call = env.ecr.calls().pop().expect("a call");
        // The account is the registry's business, not the request's.
        assert!(host.starts_with(account), "{host}");
        assert_eq!(
            (call.region.as_str(), call.registry_ids.clone()),
            (region, Vec::<String>::new()),
            "{host}"
        );
    }
}

#[test]
fn ecr_public_uses_its_own_api_in_us_east_1() {
    let env = TestEnv::new();
    let run = env.get("public.ecr.aws");
    assert_eq!(run.secret(), FakeEcr::password("public", AKID, 1));
    let call = &env.ecr.calls()[0];
    assert_eq!(call.target, "SpencerFrontendService.GetAuthorizationToken");
    assert_eq!(call.region, "us-east-1");
}

#[test]
fn non_ecr_registries_fail_without_any_call() {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_LOG", "info");
    for input in [
        "https://index.docker.io/v1/",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
        "evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com@evil.example",
        "12345678901.dkr.ecr.us-east-1.amazonaws.com",
    ] {
        let run = env.get(input);
        run.assert_not_found();
        assert!(
            run.stderr.contains("not an ECR registry"),
            "{input}: {run:#?}"
        );
    }
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn empty_input_is_the_protocol_error() {
    let env = TestEnv::new();
    let run = env.run(&["get"], "  \n");
    assert_eq!(
        (run.stdout.as_str(), run.code),
        ("no credentials server URL\n", 1)
    );
}

/// An environment without AWS credentials whose metadata endpoint is a
/// loopback socket that accepts and never answers.
fn without_credentials() -> (TestEnv, TcpListener) {
    let mut env = TestEnv::new();
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .unset("AWS_EC2_METADATA_DISABLED");
    let frozen = TcpListener::bind("127.0.0.1:0").unwrap();
    env.set(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        &format!("http://{}", frozen.local_addr().unwrap()),
    );
    (env, frozen)
}

#[test]
fn no_credentials_fails_fast_and_says_why() {
    // Off EC2 the frozen metadata endpoint must not be asked at all.
    let (env, frozen) = without_credentials();
    frozen.set_nonblocking(true).unwrap();
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(run.stderr.contains("no AWS credentials found"), "{run:#?}");
    assert!(run.stderr.contains("AWS_PROFILE"), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        frozen.accept().is_err(),
        "the metadata endpoint was contacted"
    );
    assert_eq!(env.ecr.count(), 0);
    assert!(
        !env.cache_dir().exists(),
        "a failing get created the cache directory"
    );
    eprintln!("no-credentials failure took {:?}", run.elapsed);
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
}

#[test]
fn forced_metadata_lookup_against_a_frozen_endpoint_is_bounded() {
    let (mut env, frozen) = without_credentials();
    env.set("AWS_ECR_IMDS", "on");
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(run.stderr.contains("EC2 instance metadata"), "{run:#?}");
    eprintln!("frozen-IMDS failure took {:?}", run.elapsed);
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    assert_eq!(env.ecr.count(), 0);
    drop(frozen);
}

#[test]
fn a_hanging_api_hits_the_deadline() {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_TIMEOUT", "1");
    env.ecr.set_default(Reply::Hang);
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(run.stderr.contains("AWS_ECR_TIMEOUT"), "{run:#?}");
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
}

#[test]
fn api_failures_are_explained() {
    let cases = [
        (
            Reply::Error(400, "AccessDeniedException"),
            "access denied for account 123456789012",
        ),
        (
            Reply::Error(400, "UnrecognizedClientException"),
            "credentials themselves were rejected",
        ),
        (Reply::Empty, "no authorization data"),
        (Reply::RawToken("not base64!"), "not base64"),
        (Reply::RawToken("QVdTcGFzc3dvcmQ="), "no ':'"),
    ];
    for (reply, expect) in cases {
        let env = TestEnv::new();
        env.ecr.set_default(reply.clone());
        let run = env.get(REGISTRY);
        run.assert_not_found();
        assert!(run.stderr.contains(expect), "{reply:?}: {run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
        assert!(env.cache_files().is_empty(), "a bad answer was cached");
    }
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let env = TestEnv::new();
    env.ecr.script(vec![
        Reply::Error(400, "ThrottlingException"),
        Reply::Error(500, "ServerException"),
    ]);
    let run = env.get(REGISTRY);
    assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, 3));
    assert_eq!(env.ecr.count(), 3);
}

#[test]
fn store_and_erase_are_refused_unless_ignored() {
    let mut env = TestEnv::new();
    let creds = r#"{"ServerURL":"https://other.example","Username":"u","Secret":"s"}"#;
    let refused = "not implemented: other.example is not an ECR registry";
    let run = env.run(&["store"], creds);
    assert!(run.stdout.starts_with(refused) && run.code == 1, "{run:#?}");
    let run = env.run(&["erase"], "other.example\n");
    assert!(run.stdout.starts_with(refused) && run.code == 1, "{run:#?}");
    env.set("AWS_ECR_IGNORE_CREDS_STORAGE", "true");
    let run = env.run(&["store"], creds);
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str(), run.code),
        ("", "", 0)
    );
    let run = env.run(&["erase"], "other.example\n");
    assert_eq!((run.stdout.as_str(), run.code), ("", 0));
}

#[test]
fn version_help_and_usage_errors() {
    let env = TestEnv::new();
    for flag in ["version", "-v", "--version"] {
        let run = env.run(&[flag], "");
        let expected = format!(
            "docker-credential-ecr-login (ecr-login) {} (commit {}, {})\n",
            env!("CARGO_PKG_VERSION"),
            env!("ECR_LOGIN_BUILD_COMMIT"),
            env!("ECR_LOGIN_BUILD_TARGET"),
        );
        assert_eq!((run.stdout.as_str(), run.code), (expected.as_str(), 0));
    }
    let run = env.run(&["--help"], "");
    assert!(run.code == 0 && run.stdout.contains("Usage:"));
    for args in [&[][..], &["frobnicate"], &["get", "extra"]] {
        let run = env.run(args, "");
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{args:?}");
        // One line naming the mistake and where the usage is, not the whole text.
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run:#?}");
        assert!(
            run.stderr
                .ends_with("(see `docker-credential-ecr-login help`)\n"),
            "{args:?}: {run:#?}"
        );
    }
}

#[test]
fn no_secret_reaches_stderr_or_the_log_file_at_trace_level() {
    let mut env = TestEnv::new();
    let log = env.dir.path().join("helper.log");
    env.set("AWS_ECR_LOG", "trace");
    env.set("AWS_ECR_LOG_FILE", &log.display().to_string());
    env.set(
        "AWS_SESSION_TOKEN",
        "FwoGZXIvYXdzEBYaDSESSIONTOKENSECRETVALUE0123456789abcdefXYZ",
    );
    let first = env.get(REGISTRY);
    let second = env.get(REGISTRY);
    let password = first.secret();
    assert_eq!(second.secret(), password);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("cache hit"), "{logged}");
    for text in [&first.stderr, &second.stderr, &logged] {
        for secret in [
            password.as_str(),
            SECRET_KEY,
            "FwoGZXIvYXdzEBYaDSESSIONTOKENSECRETVALUE",
        ] {
            assert!(!text.contains(secret), "secret leaked: {text}");
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn proxies_from_the_environment_are_used() {
    let mut env = TestEnv::new();
    // The endpoint itself is a closed port; only the proxy (another fake that
    // answers like ECR) can make the call succeed.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let proxy = FakeEcr::start();
    env.set("AWS_ENDPOINT_URL_ECR", &closed_url);
    env.set("HTTP_PROXY", &proxy.url);
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(proxy.count(), 1);
    assert_eq!(env.ecr.count(), 0);
    // NO_PROXY exempts the host again: the closed port is then reached directly and fails.
    env.set("NO_PROXY", "127.0.0.1")
        .set("AWS_ECR_DISABLE_CACHE", "true");
    env.get(REGISTRY).assert_not_found();
    assert_eq!(proxy.count(), 1);
}

#[test]
fn a_bad_ca_bundle_is_a_clear_error_not_a_crash() {
    let mut env = TestEnv::new();
    let bundle = env.write(
        "bad-ca.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    );
    env.set("AWS_CA_BUNDLE", &bundle.display().to_string());
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(run.stderr.contains("AWS_CA_BUNDLE"), "{run:#?}");
    env.set(
        "AWS_CA_BUNDLE",
        &env.dir.path().join("missing.pem").display().to_string(),
    );
    let run = env.get(REGISTRY);
    assert!(
        run.stderr.contains("AWS_CA_BUNDLE") && run.stderr.contains("cannot read"),
        "{run:#?}"
    );
}

#[test]
fn a_truncated_answer_is_retried_and_never_cached_broken() {
    let env = TestEnv::new();
    env.ecr.script(vec![Reply::Truncated]);
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(env.ecr.count(), 2);
    // Every answer truncated: a clear failure, nothing cached.
    let env = TestEnv::new();
    env.ecr.set_default(Reply::Truncated);
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(env.cache_files().is_empty());
}
