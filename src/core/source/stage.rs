//! What a fetch was waiting for when its deadline came ([`Stage`]), and the
//! deadline's message.

use std::time::Duration;

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

pub(super) fn timeout_message(deadline: Duration, stage: &Stage) -> String {
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
