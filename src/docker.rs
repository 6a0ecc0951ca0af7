//! The Docker credential-helper protocol over any reader and writer
//! (docker/docker-credential-helpers is the reference). Byte-exact: Docker
//! and friends parse these strings. The input is read once ([`read`]) and
//! parsed once with the action from argv ([`Request::parse`]); [`handle`]
//! switches on the request once and asks the back end.

use std::collections::BTreeMap;
use std::io::Read;

use crate::error::{Error, Result};
use crate::support::secret::Secret;

/// The protocol's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `get`.
    Get,
    /// `store`.
    Store,
    /// `erase`.
    Erase,
    /// `list`.
    List,
}

impl Action {
    /// The action named `name` (the program's first argument), if any.
    pub fn named(name: &str) -> Option<Action> {
        [Action::Get, Action::Store, Action::Erase, Action::List]
            .into_iter()
            .find(|a| a.name() == name)
    }

    /// The action's name on the command line and in the protocol.
    pub fn name(self) -> &'static str {
        match self {
            Action::Get => "get",
            Action::Store => "store",
            Action::Erase => "erase",
            Action::List => "list",
        }
    }
}

/// What `get` prints on stdout for any failure; Docker then goes anonymous.
pub const NOT_FOUND: &str = "credentials not found in native keychain";
/// What `get` / `erase` print for empty input.
pub const MISSING_SERVER_URL: &str = "no credentials server URL";
/// What `store` prints when the stored JSON has no user name.
pub const MISSING_USERNAME: &str = "no credentials username";
/// What `store` / `erase` print: this helper does not keep credentials.
pub const NOT_IMPLEMENTED: &str = "not implemented";
/// The most stdin is read: what `store`'s JSON may weigh, and what is passed
/// whole to a fallback helper (more is refused, never passed cut short).
pub const MAX_INPUT: u64 = 1024 * 1024;
/// The longest server URL line of `get` and `erase`.
pub const MAX_LINE: usize = 64 * 1024;

/// The back end of the protocol. The `server_url` it is given is the
/// request's ([`Request::server_url`]).
pub trait Credentials {
    /// User name and password for `server_url`.
    fn get(&self, server_url: &str) -> Result<(String, Secret)>;
    /// Registries known to have credentials: URL → user name.
    fn list(&self) -> Result<BTreeMap<String, String>>;
    /// Whether `store` / `erase` should be silent no-ops.
    fn ignore_storage(&self) -> bool;
    /// Keeps a login `docker login` gave for `server_url`; the error is
    /// what `store` prints (Docker shows it after "Error saving credentials").
    fn store(&self, server_url: &str, username: &str, secret: Secret) -> Result<()>;
    /// Forgets what [`Credentials::store`] kept for `server_url`.
    fn erase(&self, server_url: &str) -> Result<()>;
}

/// A protocol outcome: the text for stdout and whether the command succeeded.
/// Failures also carry the diagnostic for stderr.
#[derive(Debug)]
pub struct Outcome {
    /// Exact bytes for stdout.
    pub stdout: String,
    /// The real cause, for stderr (never on stdout).
    pub diagnostic: Option<Error>,
    /// Exit status 0?
    pub success: bool,
}

impl Outcome {
    fn ok(stdout: String) -> Outcome {
        Outcome {
            stdout,
            diagnostic: None,
            success: true,
        }
    }

    fn fail(stdout: &str, diagnostic: Option<Error>) -> Outcome {
        Outcome {
            stdout: format!("{stdout}\n"),
            diagnostic,
            success: false,
        }
    }
}

/// Reads a request's input once: all of `input`, up to one byte more than
/// [`MAX_INPUT`] (so that more is known to be too much).
pub fn read(input: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.take(MAX_INPUT + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn too_large() -> Error {
    Error::Input(format!(
        "input is larger than {} MiB; credentials are a few kilobytes",
        MAX_INPUT >> 20
    ))
}

/// What `store` keeps: the JSON `docker login` sends.
#[derive(serde::Deserialize)]
struct Stored {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: Secret,
}

/// A request of the protocol, parsed once from its action and input (see
/// [`read`]).
pub struct Request {
    /// The server URL the input names, as far as it can be read (empty when
    /// it names none): what decides who answers.
    server_url: String,
    /// The request proper.
    body: Body,
}

/// An action with what the protocol makes of its input.
enum Body {
    /// `get` of a server URL (empty: none given), or why it cannot be read.
    Get(Result<String>),
    /// `store` of a login, or the line to answer instead.
    Store(std::result::Result<Stored, String>),
    /// `erase` of a server URL, as for `get`.
    Erase(Result<String>),
    /// `list`.
    List,
}

impl Request {
    /// The request of `action` with `input`.
    pub fn parse(action: Action, input: &[u8]) -> Request {
        let (server_url, body) = match action {
            Action::Get => {
                let (url, server_url) = read_url(input);
                (server_url, Body::Get(url))
            }
            Action::Erase => {
                let (url, server_url) = read_url(input);
                (server_url, Body::Erase(url))
            }
            Action::Store => return read_login(input),
            Action::List => (String::new(), Body::List),
        };
        Request { server_url, body }
    }

    /// The server URL the input names (empty when it names none, or cannot
    /// be read): what decides who answers the request.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }
}

/// The server URL of `get` / `erase` ([`read_server_url`]), and the one
/// that decides who answers: the same, read from text with any bytes that
/// are not UTF-8 replaced (they make the first an error).
fn read_url(input: &[u8]) -> (Result<String>, String) {
    let url = read_server_url(input);
    let server_url = match (&url, String::from_utf8_lossy(input)) {
        (Ok(url), _) => url.clone(),
        (Err(_), std::borrow::Cow::Borrowed(_)) => String::new(),
        (Err(_), std::borrow::Cow::Owned(text)) => {
            read_server_url(text.as_bytes()).unwrap_or_default()
        }
    };
    (url, server_url)
}

/// `store`'s request: its JSON parsed once (from text with any bytes that
/// are not UTF-8 replaced, for the server URL that decides who answers);
/// refused when it is too large or not UTF-8.
fn read_login(input: &[u8]) -> Request {
    let text = String::from_utf8_lossy(input);
    let parsed = serde_json::from_str::<Stored>(&text);
    let server_url = parsed
        .as_ref()
        .map(|s| s.server_url.trim().to_string())
        .unwrap_or_default();
    let login = if input.len() as u64 > MAX_INPUT {
        Err(too_large().to_string())
    } else if let std::borrow::Cow::Owned(_) = text {
        Err(Error::Input("input is not valid UTF-8".into()).to_string())
    } else {
        parsed.map_err(|e| format!("error reading credentials from stdin: {e}"))
    };
    Request {
        server_url,
        body: Body::Store(login),
    }
}

/// The server URL of `get` and `erase`: the first line that is not blank,
/// trimmed (empty when there is none). What follows it must be blank, as far
/// as it is read: the Go helper joins the lines, so a long tail of blank
/// lines is the URL alone there too, while a second line of text (which it
/// would glue onto the host) is refused. Bounded: the line is at most
/// [`MAX_LINE`] bytes, and at most [`MAX_INPUT`] bytes are read.
pub fn read_server_url(input: &[u8]) -> Result<String> {
    let input = &input[..input.len().min(MAX_INPUT as usize)];
    let mut url: &[u8] = &[];
    for line in input.split_inclusive(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if !url.is_empty() {
            return Err(Error::Input(
                "the server URL is followed by a second line of text; a registry name is one line"
                    .into(),
            ));
        }
        if line.len() > MAX_LINE {
            return Err(Error::Input(format!(
                "the server URL is longer than {} KiB; a registry name is a few dozen bytes",
                MAX_LINE / 1024
            )));
        }
        url = line;
    }
    let text =
        std::str::from_utf8(url).map_err(|_| Error::Input("input is not valid UTF-8".into()))?;
    Ok(text.trim().to_string())
}

/// Answers `request` (parsed by [`Request::parse`]) with `helper`.
pub fn handle(helper: &dyn Credentials, request: Request) -> Outcome {
    match request.body {
        Body::Get(url) => get(helper, url),
        Body::Store(login) => store(helper, login),
        Body::Erase(url) => erase(helper, url),
        Body::List => list(helper),
    }
}

fn get(helper: &dyn Credentials, server_url: Result<String>) -> Outcome {
    let server_url = match server_url {
        Ok(s) => s,
        Err(e) => return Outcome::fail(NOT_FOUND, Some(e)),
    };
    if server_url.is_empty() {
        return Outcome::fail(MISSING_SERVER_URL, None);
    }
    match helper.get(&server_url) {
        Ok((username, secret)) => {
            #[derive(serde::Serialize)]
            #[serde(rename_all = "PascalCase")]
            struct Response<'a> {
                #[serde(rename = "ServerURL")]
                server_url: &'a str,
                username: &'a str,
                secret: &'a str,
            }
            let body = Response {
                server_url: &server_url,
                username: &username,
                secret: secret.expose(),
            };
            match serde_json::to_string(&body) {
                Ok(json) => Outcome::ok(format!("{json}\n")),
                Err(e) => Outcome::fail(NOT_FOUND, Some(Error::Encode(e))),
            }
        }
        Err(e) => Outcome::fail(NOT_FOUND, Some(e)),
    }
}

fn store(helper: &dyn Credentials, login: std::result::Result<Stored, String>) -> Outcome {
    let creds = match login {
        Ok(c) => c,
        Err(answer) => return Outcome::fail(&answer, None),
    };
    if creds.server_url.trim().is_empty() {
        return Outcome::fail(MISSING_SERVER_URL, None);
    }
    if creds.username.trim().is_empty() {
        return Outcome::fail(MISSING_USERNAME, None);
    }
    if helper.ignore_storage() {
        return Outcome::ok(String::new());
    }
    match helper.store(creds.server_url.trim(), &creds.username, creds.secret) {
        Ok(()) => Outcome::ok(String::new()),
        Err(e) => Outcome::fail(&crate::support::redact::scrub(&e.to_string()), None),
    }
}

fn erase(helper: &dyn Credentials, server_url: Result<String>) -> Outcome {
    let server_url = match server_url {
        Ok(s) => s,
        Err(e) => return Outcome::fail(&e.to_string(), None),
    };
    if server_url.is_empty() {
        return Outcome::fail(MISSING_SERVER_URL, None);
    }
    if helper.ignore_storage() {
        return Outcome::ok(String::new());
    }
    match helper.erase(&server_url) {
        Ok(()) => Outcome::ok(String::new()),
        Err(e) => Outcome::fail(&crate::support::redact::scrub(&e.to_string()), None),
    }
}

fn list(helper: &dyn Credentials) -> Outcome {
    let map = helper.list().unwrap_or_else(|e| {
        crate::warn!("{e}");
        BTreeMap::new()
    });
    match serde_json::to_string(&map) {
        Ok(json) => Outcome::ok(format!("{json}\n")),
        Err(e) => Outcome::fail(&e.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registry::NotEcr;

    struct Fixed {
        ignore: bool,
    }

    impl Credentials for Fixed {
        fn get(&self, server_url: &str) -> Result<(String, Secret)> {
            if server_url.contains("ecr") {
                Ok(("AWS".into(), Secret::new("pa+ss/w=rd")))
            } else {
                Err(NotEcr {
                    reason: "nope".into(),
                }
                .into())
            }
        }
        fn list(&self) -> Result<BTreeMap<String, String>> {
            Ok([("https://1.dkr.ecr".to_string(), "AWS".to_string())].into())
        }
        fn ignore_storage(&self) -> bool {
            self.ignore
        }
        fn store(&self, server_url: &str, _: &str, secret: Secret) -> Result<()> {
            assert_eq!(secret.expose(), "s");
            self.erase(server_url)
        }
        fn erase(&self, server_url: &str) -> Result<()> {
            if server_url.contains("ecr") {
                Ok(())
            } else {
                Err(Error::Input(format!(
                    "{NOT_IMPLEMENTED}: {server_url} is not ECR"
                )))
            }
        }
    }

    /// The outcome of `action` (parsed as argv is) with `input`.
    fn answer(action: &str, input: &[u8], ignore: bool) -> Outcome {
        let Some(action) = Action::named(action) else {
            panic!("{action} is not a protocol action");
        };
        let input = read(input).expect("a slice reads");
        handle(&Fixed { ignore }, Request::parse(action, &input))
    }

    #[rustfmt::skip]
    #[test]
    fn the_server_url_that_decides_who_answers_is_read_once_with_the_request() {
        let url = |action, input: &[u8]| Request::parse(action, input).server_url().to_string();
        assert_eq!(url(Action::Get, b"\n ghcr.io/x \n"), "ghcr.io/x");
        assert_eq!(url(Action::Erase, b"ghcr.io\n"), "ghcr.io");
        assert_eq!(url(Action::Get, b"ghcr.io\nevil\n"), "");
        // Not UTF-8: refused by the protocol, still routed by what it names.
        assert_eq!(url(Action::Get, b"gh\xffcr.io\n"), "gh\u{fffd}cr.io");
        assert_eq!(url(Action::Store, br#"{"ServerURL":" ghcr.io ","Username":"u","Secret":"s"}"#), "ghcr.io");
        assert_eq!(url(Action::Store, b"{\"ServerURL\":\"ghcr.io\",\"Secret\":\"\xff\"}"), "ghcr.io");
        assert_eq!(url(Action::Store, b"not json"), "");
        // JSON that is not a login is refused here, whatever it names.
        assert_eq!(url(Action::Store, br#"{"ServerURL":"ghcr.io","Username":5}"#), "");
        assert_eq!(url(Action::List, b""), "");
        let o = handle(&Fixed { ignore: true }, Request::parse(Action::Store, b"{\"ServerURL\":\"h\",\"Username\":\"u\",\"Secret\":\"\xff\"}"));
        assert_eq!(o.stdout, "input is not valid UTF-8\n");
    }

    fn run(action: &str, input: &str, ignore: bool) -> (String, bool) {
        let o = answer(action, input.as_bytes(), ignore);
        (o.stdout, o.success)
    }

    #[rustfmt::skip]
    #[test]
    fn protocol_strings_are_exact() {
        assert_eq!(run("get", "https://x.ecr/\n", false), ("{\"ServerURL\":\"https://x.ecr/\",\"Username\":\"AWS\",\"Secret\":\"pa+ss/w=rd\"}\n".into(), true));
        assert_eq!(run("get", "docker.io", false), ("credentials not found in native keychain\n".into(), false));
        assert_eq!(run("get", "  \n", false), ("no credentials server URL\n".into(), false));
        assert_eq!(run("store", r#"{"ServerURL":"h","Username":"u","Secret":"s"}"#, false), ("not implemented: h is not ECR\n".into(), false));
        assert_eq!(run("store", r#"{"ServerURL":"1.ecr","Username":"u","Secret":"s"}"#, false), ("".into(), true));
        assert_eq!(run("store", r#"{"ServerURL":"h","Username":"u","Secret":"s"}"#, true), ("".into(), true));
        assert_eq!(run("store", r#"{"Username":"u"}"#, true), ("no credentials server URL\n".into(), false));
        assert_eq!(run("store", r#"{"ServerURL":"h"}"#, true), ("no credentials username\n".into(), false));
        assert!(!run("store", "not json", true).1);
        assert_eq!(run("erase", "h", false), ("not implemented: h is not ECR\n".into(), false));
        assert_eq!(run("erase", "1.ecr\n", false), ("".into(), true));
        assert_eq!(run("erase", "h", true), ("".into(), true));
        assert_eq!(run("erase", "", true), ("no credentials server URL\n".into(), false));
        assert_eq!(run("list", "", false), ("{\"https://1.dkr.ecr\":\"AWS\"}\n".into(), true));
        // An unknown action never reaches the protocol: argv is parsed into one.
        assert_eq!(Action::named("frob"), None);
    }

    #[test]
    fn oversized_and_invalid_input_is_refused() {
        let big = "a".repeat(MAX_LINE + 10);
        let o = answer("get", big.as_bytes(), false);
        assert_eq!(o.stdout, format!("{NOT_FOUND}\n"));
        assert!(o.diagnostic.unwrap().to_string().contains("longer than"));
        let o = answer("get", &[0xff, 0xfe], false);
        assert!(o.diagnostic.unwrap().to_string().contains("UTF-8"));
        let huge = format!(
            r#"{{"ServerURL":"h","Username":"u","Secret":"{}"}}"#,
            "s".repeat(MAX_INPUT as usize)
        );
        let (out, ok) = run("store", &huge, true);
        assert!(!ok && out.contains("larger than 1 MiB"), "{out}");
    }

    #[rustfmt::skip]
    #[test]
    fn the_server_url_is_the_first_line_that_is_not_blank() {
        let tail = "\n".repeat(3 * MAX_INPUT as usize);
        for (input, want) in [
            ("https://x.ecr/\n", "https://x.ecr/"),
            ("  x.ecr \r\n", "x.ecr"),
            ("\n\n\t\nx.ecr", "x.ecr"),
            ("", ""),
            ("\n \n", ""),
        ] {
            assert_eq!(read_server_url(input.as_bytes()).unwrap(), want, "{input:?}");
        }
        // A long tail of blank lines (more than is ever read) is fine.
        let long = format!("x.ecr\n{tail}");
        assert_eq!(read_server_url(long.as_bytes()).unwrap(), "x.ecr");
        assert!(run("get", &long, false).1);
        assert!(run("erase", &long, true).1);
        let e = read_server_url(&b"x.ecr\nevil.example\n"[..]).unwrap_err();
        assert!(e.to_string().contains("second line"), "{e}");
        // Blank lines alone, more than is read: no server URL.
        assert_eq!(read_server_url(tail.as_bytes()).unwrap(), "");
    }
}
