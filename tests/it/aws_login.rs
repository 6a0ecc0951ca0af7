//! `aws login` sessions (AWS CLI 2.32+, profiles with `login_session`): `get`
//! with the CLI's cached session, a refresh at a fake sign-in endpoint when
//! it is about to expire, one stderr line naming `aws login --profile P` when
//! it has expired for good, and `doctor` explaining it.

use std::time::{Duration, SystemTime};

use crate::common::fake_ecr::iso8601;
use crate::common::fake_sso::*;
use crate::common::*;

const ARN: &str = "arn:aws:iam::123456789012:user/Admin";
const PLANTED_AKID: &str = "ASIALOGINPLANTED";
const PLANTED_SECRET: &str = "login-planted-secret-key";
/// A P-256 test key (from the AWS SDK's own login-cache documentation): the
/// refresh signs a DPoP proof with it.
const DPOP_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIFDZHUzOG1Pzq+6F0mjMlOSp1syN9LRPBuHMoCFXTcXhoAoGCCqGSM49\nAwEHoUQDQgAE9qhj+KtcdHj1kVgwxWWWw++tqoh7H7UHs7oXh8jBbgF47rrYGC+t\ndjiIaHK3dBvvdE7MGj5HsepzLm3Kj91bqA==\n-----END EC PRIVATE KEY-----\n";

fn login_env() -> (TestEnv, FakeSso) {
    let mut env = TestEnv::new();
    let signin = FakeSso::start();
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    env.set("AWS_PROFILE", "console");
    env.set("AWS_ENDPOINT_URL_SIGNIN", &signin.url);
    env.write(
        "home/.aws/config",
        &format!("[profile console]\nlogin_session = {ARN}\nregion = us-east-1\n"),
    );
    (env, signin)
}

/// `~/.aws/login/cache/<sha256 of the ARN>.json`, as the CLI names it.
fn cache_file(env: &TestEnv) -> std::path::PathBuf {
    use sha2::Digest as _;
    let name: String = sha2::Sha256::digest(ARN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    env.home()
        .join(".aws/login/cache")
        .join(format!("{name}.json"))
}

/// Plants a session whose credentials expire in `secs` (negative: ago).
fn plant(env: &TestEnv, secs: i64) {
    let at = if secs >= 0 {
        SystemTime::now() + Duration::from_secs(secs as u64)
    } else {
        SystemTime::now() - Duration::from_secs((-secs) as u64)
    };
    let doc = serde_json::json!({
        "accessToken": {
            "accessKeyId": PLANTED_AKID,
            "secretAccessKey": PLANTED_SECRET,
            "sessionToken": "login-planted-session",
            "accountId": "123456789012",
            "expiresAt": iso8601(at),
        },
        "tokenType": "aws_sigv4",
        "refreshToken": "login-refresh-token-1",
        "clientId": "arn:aws:signin:::devtools/same-device",
        "dpopKey": DPOP_KEY,
    });
    let path = cache_file(env);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, doc.to_string()).unwrap();
}

#[test]
fn get_uses_the_cached_login_session() {
    let (env, signin) = login_env();
    plant(&env, 3600);
    let run = env.get(REGISTRY);
    assert_eq!(
        run.secret(),
        FakeEcr::password("123456789012", PLANTED_AKID, 1),
        "{run:#?}"
    );
    assert!(signin.calls().is_empty(), "no refresh needed");
}

#[test]
fn a_session_about_to_expire_is_refreshed_at_the_sign_in_endpoint() {
    let (env, signin) = login_env();
    plant(&env, 60);
    let run = env.get(REGISTRY);
    assert_eq!(
        run.secret(),
        FakeEcr::password("123456789012", REFRESHED_AKID, 1),
        "{run:#?}"
    );
    let calls = signin.calls_to("/v1/token");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].dpop, "the refresh carries a DPoP proof");
    assert_eq!(calls[0].body["grantType"], "refresh_token");
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cache_file(&env)).unwrap()).unwrap();
    assert_eq!(kept["accessToken"]["accessKeyId"], REFRESHED_AKID);
}

#[test]
fn an_expired_or_missing_login_says_aws_login_in_one_line() {
    // Expired, and the sign-in service refuses the refresh.
    let (env, signin) = login_env();
    plant(&env, -3600);
    signin.signin_error("TOKEN_EXPIRED");
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr.contains("run `aws login --profile console`"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains(PLANTED_SECRET) && !run.stderr.contains("login-refresh-token-1"));
    assert_eq!(env.ecr.count(), 0);

    // Never signed in: said before any network call.
    let (env, signin) = login_env();
    let run = env.get(REGISTRY);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr.contains("is missing") && run.stderr.contains("aws login --profile console"),
        "{run:#?}"
    );
    assert!(signin.calls().is_empty());
}

#[test]
fn doctor_and_login_explain_the_session_and_the_fingerprint_names_it() {
    let (env, _signin) = login_env();
    plant(&env, 2 * 3600 + 120);
    let run = env.run(&["doctor", REGISTRY], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "credentials  profile console (aws login session {ARN})"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "login      `aws login` session {ARN} of profile console"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("session    credentials is valid, 2h"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(PLANTED_SECRET) && !run.stdout.contains(PLANTED_AKID));

    let login = env.run(&["login", "--profile", "console"], "");
    assert_eq!(login.code, 0, "{login:#?}");
    assert!(
        login
            .stdout
            .contains("`aws login --profile console` renews it"),
        "{login:#?}"
    );

    // Another session ARN is another identity (a separate cache entry).
    env.get(REGISTRY);
    let before = env.cache_files();
    env.write(
        "home/.aws/config",
        "[profile console]\nlogin_session = arn:aws:iam::123456789012:user/Other\n",
    );
    let show = env.run(&["doctor", REGISTRY], "");
    assert!(show.stdout.contains("user/Other"), "{}", show.stdout);
    let fp = |text: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with("identity"))
            .map(str::to_string)
    };
    assert_ne!(fp(&run.stdout), fp(&show.stdout));
    assert_eq!(before.len(), 1);
}
