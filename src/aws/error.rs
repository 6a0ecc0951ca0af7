//! The mapping from the SDK's errors to [`FetchError`] (the core's: see
//! [`crate::core::source`]). None carries a secret.

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::core::identity::Identity;
use crate::core::source::FetchError;

mod api;
mod why;
pub(crate) use api::TokenRequest;
pub(crate) use why::{credentials_refused, is_dns_failure};

/// Maps an API error's code, message and full text to a [`FetchError`].
pub(crate) type ApiErrorMapper<'a> = dyn Fn(Option<&str>, Option<&str>, String) -> FetchError + 'a;

pub(crate) fn sdk_error<E>(
    err: aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>,
    region: &str,
    api_error: &ApiErrorMapper<'_>,
) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let full = error_chain(&err);
    if let Some(bad) = bad_answer(err.raw_response(), &full) {
        return bad;
    }
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            api_error(e.code(), e.message(), full)
        }
        SdkError::TimeoutError(_) => FetchError::Network {
            region: region.to_string(),
            detail: "the request timed out".into(),
        },
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => FetchError::Network {
            region: region.to_string(),
            detail: full,
        },
        SdkError::ResponseError(_) => FetchError::Unavailable {
            region: region.to_string(),
            detail: full,
        },
        _ => match err.code() {
            Some(code) => api_error(Some(code), err.message(), full),
            None => FetchError::Other(full),
        },
    }
}

/// The resolver's error, when `err` is a DNS lookup that failed.
pub(crate) fn dns_failure<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>,
) -> Option<String>
where
    E: std::error::Error + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let SdkError::DispatchFailure(d) = err else {
        return None;
    };
    let chain = error_chain(d.as_connector_error()?);
    is_dns_failure(&chain).then(|| match chain.split_once("dns error: ") {
        Some((_, why)) => why.to_string(),
        None => chain.clone(),
    })
}

/// An answer that is not ECR's: cut short, or not JSON at all (a proxy's
/// page). `None` for a JSON answer (ECR's errors are JSON) or no answer.
fn bad_answer(raw: Option<&HttpResponse>, chain: &str) -> Option<FetchError> {
    const CUT: [&str; 3] = [
        "IncompleteMessage",
        "end of file before message length reached",
        "connection closed before message completed",
    ];
    let cut = |status: String| {
        FetchError::BadAnswer(format!(
            "the answer from the ECR endpoint was cut short ({status}): the connection closed mid-answer (an unstable network or a proxy); retried"
        ))
    };
    if CUT.iter().any(|c| chain.contains(c)) {
        return Some(cut(raw.map_or("no status".into(), |r| {
            format!("HTTP {}", r.status().as_u16())
        })));
    }
    let raw = raw?;
    let status = raw.status().as_u16();
    let body = raw.body().bytes()?;
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Ok(_) => None,
        Err(e) if e.is_eof() && !body.iter().all(u8::is_ascii_whitespace) => {
            Some(cut(format!("HTTP {status}, {} bytes of JSON", body.len())))
        }
        Err(_) => {
            let kind = raw
                .headers()
                .get("content-type")
                .unwrap_or("no content type");
            let what = if body.iter().all(u8::is_ascii_whitespace) {
                "an empty body".to_string()
            } else if kind.contains("html") || body.trim_ascii_start().starts_with(b"<") {
                format!("an HTML page ({kind})")
            } else {
                format!("something that is not JSON ({kind})")
            };
            Some(FetchError::BadAnswer(format!(
                "the ECR endpoint answered HTTP {status} with {what}, not ECR's JSON: a proxy may be in the way (check HTTPS_PROXY, NO_PROXY and AWS_ENDPOINT_URL_ECR)"
            )))
        }
    }
}

pub(crate) fn credentials_error(e: CredentialsError, identity: &Identity) -> FetchError {
    let chain = error_chain(&e);
    if let Some(sso) = &identity.sso {
        // The portal refusing the token, or a refresh that failed: a new
        // sign-in is the fix. (A network error stays one.)
        let refused = [
            "Unauthorized",
            "InvalidGrant",
            "expired",
            "Session token not found",
        ];
        if refused.iter().any(|r| chain.contains(r)) {
            return FetchError::SsoSignIn {
                profile: sso.profile.clone(),
                state: format!("was refused ({})", first_line(&chain)),
                command: sso.sign_in_command(),
            };
        }
    }
    if let Some(login) = &identity.login_session {
        if chain.contains("Login token") {
            let state = if chain.contains("expired") {
                "has expired".to_string()
            } else {
                format!("cannot be used ({})", first_line(&chain))
            };
            return FetchError::LoginSession {
                profile: login.profile.clone(),
                state,
            };
        }
    }
    match e {
        CredentialsError::CredentialsNotLoaded(_) => {
            FetchError::NoCredentials(format!(" (looked for {})", identity.label))
        }
        other => FetchError::Credentials {
            source_label: identity.label.clone(),
            detail: one_line(&error_chain(&other)),
        },
    }
}

/// An error and its sources, `a: b: c`, each level's `Display` only (the
/// SDK's own formatter appends a `Debug` dump of the whole tree). Levels that
/// repeat the previous one are dropped.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// A credential provider's text as one clean line: its lines (a credential
/// process's stderr) joined with ` / `, without the SDK's repeated preamble
/// and its `code exit status: N`.
fn one_line(text: &str) -> String {
    let text = text
        .replace("an error occurred while loading credentials: ", "")
        .replace("exited with code exit status: ", "exited with status ");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// At most 200 characters of the first line of `text`.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_process_error_is_one_line() {
        assert_eq!(
            one_line("an error occurred while loading credentials: Error retrieving credentials: external process exited with code exit status: 3. Stderr: boom\nsecond line\n"),
            "Error retrieving credentials: external process exited with status 3. Stderr: boom / second line"
        );
    }
}
