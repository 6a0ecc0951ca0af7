//! Why a token could not be fetched: [`FetchError`], whatever fetched it.
//! Every message says what to do next; none carries a secret. The mapping
//! from the AWS SDK's errors to it is the AWS side's (`aws::error`).

use std::time::Duration;

use super::stage::{timeout_message, Stage};

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
    #[error("{cause} (this failed {} ago; not asking ECR again for {})", crate::support::time::human(*.ago), crate::support::time::human(*.retry_in))]
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

fn busy_mfa(profile: Option<&str>) -> String {
    profile.map_or(String::new(), |p| {
        format!(
            " (it is likely waiting for the MFA code of profile {p}: enter the code at its prompt)"
        )
    })
}

/// Whether a DNS failure is the resolver's (no answer: EAI_AGAIN), not the
/// name's (no such name).
fn is_temporary_dns(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("temporary failure") || d.contains("try again")
}

fn unresolved_message(
    host: &str,
    region: &str,
    partition: &str,
    overridden_by: Option<&str>,
    detail: &str,
) -> String {
    let from = overridden_by.map_or(String::new(), |v| format!(" (from {v})"));
    let why = if is_temporary_dns(detail) {
        "the DNS lookup got no answer (check the network and DNS)"
    } else {
        "no such DNS name"
    };
    let names_region = host.split('.').any(|label| label == region);
    let fix = match overridden_by {
        Some(var) if !names_region => format!("check {var}"),
        Some(var) => format!(
            "region {region} looks wrong for the {partition} partition: check the region in the registry's hostname and {var}"
        ),
        None => format!(
            "region {region} looks wrong for the {partition} partition: check the region in the registry's hostname"
        ),
    };
    format!("the ECR endpoint {host}{from} does not resolve ({why}; not retried): {fix}")
}

/// What to do about credentials AWS rejected, by the error's code.
fn rejected_advice(code: &str) -> &'static str {
    match code {
        "ExpiredTokenException" | "ExpiredToken" => {
            "the session token has expired; refresh them (sign in again, or get new temporary keys)"
        }
        "InvalidSignatureException" | "SignatureDoesNotMatch" => {
            "the secret access key does not match the access key id; check or refresh them"
        }
        _ => "AWS does not know the access key or session token (deleted, mistyped, from another partition, or a stale AWS_SESSION_TOKEN); refresh them",
    }
}

fn skew_message(skew: Option<i64>, detail: &str) -> String {
    let fix = "set the clock right (turn on NTP) and try again";
    match skew {
        Some(s) => {
            let by = crate::support::time::human(Duration::from_secs(s.unsigned_abs()));
            let way = if s < 0 { "behind" } else { "ahead of" };
            format!("AWS refused the request's signature because of its time: this machine's clock is {by} {way} AWS's ({detail}): {fix}")
        }
        None => format!(
            "AWS refused the request's signature because of its time: this machine's clock is off ({detail}): {fix}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn an_unresolved_endpoint_names_the_region_or_the_override() {
        let nx = "failed to lookup address information: Name or service not known";
        let text = unresolved_message(
            "api.ecr.us-east-7.amazonaws.com",
            "us-east-7",
            "aws",
            None,
            nx,
        );
        assert!(
            text.contains("region us-east-7 looks wrong for the aws partition"),
            "{text}"
        );
        assert!(!text.contains("AWS_ENDPOINT_URL"), "{text}");
        let text = unresolved_message(
            "vpce-1.example.internal",
            "us-east-1",
            "aws",
            Some("AWS_ENDPOINT_URL_ECR"),
            nx,
        );
        assert!(
            text.contains("(from AWS_ENDPOINT_URL_ECR)")
                && text.ends_with("check AWS_ENDPOINT_URL_ECR"),
            "{text}"
        );
        assert!(!text.contains("looks wrong"), "{text}");
        let again = "failed to lookup address information: Temporary failure in name resolution";
        let text = unresolved_message(
            "api.ecr.us-east-1.amazonaws.com",
            "us-east-1",
            "aws",
            None,
            again,
        );
        assert!(
            text.contains("got no answer (check the network and DNS)"),
            "{text}"
        );
        let e = |detail: &str| FetchError::Unresolved {
            host: "h".into(),
            region: "r".into(),
            partition: "aws",
            overridden_by: None,
            detail: detail.into(),
        };
        assert!(!e(nx).is_transient());
        assert!(e(again).is_transient());
    }

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
}
