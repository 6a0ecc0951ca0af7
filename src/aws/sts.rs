//! STS: assuming a role (a registry-map rule's `role_arn`, an MFA profile's
//! role) and acting as a role with a web-identity token (a pod's, in kubelet
//! mode). Failures name the role and say what STS answered.

use std::time::SystemTime;

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::client::isolated_config;
use super::error::error_chain;
use crate::core::source::{FetchError, WebIdentity};
use crate::support::secret::{Secret, SessionCredentials};
use crate::support::time::secs;

/// STS AssumeRole with `base` credentials (and an MFA serial and code).
pub(crate) async fn assume_role(
    config: &aws_config::SdkConfig,
    base: Credentials,
    role_arn: &str,
    session_name: Option<&str>,
    mfa: Option<(&str, &str)>,
    duration_seconds: Option<i32>,
    external_id: Option<&str>,
) -> Result<Credentials, FetchError> {
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(config)
            .credentials_provider(base)
            .build(),
    );
    let session_name = session_name
        .map(str::to_string)
        .unwrap_or_else(|| format!("ecr-login-{}", secs(SystemTime::now())));
    let mut request = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .set_duration_seconds(duration_seconds)
        .set_external_id(external_id.map(str::to_string));
    if let Some((serial, code)) = mfa {
        request = request.serial_number(serial).token_code(code);
    }
    let out = request.send().await.map_err(|e| {
        let detail = e
            .message()
            .map(str::to_string)
            .unwrap_or_else(|| error_chain(&e));
        FetchError::AssumeRole {
            role: role_arn.to_string(),
            detail,
        }
    })?;
    let c = out.credentials().ok_or_else(|| FetchError::AssumeRole {
        role: role_arn.to_string(),
        detail: "STS returned no credentials".into(),
    })?;
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        SystemTime::try_from(*c.expiration()).ok(),
        "ecr-login-assume-role",
    ))
}

/// `sts:AssumeRoleWithWebIdentity` with the token in memory (the call is
/// unsigned: the token is the credential).
pub(crate) async fn assume_role_with_web_identity(
    pod: &WebIdentity,
    http: SharedHttpClient,
) -> Result<SessionCredentials, FetchError> {
    let failed = |detail: String| FetchError::WebIdentity {
        role: pod.role_arn.clone(),
        detail,
    };
    let config = isolated_config(Region::new(pod.region.clone()), http).await;
    let client = aws_sdk_sts::Client::new(&config);
    crate::info!(
        "calling sts:AssumeRoleWithWebIdentity for role {} with the pod's service-account token",
        pod.role_arn
    );
    let out = client
        .assume_role_with_web_identity()
        .role_arn(&pod.role_arn)
        .role_session_name(&pod.session_name)
        .web_identity_token(pod.token.expose())
        .send()
        .await
        .map_err(|e| {
            let code = e.code().map(str::to_string);
            let message = e.message().map(str::to_string);
            match (code, message) {
                (Some(code), Some(message)) => failed(format!("{code}: {message}")),
                (Some(code), None) => failed(code),
                _ => failed(error_chain(&e)),
            }
        })?;
    let creds = out
        .credentials()
        .ok_or_else(|| failed("STS answered without credentials".into()))?;
    Ok(SessionCredentials {
        access_key_id: creds.access_key_id().to_string(),
        secret_access_key: Secret::new(creds.secret_access_key()),
        session_token: Secret::new(creds.session_token()),
        expires_at: SystemTime::try_from(*creds.expiration()).ok(),
    })
}
