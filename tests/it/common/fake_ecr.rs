//! A fake ECR API on 127.0.0.1 that speaks the real JSON 1.1 protocol
//! (`X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken`,
//! `SpencerFrontendService.GetAuthorizationToken` for ECR Public), so the real
//! SDK, SigV4 signing and HTTP are exercised. It records every request and
//! answers according to a script of [`Reply`]s.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

/// The account of every caller: its registry is the `proxyEndpoint` of
/// each ECR token.
pub const CALLER_ACCOUNT: &str = "123456789012";

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    /// The operation (`X-Amz-Target`).
    pub target: String,
    /// The region of the SigV4 credential scope.
    pub region: String,
    /// The access key id that signed it.
    pub access_key: String,
    /// `registryIds` of the body.
    pub registry_ids: Vec<String>,
    /// The Host header.
    pub host: String,
    /// Form parameters of an STS (Query protocol) request.
    pub params: Vec<(String, String)>,
}

impl Call {
    /// A form parameter of an STS request.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How to answer the next request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A token living this long.
    Token(Duration),
    /// This status with this `__type` (the message is `fake <type>`).
    Error(u16, &'static str),
    /// This status with this `__type` and this message.
    ErrorMessage(u16, &'static str, &'static str),
    /// No authorization data.
    Empty,
    /// A token that is not base64 / has no colon.
    RawToken(&'static str),
    /// Accept the request and never answer.
    Hang,
    /// Answer with a body cut short.
    Truncated,
    /// Already-expired token.
    Expired,
    /// A 12-hour token after this long.
    Slow(Duration),
    /// An HTML page with this status, as a proxy or load balancer sends.
    Html(u16),
    /// Close the connection at once with a TCP reset, no answer.
    Reset,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    script: Vec<Reply>,
    default: Option<Reply>,
    delay: Duration,
}

/// The running fake. Stops when dropped (the thread is detached; the port closes with the process).
#[derive(Clone)]
pub struct FakeEcr {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeEcr {
    /// Starts a fake answering 12-hour tokens by default.
    pub fn start() -> FakeEcr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(State {
            default: Some(Reply::Token(Duration::from_secs(12 * 3600))),
            ..State::default()
        }));
        let s = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || serve(stream, s));
            }
        });
        FakeEcr { url, state }
    }

    /// Answers the next requests with these replies, in order, then the default.
    pub fn script(&self, replies: Vec<Reply>) {
        self.state.lock().unwrap().script = replies;
    }

    /// Answers every request (after the script) with `reply`.
    pub fn set_default(&self, reply: Reply) {
        self.state.lock().unwrap().default = Some(reply);
    }

    /// Sleeps this long before every answer.
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// How many requests so far.
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().calls.len()
    }

    /// The password the fake hands out for its `n`-th call (1-based) signed
    /// by `akid`, for ECR Public when `account` is `"public"`, else for ECR:
    /// the same for every account's registry (a token names a principal).
    pub fn password(account: &str, akid: &str, n: usize) -> String {
        let api = if account == "public" { "public" } else { "ecr" };
        format!("pw-{api}-{akid}-{n}")
    }
}

fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut stream = stream;
    while let Some(request) = super::http::read_request(&mut reader) {
        let header = |name: &str| request.header(name).unwrap_or_default().to_string();
        let body = &request.body;
        let auth = header("authorization");
        let scope = auth
            .split("Credential=")
            .nth(1)
            .unwrap_or_default()
            .split(',')
            .next()
            .unwrap_or_default()
            .to_string();
        let scope: Vec<&str> = scope.split('/').collect();
        let body_json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let registry_ids: Vec<String> = body_json["registryIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let params = if header("content-type").starts_with("application/x-www-form-urlencoded") {
            form_decode(&String::from_utf8_lossy(body))
        } else {
            Vec::new()
        };
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| format!("STS.{v}"));
        let call = Call {
            params,
            target: action.unwrap_or_else(|| header("x-amz-target")),
            region: scope.get(2).copied().unwrap_or_default().to_string(),
            access_key: scope.first().copied().unwrap_or_default().to_string(),
            registry_ids: registry_ids.clone(),
            host: header("host"),
        };
        let (reply, n, delay) = {
            let mut s = state.lock().unwrap();
            s.calls.push(call.clone());
            let reply = if s.script.is_empty() {
                s.default.clone().expect("default reply")
            } else {
                s.script.remove(0)
            };
            (reply, s.calls.len(), s.delay)
        };
        std::thread::sleep(delay);
        if call.target.starts_with("STS.") {
            let action = call.target.trim_start_matches("STS.");
            let duration: u64 = call
                .param("DurationSeconds")
                .and_then(|d| d.parse().ok())
                .unwrap_or(3600);
            let expires = SystemTime::now() + Duration::from_secs(duration);
            let body = format!(
                "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result><Credentials><AccessKeyId>ASIATEMP{n}</AccessKeyId><SecretAccessKey>tempSecretKey{n}</SecretAccessKey><SessionToken>tempSessionToken{n}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><Arn>{}/session</Arn><AssumedRoleId>AROATEST:session</AssumedRoleId></AssumedRoleUser></{action}Result><ResponseMetadata><RequestId>fake-{n}</RequestId></ResponseMetadata></{action}Response>",
                iso8601(expires),
                call.param("RoleArn").unwrap_or_default()
            );
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(response.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let public = call.target.starts_with("SpencerFrontendService");
        // As ECR: a token names the caller (its access key), not a registry;
        // the proxy endpoint is the caller's own registry (account
        // CALLER_ACCOUNT), whatever registryIds said.
        let account = if public { "public" } else { CALLER_ACCOUNT }.to_string();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let token_json = |token: String, expires: f64| {
            if public {
                serde_json::json!({"authorizationData": {"authorizationToken": token, "expiresAt": expires}})
            } else {
                serde_json::json!({"authorizationData": [{"authorizationToken": token, "expiresAt": expires, "proxyEndpoint": format!("https://{account}.dkr.ecr.{}.amazonaws.com", call.region)}]})
            }
        };
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let (status, body) = match reply {
            Reply::Slow(after) => {
                std::thread::sleep(after);
                (
                    200,
                    token_json(
                        b64(&format!(
                            "AWS:{}",
                            FakeEcr::password(&account, &call.access_key, n)
                        )),
                        now + 12.0 * 3600.0,
                    )
                    .to_string(),
                )
            }
            Reply::Html(status) => {
                let body = format!("<html><head><title>{status}</title></head><body><h1>{status} Bad Gateway</h1></body></html>");
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                continue;
            }
            Reply::Reset => {
                reset(&stream);
                return;
            }
            Reply::Token(life) => (
                200,
                token_json(
                    b64(&format!(
                        "AWS:{}",
                        FakeEcr::password(&account, &call.access_key, n)
                    )),
                    now + life.as_secs_f64(),
                )
                .to_string(),
            ),
            Reply::Expired => (
                200,
                token_json(
                    b64(&format!(
                        "AWS:{}",
                        FakeEcr::password(&account, &call.access_key, n)
                    )),
                    now - 60.0,
                )
                .to_string(),
            ),
            Reply::RawToken(t) => (200, token_json(t.to_string(), now + 3600.0).to_string()),
            Reply::Empty => (
                200,
                if public {
                    "{}".to_string()
                } else {
                    r#"{"authorizationData":[]}"#.to_string()
                },
            ),
            Reply::Error(status, kind) => (
                status,
                serde_json::json!({"__type": kind, "message": format!("fake {kind}")}).to_string(),
            ),
            Reply::ErrorMessage(status, kind, message) => (
                status,
                serde_json::json!({"__type": kind, "message": message}).to_string(),
            ),
            Reply::Hang => {
                std::thread::sleep(Duration::from_secs(600));
                return;
            }
            Reply::Truncated => {
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 500\r\n\r\n{{\"authorizationData\":[{{\"author");
                return;
            }
        };
        let reason = if status == 200 { "OK" } else { "Error" };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: fake-{n}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// Closes `stream` with a TCP reset (SO_LINGER 0) instead of a FIN.
fn reset(stream: &TcpStream) {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid socket and a correctly sized linger struct.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// A listener on 127.0.0.1 that accepts connections and never says a word
/// (a TLS handshake or a request to it waits forever); its address.
pub fn silent_listener() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr").to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// A listener on 127.0.0.1 whose accept queue is full, so that a new
/// connection to it stays unanswered (SYN sent, never acknowledged); its
/// address. Linux only (elsewhere a full queue may refuse instead).
#[cfg(target_os = "linux")]
pub fn unanswering_listener() -> String {
    use std::os::unix::io::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    // SAFETY: a valid listening socket; listen again only shrinks the backlog.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let addr = listener.local_addr().expect("local addr");
    // Fill the queue (a backlog of 0 holds one connection) and keep it full.
    let mut fillers = Vec::new();
    for _ in 0..2 {
        if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            fillers.push(s);
        }
    }
    std::thread::spawn(move || {
        let _keep = (listener, fillers);
        std::thread::sleep(Duration::from_secs(3600));
    });
    addr.to_string()
}

/// Decodes `application/x-www-form-urlencoded`.
fn form_decode(body: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// `2026-11-25T12:00:00Z`
pub fn iso8601(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil-from-days (Howard Hinnant).
    let z = days as i64 + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}
