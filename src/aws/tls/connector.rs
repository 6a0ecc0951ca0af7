//! The HTTPS client of every AWS call: hyper 1 and rustls on ring, with our
//! own certificate verifier ([`super::verify`]).
//!
//! The SDK's client (aws-smithy-http-client) takes trust roots only as PEM,
//! which it decodes in full into a root store on every connector it builds:
//! ~8.5 M instructions for Debian's store, more than half a cold `get`. It
//! has no way to give it a verifier, so calls go through this client
//! instead: the same hyper-util pool and hyper-rustls connector it uses, the
//! same cipher suites and protocol versions, its connect and read timeouts,
//! its error kinds (timeouts and I/O errors are retried by the SDK) and its
//! proxies (hyper-util's `Matcher` and `Tunnel`). HTTP/1.1 only: a process
//! makes one or two calls, for which HTTP/2's connection set-up buys nothing.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector as TcpConnector};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

use super::verify::Verifier;
use super::Roots;

type BoxError = Box<dyn Error + Send + Sync>;

/// The HTTPS client trusting `roots`, with proxies from the environment.
/// Its TLS configuration is made for the first request (a command that
/// fails before one never makes it).
pub(crate) fn client(roots: &Roots) -> SharedHttpClient {
    SharedHttpClient::new(Client {
        roots: roots.clone(),
        tls: OnceLock::new(),
        proxy: Arc::new(Matcher::from_env()),
    })
}

/// rustls on ring with our verifier, trusting `roots`.
fn tls_config(roots: &Roots) -> rustls::ClientConfig {
    let provider = Arc::new(restrict_ciphers(rustls::crypto::ring::default_provider()));
    let verifier = Verifier::new(roots.clone(), provider.signature_verification_algorithms);
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth()
}

/// The cipher suites the SDK's client allows (aws-smithy-http-client's
/// `restrict_ciphers`): AES-GCM for TLS 1.3, ECDHE with AES-GCM or
/// ChaCha20-Poly1305 for TLS 1.2.
fn restrict_ciphers(base: rustls::crypto::CryptoProvider) -> rustls::crypto::CryptoProvider {
    use rustls::CipherSuite as S;
    const SUITES: [S; 7] = [
        S::TLS13_AES_256_GCM_SHA384,
        S::TLS13_AES_128_GCM_SHA256,
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let cipher_suites = SUITES
        .iter()
        .filter_map(|want| base.cipher_suites.iter().find(|s| s.suite() == *want))
        .copied()
        .collect();
    rustls::crypto::CryptoProvider {
        cipher_suites,
        ..base
    }
}

#[derive(Debug)]
struct Client {
    roots: Roots,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
    proxy: Arc<Matcher>,
}

impl HttpClient for Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let mut tcp = TcpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let tls = self.tls.get_or_init(|| Arc::new(tls_config(&self.roots)));
        // hyper-rustls sets the ALPN offer of its own copy; the tunnel's
        // handshake offers the same.
        let mut tunnel_tls = (**tls).clone();
        tunnel_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((**tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let connect = Connect {
            https,
            tls: Arc::new(tunnel_tls),
            proxy: self.proxy.clone(),
            timeout: settings.connect_timeout(),
        };
        let mut builder = HyperClient::builder(TokioExecutor::new());
        builder.pool_timer(TokioTimer::new());
        SharedHttpConnector::new(Connector {
            client: builder.build(connect),
            proxy: self.proxy.clone(),
            read_timeout: settings.read_timeout(),
        })
    }
}

type Https = hyper_rustls::HttpsConnector<TcpConnector>;

struct Connector {
    client: HyperClient<Connect, SdkBody>,
    proxy: Arc<Matcher>,
    read_timeout: Option<Duration>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        // Through a proxy, plain HTTP goes to the proxy as it is (HTTPS
        // goes through a CONNECT tunnel, which carries the credentials).
        if request.uri().scheme() == Some(&http::uri::Scheme::HTTP)
            && !request
                .headers()
                .contains_key(http::header::PROXY_AUTHORIZATION)
        {
            let auth = self.proxy.intercept(request.uri());
            if let Some(auth) = auth.as_ref().and_then(|i| i.basic_auth()) {
                request
                    .headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, auth.clone());
            }
        }
        let response = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => match tokio::time::timeout(limit, response).await {
                    Ok(response) => response,
                    Err(_) => return Err(ConnectorError::timeout(Box::new(TimedOut("read")))),
                },
                None => response.await,
            };
            match response {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|e| ConnectorError::other(e.into(), None)),
                Err(e) => Err(classify(e)),
            }
        })
    }
}

/// The SDK's error kind for a failed call (as aws-smithy-http-client's
/// `downcast_error` gives it): timeouts and I/O errors are retried.
fn classify(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let timed_out = source::<TimedOut>(&error).is_some();
    // A refused certificate (or another TLS failure) stays refused on a
    // new connection: not retried.
    let tls = source::<rustls::Error>(&error).is_some();
    let io = source::<std::io::Error>(&error).is_some();
    let connect = error.is_connect();
    let kind = source::<hyper::Error>(&error).map(|h| {
        if h.is_timeout() {
            Kind::Timeout
        } else if h.is_user() {
            Kind::User
        } else if h.is_closed() || h.is_canceled() || io {
            Kind::Io
        } else if h.is_incomplete_message() {
            Kind::Transient
        } else {
            Kind::Other
        }
    });
    let error: BoxError = Box::new(error);
    if timed_out {
        return ConnectorError::timeout(error);
    }
    if tls {
        return ConnectorError::other(error, None);
    }
    match kind {
        Some(Kind::Timeout) => ConnectorError::timeout(error),
        Some(Kind::User) => ConnectorError::user(error),
        Some(Kind::Io) => ConnectorError::io(error),
        Some(Kind::Transient) => ConnectorError::other(error, Some(ErrorKind::TransientError)),
        Some(Kind::Other) => ConnectorError::other(error, None),
        None if connect || io => ConnectorError::io(error),
        None => ConnectorError::other(error, None),
    }
}

/// What a hyper error says about a failed call.
enum Kind {
    Timeout,
    User,
    Io,
    Transient,
    Other,
}

/// The first error of type `E` in `error`'s chain. After an `io::Error`
/// comes its payload (hyper-rustls nests rustls' error two `io::Error`s
/// deep, and `io::Error::source` skips the payload).
fn source<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    std::iter::successors(Some(error), |&e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io.get_ref().map(|p| p as &(dyn Error + 'static)),
        None => e.source(),
    })
    .find_map(|e| e.downcast_ref::<E>())
}

/// A connection (TCP and TLS handshake) or response that took too long.
#[derive(Debug)]
struct TimedOut(&'static str);

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} timeout", self.0)
    }
}

impl Error for TimedOut {}

/// The connector: TCP and TLS (rustls with our verifier), straight or
/// through the proxy the environment names (hyper-util's `Matcher`, which
/// the SDK's client uses too: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
/// `NO_PROXY`, upper or lower case): plain HTTP to the proxy, HTTPS in a
/// `CONNECT` tunnel. A connection gives up after `timeout`.
#[derive(Clone)]
struct Connect {
    https: Https,
    tls: Arc<rustls::ClientConfig>,
    proxy: Arc<Matcher>,
    timeout: Option<Duration>,
}

impl tower_service::Service<http::Uri> for Connect {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        tower_service::Service::<http::Uri>::poll_ready(&mut self.https, cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let intercept = self.proxy.intercept(&uri);
        let connecting: Self::Future = match intercept {
            None => {
                let direct = self.https.call(uri);
                Box::pin(async move { Ok(Conn::Direct(direct.await?)) })
            }
            Some(proxy) if uri.scheme() == Some(&http::uri::Scheme::HTTP) => {
                let forward = self.https.call(proxy.uri().clone());
                Box::pin(async move { Ok(Conn::Forward(forward.await?)) })
            }
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), self.https.clone());
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let tls = tokio_rustls::TlsConnector::from(self.tls.clone());
                Box::pin(async move {
                    let host = uri.host().ok_or("no host in the URL")?;
                    let name = rustls_pki_types::ServerName::try_from(
                        host.trim_start_matches('[')
                            .trim_end_matches(']')
                            .to_owned(),
                    )?;
                    let tunneled = tunnel.call(uri).await?;
                    let stream = tls.connect(name, TokioIo::new(tunneled)).await?;
                    Ok(Conn::Tunnel(Box::new(TokioIo::new(stream))))
                })
            }
        };
        let timeout = self.timeout;
        Box::pin(async move {
            match timeout {
                Some(limit) => match tokio::time::timeout(limit, connecting).await {
                    Ok(result) => result,
                    Err(_) => Err(Box::new(TimedOut("connect")) as BoxError),
                },
                None => connecting.await,
            }
        })
    }
}

type Stream = hyper_rustls::MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

/// A connection: straight to the server, to a proxy that forwards plain
/// HTTP, or TLS in a tunnel through a proxy.
enum Conn {
    Direct(Stream),
    Forward(Stream),
    Tunnel(Box<TokioIo<tokio_rustls::client::TlsStream<TokioIo<Stream>>>>),
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        match self {
            Conn::Direct(s) => s.connected(),
            // Requests in absolute form, for the proxy.
            Conn::Forward(s) => s.connected().proxy(true),
            Conn::Tunnel(s) => s.inner().get_ref().0.inner().connected(),
        }
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Direct(s) | Conn::Forward(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tunnel(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Direct(s) | Conn::Forward(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tunnel(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Direct(s) | Conn::Forward(s) => Pin::new(s).poll_flush(cx),
            Conn::Tunnel(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Direct(s) | Conn::Forward(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tunnel(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
