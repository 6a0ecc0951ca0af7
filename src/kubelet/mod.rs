//! The kubelet image credential provider protocol
//! (`credentialprovider.kubelet.k8s.io`, `v1` and `v1beta1`).
//!
//! kubelet runs `docker-credential-ecr-login kubelet`, writes one
//! `CredentialProviderRequest` on its stdin and reads one
//! `CredentialProviderResponse` from its stdout. This module holds the pure
//! part, which does no I/O: parsing the request and choosing whose
//! credentials pull the image ([`request`]), the cache duration and the
//! response ([`response`]), and the identity a pod's role is cached under
//! ([`role_identity`]). The front end that runs it is `cli::kubelet`.
//!
//! # Cache duration
//!
//! kubelet keeps the answer for `cacheDuration`. It is **half the token's
//! remaining validity** (a fresh 12-hour ECR token: `6h0m0s`), truncated to
//! whole seconds, so kubelet asks again while the token still has as long to
//! live as kubelet kept it. With less than [`response::MIN_CACHEABLE`] of validity left
//! it is `0s`, which tells kubelet not to cache the answer at all (an omitted
//! field would mean kubelet's default duration, which may outlive the token).
//!
//! # Pulling as a pod's role
//!
//! When kubelet's provider config asks for service-account tokens
//! (`tokenAttributes`), the request carries the pod's `serviceAccountToken` and
//! the service account's annotations. The role to pull as is, in this order:
//! the annotation [`ROLE_ANNOTATION`] (`eks.amazonaws.com/ecr-role-arn`), the
//! annotation [`IRSA_ROLE_ANNOTATION`] (`eks.amazonaws.com/role-arn`, the
//! pod's IRSA role, which kubelet passes only when the provider config lists
//! it in `tokenAttributes`), then the environment variable [`ROLE_ARN_ENV`].
//! The image is pulled as that role, assumed with
//! `sts:AssumeRoleWithWebIdentity` and the pod's token, held in memory only.
//! Without a token the node's own credentials are used.
//!
//! **Every** request that names a role is checked by STS with that pod's
//! token before any ECR token for the role is returned, cached or not: a pod
//! whose token STS rejects (or cannot check) gets an error, never another
//! pod's login. Only after STS says yes is the cached ECR token for the role
//! served; it is keyed by the role ARN (and the endpoint overrides), so pods
//! sharing a role share one ECR token.
//!
//! Pulls with the node's credentials follow the same rules as `get`,
//! including the registry map (`~/.ecr/config.toml`). Aliases of that file
//! apply to every request: with an alias for `docker.io` (and `docker.io` in
//! kubelet's `matchImages`), Docker Hub images get the login of the alias's
//! ECR registry (a pull-through cache), under the `auth` key `docker.io`. Pulls as a pod's role
//! do not consult the map: the pod's role is the identity, and the node's
//! profiles and keys take no part in that request.

use crate::core::identity::{Identity, IdentityError};
use crate::core::profile::ProfileSet;
use crate::core::registry::NotEcr;
use crate::env;

pub mod config;
pub mod request;
pub mod response;

pub use config::provider_config;
pub use request::{
    image_registry, image_registry_with, parse_request, parse_request_with, pull_as, ApiVersion,
    PullAs, Request,
};
pub use response::{cache_duration, go_duration, response, Response};

/// The `v1` API version.
pub const API_V1: &str = "credentialprovider.kubelet.k8s.io/v1";
/// The `v1beta1` API version.
pub const API_V1BETA1: &str = "credentialprovider.kubelet.k8s.io/v1beta1";
/// The `kind` of a request.
pub const REQUEST_KIND: &str = "CredentialProviderRequest";
/// The `kind` of a response.
pub const RESPONSE_KIND: &str = "CredentialProviderResponse";
/// The service-account annotation naming the IAM role to pull images as.
pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/ecr-role-arn";
/// The IRSA annotation naming the pod's IAM role, used when the service
/// account has no [`ROLE_ANNOTATION`].
pub const IRSA_ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The environment variable naming the IAM role to pull images as when the
/// request carries a service-account token but no [`ROLE_ANNOTATION`].
pub const ROLE_ARN_ENV: &str = env::ECR_ROLE_ARN;
/// The role session name when `AWS_ROLE_SESSION_NAME` is not set.
pub const DEFAULT_SESSION_NAME: &str = "ecr-login-kubelet";
/// The largest request read from stdin.
pub const MAX_REQUEST: u64 = 1024 * 1024;

/// What the identity fingerprint records in place of a token file path, so
/// that the cache is keyed by the role.
const TOKEN_FILE_LABEL: &str = "kubelet:serviceAccountToken";

/// Why a kubelet request cannot be answered (before any AWS work).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeletError {
    /// The request is not what kubelet sends; says what was expected.
    #[error("kubelet request: {0}")]
    Request(String),
    /// The image is not in an ECR registry.
    #[error(transparent)]
    NotEcr(#[from] NotEcr),
    /// The response could not be encoded.
    #[error("cannot encode the kubelet response: {0}")]
    Response(#[source] serde_json::Error),
}

/// The identity a token fetched as `role_arn` is cached under: web identity
/// for the role, as [`Identity::resolve_with`] describes it with no shared
/// files and none of the node's credential variables, with a fixed label
/// instead of a token file path. So the cache is keyed by the role ARN (and
/// the endpoint overrides in `var`), not by the pod or its token.
///
/// That key is only safe because every request is checked by STS first:
/// [`pull_as`]'s caller must have STS accept the pod's token for the role
/// before it looks at the cache, as
/// [`crate::core::helper::Helper::login_with_web_identity`] does.
pub fn role_identity(
    role_arn: &str,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Identity, IdentityError> {
    Identity::resolve_with(&ProfileSet::default(), &|name| match name {
        env::AWS_WEB_IDENTITY_TOKEN_FILE => Some(TOKEN_FILE_LABEL.to_string()),
        env::AWS_ROLE_ARN => Some(role_arn.to_string()),
        env::AWS_ACCESS_KEY_ID
        | env::AWS_SECRET_ACCESS_KEY
        | env::AWS_SESSION_TOKEN
        | env::AWS_PROFILE
        | env::AWS_VAULT => None,
        _ => var(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/ecr-pull";

    #[test]
    fn role_identities_are_keyed_by_role_and_endpoints() {
        let vars = |extra: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                [
                    ("AWS_ACCESS_KEY_ID", "AKIDNODE"),
                    ("AWS_SECRET_ACCESS_KEY", "node-secret"),
                    ("AWS_PROFILE", "node"),
                    (
                        "AWS_WEB_IDENTITY_TOKEN_FILE",
                        "/tmp/ecr-login-kubelet-abc/token",
                    ),
                ]
                .iter()
                .chain(extra)
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
            }
        };
        let a = role_identity(ROLE, &vars(&[])).unwrap();
        assert_eq!(a.source, crate::core::identity::SourceKind::WebIdentity);
        assert!(a.label.contains(ROLE), "{}", a.label);
        let other_file = role_identity(
            ROLE,
            &vars(&[(
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "/tmp/ecr-login-kubelet-xyz/token",
            )]),
        )
        .unwrap();
        assert_eq!(a.fingerprint, other_file.fingerprint);
        let other_role = role_identity("arn:aws:iam::123456789012:role/other", &vars(&[])).unwrap();
        assert_ne!(a.fingerprint, other_role.fingerprint);
        let endpoint = role_identity(
            ROLE,
            &vars(&[("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1")]),
        )
        .unwrap();
        assert_ne!(a.fingerprint, endpoint.fingerprint);
        // Not the node's identity.
        let node = Identity::resolve_with(&ProfileSet::default(), &vars(&[])).unwrap();
        assert_ne!(a.fingerprint, node.fingerprint);
    }
}
