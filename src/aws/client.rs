//! The HTTP side of every AWS call: the HTTPS client (rustls on ring, the
//! trust roots and connector of [`super::tls`], proxies), the settings of hand-built
//! credential providers, and the runtime that runs one call within a deadline.

use std::time::Duration;

use crate::env;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::tls::{OsStore, Roots};
use super::FetchError;

/// The HTTPS client: rustls on ring, trusting [`Roots`] (the OS store and
/// `AWS_CA_BUNDLE`), with proxies from `HTTPS_PROXY`, `HTTP_PROXY`,
/// `NO_PROXY`.
pub(crate) fn http_client(
    ca_bundle: Option<&str>,
    os: &OsStore,
) -> Result<SharedHttpClient, FetchError> {
    client_trusting(&load_roots(ca_bundle, os)?)
}

/// The trust roots of the OS store (located by `os`) and `ca_bundle`.
pub(crate) fn load_roots(ca_bundle: Option<&str>, os: &OsStore) -> Result<Roots, FetchError> {
    Roots::load(ca_bundle, os).map_err(|e| {
        let path = ca_bundle.unwrap_or_default();
        FetchError::Other(format!("{}={path}: {e}", env::AWS_CA_BUNDLE))
    })
}

/// The HTTPS client of [`http_client`], trusting `roots` (read as needed).
/// Without a proxy: our own client (see [`super::tls::connector`]), whose
/// certificate check decodes only the roots the server's chain needs.
/// Through a proxy: the SDK's client, which tunnels `CONNECT`, given every
/// root as PEM.
pub(crate) fn client_trusting(roots: &Roots) -> Result<SharedHttpClient, FetchError> {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    use aws_smithy_http_client::{proxy::ProxyConfig, Connector};
    if !proxy_configured() {
        return Ok(super::tls::connector::client(roots));
    }
    let proxy = ProxyConfig::from_env();
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
                    .proxy_config(proxy.clone())
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .tls_context(context.clone())
                    .build()
            },
        ),
    )
}

/// Whether the environment names a proxy, as the SDK's client reads it
/// (hyper-util's `Matcher::from_env`, which `ProxyConfig::from_env` uses).
fn proxy_configured() -> bool {
    [
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// Settings for credential providers built by hand (IMDS, MFA): our region
/// and HTTP client (CA bundle, proxies).
pub(crate) fn provider_config(
    region: Region,
    http: SharedHttpClient,
) -> aws_config::provider_config::ProviderConfig {
    aws_config::provider_config::ProviderConfig::without_region()
        .with_region(Some(region))
        .with_http_client(http)
}

/// An empty set of shared AWS files, for requests that must not see the
/// node's own profiles (a pod's role).
pub(crate) fn no_shared_files() -> aws_runtime::env_config::file::EnvConfigFiles {
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    EnvConfigFiles::builder()
        .with_contents(EnvConfigFileKind::Config, "")
        .build()
}

/// The SDK configuration for a request that must not see the node's own
/// credentials or profiles: no shared config files, no credential chain.
pub(crate) async fn isolated_config(
    region: Region,
    http: SharedHttpClient,
) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .http_client(http)
        .profile_files(no_shared_files())
        .no_credentials()
        .load()
        .await
}

/// Runs `work` on a new single-threaded runtime, giving up after `deadline`.
pub(crate) fn run_within<T>(
    deadline: Duration,
    work: impl std::future::Future<Output = Result<T, FetchError>>,
) -> Result<T, FetchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match tokio::time::timeout(deadline, work).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(deadline)),
        }
    })
}

/// Runs a future that completes without I/O (endpoint resolution).
pub(crate) fn block_on_ready<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .map(|rt| rt.block_on(f))
        .map_err(|e| e.to_string())
}
