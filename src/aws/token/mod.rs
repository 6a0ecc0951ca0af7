//! [`SdkTokenSource`]: the production [`TokenSource`]. Credentials come from
//! exactly the source the identity describes (never a fall-through to the
//! instance metadata service off EC2), then ECR's or ECR Public's
//! `GetAuthorizationToken` is called at the endpoint the registry's hostname
//! selects (FIPS, dual-stack) unless an endpoint override is in force.

use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::client::{
    block_on_ready, client_trusting, load_roots, no_shared_files, provider_config, run_tracked,
    run_within,
};
use super::error::{credentials_error, credentials_refused, dns_failure, sdk_error};
use super::sts;
use crate::core::identity::{Identity, SourceKind};
use crate::core::login::Login;
use crate::core::registry::Registry;
use crate::core::source::{FetchError, SignIn as _, TokenSource, WebIdentity};
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
    /// The token source configured by `settings`.
    pub fn new(settings: &crate::settings::Settings) -> SdkTokenSource {
        SdkTokenSource {
            ca_bundle: settings.lookup(env::AWS_CA_BUNDLE),
            os_store: os_store(settings),
            roots: std::sync::OnceLock::new(),
            region: settings.lookup(env::AWS_REGION),
            endpoint: settings.lookup(env::AWS_ENDPOINT_URL),
            endpoint_ecr: settings.lookup(env::AWS_ENDPOINT_URL_ECR),
            endpoint_ecr_public: settings.lookup(env::AWS_ENDPOINT_URL_ECR_PUBLIC),
            cache: crate::core::cache::Cache::from_settings(settings),
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

    async fn fetch_async(
        &self,
        registry: &Registry,
        identity: &Identity,
        progress: &progress::Progress,
    ) -> Result<(Login, Option<String>), FetchError> {
        let region = Region::new(registry.api_region().to_string());
        let http = progress.client(self.http_client()?);
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
        if let Some(session) = &identity.session {
            // Credentials obtained already (a pod's role): nothing of the node's
            // configuration may take part.
            loader = loader
                .profile_files(no_shared_files())
                .credentials_provider(aws_credential_types::Credentials::new(
                    session.access_key_id.clone(),
                    session.secret_access_key.expose(),
                    Some(session.session_token.expose().to_string()),
                    session.expires_at,
                    "sts-web-identity",
                ));
        } else {
            if let Some(profile) = &identity.profile {
                loader = loader.profile_name(profile);
            }
            // Exactly the source the identity describes (and caches under): the
            // default chain would fall through to the instance metadata service
            // off EC2, the multi-second hang this helper exists to avoid.
            let provider_config = provider_config(region.clone(), http.clone());
            loader = match identity.source {
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
            };
        }
        if identity.session.is_none() {
            self.check_sign_in(identity)?;
        }
        let config = loader.load().await;
        let mut credentials = match &identity.mfa {
            Some(mfa) => {
                let provider_config = provider_config(region.clone(), http.clone());
                super::mfa::credentials(
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
        // A token is no use past the session that minted it (an assumed
        // role, a web identity, SSO role credentials): never cache it longer.
        let credentials_expiry = credentials.expiry();

        let (account, api_region) = match registry {
            Registry::Private(p) => (p.account.clone(), p.region.clone()),
            Registry::Public { .. } => ("public".to_string(), "us-east-1".to_string()),
        };
        let api_error = |code: Option<&str>, message: Option<&str>, full: String| {
            let detail = message.map(str::to_string).unwrap_or(full);
            let code = code.unwrap_or_default();
            if let Some(refused) = credentials_refused(code, &detail, &identity.label) {
                return refused;
            }
            match code {
                "AccessDeniedException" | "AccessDenied" => FetchError::AccessDenied {
                    account: account.clone(),
                    region: api_region.clone(),
                    detail,
                    hint: "",
                },
                "ThrottlingException"
                | "ServerException"
                | "ServiceUnavailableException"
                | "InternalFailure" => FetchError::Unavailable {
                    region: api_region.clone(),
                    detail,
                },
                _ => FetchError::Other(detail),
            }
        };

        let partition = match registry {
            Registry::Private(p) => p.partition.id(),
            Registry::Public { .. } => "aws",
        };
        let overridden_by = self.endpoint_override_var(registry);
        // A name that does not resolve is not retried (see `retry`): say
        // which name, and what is likely wrong.
        let unresolved = |detail: String| FetchError::Unresolved {
            host: progress.host().unwrap_or_default(),
            region: api_region.clone(),
            partition,
            overridden_by,
            detail,
        };

        match registry {
            Registry::Private(p) => {
                let ecr_config = aws_sdk_ecr::config::Builder::from(&config)
                    .credentials_provider(credentials)
                    .interceptor(progress.recorder())
                    .retry_classifier(retry::NoRetryOnDns)
                    .build();
                let client = aws_sdk_ecr::Client::from_conf(ecr_config);
                crate::info!(
                    "calling ecr:GetAuthorizationToken in {} (one token for every account's registry there)",
                    p.region
                );
                // No registryIds (deprecated): the token names the principal,
                // and each registry's policy decides what it may read.
                let out =
                    client.get_authorization_token().send().await.map_err(
                        |e| match dns_failure(&e) {
                            Some(detail) => unresolved(detail),
                            None => sdk_error(e, &api_region, &api_error),
                        },
                    )?;
                let data = out
                    .authorization_data()
                    .first()
                    .ok_or_else(|| FetchError::Empty(p.host.clone()))?;
                let token = data
                    .authorization_token()
                    .ok_or_else(|| FetchError::Empty(p.host.clone()))?;
                let default = data
                    .proxy_endpoint()
                    .and_then(|url| crate::core::registry::Registry::parse(url).ok())
                    .filter(|r| r.cache_key() == registry.cache_key())
                    .map(|r| r.host().to_string());
                let login =
                    Login::decode(token, capped(expiry(data.expires_at()), credentials_expiry))
                        .map_err(FetchError::MalformedToken)?;
                Ok((login, default))
            }
            Registry::Public { host } => {
                let public_config = aws_sdk_ecrpublic::config::Builder::from(&config)
                    .credentials_provider(credentials)
                    .interceptor(progress.recorder())
                    .retry_classifier(retry::NoRetryOnDns)
                    .build();
                let client = aws_sdk_ecrpublic::Client::from_conf(public_config);
                crate::info!("calling ecr-public:GetAuthorizationToken in us-east-1");
                let out =
                    client.get_authorization_token().send().await.map_err(
                        |e| match dns_failure(&e) {
                            Some(detail) => unresolved(detail),
                            None => sdk_error(e, &api_region, &api_error),
                        },
                    )?;
                let data = out
                    .authorization_data()
                    .ok_or_else(|| FetchError::Empty(host.clone()))?;
                let token = data
                    .authorization_token()
                    .ok_or_else(|| FetchError::Empty(host.clone()))?;
                let login =
                    Login::decode(token, capped(expiry(data.expires_at()), credentials_expiry))
                        .map_err(FetchError::MalformedToken)?;
                Ok((login, None))
            }
        }
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

mod progress;
mod retry;

#[cfg(test)]
mod tests;
