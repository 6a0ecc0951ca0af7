//! `login --profile P [--force]`: signs in now, for later gets.
//!
//! - a profile that assumes a role with `mfa_serial`: the MFA prompt; the
//!   session is kept in the cache;
//! - an SSO profile (or a chain ending in one): the OIDC device-authorization
//!   flow, the URL and code printed here, the token written where the AWS CLI
//!   keeps it (so no AWS CLI is needed);
//! - an `aws login` profile: says whether the session is valid, and that
//!   `aws login --profile P` renews it (the browser flow is the CLI's).

use std::io::Write;
use std::time::{Duration, SystemTime};

use super::app::App;
use crate::core::identity::Identity;
use crate::core::profile::ProfileSet;
use crate::core::source::{Cached, FetchError};
use crate::env;
use crate::error::Result;
use crate::support::time::{human, secs};

/// An SSO token with less than this left is renewed even without `--force`.
const MIN_LEFT: Duration = Duration::from_secs(15 * 60);

/// Prompts for `profile`'s MFA code (unless a kept session is valid and not
/// `force`) and reports how long the session lasts.
pub fn run(profile: &str, force: bool, app: &App, stdout: &mut dyn Write) -> Result<()> {
    let settings = app.settings();
    // The profile named on the command line, whatever credentials the
    // environment holds (AWS_ACCESS_KEY_ID would otherwise win).
    let identity = Identity::resolve_with(&ProfileSet::load(settings), &|name| match name {
        env::AWS_PROFILE => Some(profile.to_string()),
        env::AWS_ACCESS_KEY_ID
        | env::AWS_SECRET_ACCESS_KEY
        | env::AWS_SESSION_TOKEN
        | env::AWS_VAULT => None,
        _ => settings.lookup(name),
    })
    .map_err(|e| e.profile_named_by("login --profile"))?;
    let source = app.sign_in();
    let now = SystemTime::now();
    let Some(mfa) = identity.mfa.clone() else {
        if let Some(sso) = &identity.sso {
            if let Some(Cached::Token { expires_at, .. }) = source.sso_token(sso) {
                let left = expires_at.duration_since(now).unwrap_or_default();
                if !force && left > MIN_LEFT {
                    return super::write_out(stdout, &format!(
                        "SSO sign-in for profile {profile} is valid for {}; --force signs in again\n",
                        human(left)
                    ));
                }
            }
            let (expires_at, path) = source.sso_sign_in(sso, stdout, settings.timeout)?;
            let left = expires_at
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            return super::write_out(
                stdout,
                &format!(
                    "SSO sign-in for profile {profile} is valid for {} (token in {})\n",
                    human(left),
                    path.display()
                ),
            );
        }
        if let Some(login) = &identity.login_session {
            return match source.login_token(login) {
                Some(state) if state.usable(now) => super::write_out(
                    stdout,
                    &format!(
                        "the `aws login` session of profile {profile} {}; `{}` renews it\n",
                        state.describe(now),
                        login.sign_in_command()
                    ),
                ),
                state => Err(FetchError::LoginSession {
                    profile: login.profile.clone(),
                    state: state.map_or("has no cache directory".into(), |s| s.describe(now)),
                }
                .into()),
            };
        }
        return super::write_out(
            stdout,
            &format!("profile {profile} uses neither MFA (mfa_serial) nor SSO; nothing to do\n"),
        );
    };
    let expires_at = source.mfa_session(&mfa, force)?;
    let left = Duration::from_secs(expires_at.saturating_sub(secs(SystemTime::now())));
    super::write_out(
        stdout,
        &format!(
            "MFA session for profile {profile} is valid for {}\n",
            human(left)
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::rc::Rc;
    use std::time::{Duration, SystemTime};

    use super::super::app::{fake::Fake, App};
    use crate::core::source::Cached;
    use crate::settings::Settings;

    const SSO: &str = "[sso-session corp]\nsso_start_url = https://corp/start\nsso_region = eu-west-1\n[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n";
    const MFA: &str = "[profile base]\n[profile dev]\nrole_arn = arn:aws:iam::1:role/admin\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/me\n";
    const LOGIN: &str = "[profile dev]\nlogin_session = arn:aws:iam::123456789012:user/Admin\n";

    /// `login --profile dev` (with `force`) against `fake`, with `config` as
    /// the AWS config file: what it printed (or its error) and the fake's calls.
    fn login(config: &str, fake: Fake, force: bool) -> (Result<String, String>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, config).unwrap();
        let settings = Settings::from_vars(
            [("AWS_CONFIG_FILE".to_string(), path.display().to_string())],
            Some(dir.path().to_path_buf()),
        );
        let fake = Rc::new(fake);
        let app = App::with(&settings, fake.clone(), fake.clone());
        let mut out = Vec::new();
        let result = super::run("dev", force, &app, &mut out)
            .map(|()| String::from_utf8(out).unwrap())
            .map_err(|e| e.to_string());
        (result, fake.calls.get())
    }

    fn in_secs(secs: u64) -> SystemTime {
        SystemTime::now() + Duration::from_secs(secs)
    }

    fn token(expires_at: SystemTime, refreshable: bool) -> Option<Cached> {
        Some(Cached::Token {
            path: PathBuf::from("/h/.aws/sso/cache/t.json"),
            expires_at,
            refreshable,
        })
    }

    #[test]
    fn a_valid_sso_sign_in_is_reported_and_not_repeated() {
        let mut fake = Fake::new();
        fake.sso = token(in_secs(2 * 3600 + 90), true);
        let (out, calls) = login(SSO, fake, false);
        assert_eq!(
            out.unwrap(),
            "SSO sign-in for profile dev is valid for 2h 1m; --force signs in again\n"
        );
        assert_eq!(calls, 0, "no device flow for a valid sign-in");
    }

    #[test]
    fn force_or_an_sso_token_about_to_expire_signs_in_again() {
        for (cached, force) in [
            (token(in_secs(2 * 3600), true), true),
            (token(in_secs(60), false), false),
            (None, false),
        ] {
            let mut fake = Fake::new();
            fake.sso = cached.clone();
            fake.signed_in = (in_secs(8 * 3600 + 90), PathBuf::from("/h/new.json"));
            let (out, calls) = login(SSO, fake, force);
            assert_eq!(
                out.unwrap(),
                "(fake device flow)\nSSO sign-in for profile dev is valid for 8h 1m (token in /h/new.json)\n",
                "{cached:?} force={force}"
            );
            assert_eq!(calls, 1);
        }
    }

    #[test]
    fn an_mfa_profile_reports_its_session() {
        let mut fake = Fake::new();
        fake.mfa = (crate::support::time::secs(in_secs(3600 + 90)), false);
        let (out, calls) = login(MFA, fake, false);
        assert_eq!(
            out.unwrap(),
            "MFA session for profile dev is valid for 1h 1m\n"
        );
        assert_eq!(calls, 1);
    }

    #[test]
    fn an_aws_login_session_is_reported_or_refused() {
        let mut fake = Fake::new();
        fake.login = token(in_secs(3600 + 90), false);
        let (out, _) = login(LOGIN, fake, false);
        assert_eq!(
            out.unwrap(),
            "the `aws login` session of profile dev is valid, 1h 1m left; `aws login --profile dev` renews it\n"
        );
        let mut fake = Fake::new();
        fake.login = token(SystemTime::now() - Duration::from_secs(7200 + 90), false);
        let (err, _) = login(LOGIN, fake, false);
        assert_eq!(
            err.unwrap_err(),
            "the `aws login` session of profile dev has expired (2h 1m ago): run `aws login --profile dev`"
        );
        let (err, _) = login(LOGIN, Fake::new(), false);
        assert!(err.unwrap_err().contains("has no cache directory"));
    }
}
