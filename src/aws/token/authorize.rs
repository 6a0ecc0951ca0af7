//! The authorization call: `GetAuthorizationToken` of ECR for a private
//! registry, of ECR Public for `public.ecr.aws`, behind one shape. Each API
//! only builds its client, sends the request and says what came back (a
//! [`Grant`]); the login, its expiry and the errors are the same for both.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_smithy_types::DateTime;

use super::super::error::TokenRequest;
use super::{capped, expiry, progress::Progress, retry};
use crate::core::login::Login;
use crate::core::registry::Registry;
use crate::core::source::FetchError;

/// What an API's answer carries; `None` fields it left out.
struct Grant {
    /// The base64 `user:password` token.
    token: Option<String>,
    /// When it expires.
    expires_at: Option<DateTime>,
    /// The registry the answer names as the caller's own (ECR only).
    proxy_endpoint: Option<String>,
}

/// The login for `registry` with `credentials`, and the registry ECR names
/// as the caller's own in that region, when it names one of the same key.
/// The login lasts no longer than the credentials that minted it.
pub(super) async fn authorize(
    config: &SdkConfig,
    credentials: Credentials,
    registry: &Registry,
    request: &TokenRequest<'_>,
    progress: &Progress,
) -> Result<(Login, Option<String>), FetchError> {
    // A token is no use past the session that minted it (an assumed
    // role, a web identity, SSO role credentials): never cache it longer.
    let credentials_expiry = credentials.expiry();
    let answer = match registry {
        Registry::Private(p) => {
            crate::info!(
                "calling ecr:GetAuthorizationToken in {} (one token for every account's registry there)",
                p.region
            );
            ecr(config, credentials, progress, request).await?
        }
        Registry::Public { .. } => {
            crate::info!("calling ecr-public:GetAuthorizationToken in us-east-1");
            ecr_public(config, credentials, progress, request).await?
        }
    };
    let empty = || FetchError::Empty(registry.host().to_string());
    let grant = answer.ok_or_else(empty)?;
    let token = grant.token.ok_or_else(empty)?;
    let default = grant
        .proxy_endpoint
        .and_then(|url| Registry::parse(&url).ok())
        .filter(|r| r.cache_key() == registry.cache_key())
        .map(|r| r.host().to_string());
    let expires_at: SystemTime = capped(expiry(grant.expires_at.as_ref()), credentials_expiry);
    let login = Login::decode(&token, expires_at).map_err(FetchError::MalformedToken)?;
    Ok((login, default))
}

/// ECR's answer, for a private registry.
async fn ecr(
    config: &SdkConfig,
    credentials: Credentials,
    progress: &Progress,
    request: &TokenRequest<'_>,
) -> Result<Option<Grant>, FetchError> {
    let ecr_config = aws_sdk_ecr::config::Builder::from(config)
        .credentials_provider(credentials)
        .interceptor(progress.recorder())
        .retry_classifier(retry::NoRetryOnDns)
        .build();
    // No registryIds (deprecated): the token names the principal, and each
    // registry's policy decides what it may read.
    let out = aws_sdk_ecr::Client::from_conf(ecr_config)
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| request.error(e, progress.host()))?;
    Ok(out.authorization_data().first().map(|data| Grant {
        token: data.authorization_token().map(str::to_string),
        expires_at: data.expires_at().copied(),
        proxy_endpoint: data.proxy_endpoint().map(str::to_string),
    }))
}

/// ECR Public's answer, for `public.ecr.aws`.
async fn ecr_public(
    config: &SdkConfig,
    credentials: Credentials,
    progress: &Progress,
    request: &TokenRequest<'_>,
) -> Result<Option<Grant>, FetchError> {
    let public_config = aws_sdk_ecrpublic::config::Builder::from(config)
        .credentials_provider(credentials)
        .interceptor(progress.recorder())
        .retry_classifier(retry::NoRetryOnDns)
        .build();
    let out = aws_sdk_ecrpublic::Client::from_conf(public_config)
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| request.error(e, progress.host()))?;
    Ok(out.authorization_data().map(|data| Grant {
        token: data.authorization_token().map(str::to_string),
        expires_at: data.expires_at().copied(),
        proxy_endpoint: None,
    }))
}
