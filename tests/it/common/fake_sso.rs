//! A fake of the sign-in services on 127.0.0.1, each in its real REST-JSON
//! protocol so the real SDK clients talk to it: the SSO portal
//! (`GET /federation/credentials`, GetRoleCredentials), SSO OIDC
//! (`/client/register`, `/device_authorization`, `/token`) and AWS Sign-In
//! (`/v1/token`, CreateOAuth2Token, the `aws login` refresh). Point
//! `AWS_ENDPOINT_URL_SSO`, `AWS_ENDPOINT_URL_SSO_OIDC` and
//! `AWS_ENDPOINT_URL_SIGNIN` at [`FakeSso::url`]. Every request is recorded.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The bearer token the portal accepts (tests plant it in the SSO cache).
pub const PORTAL_TOKEN: &str = "sso-access-token-planted";
/// The token the device flow hands out (also accepted by the portal).
pub const NEW_TOKEN: &str = "sso-access-token-from-device-flow";
/// The refresh token of the device flow.
pub const NEW_REFRESH_TOKEN: &str = "sso-refresh-token-from-device-flow";
/// The OIDC client secret.
pub const CLIENT_SECRET: &str = "oidc-client-secret-value";
/// The user code shown on the terminal.
pub const USER_CODE: &str = "WDJB-MJHT";
/// The verification URL shown on the terminal.
pub const VERIFY_URL: &str = "https://device.sso.example/?user_code=WDJB-MJHT";
/// The access key id of the portal's role credentials.
pub const SSO_AKID: &str = "ASIASSOROLE";
/// The access key id handed out by a sign-in refresh.
pub const REFRESHED_AKID: &str = "ASIALOGINREFRESHED";

/// One recorded request.
#[derive(Debug, Clone)]
pub struct SsoCall {
    /// `GET /federation/credentials?...`, `POST /token`, ...
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// `x-amz-sso_bearer_token` (portal calls).
    pub bearer: String,
    /// The JSON body.
    pub body: serde_json::Value,
    /// Whether a `DPoP` header came (sign-in calls).
    pub dpop: bool,
}

#[derive(Default)]
struct State {
    calls: Vec<SsoCall>,
    /// CreateToken answers `authorization_pending` this many times first.
    pending: usize,
    /// The sign-in refresh answers this error code (e.g. `TOKEN_EXPIRED`).
    signin_error: Option<&'static str>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeSso {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeSso {
    /// Starts the fake.
    pub fn start() -> FakeSso {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || serve(stream, s));
            }
        });
        FakeSso { url, state }
    }

    /// CreateToken answers `authorization_pending` `n` times before the token.
    pub fn pending(&self, n: usize) {
        self.state.lock().unwrap().pending = n;
    }

    /// The sign-in refresh fails with this OAuth2 error code.
    pub fn signin_error(&self, code: &'static str) {
        self.state.lock().unwrap().signin_error = Some(code);
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<SsoCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The requests to `path` (without query).
    pub fn calls_to(&self, path: &str) -> Vec<SsoCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.path.split('?').next() == Some(path))
            .collect()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut stream = stream;
    while let Some(request) = super::http::read_request(&mut reader) {
        let header = |name: &str| request.header(name).map(str::to_string);
        let (method, path, body) = (request.method.clone(), request.path.clone(), &request.body);
        let call = SsoCall {
            method,
            path: path.clone(),
            bearer: header("x-amz-sso_bearer_token").unwrap_or_default(),
            body: serde_json::from_slice(body).unwrap_or_default(),
            dpop: header("dpop").is_some(),
        };
        let (status, kind, answer) = answer(&call, &state);
        state.lock().unwrap().calls.push(call);
        let text = answer.to_string();
        let error_type = kind
            .map(|k| format!("x-amzn-ErrorType: {k}\r\n"))
            .unwrap_or_default();
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{error_type}Content-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn answer(call: &SsoCall, state: &Mutex<State>) -> (u16, Option<&'static str>, serde_json::Value) {
    use serde_json::json;
    match call.path.split('?').next().unwrap_or_default() {
        "/federation/credentials" => {
            if call.bearer != PORTAL_TOKEN && call.bearer != NEW_TOKEN {
                return (
                    401,
                    Some("UnauthorizedException"),
                    json!({"message": "Session token not found or invalid"}),
                );
            }
            (
                200,
                None,
                json!({"roleCredentials": {
                    "accessKeyId": SSO_AKID,
                    "secretAccessKey": "sso-role-secret",
                    "sessionToken": "sso-role-session",
                    "expiration": (now() + 3600) * 1000,
                }}),
            )
        }
        "/client/register" => (
            200,
            None,
            json!({
                "clientId": "oidc-client-id",
                "clientSecret": CLIENT_SECRET,
                "clientIdIssuedAt": now(),
                "clientSecretExpiresAt": now() + 90 * 86400,
            }),
        ),
        "/device_authorization" => (
            200,
            None,
            json!({
                "deviceCode": "device-code-value",
                "userCode": USER_CODE,
                "verificationUri": "https://device.sso.example/",
                "verificationUriComplete": VERIFY_URL,
                "expiresIn": 600,
                "interval": 1,
            }),
        ),
        "/token" => {
            let mut s = state.lock().unwrap();
            if s.pending > 0 {
                s.pending -= 1;
                return (
                    400,
                    Some("AuthorizationPendingException"),
                    json!({"error": "authorization_pending", "error_description": "not yet"}),
                );
            }
            (
                200,
                None,
                json!({
                    "accessToken": NEW_TOKEN,
                    "tokenType": "Bearer",
                    "expiresIn": 8 * 3600,
                    "refreshToken": NEW_REFRESH_TOKEN,
                }),
            )
        }
        "/v1/token" => match state.lock().unwrap().signin_error {
            Some(code) => (
                400,
                Some("AccessDeniedException"),
                json!({"error": code, "message": "fake sign-in refusal"}),
            ),
            None => (
                200,
                None,
                json!({
                    "accessToken": {
                        "accessKeyId": REFRESHED_AKID,
                        "secretAccessKey": "refreshed-secret",
                        "sessionToken": "refreshed-session",
                    },
                    "tokenType": "urn:aws:params:oauth:token-type:access_token_sigv4",
                    "expiresIn": 900,
                    "refreshToken": "login-refresh-token-2",
                }),
            ),
        },
        _ => (404, Some("NotFound"), json!({"message": "no such path"})),
    }
}
