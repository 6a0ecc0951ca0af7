//! Why a token could not be fetched, and the mapping from the SDK's errors
//! to it. Every message says what to do next; none carries a secret.

use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
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
    /// The API endpoint's name does not resolve: a region the partition does
    /// not have, a mistyped endpoint override, or no DNS. Never retried.
    #[error("{}", unresolved_message(.host, .region, .partition, *.overridden_by, .detail))]
    Unresolved {
        /// The endpoint's host name.
        host: String,
        /// The registry's API region.
        region: String,
        /// The registry's partition (`aws`, `aws-cn`, ...).
        partition: &'static str,
        /// The variable the endpoint came from, when it is overridden.
        overridden_by: Option<&'static str>,
        /// The resolver's error.
        detail: String,
    },
    /// AWS does not accept the credentials themselves: an unknown access key,
    /// an invalid or expired session token, a secret that does not match.
    #[error("AWS rejected the credentials ({source_label}): {detail} ({code}); the credentials themselves were rejected, not the permission: {}", rejected_advice(.code))]
    Rejected {
        /// The identity's description (where the credentials came from).
        source_label: String,
        /// The API's error code.
        code: String,
        /// The API's message.
        detail: String,
    },
    /// AWS refused the request's time: this machine's clock is off.
    #[error("{}", skew_message(*.skew, .detail))]
    ClockSkew {
        /// This clock minus AWS's, in seconds, when the answer says.
        skew: Option<i64>,
        /// The API's message.
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
    /// The whole fetch ran past its deadline; `stage` says what was slow.
    #[error("{}", timeout_message(*.deadline, .stage))]
    Timeout {
        /// The deadline.
        deadline: Duration,
        /// What the fetch was waiting for when the deadline came.
        stage: Stage,
    },
    /// The whole deadline went waiting for another process fetching the same
    /// token (the refresh lock); with MFA, that process is likely at its prompt.
    #[error("another docker-credential-ecr-login was getting the token for {host} and had not finished within {}s{}: try again when it is done, or raise AWS_ECR_TIMEOUT (seconds)", .waited.as_secs_f64().round(), busy_mfa(.mfa_profile.as_deref()))]
    Busy {
        /// The registry.
        host: String,
        /// How long this process waited.
        waited: Duration,
        /// The MFA profile of the identity, if it has one.
        mfa_profile: Option<String>,
    },
    /// The endpoint's answer is not ECR's: not JSON (a proxy's page), or cut short.
    #[error("{0}")]
    BadAnswer(String),
    /// A refresh failed a moment ago; within the backoff the API is not asked again.
    #[error("{cause} (this failed {} ago; not asking ECR again for {})", crate::time::human(*.ago), crate::time::human(*.retry_in))]
    Remembered {
        /// The remembered error message.
        cause: String,
        /// How long ago it failed.
        ago: Duration,
        /// When the API is asked again.
        retry_in: Duration,
    },
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
            FetchError::Unresolved { .. } => "check the region in the registry's hostname (`aws ec2 describe-regions` lists them) and AWS_ENDPOINT_URL_ECR; if both are right, check DNS",
            FetchError::Rejected { .. } => "refresh the credentials named above (`aws sso login`, `aws login`, new keys in `aws configure`, or unset a stale AWS_SESSION_TOKEN); `aws sts get-caller-identity` with the same settings shows whether AWS accepts them",
            FetchError::ClockSkew { .. } => "set this machine's clock right (turn on NTP, e.g. `timedatectl set-ntp true`) and try again",
            FetchError::Network { .. } => "check connectivity to the endpoint above, HTTPS_PROXY / NO_PROXY, and AWS_ENDPOINT_URL_ECR",
            FetchError::Timeout { stage, .. } if stage.is_mfa() => "enter the MFA code at the prompt in time, or run `docker-credential-ecr-login login --profile <profile>` in a terminal first (the session is kept)",
            FetchError::Timeout { stage, .. } if stage.raising_helps() => "raise AWS_ECR_TIMEOUT (seconds) if the endpoint is slow rather than stuck",
            FetchError::Timeout { .. } => "check the network, the proxy (HTTPS_PROXY, NO_PROXY) and AWS_ENDPOINT_URL_ECR",
            FetchError::BadAnswer(_) => "check HTTPS_PROXY, NO_PROXY and AWS_ENDPOINT_URL_ECR: something other than ECR answered",
            FetchError::Busy { mfa_profile: Some(_), .. } => "enter the MFA code at the other process's prompt, or run `docker-credential-ecr-login login --profile <profile>` in a terminal first",
            FetchError::Busy { .. } => "try again in a moment; `docker-credential-ecr-login doctor` shows what the fetch waits for",
            FetchError::Remembered { .. } => "wait for the backoff to end, or run `docker-credential-ecr-login cache clear` to retry now",
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

impl FetchError {
    /// Whether the failure is the API's (or the network's) and may pass: it is
    /// remembered for a backoff. Failures of the local configuration
    /// (credentials, sign-in, permissions) are not: fixing them must take
    /// effect at once.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FetchError::Unavailable { .. } | FetchError::Network { .. } | FetchError::BadAnswer(_)
        ) || matches!(self, FetchError::Timeout { stage, .. } if !stage.is_mfa())
            || matches!(self, FetchError::Unresolved { detail, .. } if is_temporary_dns(detail))
    }
}

/// What a fetch was waiting for when its deadline came.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Nothing known (the fetch had not started a request).
    Unknown,
    /// Loading credentials (a credential process, SSO, STS, IMDS).
    Credentials,
    /// Resolving the endpoint's name.
    Dns(String),
    /// The TCP connection to the endpoint (SYN sent, nothing back).
    Connect(String),
    /// The TLS handshake (or a proxy's tunnel) with the endpoint.
    Tls(String),
    /// The answer, the request sent over an open connection.
    Answer(String),
    /// The rest of an answer whose headers came.
    Body(String),
    /// The user typing the MFA code of this profile at the prompt.
    MfaCode(String),
    /// Another process's prompt for the MFA code of this profile.
    MfaPrompt(String),
    /// Retrying after failed attempts.
    Retrying {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure.
        last: String,
    },
}

impl Stage {
    /// Whether more time could have made the fetch succeed: a slow answer
    /// or slow credentials, not a connection that nothing completes.
    pub fn raising_helps(&self) -> bool {
        matches!(
            self,
            Stage::Credentials
                | Stage::MfaCode(_)
                | Stage::MfaPrompt(_)
                | Stage::Answer(_)
                | Stage::Body(_)
                | Stage::Retrying { .. }
                | Stage::Unknown
        )
    }

    /// Whether the fetch was waiting for a person (an MFA code), not for AWS.
    pub fn is_mfa(&self) -> bool {
        matches!(self, Stage::MfaCode(_) | Stage::MfaPrompt(_))
    }

    /// What the fetch was waiting for, for people: `the TLS handshake with api.ecr...`.
    pub fn describe(&self) -> String {
        match self {
            Stage::Unknown => "the request".into(),
            Stage::Credentials => "the AWS credentials".into(),
            Stage::MfaCode(p) => format!("the MFA code of profile {p} to be entered"),
            Stage::MfaPrompt(p) => {
                format!("another process's prompt for the MFA code of profile {p}")
            }
            Stage::Dns(h) => format!("the DNS lookup of {h}"),
            Stage::Connect(h) => format!("the TCP connection to {h}"),
            Stage::Tls(h) => format!("the TLS handshake with {h} (or the proxy's tunnel to it)"),
            Stage::Answer(h) => format!("the answer from {h} (connected, request sent)"),
            Stage::Body(h) => format!("the rest of the answer from {h}"),
            Stage::Retrying { attempts, last } => {
                format!("a retry after {attempts} failed attempts (the last: {last})")
            }
        }
    }
}

fn timeout_message(deadline: Duration, stage: &Stage) -> String {
    let secs = deadline.as_secs_f64();
    let what = stage.describe();
    match stage {
        Stage::Unknown => format!("no answer from AWS within {secs:.1}s: check the network or proxy, or raise AWS_ECR_TIMEOUT (seconds)"),
        Stage::Credentials => format!("loading the AWS credentials did not finish within {secs:.1}s: raise AWS_ECR_TIMEOUT (seconds) if the credential process or sign-in is slow"),
        Stage::MfaCode(p) => format!("the MFA code for profile {p} was not entered within {secs:.1}s: type it at the prompt sooner, run `docker-credential-ecr-login login --profile {p}` first (the session is kept), or raise AWS_ECR_TIMEOUT (seconds)"),
        Stage::MfaPrompt(p) => format!("another docker-credential-ecr-login held the MFA prompt of profile {p} and no session came within {secs:.1}s: enter the code at that prompt (or end that process), or run `docker-credential-ecr-login login --profile {p}`"),
        Stage::Dns(_) => format!("{what} did not finish within {secs:.1}s: check DNS and the proxy settings (HTTPS_PROXY, NO_PROXY); raising AWS_ECR_TIMEOUT will not help"),
        Stage::Connect(_) => format!("{what} was not answered within {secs:.1}s: something drops the connection (a firewall, a wrong AWS_ENDPOINT_URL_ECR or HTTPS_PROXY); raising AWS_ECR_TIMEOUT will not help"),
        Stage::Tls(_) => format!("{what} did not finish within {secs:.1}s: something accepts the connection but does not complete TLS (a proxy or firewall in the way?); raising AWS_ECR_TIMEOUT will not help"),
        Stage::Answer(_) | Stage::Body(_) => format!("{what} did not come within {secs:.1}s: the API or a proxy is slow; raise AWS_ECR_TIMEOUT (seconds) if it is slow rather than stuck"),
        Stage::Retrying { attempts, last } => format!("ECR kept failing for {secs:.1}s ({attempts} attempts, the last: {last}): raise AWS_ECR_TIMEOUT (seconds) to allow more retries, or try again shortly"),
    }
}

mod api;
mod why;
pub(crate) use api::TokenRequest;
use why::{busy_mfa, is_temporary_dns, rejected_advice, skew_message, unresolved_message};
pub(crate) use why::{credentials_refused, is_dns_failure};

/// Maps an API error's code, message and full text to a [`FetchError`].
pub(crate) type ApiErrorMapper<'a> = dyn Fn(Option<&str>, Option<&str>, String) -> FetchError + 'a;

pub(crate) fn sdk_error<E>(
    err: aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>,
    region: &str,
    api_error: &ApiErrorMapper<'_>,
) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let full = error_chain(&err);
    if let Some(bad) = bad_answer(err.raw_response(), &full) {
        return bad;
    }
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

/// The resolver's error, when `err` is a DNS lookup that failed.
pub(crate) fn dns_failure<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>,
) -> Option<String>
where
    E: std::error::Error + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let SdkError::DispatchFailure(d) = err else {
        return None;
    };
    let chain = error_chain(d.as_connector_error()?);
    is_dns_failure(&chain).then(|| match chain.split_once("dns error: ") {
        Some((_, why)) => why.to_string(),
        None => chain.clone(),
    })
}

/// An answer that is not ECR's: cut short, or not JSON at all (a proxy's
/// page). `None` for a JSON answer (ECR's errors are JSON) or no answer.
fn bad_answer(raw: Option<&HttpResponse>, chain: &str) -> Option<FetchError> {
    const CUT: [&str; 3] = [
        "IncompleteMessage",
        "end of file before message length reached",
        "connection closed before message completed",
    ];
    let cut = |status: String| {
        FetchError::BadAnswer(format!(
            "the answer from the ECR endpoint was cut short ({status}): the connection closed mid-answer (an unstable network or a proxy); retried"
        ))
    };
    if CUT.iter().any(|c| chain.contains(c)) {
        return Some(cut(raw.map_or("no status".into(), |r| {
            format!("HTTP {}", r.status().as_u16())
        })));
    }
    let raw = raw?;
    let status = raw.status().as_u16();
    let body = raw.body().bytes()?;
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Ok(_) => None,
        Err(e) if e.is_eof() && !body.iter().all(u8::is_ascii_whitespace) => {
            Some(cut(format!("HTTP {status}, {} bytes of JSON", body.len())))
        }
        Err(_) => {
            let kind = raw
                .headers()
                .get("content-type")
                .unwrap_or("no content type");
            let what = if body.iter().all(u8::is_ascii_whitespace) {
                "an empty body".to_string()
            } else if kind.contains("html") || body.trim_ascii_start().starts_with(b"<") {
                format!("an HTML page ({kind})")
            } else {
                format!("something that is not JSON ({kind})")
            };
            Some(FetchError::BadAnswer(format!(
                "the ECR endpoint answered HTTP {status} with {what}, not ECR's JSON: a proxy may be in the way (check HTTPS_PROXY, NO_PROXY and AWS_ENDPOINT_URL_ECR)"
            )))
        }
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
            detail: one_line(&error_chain(&other)),
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

/// A credential provider's text as one clean line: its lines (a credential
/// process's stderr) joined with ` / `, without the SDK's repeated preamble
/// and its `code exit status: N`.
fn one_line(text: &str) -> String {
    let text = text
        .replace("an error occurred while loading credentials: ", "")
        .replace("exited with code exit status: ", "exited with status ");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// At most 200 characters of the first line of `text`.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_errors_say_what_was_slow_and_whether_more_time_helps() {
        let h = || "api.ecr.us-east-1.amazonaws.com".to_string();
        let cases = [
            (Stage::Credentials, "loading the AWS credentials", true),
            (Stage::Dns(h()), "the DNS lookup of api.ecr", false),
            (Stage::Connect(h()), "the TCP connection to api.ecr", false),
            (Stage::Tls(h()), "the TLS handshake with api.ecr", false),
            (Stage::Answer(h()), "the answer from api.ecr", true),
            (Stage::Body(h()), "the rest of the answer", true),
            (
                Stage::Retrying {
                    attempts: 3,
                    last: "ThrottlingException".into(),
                },
                "3 attempts, the last: ThrottlingException",
                true,
            ),
        ];
        for (stage, what, helps) in cases {
            let text = FetchError::Timeout {
                deadline: Duration::from_secs(30),
                stage: stage.clone(),
            }
            .to_string();
            assert!(text.contains(what), "{stage:?}: {text}");
            assert!(text.contains("30.0s"), "{stage:?}: {text}");
            assert_eq!(stage.raising_helps(), helps, "{stage:?}");
            assert_eq!(text.contains("will not help"), !helps, "{stage:?}: {text}");
            assert!(text.contains("AWS_ECR_TIMEOUT"), "{stage:?}: {text}");
        }
    }

    #[test]
    fn only_the_api_s_failures_are_transient() {
        assert!(FetchError::BadAnswer("x".into()).is_transient());
        assert!(FetchError::Unavailable {
            region: "r".into(),
            detail: "d".into()
        }
        .is_transient());
        assert!(!FetchError::NoCredentials(String::new()).is_transient());
        assert!(!FetchError::AccessDenied {
            account: "1".into(),
            region: "r".into(),
            detail: "d".into(),
            hint: ""
        }
        .is_transient());
    }

    #[test]
    fn a_credential_process_error_is_one_line() {
        assert_eq!(
            one_line("an error occurred while loading credentials: Error retrieving credentials: external process exited with code exit status: 3. Stderr: boom\nsecond line\n"),
            "Error retrieving credentials: external process exited with status 3. Stderr: boom / second line"
        );
    }

    #[test]
    fn waiting_for_a_person_is_not_an_outage() {
        for stage in [Stage::MfaCode("p".into()), Stage::MfaPrompt("p".into())] {
            let e = FetchError::Timeout {
                deadline: Duration::from_secs(3),
                stage,
            };
            assert!(!e.is_transient(), "{e}");
            assert!(e.to_string().contains("MFA"), "{e}");
            assert!(!e.to_string().contains("network"), "{e}");
            assert!(e.fix().contains("MFA code"), "{}", e.fix());
        }
    }
}
