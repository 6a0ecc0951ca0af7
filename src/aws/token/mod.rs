//! [`SdkTokenSource`]: the production [`TokenSource`]. Credentials come from
//! exactly the source the identity describes (never a fall-through to the
//! instance metadata service off EC2), then ECR's or ECR Public's
//! `GetAuthorizationToken` is called at the endpoint the registry's hostname
//! selects (FIPS, dual-stack) unless an endpoint override is in force.

use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::client::{
    block_on_ready, client_trusting, load_roots, provider_config, run_tracked, run_within,
};
use super::error::TokenRequest;
use super::sts;
use crate::core::identity::{Identity, SourceKind};
use crate::core::login::Login;
use crate::core::registry::Registry;
use crate::core::source::{FetchError, TokenSource, WebIdentity};
use crate::env;
use crate::support::secret::SessionCredentials;

/// The production token source: aws-config's credential providers and the
/// ECR APIs, with what the settings say about endpoints and trust.
#[derive(Debug, Default, Clone)]
pub struct SdkTokenSource {
    /// `AWS_CA_BUNDLE`: extra trusted certificates.
    ca_bundle: Option<String>,
    /// `SSL_CERT_FILE`, `SSL_CERT_DIR`: where the OS trust store is.
    os_store: super::tls::OsStore,
    /// The trust roots, once read.
    roots: std::sync::OnceLock<super::tls::Roots>,
    /// `AWS_REGION`: where STS is asked for an MFA session.
    region: Option<String>,
    /// `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_ECR`, `AWS_ENDPOINT_URL_ECR_PUBLIC`.
    endpoint: Option<String>,
    endpoint_ecr: Option<String>,
    endpoint_ecr_public: Option<String>,
    /// The cache (where MFA sessions are kept), if it is on.
    cache: Option<crate::core::cache::Cache>,
    /// The home directory (`~/.aws/sso/cache`), the `aws login` cache, and
    /// the OIDC service's settings: see [`super::sign_in`].
    pub(in crate::aws) home: Option<std::path::PathBuf>,
    pub(in crate::aws) login_cache: Option<std::path::PathBuf>,
    pub(in crate::aws) oidc: super::device::OidcSettings,
}

/// Where the settings say the OS trust store is.
fn os_store(settings: &crate::settings::Settings) -> super::tls::OsStore {
    super::tls::OsStore {
        cert_file: settings.lookup(env::SSL_CERT_FILE),
        cert_dir: settings.lookup(env::SSL_CERT_DIR),
    }
}

impl SdkTokenSource {
    /// The token source configured by `settings`, keeping MFA sessions in
    /// `cache` (the one the policy caches tokens in).
    pub fn with_cache(
        settings: &crate::settings::Settings,
        cache: Option<crate::core::cache::Cache>,
    ) -> SdkTokenSource {
        SdkTokenSource {
            ca_bundle: settings.lookup(env::AWS_CA_BUNDLE),
            os_store: os_store(settings),
            roots: std::sync::OnceLock::new(),
            region: settings.lookup(env::AWS_REGION),
            endpoint: settings.lookup(env::AWS_ENDPOINT_URL),
            endpoint_ecr: settings.lookup(env::AWS_ENDPOINT_URL_ECR),
            endpoint_ecr_public: settings.lookup(env::AWS_ENDPOINT_URL_ECR_PUBLIC),
            cache,
            home: settings.home().map(std::path::Path::to_path_buf),
            login_cache: super::sign_in::login_cache_dir(settings),
            oidc: super::device::OidcSettings {
                ca_bundle: settings.lookup(env::AWS_CA_BUNDLE),
                os_store: os_store(settings),
                endpoint: settings
                    .lookup(env::AWS_ENDPOINT_URL_SSO_OIDC)
                    .or_else(|| settings.lookup(env::AWS_ENDPOINT_URL)),
            },
        }
    }

    /// The endpoint override in force for `registry`'s API
    /// (`AWS_ENDPOINT_URL_ECR` / `_ECR_PUBLIC`, else `AWS_ENDPOINT_URL`).
    fn endpoint_override(&self, registry: &Registry) -> Option<&str> {
        let service = match registry {
            Registry::Private(_) => &self.endpoint_ecr,
            Registry::Public { .. } => &self.endpoint_ecr_public,
        };
        service.as_deref().or(self.endpoint.as_deref())
    }

    /// The variable the endpoint override in force for `registry` comes from.
    fn endpoint_override_var(&self, registry: &Registry) -> Option<&'static str> {
        let (service, var) = match registry {
            Registry::Private(_) => (&self.endpoint_ecr, env::AWS_ENDPOINT_URL_ECR),
            Registry::Public { .. } => {
                (&self.endpoint_ecr_public, env::AWS_ENDPOINT_URL_ECR_PUBLIC)
            }
        };
        match (service, &self.endpoint) {
            (Some(_), _) => Some(var),
            (None, Some(_)) => Some(env::AWS_ENDPOINT_URL),
            (None, None) => None,
        }
    }

    /// Whether a valid MFA session of `mfa` is kept (for `doctor`).
    pub fn mfa_session_is_kept(&self, mfa: &crate::core::identity::MfaProfile) -> Option<()> {
        super::mfa::load_session(mfa, self.cache.as_ref()).map(|_| ())
    }

    /// A new HTTPS client (one per runtime: a client's pooled connections
    /// belong to the runtime that opened them), trusting roots read once per
    /// token source (the kubelet role path calls STS, then ECR).
    fn http_client(&self) -> Result<SharedHttpClient, FetchError> {
        if let Some(roots) = self.roots.get() {
            return client_trusting(roots);
        }
        let roots = load_roots(self.ca_bundle.as_deref(), &self.os_store)?;
        client_trusting(self.roots.get_or_init(|| roots))
    }

    /// The API endpoint a token request for `registry` goes to: the override in
    /// force, or what the SDK's endpoint rules give for its region, FIPS and
    /// dual-stack settings.
    pub fn api_endpoint(&self, registry: &Registry) -> String {
        if let Some(url) = self.endpoint_override(registry) {
            return format!("{url} (override)");
        }
        let (fips, dual_stack) = endpoint_variant(registry, false);
        let resolved = match registry {
            Registry::Private(_) => {
                use aws_sdk_ecr::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
                Params::builder()
                    .region(registry.api_region())
                    .use_fips(fips)
                    .use_dual_stack(dual_stack)
                    .build()
                    .map_err(|e| e.to_string())
                    .and_then(|p| {
                        block_on_ready(DefaultResolver::new().resolve_endpoint(&p))?
                            .map_err(|e| e.to_string())
                    })
            }
            Registry::Public { .. } => {
                use aws_sdk_ecrpublic::config::endpoint::{
                    DefaultResolver, Params, ResolveEndpoint,
                };
                Params::builder()
                    .region(registry.api_region())
                    .build()
                    .map_err(|e| e.to_string())
                    .and_then(|p| {
                        block_on_ready(DefaultResolver::new().resolve_endpoint(&p))?
                            .map_err(|e| e.to_string())
                    })
            }
        };
        match resolved {
            Ok(endpoint) => endpoint.url().to_string(),
            Err(e) => format!("(cannot resolve: {e})"),
        }
    }

    /// The MFA session of `mfa`: the kept one, or a new one after prompting
    /// (`force` always prompts). For `login --profile`.
    pub fn mfa_session(
        &self,
        mfa: &crate::core::identity::MfaProfile,
        force: bool,
    ) -> Result<super::mfa::Session, FetchError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| FetchError::Other(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(async {
            let http = self.http_client()?;
            // STS is regional everywhere; the profile's region is not needed.
            let region = Region::new(self.region.clone().unwrap_or_else(|| "us-east-1".into()));
            let config = aws_config::defaults(BehaviorVersion::latest())
                .region(region.clone())
                .http_client(http.clone())
                .load()
                .await;
            let provider_config = provider_config(region, http);
            Ok(super::mfa::credentials(
                &config,
                &provider_config,
                mfa,
                force,
                self.cache.as_ref(),
                &|_| {},
            )
            .await?
            .1)
        })
    }

    /// A fresh login for `registry` as `identity`: credentials, then the
    /// authorization call, each request's progress noted in `progress`.
    async fn fetch_async(
        &self,
        registry: &Registry,
        identity: &Identity,
        progress: &progress::Progress,
    ) -> Result<(Login, Option<String>), FetchError> {
        let region = Region::new(registry.api_region().to_string());
        let http = progress.client(self.http_client()?);
        let loader = self.loader(registry, &region, &http);
        let (config, credentials) = self
            .credentials(loader, identity, &region, &http, progress)
            .await?;
        let request = TokenRequest {
            account: match registry {
                Registry::Private(p) => &p.account,
                Registry::Public { .. } => "public",
            },
            region: registry.api_region(),
            partition: match registry {
                Registry::Private(p) => p.partition.id(),
                Registry::Public { .. } => "aws",
            },
            overridden_by: self.endpoint_override_var(registry),
            source_label: &identity.label,
        };
        authorize::authorize(&config, credentials, registry, &request, progress).await
    }
}

impl TokenSource for SdkTokenSource {
    fn fetch(
        &self,
        registry: &Registry,
        identity: &Identity,
        deadline: Duration,
    ) -> Result<Login, FetchError> {
        self.fetch_with_default(registry, identity, deadline)
            .map(|(login, _)| login)
    }

    fn fetch_with_default(
        &self,
        registry: &Registry,
        identity: &Identity,
        deadline: Duration,
    ) -> Result<(Login, Option<String>), FetchError> {
        if identity.source == SourceKind::None {
            return Err(FetchError::NoCredentials(no_credentials_hint()));
        }
        let progress = progress::Progress::default();
        run_tracked(
            deadline,
            || progress.stage(),
            self.fetch_async(registry, identity, &progress),
        )
    }

    fn assume_role_with_web_identity(
        &self,
        pod: &WebIdentity,
        deadline: Duration,
    ) -> Result<SessionCredentials, FetchError> {
        run_within(deadline, async {
            sts::assume_role_with_web_identity(pod, self.http_client()?).await
        })
    }

    fn api_endpoint(&self, registry: &Registry) -> String {
        SdkTokenSource::api_endpoint(self, registry)
    }
}

fn no_credentials_hint() -> String {
    if cfg!(target_os = "linux") {
        "; the EC2 instance metadata service is only consulted on EC2 (AWS_ECR_IMDS=on forces it)"
            .into()
    } else {
        String::new()
    }
}

/// Whether to ask the SDK for the FIPS and the dual-stack API endpoint: as the
/// registry hostname says, unless an endpoint override is in force.
fn endpoint_variant(registry: &Registry, overridden: bool) -> (bool, bool) {
    match registry {
        Registry::Private(p) if !overridden => (p.fips, p.dual_stack),
        _ => (false, false),
    }
}

/// The token's expiry, or the credentials' when they expire sooner.
pub(super) fn capped(token: SystemTime, credentials: Option<SystemTime>) -> SystemTime {
    match credentials {
        Some(c) if c < token => {
            crate::debug!("the credentials expire before the token; caching it until they do");
            c
        }
        _ => token,
    }
}

/// ECR's expiry, or 12 hours from now when it gave none (its documented lifetime).
fn expiry(at: Option<&aws_smithy_types::DateTime>) -> SystemTime {
    at.and_then(|t| SystemTime::try_from(*t).ok())
        .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(12 * 3600))
}

mod authorize;
mod credentials;
mod progress;
mod retry;

#[cfg(test)]
mod tests;
