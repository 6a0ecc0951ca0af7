//! Profiles whose credentials come from an interactive sign-in that expires:
//! IAM Identity Center (SSO) and `aws login` (AWS CLI 2.32+). The identity
//! keeps which one, so that an expired sign-in ends in the one command that
//! renews it, and `doctor` and `login` can find the sign-in's cached token.

use crate::core::profile::{ProfileSet, Section};

/// A profile that signs in through IAM Identity Center (SSO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoProfile {
    /// The profile that holds the SSO settings (the end of a `source_profile` chain).
    pub profile: String,
    /// Its `sso_session`, when it uses one (`[sso-session NAME]`).
    pub session: Option<String>,
    /// `sso_start_url` (of the session, or of the profile).
    pub start_url: String,
    /// `sso_region`: where the SSO portal and OIDC endpoints are.
    pub region: String,
    /// `sso_account_id`.
    pub account_id: String,
    /// `sso_role_name`.
    pub role_name: String,
    /// `sso_registration_scopes` of the session (comma-separated), if set.
    pub scopes: Option<String>,
}

impl SsoProfile {
    pub(crate) fn from_section(profiles: &ProfileSet, name: &str, s: &Section) -> SsoProfile {
        let session_name = s.get("sso_session").cloned();
        let session = session_name
            .as_deref()
            .and_then(|n| profiles.sso_session(n));
        // A session's values win over the profile's (the SDK's rule).
        let get = |k: &str| {
            session
                .and_then(|x| x.get(k))
                .or_else(|| s.get(k))
                .cloned()
                .unwrap_or_default()
        };
        SsoProfile {
            profile: name.to_string(),
            start_url: get("sso_start_url"),
            region: get("sso_region"),
            account_id: s.get("sso_account_id").cloned().unwrap_or_default(),
            role_name: s.get("sso_role_name").cloned().unwrap_or_default(),
            scopes: session
                .and_then(|x| x.get("sso_registration_scopes"))
                .cloned(),
            session: session_name,
        }
    }

    /// The command that signs in again, as the AWS CLI spells it.
    pub fn sign_in_command(&self) -> String {
        match &self.session {
            Some(session) => format!("aws sso login --sso-session {session}"),
            None => format!("aws sso login --profile {}", self.profile),
        }
    }

    /// What names the token in the CLI's cache (`~/.aws/sso/cache/<sha1>.json`):
    /// the session's name, or the start URL of a profile without one.
    pub fn cache_key(&self) -> &str {
        self.session.as_deref().unwrap_or(&self.start_url)
    }
}

/// A profile signed in with `aws login` (`login_session = <ARN>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSession {
    /// The profile that holds `login_session`.
    pub profile: String,
    /// The session's ARN (the console identity, e.g. `arn:aws:iam::1:user/Admin`).
    pub session_arn: String,
}

impl LoginSession {
    /// The command that signs in again.
    pub fn sign_in_command(&self) -> String {
        format!("aws login --profile {}", self.profile)
    }
}

/// The interactive sign-in found while describing a profile chain.
#[derive(Debug, Default)]
pub(crate) struct FoundSignIn {
    pub(crate) sso: Option<SsoProfile>,
    pub(crate) login: Option<LoginSession>,
}
