//! The credentials of an identity: exactly the source the identity describes
//! (a pod's session, the environment, a profile, a web identity, the
//! container or instance metadata service; never the default chain's
//! fall-through to the instance metadata service off EC2), then its MFA
//! session and the role a map rule puts on top. Also aws-config's loader for
//! the registry's API (region, HTTPS client, retries, endpoint variant), the
//! configuration those credentials are loaded with.

use std::time::Duration;

use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::super::client::{no_shared_files, provider_config};
use super::super::error::credentials_error;
use super::super::{mfa, sts};
use super::{endpoint_variant, no_credentials_hint, progress::Progress, SdkTokenSource};
use crate::core::identity::{Identity, SourceKind};
use crate::core::registry::Registry;
use crate::core::source::{FetchError, SignIn as _};
use crate::support::secret::SessionCredentials;

impl SdkTokenSource {
    /// aws-config's loader for `registry`'s API in `region`, over `http`.
    pub(super) fn loader(
        &self,
        registry: &Registry,
        region: &Region,
        http: &SharedHttpClient,
    ) -> ConfigLoader {
        // No limit per attempt (the SDK's default is a 3.1 s connect
        // timeout): the caller's deadline bounds the whole fetch, retries
        // included, so a slow but working endpoint succeeds under a generous
        // AWS_ECR_TIMEOUT.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(region.clone())
            .http_client(http.clone())
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(4))
            .timeout_config(aws_config::timeout::TimeoutConfig::disabled());
        // An endpoint override (a VPC endpoint, a test server) wins over the
        // FIPS and dual-stack variants; the SDK refuses the combination.
        let overridden = self.endpoint_override(registry);
        let (fips, dual_stack) = endpoint_variant(registry, overridden.is_some());
        if fips {
            loader = loader.use_fips(true);
        }
        if dual_stack {
            loader = loader.use_dual_stack(true);
        }
        if let Some(url) = &overridden {
            crate::debug!("ECR endpoint overridden: {url}");
        }
        loader
    }

    /// The configuration `loader` gives with `identity`'s credential source,
    /// and the credentials of `identity` (after its MFA step and the role on
    /// top, if any).
    pub(super) async fn credentials(
        &self,
        loader: ConfigLoader,
        identity: &Identity,
        region: &Region,
        http: &SharedHttpClient,
        progress: &Progress,
    ) -> Result<(SdkConfig, Credentials), FetchError> {
        let loader = with_source(loader, identity, region, http)?;
        if identity.session.is_none() {
            self.check_sign_in(identity)?;
        }
        let config = loader.load().await;
        let mut credentials = match &identity.mfa {
            Some(mfa) => {
                let provider_config = provider_config(region.clone(), http.clone());
                mfa::credentials(
                    &config,
                    &provider_config,
                    mfa,
                    false,
                    self.cache.as_ref(),
                    &|stage| progress.waiting_for(stage),
                )
                .await?
                .0
            }
            None => {
                let provider = config
                    .credentials_provider()
                    .ok_or_else(|| FetchError::NoCredentials(no_credentials_hint()))?;
                provider
                    .provide_credentials()
                    .await
                    .map_err(|e| credentials_error(e, identity))?
            }
        };
        if let Some(role) = &identity.assume_role {
            credentials = sts::assume_role(
                &config,
                credentials,
                role,
                Some("ecr-login"),
                None,
                None,
                None,
            )
            .await?;
        }
        crate::debug!("credentials resolved from {}", identity.label);
        Ok((config, credentials))
    }
}

/// `loader` with exactly the credential source `identity` describes (and
/// caches under).
fn with_source(
    loader: ConfigLoader,
    identity: &Identity,
    region: &Region,
    http: &SharedHttpClient,
) -> Result<ConfigLoader, FetchError> {
    if let Some(session) = &identity.session {
        return Ok(with_session(loader, session));
    }
    let loader = match &identity.profile {
        Some(profile) => loader.profile_name(profile),
        None => loader,
    };
    // Exactly the source the identity describes: the default chain would fall
    // through to the instance metadata service off EC2, the multi-second hang
    // this helper exists to avoid.
    let provider_config = provider_config(region.clone(), http.clone());
    Ok(match identity.source {
        SourceKind::Environment => loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        ),
        SourceKind::Profile => loader.credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&provider_config)
                .profile_name(identity.profile.as_deref().unwrap_or("default"))
                .build(),
        ),
        SourceKind::WebIdentity => loader.credentials_provider(
            aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
                .configure(&provider_config)
                .build(),
        ),
        SourceKind::Container => loader.credentials_provider(
            aws_config::ecs::EcsCredentialsProvider::builder()
                .configure(&provider_config)
                .build(),
        ),
        SourceKind::InstanceMetadata => {
            let imds = aws_config::imds::Client::builder()
                .configure(&provider_config)
                .connect_timeout(Duration::from_secs(1))
                .read_timeout(Duration::from_secs(1))
                .max_attempts(2)
                .build();
            loader.credentials_provider(
                aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                    .configure(&provider_config)
                    .imds_client(imds)
                    .build(),
            )
        }
        SourceKind::None => return Err(FetchError::NoCredentials(no_credentials_hint())),
    })
}

/// `loader` with credentials obtained already (a pod's role): nothing of the
/// node's configuration may take part.
fn with_session(loader: ConfigLoader, session: &SessionCredentials) -> ConfigLoader {
    loader
        .profile_files(no_shared_files())
        .credentials_provider(Credentials::new(
            session.access_key_id.clone(),
            session.secret_access_key.expose(),
            Some(session.session_token.expose().to_string()),
            session.expires_at,
            "sts-web-identity",
        ))
}
