//! The AWS side of the core's [`SignIn`] seam, on [`SdkTokenSource`]: the
//! sign-in caches ([`super::sign_in`]), SSO's device flow
//! ([`super::device`]) and MFA sessions ([`super::mfa`]).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::token::SdkTokenSource;
use super::{device, sign_in};
use crate::core::identity::{LoginSession, MfaProfile, SsoProfile};
use crate::core::source::{Cached, FetchError, SignIn};

impl SignIn for SdkTokenSource {
    fn sso_token(&self, sso: &SsoProfile) -> Option<Cached> {
        Some(sign_in::sso_token(
            self.home.as_deref()?,
            sso,
            SystemTime::now(),
        ))
    }

    fn login_token(&self, login: &LoginSession) -> Option<Cached> {
        Some(sign_in::login_token(self.login_cache.as_deref()?, login))
    }

    fn sso_sign_in(
        &self,
        sso: &SsoProfile,
        terminal: &mut dyn std::io::Write,
        deadline: Duration,
    ) -> Result<(SystemTime, PathBuf), FetchError> {
        let home = self.home.as_deref().ok_or_else(|| {
            FetchError::Other("no home directory to keep the SSO token in".into())
        })?;
        device::sign_in(&self.oidc, sso, home, terminal, deadline)
    }

    fn mfa_session(&self, mfa: &MfaProfile, force: bool) -> Result<u64, FetchError> {
        SdkTokenSource::mfa_session(self, mfa, force).map(|session| session.expires_at)
    }

    fn mfa_session_is_kept(&self, mfa: &MfaProfile) -> bool {
        SdkTokenSource::mfa_session_is_kept(self, mfa).is_some()
    }
}
