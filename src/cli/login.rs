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
