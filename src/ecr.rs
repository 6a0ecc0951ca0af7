//! The token source: the seam in front of the AWS SDK.
//!
//! [`TokenSource`] is the one method the rest of the helper needs. [`SdkTokenSource`]
//! implements it with aws-config, aws-sdk-ecr and aws-sdk-ecrpublic; tests use
//! fakes, and the integration tests run the real SDK against a local server.

use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::{error::CredentialsError, ProvideCredentials};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine as _;

use crate::env;
use crate::identity::{Identity, SourceKind};
use crate::registry::Registry;
use crate::secret::Secret;

/// A registry login: user name, password, and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthToken {
    /// Always `AWS` for ECR.
    pub username: String,
    /// The registry password.
    pub password: Secret,
    /// When ECR says the password expires.
    pub expires_at: SystemTime,
}

impl AuthToken {
    /// Decodes ECR's base64 `AWS:password` authorization token.
    pub fn decode(token: &str, expires_at: SystemTime) -> Result<AuthToken, FetchError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| FetchError::MalformedToken("the authorization token is not base64"))?;
        let text = String::from_utf8(raw)
            .map_err(|_| FetchError::MalformedToken("the authorization token is not UTF-8"))?;
        let (user, password) = text.split_once(':').ok_or(FetchError::MalformedToken(
            "the authorization token has no ':' between user and password",
        ))?;
        if user.is_empty() || password.is_empty() {
            return Err(FetchError::MalformedToken(
                "the authorization token has an empty user or password",
            ));
        }
        Ok(AuthToken {
            username: user.to_string(),
            password: Secret::new(password),
            expires_at,
        })
    }

    /// The base64 `user:password` form used in `Authorization: Basic` headers.
    pub fn basic_auth(&self) -> Secret {
        Secret::new(base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.username,
            self.password.expose()
        )))
    }
}

/// Gets registry tokens. The one seam in front of the AWS SDK.
pub trait TokenSource {
    /// Fetches a fresh token for `registry` as `identity`, within `deadline`.
    fn fetch(
        &self,
        registry: &Registry,
        identity: &Identity,
        deadline: Duration,
    ) -> Result<AuthToken, FetchError>;
}

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
    /// An MFA or assume-role step failed.
    #[error("{0}")]
    Mfa(String),
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
            FetchError::Mfa(_) => "run `docker-credential-ecr-login login --profile <profile>` in a terminal; check mfa_serial, source_profile and the role's trust policy",
            FetchError::Other(_) => "run again with AWS_ECR_LOG=debug for details",
        }
    }
}

/// The API endpoint a token request for `registry` goes to: the override in
/// force, or what the SDK's endpoint rules give for its region, FIPS and
/// dual-stack settings.
pub fn api_endpoint(registry: &Registry) -> String {
    if let Some(url) = endpoint_override(registry) {
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
            use aws_sdk_ecrpublic::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
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

/// Runs a future that completes without I/O (endpoint resolution).
fn block_on_ready<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .map(|rt| rt.block_on(f))
        .map_err(|e| e.to_string())
}

/// The production token source: aws-config's credential chain and the ECR APIs.
#[derive(Debug, Default, Clone, Copy)]
pub struct SdkTokenSource;

impl TokenSource for SdkTokenSource {
    fn fetch(
        &self,
        registry: &Registry,
        identity: &Identity,
        deadline: Duration,
    ) -> Result<AuthToken, FetchError> {
        if identity.source == SourceKind::None {
            return Err(FetchError::NoCredentials(no_credentials_hint()));
        }
        if identity.source != SourceKind::InstanceMetadata {
            // Never let the chain fall through to IMDS off EC2: that is the
            // multi-second hang this helper exists to avoid. The process is
            // still single-threaded here (no runtime yet).
            std::env::set_var(env::AWS_EC2_METADATA_DISABLED, "true");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| FetchError::Other(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(async {
            match tokio::time::timeout(deadline, fetch_async(registry, identity)).await {
                Ok(result) => result,
                Err(_) => Err(FetchError::Timeout(deadline)),
            }
        })
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

/// The MFA session of `mfa`: the kept one, or a new one after prompting
/// (`force` always prompts). For `login --profile`.
pub fn mfa_session(
    mfa: &crate::identity::MfaProfile,
    force: bool,
) -> Result<crate::mfa::Session, FetchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let http = http_client()?;
        // STS is regional everywhere; the profile's region is not needed.
        let region = Region::new(env::var("AWS_REGION").unwrap_or_else(|| "us-east-1".into()));
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(region.clone())
            .http_client(http.clone())
            .load()
            .await;
        let provider_config = provider_config(region, http);
        Ok(
            crate::mfa::credentials(&config, &provider_config, mfa, force)
                .await?
                .1,
        )
    })
}

async fn fetch_async(registry: &Registry, identity: &Identity) -> Result<AuthToken, FetchError> {
    let region = Region::new(registry.api_region().to_string());
    let http = http_client()?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region.clone())
        .http_client(http.clone())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(4))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .read_timeout(Duration::from_secs(10))
                .build(),
        );
    // An endpoint override (a VPC endpoint, a test server) wins over the
    // FIPS and dual-stack variants; the SDK refuses the combination.
    let overridden = endpoint_override(registry);
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
    if identity.source == SourceKind::InstanceMetadata {
        let provider_config = provider_config(region.clone(), http.clone());
        let imds = aws_config::imds::Client::builder()
            .configure(&provider_config)
            .connect_timeout(Duration::from_secs(1))
            .read_timeout(Duration::from_secs(1))
            .max_attempts(2)
            .build();
        let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
            .configure(provider_config)
            .imds_client(imds)
            .build()
            .await;
        loader = loader.credentials_provider(chain);
    }
    let config = loader.load().await;
    let mut credentials = match &identity.mfa {
        Some(mfa) => {
            let provider_config = provider_config(region.clone(), http.clone());
            crate::mfa::credentials(&config, &provider_config, mfa, false)
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
        credentials = crate::mfa::assume_role(
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

    let (account, api_region) = match registry {
        Registry::Private(p) => (p.account.clone(), p.region.clone()),
        Registry::Public { .. } => ("public".to_string(), "us-east-1".to_string()),
    };
    let api_error = |code: Option<&str>, message: Option<&str>, full: String| {
        let detail = message.map(str::to_string).unwrap_or(full);
        match code.unwrap_or_default() {
            "AccessDeniedException" | "AccessDenied" => FetchError::AccessDenied {
                account: account.clone(),
                region: api_region.clone(),
                detail,
                hint: "",
            },
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch" => FetchError::AccessDenied {
                account: account.clone(),
                region: api_region.clone(),
                detail,
                hint: "; the credentials themselves were rejected: check or refresh them",
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

    match registry {
        Registry::Private(p) => {
            let ecr_config = aws_sdk_ecr::config::Builder::from(&config)
                .credentials_provider(credentials)
                .build();
            let client = aws_sdk_ecr::Client::from_conf(ecr_config);
            crate::info!(
                "calling ecr:GetAuthorizationToken for account {} in {}",
                p.account,
                p.region
            );
            // registryIds is deprecated upstream (a token works for every
            // registry the principal can reach) but still scopes the answer
            // to one entry; the Go helper sends it too.
            #[allow(deprecated)]
            let request = client
                .get_authorization_token()
                .registry_ids(p.account.clone());
            let out = request
                .send()
                .await
                .map_err(|e| sdk_error(e, &api_region, &api_error))?;
            let data = out
                .authorization_data()
                .first()
                .ok_or_else(|| FetchError::Empty(p.host.clone()))?;
            let token = data
                .authorization_token()
                .ok_or_else(|| FetchError::Empty(p.host.clone()))?;
            AuthToken::decode(token, expiry(data.expires_at()))
        }
        Registry::Public { host } => {
            let public_config = aws_sdk_ecrpublic::config::Builder::from(&config)
                .credentials_provider(credentials)
                .build();
            let client = aws_sdk_ecrpublic::Client::from_conf(public_config);
            crate::info!("calling ecr-public:GetAuthorizationToken in us-east-1");
            let out = client
                .get_authorization_token()
                .send()
                .await
                .map_err(|e| sdk_error(e, &api_region, &api_error))?;
            let data = out
                .authorization_data()
                .ok_or_else(|| FetchError::Empty(host.clone()))?;
            let token = data
                .authorization_token()
                .ok_or_else(|| FetchError::Empty(host.clone()))?;
            AuthToken::decode(token, expiry(data.expires_at()))
        }
    }
}

/// The endpoint override in force for `registry`'s API
/// (`AWS_ENDPOINT_URL_ECR` / `_ECR_PUBLIC`, else `AWS_ENDPOINT_URL`).
fn endpoint_override(registry: &Registry) -> Option<String> {
    let service = match registry {
        Registry::Private(_) => env::AWS_ENDPOINT_URL_ECR,
        Registry::Public { .. } => env::AWS_ENDPOINT_URL_ECR_PUBLIC,
    };
    env::var(service).or_else(|| env::var(env::AWS_ENDPOINT_URL))
}

/// Settings for credential providers built by hand (IMDS, MFA): our region
/// and HTTP client (CA bundle, proxies).
fn provider_config(
    region: Region,
    http: SharedHttpClient,
) -> aws_config::provider_config::ProviderConfig {
    aws_config::provider_config::ProviderConfig::without_region()
        .with_region(Some(region))
        .with_http_client(http)
}

/// Whether to ask the SDK for the FIPS and the dual-stack API endpoint: as the
/// registry hostname says, unless an endpoint override is in force.
fn endpoint_variant(registry: &Registry, overridden: bool) -> (bool, bool) {
    match registry {
        Registry::Private(p) if !overridden => (p.fips, p.dual_stack),
        _ => (false, false),
    }
}

/// ECR's expiry, or 12 hours from now when it gave none (its documented lifetime).
fn expiry(at: Option<&aws_smithy_types::DateTime>) -> SystemTime {
    at.and_then(|t| SystemTime::try_from(*t).ok())
        .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(12 * 3600))
}

/// Maps an API error's code, message and full text to a [`FetchError`].
type ApiErrorMapper<'a> = dyn Fn(Option<&str>, Option<&str>, String) -> FetchError + 'a;

fn sdk_error<E, R>(
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

fn credentials_error(e: CredentialsError, identity: &Identity) -> FetchError {
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

/// The HTTPS client: rustls on ring, trusting [`crate::tls::Roots`] (the OS
/// store and `AWS_CA_BUNDLE`, read once), with proxies from `HTTPS_PROXY`,
/// `HTTP_PROXY`, `NO_PROXY`.
fn http_client() -> Result<SharedHttpClient, FetchError> {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    use aws_smithy_http_client::{proxy::ProxyConfig, Connector};
    let bundle = env::var(env::AWS_CA_BUNDLE);
    let roots = crate::tls::Roots::load(bundle.as_deref()).map_err(|e| {
        let path = bundle.as_deref().unwrap_or_default();
        FetchError::Other(format!("{}={path}: {e}", env::AWS_CA_BUNDLE))
    })?;
    // The client's own loading of the OS store is off: `roots` has it.
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(roots.pem());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| FetchError::Other(format!("TLS set-up failed: {e}")))?;
    Ok(
        aws_smithy_http_client::Builder::new().build_with_connector_fn(
            move |settings, components| {
                // Called without settings and components only by the client's
                // validate_base_client_config, which drops the connector (it
                // builds one early "so native certs load"): twice per cold get,
                // each time decoding every root certificate again. Give it one
                // that has no TLS to set up. (Were it ever used, it refuses
                // https:// URLs: it cannot talk to AWS unencrypted by mistake.)
                if settings.is_none() && components.is_none() {
                    return Connector::builder().build_http();
                }
                let mut builder = Connector::builder();
                builder.set_connector_settings(settings.cloned());
                if let Some(components) = components {
                    builder.set_sleep_impl(components.sleep_impl());
                }
                builder
                    .proxy_config(ProxyConfig::from_env())
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .tls_context(context.clone())
                    .build()
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_decode_and_reject_garbage() {
        let at = SystemTime::UNIX_EPOCH;
        let ok = AuthToken::decode("QVdTOnBhc3N3b3Jk", at).unwrap();
        assert_eq!(
            (ok.username.as_str(), ok.password.expose()),
            ("AWS", "password")
        );
        assert_eq!(ok.basic_auth().expose(), "QVdTOnBhc3N3b3Jk");
        for bad in [
            "not base64!",
            "QVdTcGFzc3dvcmQ=", /* AWSpassword */
            "OnBhc3M=",         /* :pass */
            "QVdTOg==",         /* AWS: */
            "//79",
        ] {
            assert!(
                matches!(
                    AuthToken::decode(bad, at),
                    Err(FetchError::MalformedToken(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn registry_hostnames_select_the_matching_api_endpoint() {
        use aws_sdk_ecr::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
        let cases = [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "https://api.ecr.us-east-1.amazonaws.com",
            ),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
                "https://api.ecr-fips.us-east-1.amazonaws.com",
            ),
            (
                "123456789012.dkr-ecr.us-east-1.on.aws",
                "https://ecr.us-east-1.api.aws",
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-1.on.aws",
                "https://ecr-fips.us-east-1.api.aws",
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "https://api.ecr.cn-north-1.amazonaws.com.cn",
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                "https://api.ecr-fips.us-gov-west-1.amazonaws.com",
            ),
        ];
        for (host, want) in cases {
            let registry = Registry::parse(host).unwrap();
            let (fips, dual) = endpoint_variant(&registry, false);
            let params = Params::builder()
                .region(registry.api_region())
                .use_fips(fips)
                .use_dual_stack(dual)
                .build()
                .unwrap();
            let endpoint = block_on_ready(DefaultResolver::new().resolve_endpoint(&params))
                .unwrap()
                .unwrap();
            assert_eq!(endpoint.url(), want, "{host}");
            assert_eq!(api_endpoint(&registry), want, "{host}");
            assert_eq!(endpoint_variant(&registry, true), (false, false));
        }
    }

    #[test]
    fn debug_of_a_token_hides_the_password() {
        let t = AuthToken::decode("QVdTOnBhc3N3b3Jk", SystemTime::UNIX_EPOCH).unwrap();
        assert!(!format!("{t:?}").contains("password\""));
        assert!(format!("{t:?}").contains("****"));
    }
}
