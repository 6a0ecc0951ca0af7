//! Unit tests of [`super`].

use super::*;
use std::collections::HashMap;

fn resolve(config: &str, creds: &str, vars: &[(&str, &str)]) -> Result<Identity, IdentityError> {
    let mut set = ProfileSet::default();
    set.add_config(config);
    set.add_credentials(creds);
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut map = map;
    map.entry(env::AWS_EC2_METADATA_DISABLED.into())
        .or_insert("true".into());
    Identity::resolve_with(&set, &|k| map.get(k).cloned())
}

const KEYS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIDONE"),
    ("AWS_SECRET_ACCESS_KEY", "s1"),
];

#[test]
fn env_keys_are_keyed_by_access_key_id_only() {
    let a = resolve("", "", KEYS).unwrap();
    let rotated_secret = resolve(
        "",
        "",
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDONE"),
            ("AWS_SECRET_ACCESS_KEY", "s2"),
        ],
    )
    .unwrap();
    let other = resolve(
        "",
        "",
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDTWO"),
            ("AWS_SECRET_ACCESS_KEY", "s1"),
        ],
    )
    .unwrap();
    assert_eq!(a.source, SourceKind::Environment);
    assert_eq!(a.fingerprint, rotated_secret.fingerprint);
    assert_ne!(a.fingerprint, other.fingerprint);
    assert!(!a.label.contains("s1") && !a.label.contains("AKIDONE"));
}

#[test]
fn assumed_role_profile_survives_rotation_but_not_a_switch() {
    let config = "[profile base]\n[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = base\n[profile prod]\nrole_arn = arn:aws:iam::2:role/prod\nsource_profile = base\n";
    let creds1 = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = one\n";
    let creds2 = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = two\n";
    let dev1 = resolve(config, creds1, &[("AWS_PROFILE", "dev")]).unwrap();
    let dev2 = resolve(config, creds2, &[("AWS_PROFILE", "dev")]).unwrap();
    let prod = resolve(config, creds1, &[("AWS_PROFILE", "prod")]).unwrap();
    assert_eq!(dev1.fingerprint, dev2.fingerprint);
    assert_ne!(dev1.fingerprint, prod.fingerprint);
    assert_eq!(dev1.source, SourceKind::Profile);
    assert!(
        dev1.label.contains("arn:aws:iam::1:role/dev"),
        "{}",
        dev1.label
    );
}

#[test]
fn env_keys_win_over_profile() {
    let creds = "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = x\n";
    assert_eq!(
        resolve("", creds, KEYS).unwrap().source,
        SourceKind::Environment
    );
    assert_eq!(resolve("", creds, &[]).unwrap().source, SourceKind::Profile);
}

#[test]
fn sso_profiles_differ_by_role() {
    let config = "[sso-session corp]\nsso_start_url = https://corp/start\n[profile a]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Admin\n[profile b]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n";
    let a = resolve(config, "", &[("AWS_PROFILE", "a")]).unwrap();
    let b = resolve(config, "", &[("AWS_PROFILE", "b")]).unwrap();
    assert_ne!(a.fingerprint, b.fingerprint);
    assert!(a.label.contains("SSO"));
}

#[test]
fn aws_vault_sessions_share_a_fingerprint() {
    let one = resolve(
        "",
        "",
        &[
            ("AWS_ACCESS_KEY_ID", "ASIAONE"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("AWS_SESSION_TOKEN", "t1"),
            ("AWS_VAULT", "dev"),
        ],
    )
    .unwrap();
    let two = resolve(
        "",
        "",
        &[
            ("AWS_ACCESS_KEY_ID", "ASIATWO"),
            ("AWS_SECRET_ACCESS_KEY", "y"),
            ("AWS_SESSION_TOKEN", "t2"),
            ("AWS_VAULT", "dev"),
        ],
    )
    .unwrap();
    let prod = resolve(
        "",
        "",
        &[
            ("AWS_ACCESS_KEY_ID", "ASIATWO"),
            ("AWS_SECRET_ACCESS_KEY", "y"),
            ("AWS_SESSION_TOKEN", "t2"),
            ("AWS_VAULT", "prod"),
        ],
    )
    .unwrap();
    assert_eq!(one.fingerprint, two.fingerprint);
    assert_ne!(one.fingerprint, prod.fingerprint);
}

#[test]
fn web_identity_and_container_and_nothing() {
    let w = resolve(
        "",
        "",
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::1:role/pod"),
        ],
    )
    .unwrap();
    assert_eq!(w.source, SourceKind::WebIdentity);
    let c = resolve(
        "",
        "",
        &[(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/abc",
        )],
    )
    .unwrap();
    assert_eq!(c.source, SourceKind::Container);
    assert_eq!(resolve("", "", &[]).unwrap().source, SourceKind::None);
}

#[test]
fn endpoint_override_changes_the_fingerprint() {
    let a = resolve("", "", KEYS).unwrap();
    let mut vars = KEYS.to_vec();
    vars.push(("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1"));
    assert_ne!(a.fingerprint, resolve("", "", &vars).unwrap().fingerprint);
}

#[test]
fn mfa_profiles_are_recognised_and_assumed_roles_change_the_fingerprint() {
    let config = "[profile base]\n[profile mfa]\nrole_arn = arn:aws:iam::1:role/admin\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/me\nduration_seconds = 900\n";
    let creds = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = x\n";
    let id = resolve(config, creds, &[("AWS_PROFILE", "mfa")]).unwrap();
    let mfa = id.mfa.clone().unwrap();
    assert_eq!(
        (mfa.source_profile.as_deref(), mfa.duration_seconds),
        (Some("base"), Some(900))
    );
    assert!(resolve(config, creds, &[("AWS_PROFILE", "base")])
        .unwrap()
        .mfa
        .is_none());
    let assumed = id.clone().with_assumed_role("arn:aws:iam::2:role/pull");
    assert_ne!(assumed.fingerprint, id.fingerprint);
    assert_ne!(
        assumed.fingerprint,
        id.clone()
            .with_assumed_role("arn:aws:iam::3:role/pull")
            .fingerprint
    );
}

#[test]
fn configuration_errors_are_explained() {
    assert_eq!(
        resolve("", "", &[("AWS_PROFILE", "ghost")]),
        Err(IdentityError::ProfileNotFound {
            name: "ghost".into(),
            from: "AWS_PROFILE".into()
        })
    );
    let looped = "[profile a]\nrole_arn = r\nsource_profile = b\n[profile b]\nrole_arn = r\nsource_profile = a\n";
    assert!(matches!(
        resolve(looped, "", &[("AWS_PROFILE", "a")]),
        Err(IdentityError::ProfileLoop(_))
    ));
    let missing = "[profile a]\nrole_arn = r\nsource_profile = nope\n";
    assert!(matches!(
        resolve(missing, "", &[("AWS_PROFILE", "a")]),
        Err(IdentityError::MissingSourceProfile { .. })
    ));
}

#[test]
fn login_session_profiles_are_keyed_by_profile_and_session_arn() {
    let config = |arn: &str| {
        format!("[profile c]\nlogin_session = {arn}\n[profile d]\nlogin_session = {arn}\n")
    };
    let admin = "arn:aws:iam::1:user/Admin";
    let a = resolve(&config(admin), "", &[("AWS_PROFILE", "c")]).unwrap();
    let again = resolve(&config(admin), "", &[("AWS_PROFILE", "c")]).unwrap();
    let other_arn = resolve(
        &config("arn:aws:iam::1:user/Other"),
        "",
        &[("AWS_PROFILE", "c")],
    )
    .unwrap();
    let other_profile = resolve(&config(admin), "", &[("AWS_PROFILE", "d")]).unwrap();
    assert_eq!(a.fingerprint, again.fingerprint);
    assert_ne!(a.fingerprint, other_arn.fingerprint);
    assert_ne!(a.fingerprint, other_profile.fingerprint);
    assert_eq!(a.source, SourceKind::Profile);
    assert_eq!(a.label, format!("profile c (aws login session {admin})"));
    let login = a.login_session.unwrap();
    assert_eq!(
        (login.profile.as_str(), login.session_arn.as_str()),
        ("c", admin)
    );
    assert_eq!(login.sign_in_command(), "aws login --profile c");
}

#[test]
fn sso_sign_in_is_found_at_the_end_of_a_role_chain() {
    let config = "[sso-session corp]\nsso_start_url = https://corp/start\nsso_region = eu-west-1\n[profile base]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n[profile dev]\nrole_arn = arn:aws:iam::2:role/dev\nsource_profile = base\n[profile old]\nsso_start_url = https://old/start\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = R\n";
    let dev = resolve(config, "", &[("AWS_PROFILE", "dev")]).unwrap();
    let sso = dev.sso.unwrap();
    assert_eq!(sso.profile, "base");
    assert_eq!(sso.region, "eu-west-1");
    assert_eq!(sso.cache_key(), "corp");
    assert_eq!(sso.sign_in_command(), "aws sso login --sso-session corp");
    let old = resolve(config, "", &[("AWS_PROFILE", "old")])
        .unwrap()
        .sso
        .unwrap();
    assert_eq!(old.cache_key(), "https://old/start");
    assert_eq!(old.sign_in_command(), "aws sso login --profile old");
}

#[test]
fn container_credentials_are_keyed_by_the_token_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let path = file.display().to_string();
    let uri = (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://169.254.170.23/v1/credentials",
    );
    let pod = |token: &str| {
        std::fs::write(&file, token).unwrap();
        resolve(
            "",
            "",
            &[uri, ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &path)],
        )
        .unwrap()
    };
    let (a, b, a_again) = (pod("token-a"), pod("token-b"), pod("token-a"));
    assert_eq!(a.source, SourceKind::Container);
    assert_ne!(a.fingerprint, b.fingerprint, "two pods, one fingerprint");
    assert_eq!(a.fingerprint, a_again.fingerprint);
    let env_token = |t: &str| {
        resolve("", "", &[uri, ("AWS_CONTAINER_AUTHORIZATION_TOKEN", t)])
            .unwrap()
            .fingerprint
    };
    assert_ne!(env_token("token-a"), env_token("token-b"));
    let bare = resolve("", "", &[uri]).unwrap().fingerprint;
    assert_ne!(bare, env_token("token-a"));
    std::fs::remove_file(&file).unwrap();
    let e = resolve(
        "",
        "",
        &[uri, ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &path)],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(&path) && e.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_as_a_token_file_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let path = fifo.display().to_string();
    for vars in [
        vec![
            ("AWS_WEB_IDENTITY_TOKEN_FILE", path.as_str()),
            ("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
        ],
        vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/c"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path.as_str()),
        ],
    ] {
        let e = resolve("", "", &vars).unwrap_err();
        assert!(matches!(e, IdentityError::UnreadableFile(_)), "{e}");
        assert!(e.to_string().contains("a FIFO, not a regular file"), "{e}");
    }
    let config = format!(
        "[profile wi]\nrole_arn = arn:aws:iam::1:role/r\nweb_identity_token_file = {path}\n"
    );
    let e = resolve(&config, "", &[("AWS_PROFILE", "wi")]).unwrap_err();
    assert!(e.to_string().contains("web_identity_token_file"), "{e}");
}

#[test]
fn an_mfa_profile_records_what_its_session_is_made_from() {
    let config = "[profile base]\n[profile mfa]\nrole_arn = arn:aws:iam::1:role/admin\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/me\n";
    let made_from = |akid: &str| {
        let creds = format!("[base]\naws_access_key_id = {akid}\naws_secret_access_key = s\n");
        resolve(config, &creds, &[("AWS_PROFILE", "mfa")])
            .unwrap()
            .mfa
            .unwrap()
            .made_from
    };
    assert_eq!(made_from("AKIDONE"), made_from("AKIDONE"));
    assert_ne!(made_from("AKIDONE"), made_from("AKIDTWO"));
    assert!(!made_from("AKIDONE").contains("AKIDONE"));
}
