//! SSO that explains itself: `get` with the CLI's cached token, one stderr
//! line naming the command when the sign-in is missing or expired, `doctor`
//! showing the token's expiry, and `login --profile` signing in with the
//! device-authorization flow (no AWS CLI) against a fake OIDC service.

use std::time::{Duration, SystemTime};

use crate::common::fake_ecr::iso8601;
use crate::common::fake_sso::*;
use crate::common::*;

const SESSION_CONFIG: &str = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n\n[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = us-east-1\n";
const LEGACY_CONFIG: &str = "[profile old]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = ReadOnly\n";

fn sso_env(config: &str, profile: &str) -> (TestEnv, FakeSso) {
    let mut env = TestEnv::new();
    let sso = FakeSso::start();
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    env.set("AWS_PROFILE", profile);
    for var in ["AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC"] {
        env.set(var, &sso.url);
    }
    env.write("home/.aws/config", config);
    (env, sso)
}

fn cache_file(env: &TestEnv, key: &str) -> std::path::PathBuf {
    use sha1::Digest as _;
    let name: String = sha1::Sha1::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    env.home()
        .join(".aws/sso/cache")
        .join(format!("{name}.json"))
}

fn plant_token(env: &TestEnv, key: &str, expires_in: i64, refreshable: bool) {
    let at = |d: i64| {
        iso8601(if d >= 0 {
            SystemTime::now() + Duration::from_secs(d as u64)
        } else {
            SystemTime::now() - Duration::from_secs((-d) as u64)
        })
    };
    let mut doc = serde_json::json!({
        "startUrl": "https://corp.awsapps.com/start",
        "region": "us-east-1",
        "accessToken": PORTAL_TOKEN,
        "expiresAt": at(expires_in),
    });
    if refreshable {
        doc["refreshToken"] = "planted-refresh".into();
        doc["clientId"] = "planted-client".into();
        doc["clientSecret"] = "planted-secret".into();
        doc["registrationExpiresAt"] = at(86400).into();
    }
    let path = cache_file(env, key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, doc.to_string()).unwrap();
}

#[test]
fn an_sso_profile_gets_a_token_with_the_clis_cached_sign_in() {
    let (env, sso) = sso_env(SESSION_CONFIG, "dev");
    plant_token(&env, "corp", 3600, false);
    let run = env.get(REGISTRY);
    assert_eq!(
        run.secret(),
        FakeEcr::password("123456789012", SSO_AKID, 1),
        "{run:#?}"
    );
    let portal = sso.calls_to("/federation/credentials");
    assert_eq!(portal.len(), 1);
    assert_eq!(portal[0].bearer, PORTAL_TOKEN);
    assert!(
        portal[0].path.contains("role_name=Admin"),
        "{}",
        portal[0].path
    );
}

#[test]
fn a_missing_or_expired_sign_in_names_the_command_in_one_line() {
    let cases = [
        (
            SESSION_CONFIG,
            "dev",
            None,
            "aws sso login --sso-session corp",
        ),
        (LEGACY_CONFIG, "old", None, "aws sso login --profile old"),
        (
            LEGACY_CONFIG,
            "old",
            Some("https://legacy.awsapps.com/start"),
            "aws sso login --profile old",
        ),
        (
            SESSION_CONFIG,
            "dev",
            Some("corp"),
            "aws sso login --sso-session corp",
        ),
    ];
    for (config, profile, expired_token, command) in cases {
        let (env, sso) = sso_env(config, profile);
        if let Some(key) = expired_token {
            plant_token(&env, key, -3600, false);
        }
        let run = env.get(REGISTRY);
        assert_eq!(run.code, 1, "{run:#?}");
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run:#?}");
        assert!(run.stderr.contains(&format!("run `{command}`")), "{run:#?}");
        let state = if expired_token.is_some() {
            "has expired"
        } else {
            "is missing"
        };
        assert!(run.stderr.contains(state), "{run:#?}");
        assert!(sso.calls().is_empty(), "no network call: {:?}", sso.calls());
        assert_eq!(env.ecr.count(), 0);
    }
}

#[test]
fn a_token_the_portal_refuses_also_names_the_command() {
    let (env, _sso) = sso_env(SESSION_CONFIG, "dev");
    plant_token(&env, "corp", 3600, false);
    // Valid by its date, unknown to the portal (signed out elsewhere).
    let path = cache_file(&env, "corp");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(PORTAL_TOKEN, "revoked")).unwrap();
    let run = env.get(REGISTRY);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr.contains("was refused")
            && run.stderr.contains("aws sso login --sso-session corp"),
        "{run:#?}"
    );
}

#[test]
fn doctor_shows_the_sso_tokens_expiry_and_what_to_run() {
    let (env, _sso) = sso_env(SESSION_CONFIG, "dev");
    plant_token(&env, "corp", 2 * 3600 + 120, false);
    let run = env.run(&["doctor", REGISTRY], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("sso-session corp, start URL https://corp.awsapps.com/start, account 123456789012 role Admin"), "{}", run.stdout);
    assert!(
        run.stdout.contains("sso token  is valid, 2h 1m left (ok)")
            || run.stdout.contains("sso token  is valid, 2h 2m left (ok)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(PORTAL_TOKEN));

    plant_token(&env, "corp", -60, false);
    let run = env.run(&["doctor", REGISTRY], "");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains(
            "sso token  has expired (1m 0s ago) (run `aws sso login --sso-session corp`)"
        ) || run.stdout.contains("sso token  has expired (1m 1s ago)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("login --profile <profile>"),
        "{}",
        run.stdout
    );

    plant_token(&env, "corp", -60, true);
    let run = env.run(&["doctor", REGISTRY], "");
    assert!(
        run.stdout
            .contains("the next get renews it with its refresh token"),
        "{}",
        run.stdout
    );
}

#[test]
fn login_signs_in_with_the_device_flow_and_get_uses_the_token() {
    let (env, sso) = sso_env(SESSION_CONFIG, "dev");
    sso.pending(1);
    let run = env.run(&["login", "--profile", "dev"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(VERIFY_URL) && run.stdout.contains(USER_CODE),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("SSO sign-in for profile dev is valid for 7h 59m"),
        "{}",
        run.stdout
    );
    assert_eq!(
        sso.calls_to("/token").len(),
        2,
        "polled past authorization_pending"
    );
    let register = &sso.calls_to("/client/register")[0];
    assert_eq!(
        register.body["scopes"],
        serde_json::json!(["sso:account:access"])
    );
    assert_eq!(register.body["clientType"], "public");
    for secret in [
        NEW_TOKEN,
        NEW_REFRESH_TOKEN,
        CLIENT_SECRET,
        "device-code-value",
    ] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} leaked"
        );
    }

    let path = cache_file(&env, "corp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["accessToken"], NEW_TOKEN);
    assert_eq!(doc["refreshToken"], NEW_REFRESH_TOKEN);
    assert_eq!(doc["clientId"], "oidc-client-id");
    assert_eq!(doc["clientSecret"], CLIENT_SECRET);
    assert_eq!(doc["startUrl"], "https://corp.awsapps.com/start");
    assert_eq!(doc["region"], "us-east-1");
    let expires = doc["expiresAt"].as_str().unwrap();
    assert!(expires.ends_with('Z') && expires.len() == 20, "{expires}");
    assert!(doc["registrationExpiresAt"].is_string());

    let get = env.get(REGISTRY);
    assert_eq!(get.secret(), FakeEcr::password("123456789012", SSO_AKID, 1));
    assert_eq!(sso.calls_to("/federation/credentials")[0].bearer, NEW_TOKEN);

    // Valid now: no second sign-in without --force.
    let again = env.run(&["login", "--profile", "dev"], "");
    assert!(
        again.stdout.contains("--force signs in again"),
        "{again:#?}"
    );
    assert_eq!(sso.calls_to("/client/register").len(), 1);
}

#[test]
fn login_for_a_legacy_sso_profile_writes_the_legacy_form() {
    let (env, sso) = sso_env(LEGACY_CONFIG, "old");
    let run = env.run(&["login", "--profile", "old"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    let register = &sso.calls_to("/client/register")[0];
    assert!(register.body.get("scopes").is_none(), "{:?}", register.body);
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(cache_file(&env, "https://legacy.awsapps.com/start")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["accessToken"], NEW_TOKEN);
    assert!(doc.get("refreshToken").is_none() && doc.get("clientSecret").is_none());
    assert_eq!(env.get(REGISTRY).code, 0);
}

/// `login` shows its sign-in instructions as separate lines (each field the
/// service sent escaped, not the message), on a pipe as on a terminal.
#[test]
fn login_prints_the_sign_in_instructions_as_lines() {
    let (env, _sso) = sso_env(SESSION_CONFIG, "dev");
    let run = env.run(&["login", "--profile", "dev"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    let open = format!("  open   {VERIFY_URL}");
    let code = format!("  code   {USER_CODE}");
    assert_eq!(
        lines[..3],
        [
            "Sign in to https://corp.awsapps.com/start for profile dev:",
            open.as_str(),
            code.as_str(),
        ],
        "{run:#?}"
    );
    assert!(
        lines[3].starts_with("Waiting for approval (up to ") && lines[3].ends_with(")..."),
        "{run:#?}"
    );
    assert!(
        lines[4].starts_with("SSO sign-in for profile dev is valid for "),
        "{run:#?}"
    );
    assert!(!run.stdout.contains("\\n"), "escaped newlines: {run:#?}");
}

/// An OIDC service that accepts the connection and never answers: `login`
/// ends at its deadline (`AWS_ECR_TIMEOUT`) with one line, writing no token.
#[test]
fn login_against_an_oidc_service_that_never_answers_has_a_deadline() {
    let (mut env, _sso) = sso_env(SESSION_CONFIG, "dev");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        // Accept and keep every connection open, answering nothing.
        let mut open = Vec::new();
        for stream in silent.incoming().flatten() {
            open.push(stream);
            if open.len() > 8 {
                break;
            }
        }
    });
    env.set("AWS_ENDPOINT_URL_SSO_OIDC", &url)
        .set("AWS_ECR_TIMEOUT", "2");
    let run = env.run(&["login", "--profile", "dev"], "");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.elapsed < Duration::from_secs(12),
        "the deadline was not held: {run:#?}"
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run:#?}");
    assert!(
        lines[0].contains("RegisterClient failed: the SSO OIDC service did not answer within 2s (AWS_ECR_TIMEOUT)"),
        "{run:#?}"
    );
    assert!(!cache_file(&env, "corp").exists());
    drop(held);
}
