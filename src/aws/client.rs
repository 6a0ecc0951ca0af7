//! The HTTP side of every AWS call: the HTTPS client (rustls, the OS roots
//! plus `AWS_CA_BUNDLE`, proxies), the settings of hand-built credential
//! providers, and the runtime that runs one call within a deadline.
//!
//! A CA bundle is loaded safely: only certificates that parse are passed on,
//! so a bad bundle is a clear error instead of a crash deep in the TLS stack.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// Reads a PEM bundle and returns it re-encoded with only the certificates
/// that a root store accepts. Errors when none do.
pub(crate) fn read_ca_bundle(path: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut store = rustls::RootCertStore::empty();
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let Ok(cert) = cert else {
            return Err("not a valid PEM file".into());
        };
        if store.add(cert.clone()).is_ok() {
            out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
            let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
            for line in b64.as_bytes().chunks(64) {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
            out.extend_from_slice(b"-----END CERTIFICATE-----\n");
        }
    }
    if out.is_empty() {
        return Err("contains no usable certificate".into());
    }
    Ok(out)
}

use crate::env;

use super::FetchError;

/// The HTTPS client: rustls with the OS roots (which honour `SSL_CERT_FILE`),
/// plus the certificates of `AWS_CA_BUNDLE`, and proxies from `HTTPS_PROXY`,
/// `HTTP_PROXY`, `NO_PROXY`.
pub(crate) fn http_client(ca_bundle: Option<&str>) -> Result<SharedHttpClient, FetchError> {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    use aws_smithy_http_client::{proxy::ProxyConfig, Connector};
    let mut trust = TrustStore::default();
    if let Some(path) = ca_bundle {
        trust = trust.with_pem_certificate(
            read_ca_bundle(path)
                .map_err(|e| FetchError::Other(format!("{}={path}: {e}", env::AWS_CA_BUNDLE)))?,
        );
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| FetchError::Other(format!("TLS set-up failed: {e}")))?;
    Ok(
        aws_smithy_http_client::Builder::new().build_with_connector_fn(
            move |settings, components| {
                let mut builder = Connector::builder();
                builder.set_connector_settings(settings.cloned());
                if let Some(components) = components {
                    builder.set_sleep_impl(components.sleep_impl());
                }
                builder
                    .proxy_config(ProxyConfig::from_env())
                    .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                    .tls_context(context.clone())
                    .build()
            },
        ),
    )
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
