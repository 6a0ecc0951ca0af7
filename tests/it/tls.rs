//! `get` over TLS against a local ECR endpoint (127.0.0.1, rustls) whose
//! chain is server -> intermediate A -> root A: trusted through each of
//! `SSL_CERT_FILE`, `SSL_CERT_DIR` and `AWS_CA_BUNDLE`, refused when the trust
//! store lacks root A, even when it holds a root of the same name and
//! another key.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::{TestEnv, REGISTRY};
use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const ROOT_A: &str = include_str!("../data/tls/root-a.pem");
const IMPOSTOR_A: &str = include_str!("../data/tls/impostor-a.pem");
const ROOT_B: &str = include_str!("../data/tls/root-b.pem");
const CHAIN: &str = include_str!("../data/tls/server-chain.pem");
const KEY: &str = include_str!("../data/tls/server.key");
const PASSWORD: &str = "tls-test-password";

/// An ECR endpoint over TLS that answers every request with one token.
struct TlsEcr {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl TlsEcr {
    fn start() -> TlsEcr {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(CHAIN.as_bytes())
            .collect::<Result<_, _>>()
            .expect("test chain");
        let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).expect("test key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("https://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (config, count) = (config.clone(), count.clone());
                std::thread::spawn(move || {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
                    while answer(&mut tls) {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        TlsEcr { url, requests }
    }
}

/// Reads one HTTP/1.1 request and answers it with a token; false once the
/// connection is closed or failed (a refused handshake).
fn answer<S: Read + Write>(stream: &mut BufReader<S>) -> bool {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    if stream.read_exact(&mut body).is_err() {
        return false;
    }
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{PASSWORD}"));
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 12 * 3600;
    let body = format!(
        r#"{{"authorizationData":[{{"authorizationToken":"{token}","expiresAt":{expires},"proxyEndpoint":"https://{REGISTRY}"}}]}}"#
    );
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let out = stream.get_mut();
    out.write_all(response.as_bytes()).is_ok() && out.flush().is_ok()
}

/// A test world whose ECR endpoint is `ecr` and whose trust variables are
/// all unset (each test sets its own), the cache off.
fn env_for(ecr: &TlsEcr) -> TestEnv {
    let mut env = TestEnv::new();
    env.set("AWS_ENDPOINT_URL_ECR", &ecr.url)
        .set("AWS_ECR_DISABLE_CACHE", "true");
    env
}

fn path(env: &TestEnv, rel: &str, content: &str) -> String {
    env.write(rel, content).display().to_string()
}

#[test]
fn the_chain_is_trusted_through_each_variable() {
    let ecr = TlsEcr::start();
    let cases: [(&str, &[(&str, &str)]); 5] = [
        ("SSL_CERT_FILE", &[("SSL_CERT_FILE", "a/bundle.pem")]),
        (
            "SSL_CERT_FILE with a same-name root first",
            &[("SSL_CERT_FILE", "impostor-then-a/bundle.pem")],
        ),
        ("SSL_CERT_DIR", &[("SSL_CERT_DIR", "dir-a")]),
        (
            "SSL_CERT_DIR beside a bundle file without root A",
            &[("SSL_CERT_FILE", "b/bundle.pem"), ("SSL_CERT_DIR", "dir-a")],
        ),
        (
            "AWS_CA_BUNDLE",
            &[
                ("SSL_CERT_FILE", "b/bundle.pem"),
                ("AWS_CA_BUNDLE", "a/bundle.pem"),
            ],
        ),
    ];
    for (name, vars) in cases {
        let mut env = env_for(&ecr);
        path(&env, "a/bundle.pem", ROOT_A);
        path(&env, "b/bundle.pem", ROOT_B);
        path(
            &env,
            "impostor-then-a/bundle.pem",
            &format!("{IMPOSTOR_A}{ROOT_B}{ROOT_A}"),
        );
        path(&env, "dir-a/b.pem", ROOT_B);
        path(&env, "dir-a/a.pem", ROOT_A);
        for (var, rel) in vars {
            let full = env.dir.path().join(rel).display().to_string();
            env.set(var, &full);
        }
        let before = ecr.requests.load(Ordering::SeqCst);
        let run = env.get(REGISTRY);
        assert_eq!(run.code, 0, "{name}: {run:#?}");
        assert_eq!(run.secret(), PASSWORD, "{name}");
        assert_eq!(ecr.requests.load(Ordering::SeqCst), before + 1, "{name}");
    }
}

#[test]
fn a_chain_not_ending_in_a_trusted_root_is_refused() {
    let ecr = TlsEcr::start();
    let cases: [(&str, &[(&str, &str)]); 4] = [
        ("another root", &[("SSL_CERT_FILE", "b/bundle.pem")]),
        (
            "a root of the same name with another key",
            &[("SSL_CERT_FILE", "impostor/bundle.pem")],
        ),
        (
            "root A outside the store (SSL_CERT_DIR names another directory)",
            &[("SSL_CERT_FILE", "b/bundle.pem"), ("SSL_CERT_DIR", "dir-b")],
        ),
        (
            "AWS_CA_BUNDLE without root A",
            &[
                ("SSL_CERT_FILE", "b/bundle.pem"),
                ("AWS_CA_BUNDLE", "impostor/bundle.pem"),
            ],
        ),
    ];
    for (name, vars) in cases {
        let mut env = env_for(&ecr);
        path(&env, "b/bundle.pem", ROOT_B);
        path(&env, "impostor/bundle.pem", IMPOSTOR_A);
        path(&env, "dir-b/b.pem", ROOT_B);
        // Root A lies about, but in no file of the store.
        path(&env, "elsewhere/a.pem", ROOT_A);
        for (var, rel) in vars {
            let full = env.dir.path().join(rel).display().to_string();
            env.set(var, &full);
        }
        let before = ecr.requests.load(Ordering::SeqCst);
        let run = env.get(REGISTRY);
        assert_ne!(run.code, 0, "{name}: {run:#?}");
        assert!(!run.stdout.contains(PASSWORD), "{name}: {run:#?}");
        assert!(
            run.stderr.to_lowercase().contains("certificate"),
            "{name}: says why: {run:#?}"
        );
        assert_eq!(ecr.requests.load(Ordering::SeqCst), before, "{name}");
    }
}

/// A CONNECT proxy on 127.0.0.1 that records each tunnel's target and
/// `Proxy-Authorization` and relays bytes both ways.
struct ConnectProxy {
    url: String,
    tunnels: Arc<std::sync::Mutex<Vec<Tunnel>>>,
}

/// A tunnel's target and `Proxy-Authorization`.
type Tunnel = (String, Option<String>);

impl ConnectProxy {
    fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let tunnels = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = tunnels.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(client.try_clone().unwrap());
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap_or(0);
                    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut auth = None;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = header.split_once(':') {
                            if k.eq_ignore_ascii_case("proxy-authorization") {
                                auth = Some(v.trim().to_string());
                            }
                        }
                    }
                    seen.lock().unwrap().push((target.clone(), auth));
                    let Ok(server) = std::net::TcpStream::connect(&target) else {
                        return;
                    };
                    let mut client = client;
                    if client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                    let (mut up_from, mut up_to) = (reader, server.try_clone().unwrap());
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut up_from, &mut up_to);
                        let _ = up_to.shutdown(std::net::Shutdown::Write);
                    });
                    let mut down_from = server;
                    let _ = std::io::copy(&mut down_from, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        ConnectProxy { url, tunnels }
    }
}

#[test]
fn https_goes_through_a_connect_tunnel_and_the_chain_is_checked_there_too() {
    let ecr = TlsEcr::start();
    let proxy = ConnectProxy::start();
    let target = ecr.url.trim_start_matches("https://").to_string();
    let with_user = proxy.url.replace("http://", "http://me:pw@");
    for (store, trusted) in [(ROOT_A, true), (ROOT_B, false)] {
        let mut env = env_for(&ecr);
        let file = path(&env, "store.pem", store);
        env.set("SSL_CERT_FILE", &file)
            .set("HTTPS_PROXY", &with_user);
        let before = ecr.requests.load(Ordering::SeqCst);
        let run = env.get(REGISTRY);
        let tunnels = proxy.tunnels.lock().unwrap().clone();
        let (last_target, last_auth) = tunnels.last().cloned().expect("a tunnel");
        assert_eq!(last_target, target);
        // "me:pw" in base64
        assert_eq!(last_auth.as_deref(), Some("Basic bWU6cHc="));
        if trusted {
            assert_eq!(run.secret(), PASSWORD, "{run:#?}");
            assert_eq!(ecr.requests.load(Ordering::SeqCst), before + 1);
        } else {
            assert_ne!(run.code, 0, "{run:#?}");
            assert!(
                run.stderr.to_lowercase().contains("certificate"),
                "{run:#?}"
            );
            assert_eq!(ecr.requests.load(Ordering::SeqCst), before);
        }
    }
}
