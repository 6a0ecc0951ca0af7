//! The seam: what the core needs from outside, as traits the core owns.
//! The AWS side (`src/aws/`) implements them; the core, and the front ends
//! through it, call only these, so each can be driven by a fake.
//!
//! - [`TokenSource`]: registry tokens (and the web-identity step before
//!   one), and the endpoint a token request goes to;
//! - [`SignIn`]: the interactive sign-ins: the cached SSO and `aws login`
//!   tokens ([`Cached`]), SSO's device flow, MFA sessions;
//! - [`FetchError`]: why either failed, with what to do next
//!   ([`FetchError::fix`]); [`Stage`]: what a fetch that ran out of time was
//!   waiting for.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use crate::core::identity::{Identity, LoginSession, MfaProfile, SsoProfile};
use crate::core::login::Login;
use crate::core::registry::Registry;
use crate::support::secret::{Secret, SessionCredentials};
use crate::support::time::human;

mod error;
mod stage;

pub use error::FetchError;
pub use stage::Stage;

/// Gets registry tokens. The one seam in front of the AWS APIs.
pub trait TokenSource {
    /// Fetches a fresh token for `registry` as `identity`, within `deadline`.
    fn fetch(
        &self,
        registry: &Registry,
        identity: &Identity,
        deadline: Duration,
    ) -> Result<Login, FetchError>;

    /// Like [`TokenSource::fetch`], and the registry ECR names as the
    /// caller's own in that region (`proxyEndpoint`'s host), when it names
    /// one. What `list` asks once when nothing local tells the default
    /// registry.
    fn fetch_with_default(
        &self,
        registry: &Registry,
        identity: &Identity,
        deadline: Duration,
    ) -> Result<(Login, Option<String>), FetchError> {
        self.fetch(registry, identity, deadline)
            .map(|login| (login, None))
    }

    /// Asks STS to let `pod.token` act as `pod.role_arn`
    /// (`AssumeRoleWithWebIdentity`), within `deadline`. The answer is the
    /// role's temporary credentials: proof that STS accepted the token.
    fn assume_role_with_web_identity(
        &self,
        pod: &WebIdentity,
        deadline: Duration,
    ) -> Result<SessionCredentials, FetchError>;

    /// The API endpoint a token request for `registry` goes to, for people
    /// (`doctor`): a URL, `URL (override)`, or `(cannot resolve: ...)`.
    fn api_endpoint(&self, registry: &Registry) -> String;
}

/// A shared token source is one (the wiring hands one source to several
/// users).
impl<T: TokenSource + ?Sized> TokenSource for Rc<T> {
    fn fetch(
        &self,
        registry: &Registry,
        identity: &Identity,
        deadline: Duration,
    ) -> Result<Login, FetchError> {
        (**self).fetch(registry, identity, deadline)
    }

    fn fetch_with_default(
        &self,
        registry: &Registry,
        identity: &Identity,
        deadline: Duration,
    ) -> Result<(Login, Option<String>), FetchError> {
        (**self).fetch_with_default(registry, identity, deadline)
    }

    fn assume_role_with_web_identity(
        &self,
        pod: &WebIdentity,
        deadline: Duration,
    ) -> Result<SessionCredentials, FetchError> {
        (**self).assume_role_with_web_identity(pod, deadline)
    }

    fn api_endpoint(&self, registry: &Registry) -> String {
        (**self).api_endpoint(registry)
    }
}

/// The interactive sign-ins a profile may need before a token can be
/// fetched (`login --profile`, and what `doctor` explains).
pub trait SignIn {
    /// The cached SSO token of `sso` (`None`: no home directory).
    fn sso_token(&self, sso: &SsoProfile) -> Option<Cached>;

    /// The cached `aws login` session of `login` (`None`: no cache directory).
    fn login_token(&self, login: &LoginSession) -> Option<Cached>;

    /// Signs in to `sso` with the device-authorization flow, talking to the
    /// user on `terminal`, each request to the service within `deadline`;
    /// returns the new token's expiry and its file.
    fn sso_sign_in(
        &self,
        sso: &SsoProfile,
        terminal: &mut dyn std::io::Write,
        deadline: Duration,
    ) -> Result<(SystemTime, PathBuf), FetchError>;

    /// The MFA session of `mfa`: the kept one, or a new one after prompting
    /// (`force` always prompts). Returns when it expires, in seconds since
    /// the epoch.
    fn mfa_session(&self, mfa: &MfaProfile, force: bool) -> Result<u64, FetchError>;

    /// Whether a valid MFA session of `mfa` is kept (no prompt needed).
    fn mfa_session_is_kept(&self, mfa: &MfaProfile) -> bool;

    /// Fails before any network call, with the command that fixes it, when
    /// the identity's sign-in is missing or expired and cannot be renewed.
    fn check_sign_in(&self, identity: &Identity) -> Result<(), FetchError> {
        let now = SystemTime::now();
        if let Some(sso) = &identity.sso {
            match self.sso_token(sso) {
                Some(state) if !state.usable(now) => {
                    return Err(FetchError::SsoSignIn {
                        profile: sso.profile.clone(),
                        state: state.describe(now),
                        command: sso.sign_in_command(),
                    })
                }
                _ => {}
            }
        }
        if let Some(login) = &identity.login_session {
            match self.login_token(login) {
                Some(state) if !state.usable(now) => {
                    return Err(FetchError::LoginSession {
                        profile: login.profile.clone(),
                        state: state.describe(now),
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A request to act as a role with a web-identity token (a pod's
/// service-account token, in kubelet mode). The token stays in memory.
#[derive(Debug, Clone)]
pub struct WebIdentity {
    /// The IAM role to assume.
    pub role_arn: String,
    /// The web-identity token (a JWT).
    pub token: Secret,
    /// The role session name.
    pub session_name: String,
    /// The region whose STS endpoint is asked.
    pub region: String,
}

/// What a sign-in cache holds for one profile. No secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    /// No file: never signed in (or signed out).
    Missing(PathBuf),
    /// A file that cannot be used.
    Unreadable(PathBuf, String),
    /// A token.
    Token {
        /// The file.
        path: PathBuf,
        /// When the token (SSO) or the credentials (`aws login`) expire.
        expires_at: SystemTime,
        /// Whether the SDK can renew it without the user (a refresh token
        /// and, for SSO, a client registration still valid).
        refreshable: bool,
    },
}

impl Cached {
    /// Whether a get can go ahead: a token that is still valid or can be renewed.
    pub fn usable(&self, now: SystemTime) -> bool {
        matches!(self, Cached::Token { expires_at, refreshable, .. } if *refreshable || *expires_at > now)
    }

    /// `valid, 7h 59m left`, `expired 2h 1m ago`, `missing`: for messages.
    pub fn describe(&self, now: SystemTime) -> String {
        match self {
            Cached::Missing(_) => "is missing (no cached token)".into(),
            Cached::Unreadable(path, why) => format!("cannot be read ({}: {why})", path.display()),
            Cached::Token { expires_at, .. } => match expires_at.duration_since(now) {
                Ok(left) => format!("is valid, {} left", human(left)),
                Err(e) => format!("has expired ({} ago)", human(e.duration())),
            },
        }
    }
}
