//! What a fetch is waiting for, so that the error at its deadline can say
//! what was slow: the credentials, the DNS lookup, the TCP connection, the
//! TLS handshake, the answer, or retries. The HTTP client is wrapped to note
//! each request and its answer; the connection the SDK captures for a
//! request tells whether it was established; on Linux the state of the
//! process's own TCP sockets (`/proc/self/net/tcp`) tells a connection that
//! nothing answers (SYN sent) from a TLS handshake that does not finish.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connection::CaptureSmithyConnection;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;

use crate::aws::error::error_chain;
use crate::core::source::Stage;

/// The progress of one fetch, shared with the HTTP client it uses.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    phase: Phase,
    attempts: u32,
    last: Option<String>,
    /// The host of the last request.
    host: Option<String>,
    /// What the credentials are waiting for, when it is known better than
    /// "the credentials" (an MFA code).
    waiting: Option<Stage>,
}

#[derive(Debug, Default)]
enum Phase {
    /// No request yet: the credentials are being loaded.
    #[default]
    Credentials,
    /// A request is out; `capture` knows whether it got a connection.
    Sending {
        host: String,
        tls: bool,
        capture: CaptureSmithyConnection,
    },
    /// The answer's headers came, with this status.
    Headers { host: String, status: u16 },
    /// The last attempt failed; the SDK may retry.
    Failed,
}

impl Progress {
    /// `inner`, noting every request in this progress.
    pub(crate) fn client(&self, inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(Tracked {
            inner,
            progress: self.clone(),
        })
    }

    /// What the fetch is waiting for now.
    pub(crate) fn stage(&self) -> Stage {
        let Ok(state) = self.0.lock() else {
            return Stage::Unknown;
        };
        let retrying = |state: &State| Stage::Retrying {
            attempts: state.attempts,
            last: state.last.clone().unwrap_or_else(|| "no answer".into()),
        };
        match &state.phase {
            Phase::Credentials => state.waiting.clone().unwrap_or(Stage::Credentials),
            Phase::Sending { host, tls, capture } => {
                if capture.get().is_some() {
                    return Stage::Answer(host.clone());
                }
                match own_tcp_states() {
                    Some((true, _)) => Stage::Connect(host.clone()),
                    Some((false, true)) if *tls => Stage::Tls(host.clone()),
                    Some((false, true)) => Stage::Answer(host.clone()),
                    Some((false, false)) if state.attempts <= 1 => Stage::Dns(host.clone()),
                    Some((false, false)) => retrying(&state),
                    None if *tls => Stage::Tls(host.clone()),
                    None => Stage::Connect(host.clone()),
                }
            }
            Phase::Headers { host, status } if *status < 300 => Stage::Body(host.clone()),
            Phase::Headers { .. } | Phase::Failed => retrying(&state),
        }
    }
}

/// Notes each failed attempt's error (the API's code and message, which
/// the HTTP layer does not see), for a deadline met while retrying.
#[derive(Debug)]
pub(crate) struct AttemptRecorder(Progress);

impl Intercept for AttemptRecorder {
    fn name(&self) -> &'static str {
        "ecr-login attempt recorder"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Err(e)) = context.output_or_error() {
            let text = match e.as_operation_error() {
                Some(op) => error_chain(op),
                None => error_chain(e),
            };
            if let Ok(mut s) = self.0 .0.lock() {
                s.last = Some(text);
            }
        }
        Ok(())
    }
}

impl Progress {
    /// Notes what loading the credentials waits for now (`None`: nothing
    /// more precise than the credentials).
    pub(crate) fn waiting_for(&self, stage: Option<Stage>) {
        if let Ok(mut s) = self.0.lock() {
            s.waiting = stage;
        }
    }

    /// The host of the last request, if one was sent.
    pub(crate) fn host(&self) -> Option<String> {
        self.0.lock().ok()?.host.clone()
    }

    /// The interceptor that notes failed attempts in this progress.
    pub(crate) fn recorder(&self) -> AttemptRecorder {
        AttemptRecorder(self.clone())
    }
}

/// The host of a request URI (`https://host:port/path`).
fn host_of(uri: &str) -> (String, bool) {
    let tls = uri.starts_with("https://");
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Never the user information (`user:password@`) of an endpoint override.
    let host = authority.rsplit('@').next().unwrap_or_default();
    (host.to_string(), tls)
}

#[derive(Debug)]
struct Tracked {
    inner: SharedHttpClient,
    progress: Progress,
}

impl HttpClient for Tracked {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(TrackedConnector {
            inner: self.inner.http_connector(settings, components),
            progress: self.progress.clone(),
        })
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_base_client_config(components, cfg)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct TrackedConnector {
    inner: SharedHttpConnector,
    progress: Progress,
}

impl HttpConnector for TrackedConnector {
    fn call(&self, mut request: HttpRequest) -> HttpConnectorFuture {
        let capture = match request.extension::<CaptureSmithyConnection>() {
            Some(c) => c.clone(),
            None => {
                let c = CaptureSmithyConnection::new();
                request.add_extension(c.clone());
                c
            }
        };
        let (host, tls) = host_of(request.uri());
        if let Ok(mut s) = self.progress.0.lock() {
            s.attempts += 1;
            crate::debug!("request {} to {host}", s.attempts);
            s.host = Some(host.clone());
            s.phase = Phase::Sending {
                host: host.clone(),
                tls,
                capture,
            };
        }
        let answer = self.inner.call(request);
        let progress = self.progress.clone();
        HttpConnectorFuture::new(async move {
            let result = answer.await;
            if let Ok(mut s) = progress.0.lock() {
                match &result {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        if status >= 300 {
                            s.last = Some(format!("HTTP {status} from {host}"));
                        }
                        s.phase = Phase::Headers { host, status };
                    }
                    Err(e) => {
                        s.last = Some(error_chain(e));
                        s.phase = Phase::Failed;
                    }
                }
            }
            result
        })
    }
}

/// Whether any TCP socket of this process is connecting (SYN sent), and
/// whether any is established; `None` where that cannot be known.
#[cfg(target_os = "linux")]
fn own_tcp_states() -> Option<(bool, bool)> {
    use std::collections::HashSet;
    let inodes: HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .ok()?
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            let l = l.to_str()?;
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let (mut syn_sent, mut established) = (false, false);
    let mut read_any = false;
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        read_any = true;
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 9 && inodes.contains(cols[9]) {
                match cols[3] {
                    "02" => syn_sent = true,
                    "01" => established = true,
                    _ => {}
                }
            }
        }
    }
    read_any.then_some((syn_sent, established))
}

#[cfg(not(target_os = "linux"))]
fn own_tcp_states() -> Option<(bool, bool)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_request_uris() {
        assert_eq!(
            host_of("https://api.ecr.us-east-1.amazonaws.com/"),
            ("api.ecr.us-east-1.amazonaws.com".into(), true)
        );
        assert_eq!(
            host_of("http://127.0.0.1:8080?x"),
            ("127.0.0.1:8080".into(), false)
        );
        assert_eq!(
            host_of("https://admin:hunter2@vpce.example:8443/"),
            ("vpce.example:8443".into(), true)
        );
    }

    #[test]
    fn no_request_yet_is_the_credentials() {
        assert_eq!(Progress::default().stage(), Stage::Credentials);
    }
}
