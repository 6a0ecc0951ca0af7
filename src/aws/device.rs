//! SSO sign-in without the AWS CLI: the OAuth device-authorization flow of
//! IAM Identity Center's OIDC service, as `aws sso login` runs it.
//!
//! RegisterClient (a public client, with the session's scopes), then
//! StartDeviceAuthorization: the user opens the verification URL, checks
//! the code and approves; meanwhile CreateToken is polled at the interval the
//! service gave (slower when told to slow down) until a token comes, the
//! user refuses, the code expires or the deadline passes. The token is
//! written where the CLI and the SDK look for it ([`super::sign_in`]).
//! Secrets (client secret, device code, tokens) stay in [`Secret`]s and
//! never reach a log or the terminal.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use aws_config::Region;
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::client::{http_client, isolated_config};
use super::error::error_chain;
use super::sign_in::{write_sso_token, NewSsoToken};
use crate::core::identity::SsoProfile;
use crate::core::source::FetchError;
use crate::support::secret::Secret;

/// The longest the flow waits for the user, whatever the service allows.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// The client name shown on the approval page.
const CLIENT_NAME: &str = "ecr-login";
/// The grant type of a device code.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Where and how to reach the OIDC service.
#[derive(Debug, Clone, Default)]
pub struct OidcSettings {
    /// `AWS_CA_BUNDLE`.
    pub ca_bundle: Option<String>,
    /// `SSL_CERT_FILE`, `SSL_CERT_DIR`.
    pub os_store: super::tls::OsStore,
    /// `AWS_ENDPOINT_URL_SSO_OIDC`, else `AWS_ENDPOINT_URL`.
    pub endpoint: Option<String>,
}

fn failed(step: &str) -> impl Fn(String) -> FetchError + '_ {
    move |detail| FetchError::SsoSignIn {
        profile: String::new(),
        state: format!("could not be renewed: {step} failed: {detail}"),
        command: String::new(),
    }
}

/// Runs the flow for `sso`, telling the user on `terminal` what to open and
/// which code to check, and writes the token under `home`. Returns the
/// token's expiry and the file written. Each request to the OIDC service
/// gets `deadline` (`AWS_ECR_TIMEOUT`): one that never answers ends the
/// flow then, instead of waiting for ever; the wait for the user's approval
/// is the code's own lifetime (at most 15 minutes).
pub fn sign_in(
    oidc: &OidcSettings,
    sso: &SsoProfile,
    home: &std::path::Path,
    terminal: &mut dyn Write,
    deadline: Duration,
) -> Result<(SystemTime, std::path::PathBuf), FetchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Other(format!("cannot start the async runtime: {e}")))?;
    let token = runtime
        .block_on(device_flow(oidc, sso, terminal, deadline))
        .map_err(|e| match e {
            FetchError::SsoSignIn { state, .. } => FetchError::SsoSignIn {
                profile: sso.profile.clone(),
                state,
                command: sso.sign_in_command(),
            },
            other => other,
        })?;
    let path = write_sso_token(home, sso, &token)?;
    Ok((token.expires_at, path))
}

/// What the user is shown, one line each: every field the service (or the
/// config file) gave has its control characters escaped, so that none can
/// add a line, move the cursor or hide the URL; the lines themselves stay lines.
fn instructions(sso: &SsoProfile, url: &str, code: &str, wait: Duration) -> String {
    let esc = crate::support::redact::escape_controls;
    format!(
        "Sign in to {} for profile {}:\n  open   {}\n  code   {}\nWaiting for approval (up to {})...\n",
        esc(&sso.start_url),
        esc(&sso.profile),
        esc(url),
        esc(code),
        crate::support::time::human(wait)
    )
}

/// `request`, or the error of a service that did not answer within `deadline`.
async fn within<T>(
    step: &str,
    deadline: Duration,
    request: impl std::future::Future<Output = T>,
) -> Result<T, FetchError> {
    tokio::time::timeout(deadline, request).await.map_err(|_| {
        failed(step)(format!(
            "the SSO OIDC service did not answer within {} ({})",
            crate::support::time::human(deadline),
            crate::env::TIMEOUT
        ))
    })
}

async fn device_flow(
    oidc: &OidcSettings,
    sso: &SsoProfile,
    terminal: &mut dyn Write,
    deadline: Duration,
) -> Result<NewSsoToken, FetchError> {
    if sso.start_url.is_empty() || sso.region.is_empty() {
        return Err(FetchError::Other(format!(
            "profile {} has no sso_start_url or sso_region (in the profile or its [sso-session])",
            sso.profile
        )));
    }
    let http = http_client(oidc.ca_bundle.as_deref(), &oidc.os_store)?;
    let config = isolated_config(Region::new(sso.region.clone()), http).await;
    let mut builder = aws_sdk_ssooidc::config::Builder::from(&config);
    if let Some(url) = &oidc.endpoint {
        builder = builder.endpoint_url(url);
    }
    let client = aws_sdk_ssooidc::Client::from_conf(builder.build());

    let mut register = client
        .register_client()
        .client_name(CLIENT_NAME)
        .client_type("public");
    if sso.session.is_some() {
        // A session's token is refreshable only with this scope (the CLI's default).
        let scopes = sso.scopes.as_deref().unwrap_or("sso:account:access");
        for scope in scopes.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            register = register.scopes(scope);
        }
    }
    let registered = within("RegisterClient", deadline, register.send())
        .await?
        .map_err(|e| failed("RegisterClient")(error_chain(&e)))?;
    let client_id = registered.client_id().unwrap_or_default().to_string();
    let client_secret = Secret::new(registered.client_secret().unwrap_or_default());
    let registration_expires_at =
        crate::support::time::at(registered.client_secret_expires_at().max(0) as u64)
            .unwrap_or(SystemTime::UNIX_EPOCH);

    let start = client
        .start_device_authorization()
        .client_id(&client_id)
        .client_secret(client_secret.expose())
        .start_url(&sso.start_url)
        .send();
    let device = within("StartDeviceAuthorization", deadline, start)
        .await?
        .map_err(|e| failed("StartDeviceAuthorization")(error_chain(&e)))?;
    let device_code = Secret::new(device.device_code().unwrap_or_default());
    let url = device
        .verification_uri_complete()
        .or(device.verification_uri())
        .unwrap_or_default();
    let code = device.user_code().unwrap_or_default();
    let wait = Duration::from_secs(device.expires_in().max(1) as u64).min(MAX_WAIT);
    let mut interval = Duration::from_secs(device.interval().clamp(1, 60) as u64);
    let text = instructions(sso, url, code, wait);
    terminal
        .write_all(text.as_bytes())
        .and_then(|()| terminal.flush())
        .map_err(|e| FetchError::Other(format!("cannot write to the terminal: {e}")))?;

    let started = Instant::now();
    loop {
        tokio::time::sleep(interval).await;
        let poll = client
            .create_token()
            .client_id(&client_id)
            .client_secret(client_secret.expose())
            .grant_type(DEVICE_GRANT)
            .device_code(device_code.expose())
            .send();
        let answer = within("CreateToken", deadline, poll).await?;
        match answer {
            Ok(out) => {
                let now = SystemTime::now();
                return Ok(NewSsoToken {
                    access_token: Secret::new(out.access_token().unwrap_or_default()),
                    expires_at: now + Duration::from_secs(out.expires_in().max(0) as u64),
                    refresh_token: out.refresh_token().map(Secret::new),
                    client_id,
                    client_secret,
                    registration_expires_at,
                });
            }
            Err(e) => match e.as_service_error() {
                Some(CreateTokenError::AuthorizationPendingException(_)) => {}
                Some(CreateTokenError::SlowDownException(_)) => {
                    interval += Duration::from_secs(5);
                }
                Some(CreateTokenError::AccessDeniedException(_)) => {
                    return Err(failed("approval")("the sign-in was denied".into()))
                }
                Some(CreateTokenError::ExpiredTokenException(_)) => {
                    return Err(failed("approval")(
                        "the code expired before it was approved".into(),
                    ))
                }
                Some(other) => {
                    let detail = other
                        .message()
                        .or(other.code())
                        .unwrap_or("unknown error")
                        .to_string();
                    return Err(failed("CreateToken")(detail));
                }
                None => return Err(failed("CreateToken")(error_chain(&e))),
            },
        }
        if started.elapsed() + interval > wait {
            return Err(failed("approval")(format!(
                "no approval within {}",
                crate::support::time::human(wait)
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_are_lines_with_each_field_escaped() {
        let sso = SsoProfile {
            profile: "dev".into(),
            session: None,
            start_url: "https://d-1.awsapps.com/start".into(),
            region: "us-east-1".into(),
            account_id: "1".into(),
            role_name: "r".into(),
            scopes: None,
        };
        let text = instructions(
            &sso,
            "https://device.sso/?user_code=AB\n\x1b[2Jfake prompt",
            "ABCD-EFGH\r",
            Duration::from_secs(600),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "Sign in to https://d-1.awsapps.com/start for profile dev:",
                "  open   https://device.sso/?user_code=AB\\n\\u{1b}[2Jfake prompt",
                "  code   ABCD-EFGH\\r",
                "Waiting for approval (up to 10m 0s)...",
            ]
        );
        assert!(text.ends_with("...\n"));
    }
}
