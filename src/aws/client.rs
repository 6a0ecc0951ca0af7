//! The HTTP side of every AWS call: the HTTPS client (rustls on ring, the
//! trust roots and connector of [`super::tls`], proxies), the settings of hand-built
//! credential providers, and the runtime that runs one call within a deadline.

use std::time::Duration;

use crate::env;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::tls::{OsStore, Roots};
use crate::core::source::FetchError;

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

/// The HTTPS client of [`http_client`], trusting `roots` (read as needed):
/// our own (see [`super::tls::connector`]), whose certificate check decodes
/// only the roots the server's chain needs.
pub(crate) fn client_trusting(roots: &Roots) -> Result<SharedHttpClient, FetchError> {
    Ok(super::tls::connector::client(roots))
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
    run_tracked(deadline, || crate::core::source::Stage::Unknown, work)
}

/// [`run_within`], asking `stage` what was slow when the deadline comes.
pub(crate) fn run_tracked<T>(
    deadline: Duration,
    stage: impl FnOnce() -> crate::core::source::Stage,
    work: impl std::future::Future<Output = Result<T, FetchError>>,
) -> Result<T, FetchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let work = std::pin::pin!(work);
        tokio::select! {
            result = work => result,
            // `stage` runs while the work (its sockets) still exists.
            () = tokio::time::sleep(deadline) => Err(FetchError::Timeout {
                deadline,
                stage: stage(),
            }),
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
