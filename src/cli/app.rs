//! The one wiring point: [`App`], built once by [`super::run`] from the
//! settings, holds what every front end works with: the settings, the
//! policy ([`Helper`]: cache, then token source) and the sign-ins, the
//! last two behind the core's traits ([`crate::core::source`]). Only here
//! does the command line meet the AWS implementation of those traits;
//! tests hand in fakes instead.

use std::rc::Rc;

use crate::aws::SdkTokenSource;
use crate::core::cache::Cache;
use crate::core::helper::Helper;
use crate::core::source::{SignIn, TokenSource};
use crate::settings::Settings;

/// The policy the front ends log in through: cache first, then the token source.
pub type Policy = Helper<Rc<dyn TokenSource>>;

/// Everything a front end needs, wired once.
pub struct App<'a> {
    settings: &'a Settings,
    helper: Policy,
    sign_in: Rc<dyn SignIn>,
}

impl<'a> App<'a> {
    /// The production wiring: the AWS SDK behind both seams.
    pub fn new(settings: &'a Settings) -> App<'a> {
        // One cache for the policy and the token source (MFA sessions).
        let cache = Cache::from_settings(settings);
        let sdk = Rc::new(SdkTokenSource::with_cache(settings, cache.clone()));
        App {
            settings,
            helper: Helper::with_cache(sdk.clone(), cache, settings),
            sign_in: sdk,
        }
    }

    /// A wiring with the given token source and sign-ins (tests' fakes), and
    /// the cache and deadlines of `settings`.
    pub fn with(
        settings: &'a Settings,
        source: Rc<dyn TokenSource>,
        sign_in: Rc<dyn SignIn>,
    ) -> App<'a> {
        App {
            settings,
            helper: Helper::from_settings(source, settings),
            sign_in,
        }
    }

    /// What the environment says.
    pub fn settings(&self) -> &'a Settings {
        self.settings
    }

    /// The policy: cache, then token source.
    pub fn helper(&self) -> &Policy {
        &self.helper
    }

    /// The token source itself (for what bypasses the cache: `doctor`).
    pub fn source(&self) -> &dyn TokenSource {
        &**self.helper.source()
    }

    /// The interactive sign-ins (`login`, `doctor`).
    pub fn sign_in(&self) -> &dyn SignIn {
        &*self.sign_in
    }
}

/// A fake of both seams for the front ends' tests: it answers from its
/// fields and counts the calls that would reach AWS.
#[cfg(test)]
pub(crate) mod fake {
    use std::cell::Cell;
    use std::path::PathBuf;
    use std::time::{Duration, SystemTime};

    use crate::core::identity::{Identity, LoginSession, MfaProfile, SsoProfile};
    use crate::core::login::Login;
    use crate::core::registry::Registry;
    use crate::core::source::{Cached, FetchError, SignIn, TokenSource, WebIdentity};
    use crate::support::secret::SessionCredentials;

    /// What the fake answers; `calls` counts fetches, STS calls, sign-ins
    /// and MFA prompts alike.
    pub struct Fake {
        /// What [`TokenSource::fetch`] answers.
        pub fetch: fn() -> Result<Login, FetchError>,
        /// What [`TokenSource::api_endpoint`] answers.
        pub endpoint: &'static str,
        /// The cached SSO token.
        pub sso: Option<Cached>,
        /// The cached `aws login` session.
        pub login: Option<Cached>,
        /// The expiry and file of a new SSO sign-in.
        pub signed_in: (SystemTime, PathBuf),
        /// When a (kept or new) MFA session expires, and whether one is kept.
        pub mfa: (u64, bool),
        /// The calls that would have reached AWS or the user.
        pub calls: Cell<usize>,
    }

    impl Fake {
        /// A fake whose fetch fails with `AccessDenied` and with no sign-in.
        pub fn new() -> Fake {
            Fake {
                fetch: || {
                    Err(FetchError::AccessDenied {
                        account: "123456789012".into(),
                        region: "us-east-1".into(),
                        detail: "not authorized (fake)".into(),
                        hint: "",
                    })
                },
                endpoint: "https://api.ecr.fake.example (fake)",
                sso: None,
                login: None,
                signed_in: (SystemTime::UNIX_EPOCH, PathBuf::new()),
                mfa: (0, false),
                calls: Cell::new(0),
            }
        }

        fn call(&self) {
            self.calls.set(self.calls.get() + 1);
        }
    }

    impl TokenSource for Fake {
        fn fetch(&self, _: &Registry, _: &Identity, _: Duration) -> Result<Login, FetchError> {
            self.call();
            (self.fetch)()
        }

        fn assume_role_with_web_identity(
            &self,
            pod: &WebIdentity,
            _: Duration,
        ) -> Result<SessionCredentials, FetchError> {
            self.call();
            Err(FetchError::WebIdentity {
                role: pod.role_arn.clone(),
                detail: "the fake has no STS".into(),
            })
        }

        fn api_endpoint(&self, _: &Registry) -> String {
            self.endpoint.to_string()
        }
    }

    impl SignIn for Fake {
        fn sso_token(&self, _: &SsoProfile) -> Option<Cached> {
            self.sso.clone()
        }

        fn login_token(&self, _: &LoginSession) -> Option<Cached> {
            self.login.clone()
        }

        fn sso_sign_in(
            &self,
            _: &SsoProfile,
            terminal: &mut dyn std::io::Write,
            _: Duration,
        ) -> Result<(SystemTime, PathBuf), FetchError> {
            self.call();
            let _ = terminal.write_all(b"(fake device flow)\n");
            Ok(self.signed_in.clone())
        }

        fn mfa_session(&self, _: &MfaProfile, _: bool) -> Result<u64, FetchError> {
            self.call();
            Ok(self.mfa.0)
        }

        fn mfa_session_is_kept(&self, _: &MfaProfile) -> bool {
            self.mfa.1
        }
    }
}
