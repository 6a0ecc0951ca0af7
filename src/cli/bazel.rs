//! The credential-helpers protocol of Bazel and other build tools (the EngFlow
//! specification): `get` with `{"uri": "https://..."}` on stdin, answered
//! with `{"headers": {"Authorization": ["Basic ..."]}, "expires": "..."}`.
//!
//! It shares `get` with the Docker protocol: a Docker request is a bare
//! registry name, a request of this protocol is a JSON object with a `uri`
//! ([`is_request`]). Same resolution, cache,
//! identities and one-line errors as a Docker `get`. A URI that is not ECR
//! (nor an alias of it), or whose scheme is not `https`, gets the empty
//! answer `{"headers":{}}` with exit code 0: a `--credential_helper` pattern
//! wider than ECR must not fail the build, and an ECR password never goes
//! over plain HTTP.

use std::io::Write;
use std::path::Path;

use serde::Deserialize;

use super::app::Policy;
use super::ExitCode;
use crate::core::login::Login;
use crate::core::regmap::MapFile;
use crate::error::{Error, Result};
use crate::settings::Settings;

/// The answer for a URI this helper has no credentials for.
pub const EMPTY: &str = "{\"headers\":{}}";

/// `GetCredentialsRequest`: the URI (other properties are allowed and ignored).
#[derive(Deserialize)]
struct Request {
    uri: String,
}

/// Whether `input` is a request of this protocol: a JSON object with a
/// `uri`. Anything else (a registry name, or JSON without a `uri`, which no
/// build tool sends) stays with the Docker protocol and its "not found".
pub fn is_request(input: &[u8]) -> bool {
    if input.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return false;
    }
    serde_json::from_slice::<serde_json::Value>(input)
        .is_ok_and(|v| v.as_object().is_some_and(|o| o.contains_key("uri")))
}

/// Answers the request in `input` on `stdout` with `helper`; the cause of a
/// failure goes to stderr as one line.
/// `file` is the config file the front end read (from `path`).
pub fn run(
    input: &[u8],
    helper: &Policy,
    file: &MapFile,
    path: Option<&Path>,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> ExitCode {
    match answer(input, helper, file, path, settings) {
        Ok(text) => match super::write_out(stdout, &format!("{text}\n")) {
            Ok(()) => ExitCode::Success,
            Err(e) => {
                crate::error!("{e}");
                ExitCode::Failure
            }
        },
        Err(e) => {
            crate::error!("{e}");
            ExitCode::Failure
        }
    }
}

fn answer(
    input: &[u8],
    helper: &Policy,
    file: &MapFile,
    path: Option<&Path>,
    settings: &Settings,
) -> Result<String> {
    let request: Request = serde_json::from_slice(input).map_err(|e| {
        Error::Input(format!(
            "a credential-helper request must be a JSON object with a string \"uri\": {e}"
        ))
    })?;
    let uri = request.uri.trim();
    let Some((scheme, _)) = uri.split_once("://") else {
        return Err(Error::Input(format!(
            "the request's uri {:?} has no scheme (expected https://HOST/...)",
            crate::support::redact::scrub(&uri.chars().take(100).collect::<String>())
        )));
    };
    let Ok((registry, _alias)) = crate::core::resolve::registry_for(uri, file) else {
        crate::info!("{uri}: not an ECR registry; no credentials");
        return Ok(EMPTY.to_string());
    };
    if !scheme.eq_ignore_ascii_case("https") {
        crate::warn!("{uri}: an ECR password is only sent over https; no credentials");
        return Ok(EMPTY.to_string());
    }
    let resolved = crate::core::resolve::resolve_registry(registry, file, path, settings)?;
    let login = helper.login_to(&resolved)?;
    Ok(response(&login))
}

/// `GetCredentialsResponse` for `login`.
fn response(login: &Login) -> String {
    let header = format!("Basic {}", login.basic_auth().expose());
    let mut text = String::from("{\"headers\":{\"Authorization\":[");
    text.push_str(&serde_json::Value::String(header).to_string());
    text.push_str("]},\"expires\":\"");
    text.push_str(&crate::support::time::rfc3339(login.expires_at));
    text.push_str("\"}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::secret::Secret;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn json_objects_are_requests_and_registry_names_are_not() {
        assert!(is_request(b"{\"uri\":\"https://x\"}"));
        assert!(is_request(b"\n  {\"uri\": 42}"));
        assert!(!is_request(b"{}"));
        assert!(!is_request(b"{\"ServerURL\":\"https://x\"}"));
        assert!(!is_request(b"{not json"));
        assert!(!is_request(
            b"123456789012.dkr.ecr.us-east-1.amazonaws.com\n"
        ));
        assert!(!is_request(b"https://public.ecr.aws"));
        assert!(!is_request(b""));
    }

    #[test]
    fn the_response_carries_basic_auth_and_the_expiry() {
        let login = Login {
            username: "AWS".into(),
            password: Secret::new("pa\"ss"),
            expires_at: UNIX_EPOCH + Duration::from_secs(1_764_622_800),
        };
        let v: serde_json::Value = serde_json::from_str(&response(&login)).unwrap();
        assert_eq!(
            v["headers"]["Authorization"][0],
            format!("Basic {}", login.basic_auth().expose())
        );
        assert_eq!(v["expires"], "2025-12-01T21:00:00Z");
    }
}
