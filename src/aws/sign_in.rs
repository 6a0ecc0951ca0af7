//! The token caches of the interactive sign-ins, as the AWS CLI writes them
//! and the SDK reads them: SSO (`~/.aws/sso/cache/<sha1 of the session name or
//! start URL>.json`) and `aws login` (`~/.aws/login/cache/<sha256 of the
//! session ARN>.json`, or `AWS_LOGIN_CACHE_DIRECTORY`).
//!
//! The helper reads them only to explain (`doctor`) and to say early which
//! command renews an expired sign-in; the SDK's own providers do the real
//! work. `login --profile` for an SSO profile writes the SSO file, 0600,
//! in the CLI's format, so the CLI, the SDK and this helper share it.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aws_smithy_types::date_time::{DateTime, Format};
use serde_json::{json, Value};

use crate::core::identity::{LoginSession, SsoProfile};
use crate::core::source::{Cached, FetchError};
use crate::settings::Settings;
use crate::support::hex;
use crate::support::secret::Secret;

/// `~/.aws/sso/cache/<sha1>.json` of `sso`'s token.
pub fn sso_token_path(home: &Path, sso: &SsoProfile) -> PathBuf {
    use sha1::Digest as _;
    let name = hex(&sha1::Sha1::digest(sso.cache_key().as_bytes()));
    home.join(".aws")
        .join("sso")
        .join("cache")
        .join(format!("{name}.json"))
}

/// The directory of `aws login` sessions.
pub fn login_cache_dir(settings: &Settings) -> Option<PathBuf> {
    settings
        .var(crate::env::AWS_LOGIN_CACHE_DIRECTORY)
        .map(PathBuf::from)
        .or_else(|| {
            settings
                .home()
                .map(|h| h.join(".aws").join("login").join("cache"))
        })
}

/// `<login cache>/<sha256 of the session ARN>.json`.
pub fn login_token_path(dir: &Path, login: &LoginSession) -> PathBuf {
    use sha2::Digest as _;
    let name = hex(&sha2::Sha256::digest(login.session_arn.trim().as_bytes()));
    dir.join(format!("{name}.json"))
}

/// The most a sign-in cache file is read (the CLI's are under 4 KiB).
const MAX_CACHE_FILE: u64 = 1024 * 1024;

/// Reads a sign-in cache file without blocking on it: a FIFO or device
/// planted there is unreadable, not a stalled `get` (the SDK, which reads it
/// next, is only asked once it is known to be a regular file).
fn read_json(path: &Path) -> Result<Value, Cached> {
    match crate::support::safe_fs::read_regular(path, MAX_CACHE_FILE) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Cached::Missing(path.to_path_buf()))
        }
        Err(e) => Err(Cached::Unreadable(
            path.to_path_buf(),
            crate::support::safe_fs::why_unreadable(&e),
        )),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|_| Cached::Unreadable(path.to_path_buf(), "not valid JSON".into())),
    }
}

fn time(v: &Value) -> Option<SystemTime> {
    let text = v.as_str()?;
    let t = DateTime::from_str(text, Format::DateTime).ok()?;
    SystemTime::try_from(t).ok()
}

/// The cached SSO token of `sso`.
pub fn sso_token(home: &Path, sso: &SsoProfile, now: SystemTime) -> Cached {
    let path = sso_token_path(home, sso);
    let doc = match read_json(&path) {
        Ok(doc) => doc,
        Err(state) => return state,
    };
    let Some(expires_at) = time(&doc["expiresAt"]).filter(|_| doc["accessToken"].is_string())
    else {
        return Cached::Unreadable(path, "no accessToken or expiresAt".into());
    };
    // Only session profiles refresh; the legacy form never does.
    let refreshable = sso.session.is_some()
        && ["refreshToken", "clientId", "clientSecret"]
            .iter()
            .all(|k| doc[*k].is_string())
        && time(&doc["registrationExpiresAt"]).is_some_and(|t| t > now);
    Cached::Token {
        path,
        expires_at,
        refreshable,
    }
}

/// The cached `aws login` session of `login` in `dir`.
pub fn login_token(dir: &Path, login: &LoginSession) -> Cached {
    let path = login_token_path(dir, login);
    let doc = match read_json(&path) {
        Ok(doc) => doc,
        Err(state) => return state,
    };
    match time(&doc["accessToken"]["expiresAt"]) {
        Some(expires_at) => Cached::Token {
            refreshable: doc["refreshToken"].is_string() && doc["dpopKey"].is_string(),
            path,
            expires_at,
        },
        None => Cached::Unreadable(path, "no accessToken.expiresAt".into()),
    }
}

/// A new SSO token from the device-authorization flow.
#[derive(Debug)]
pub struct NewSsoToken {
    /// The bearer token for the SSO portal.
    pub access_token: Secret,
    /// When it expires.
    pub expires_at: SystemTime,
    /// The refresh token (session profiles with `sso:account:access`).
    pub refresh_token: Option<Secret>,
    /// The OIDC client that asked.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
    /// When the client registration expires.
    pub registration_expires_at: SystemTime,
}

/// `2026-11-25T20:04:02Z`, the CLI's form.
fn rfc3339(t: SystemTime) -> Result<String, FetchError> {
    DateTime::from(t)
        .fmt(Format::DateTime)
        .map(|s| match s.split_once('.') {
            Some((whole, _)) => format!("{whole}Z"),
            None => s,
        })
        .map_err(|e| FetchError::Other(format!("cannot format a time: {e}")))
}

/// Writes `token` where the CLI and the SDK look for `sso`'s token: 0600,
/// atomically, in a directory made 0700 if it is new. The legacy form (a
/// profile without `sso_session`) gets the fields the CLI writes for it.
pub fn write_sso_token(
    home: &Path,
    sso: &SsoProfile,
    token: &NewSsoToken,
) -> Result<PathBuf, FetchError> {
    let path = sso_token_path(home, sso);
    let mut doc = json!({
        "startUrl": sso.start_url,
        "region": sso.region,
        "accessToken": token.access_token.expose(),
        "expiresAt": rfc3339(token.expires_at)?,
    });
    if sso.session.is_some() {
        doc["clientId"] = json!(token.client_id);
        doc["clientSecret"] = json!(token.client_secret.expose());
        doc["registrationExpiresAt"] = json!(rfc3339(token.registration_expires_at)?);
        if let Some(refresh) = &token.refresh_token {
            doc["refreshToken"] = json!(refresh.expose());
        }
    }
    let dir = path.parent().expect("the token path has a directory");
    let failed = |e: std::io::Error| {
        FetchError::Other(format!(
            "cannot write the SSO token to {}: {e}",
            dir.display()
        ))
    };
    for d in [
        home.join(".aws"),
        home.join(".aws").join("sso"),
        dir.to_path_buf(),
    ] {
        crate::support::safe_fs::ensure_dir(&d).map_err(failed)?;
    }
    let name = path.file_name().expect("a file name").to_string_lossy();
    crate::support::safe_fs::write_atomic(dir, &name, doc.to_string().as_bytes())
        .map_err(failed)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sso(session: Option<&str>) -> SsoProfile {
        SsoProfile {
            profile: "dev".into(),
            session: session.map(str::to_string),
            start_url: "https://d-123.awsapps.com/start".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            role_name: "Admin".into(),
            scopes: None,
        }
    }

    #[test]
    fn paths_are_the_clis() {
        // sha1("my-sso") and sha1 of the start URL, as the CLI names them.
        let home = Path::new("/h");
        assert_eq!(
            sso_token_path(home, &sso(Some("my-sso"))),
            Path::new("/h/.aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json")
        );
        let login = LoginSession {
            profile: "p".into(),
            session_arn: "arn:aws:iam::0123456789012:user/Admin".into(),
        };
        assert_eq!(
            login_token_path(Path::new("/home/.aws/login/cache"), &login),
            Path::new("/home/.aws/login/cache/36db1d138ff460920374e4c3d8e01f53f9f73537e89c88d639f68393df0e2726.json")
        );
    }

    #[test]
    fn written_tokens_read_back_with_their_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let token = |refresh: Option<&str>| NewSsoToken {
            access_token: Secret::new("at"),
            expires_at: now + Duration::from_secs(3600),
            refresh_token: refresh.map(Secret::new),
            client_id: "cid".into(),
            client_secret: Secret::new("cs"),
            registration_expires_at: now + Duration::from_secs(86400),
        };
        for (profile, refreshable) in [(sso(Some("corp")), true), (sso(None), false)] {
            write_sso_token(dir.path(), &profile, &token(Some("rt"))).unwrap();
            match sso_token(dir.path(), &profile, now) {
                Cached::Token {
                    expires_at,
                    refreshable: r,
                    ..
                } => {
                    let diff = expires_at.duration_since(now).unwrap().as_secs();
                    assert!((3598..=3600).contains(&diff), "{diff}");
                    assert_eq!(r, refreshable);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            sso_token(dir.path(), &sso(Some("other")), now),
            Cached::Missing(_)
        ));
    }
}
