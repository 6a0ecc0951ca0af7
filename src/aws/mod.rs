//! The one place that speaks AWS. Nothing outside this folder imports an
//! `aws_*` crate: the rest of the helper sees the [`TokenSource`] seam, its
//! [`FetchError`], and [`SdkTokenSource`], the implementation on the AWS SDK
//! for Rust.
//!
//! - [`client`]: the HTTPS client and TLS trust, provider settings, the
//!   deadline runtime;
//! - [`token`]: [`SdkTokenSource`]: credentials, then `GetAuthorizationToken`
//!   of ECR or ECR Public, and the API endpoint a registry uses;
//! - [`sts`]: assuming roles, with keys or with a web-identity token;
//! - [`mfa`]: MFA for assume-role profiles (prompt, kept session);
//! - [`sign_in`]: the caches of SSO and `aws login` sign-ins (read to
//!   explain, and written by [`device`], SSO's device-authorization flow);
//! - [`error`]: [`FetchError`] and the mapping of SDK errors to it.

use std::time::Duration;

use crate::core::identity::Identity;
use crate::core::login::Login;
use crate::core::registry::Registry;
use crate::support::secret::{Secret, SessionCredentials};

mod client;
mod device;
mod error;
pub mod mfa;
pub mod sign_in;
mod sts;
mod tls;
mod token;

pub use error::FetchError;
pub use token::SdkTokenSource;

/// Gets registry tokens. The one seam in front of the AWS SDK.
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
