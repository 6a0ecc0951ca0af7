//! Why a token could not be fetched, and the mapping from the SDK's errors
//! to it. Every message says what to do next; none carries a secret.

use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::identity::Identity;

/// Why a token could not be fetched. Messages say what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No credential source is configured at all.
    #[error("no AWS credentials found: set AWS_PROFILE (see ~/.aws/config), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws configure` / `aws sso login`{0}")]
    NoCredentials(String),
    /// A credential source exists but failed (expired SSO session, failing process, bad role).
    #[error("could not load AWS credentials ({source_label}): {detail}")]
    Credentials {
        /// The identity's description.
        source_label: String,
        /// What the credential provider said.
        detail: String,
    },
    /// ECR refused the credentials or the permission.
    #[error("access denied for account {account} in {region}: {detail} (the identity needs ecr:GetAuthorizationToken{hint})")]
    AccessDenied {
        /// Registry account (or `public`).
        account: String,
        /// API region.
        region: String,
        /// ECR's message.
        detail: String,
        /// An extra hint.
        hint: &'static str,
    },
    /// ECR kept throttling or failing after retries.
    #[error("ECR is unavailable in {region}: {detail} (retried; try again shortly)")]
    Unavailable {
        /// API region.
        region: String,
        /// The last error.
        detail: String,
    },
    /// The network or endpoint could not be reached.
    #[error("cannot reach the ECR API in {region}: {detail} (check network, proxy settings (HTTPS_PROXY, NO_PROXY) and AWS_ENDPOINT_URL_ECR)")]
    Network {
        /// API region.
        region: String,
        /// The connection error.
        detail: String,
    },
    /// The whole fetch ran past its deadline.
    #[error("no answer from AWS within {:.1}s: check the network or proxy, or raise AWS_ECR_TIMEOUT (seconds)", .0.as_secs_f64())]
    Timeout(Duration),
    /// ECR answered without authorization data.
    #[error("ECR returned no authorization data for {0}")]
    Empty(String),
    /// ECR's token could not be decoded.
    #[error("ECR returned a malformed token: {0}")]
    MalformedToken(&'static str),
    /// STS did not accept a web-identity token for a role (or could not be asked).
    #[error("sts:AssumeRoleWithWebIdentity for role {role} failed: {detail}")]
    WebIdentity {
        /// The role that was asked for.
        role: String,
        /// What STS (or the network) said.
        detail: String,
    },
    /// STS would not let the credentials assume a role (a registry-map rule's).
    #[error("cannot assume role {role}: {detail}")]
    AssumeRole {
        /// The role.
        role: String,
        /// What STS said.
        detail: String,
    },
    /// An MFA step failed.
    #[error("{0}")]
    Mfa(String),
    /// The IAM Identity Center (SSO) sign-in is missing, expired or refused.
    #[error("the SSO sign-in of profile {profile} {state}: run `{command}` (or `docker-credential-ecr-login login --profile {profile}`)")]
    SsoSignIn {
        /// The profile with the SSO settings.
        profile: String,
        /// What is wrong (`has expired`, `is missing`, ...).
        state: String,
        /// `aws sso login --profile P` or `aws sso login --sso-session S`.
        command: String,
    },
    /// The `aws login` session is missing, expired or cannot be refreshed.
    #[error(
        "the `aws login` session of profile {profile} {state}: run `aws login --profile {profile}`"
    )]
    LoginSession {
        /// The profile with `login_session`.
        profile: String,
        /// What is wrong.
        state: String,
    },
    /// Anything else the SDK reported.
    #[error("ECR request failed: {0}")]
    Other(String),
}

impl FetchError {
    /// What to do about it, in one line (for `doctor`).
    pub fn fix(&self) -> &'static str {
        match self {
            FetchError::NoCredentials(_) => "configure credentials: `aws configure`, `aws sso login`, or set AWS_PROFILE to a profile that has them",
            FetchError::Credentials { .. } => "run `aws sts get-caller-identity` with the same AWS_PROFILE to see the credential error; for SSO run `aws sso login`",
            FetchError::AccessDenied { .. } => "grant the identity ecr:GetAuthorizationToken (e.g. the AmazonEC2ContainerRegistryReadOnly policy), or use another profile",
            FetchError::Unavailable { .. } => "wait and retry; check the AWS Health Dashboard for ECR in that region",
            FetchError::Network { .. } => "check connectivity to the endpoint above, HTTPS_PROXY / NO_PROXY, and AWS_ENDPOINT_URL_ECR",
            FetchError::Timeout(_) => "check the network or proxy, or raise AWS_ECR_TIMEOUT",
            FetchError::Empty(_) | FetchError::MalformedToken(_) => "the endpoint did not answer like ECR: check AWS_ENDPOINT_URL_ECR",
            FetchError::AssumeRole { .. } => "check the role's trust policy (it must trust the identity above) and that the identity may call sts:AssumeRole on it",
            FetchError::WebIdentity { .. } => "check the role's trust policy (the cluster's OIDC provider, the service account in the condition) and that STS is reachable",
            FetchError::SsoSignIn { .. } => "sign in again with the command above (AWS CLI v2), or with `docker-credential-ecr-login login --profile <profile>` (no AWS CLI needed)",
            FetchError::LoginSession { .. } => "sign in again with `aws login --profile <profile>` (AWS CLI 2.32 or later)",
            FetchError::Mfa(_) => "run `docker-credential-ecr-login login --profile <profile>` in a terminal; check mfa_serial, source_profile and the role's trust policy",
            FetchError::Other(_) => "run again with AWS_ECR_LOG=debug for details",
        }
    }
}

/// Maps an API error's code, message and full text to a [`FetchError`].
pub(crate) type ApiErrorMapper<'a> = dyn Fn(Option<&str>, Option<&str>, String) -> FetchError + 'a;

pub(crate) fn sdk_error<E, R>(
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    region: &str,
    api_error: &ApiErrorMapper<'_>,
) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let full = error_chain(&err);
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            api_error(e.code(), e.message(), full)
        }
        SdkError::TimeoutError(_) => FetchError::Network {
            region: region.to_string(),
            detail: "the request timed out".into(),
        },
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => FetchError::Network {
            region: region.to_string(),
            detail: full,
        },
        SdkError::ResponseError(_) => FetchError::Unavailable {
            region: region.to_string(),
            detail: full,
        },
        _ => match err.code() {
            Some(code) => api_error(Some(code), err.message(), full),
            None => FetchError::Other(full),
        },
    }
}

pub(crate) fn credentials_error(e: CredentialsError, identity: &Identity) -> FetchError {
    let chain = error_chain(&e);
    if let Some(sso) = &identity.sso {
        // The portal refusing the token, or a refresh that failed: a new
        // sign-in is the fix. (A network error stays one.)
        let refused = [
            "Unauthorized",
            "InvalidGrant",
            "expired",
            "Session token not found",
        ];
        if refused.iter().any(|r| chain.contains(r)) {
            return FetchError::SsoSignIn {
                profile: sso.profile.clone(),
                state: format!("was refused ({})", first_line(&chain)),
                command: sso.sign_in_command(),
            };
        }
    }
    if let Some(login) = &identity.login_session {
        if chain.contains("Login token") {
            let state = if chain.contains("expired") {
                "has expired".to_string()
            } else {
                format!("cannot be used ({})", first_line(&chain))
            };
            return FetchError::LoginSession {
                profile: login.profile.clone(),
                state,
            };
        }
    }
    match e {
        CredentialsError::CredentialsNotLoaded(_) => {
            FetchError::NoCredentials(format!(" (looked for {})", identity.label))
        }
        other => FetchError::Credentials {
            source_label: identity.label.clone(),
            detail: error_chain(&other),
        },
    }
}

/// An error and its sources, `a: b: c`, each level's `Display` only (the
/// SDK's own formatter appends a `Debug` dump of the whole tree). Levels that
/// repeat the previous one are dropped.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// At most 200 characters of the first line of `text`.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    }
}
