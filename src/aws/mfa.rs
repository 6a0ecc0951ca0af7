//! MFA for assume-role profiles (`role_arn` + `mfa_serial`), which the AWS SDK
//! for Rust does not support: prompt for the code on the controlling terminal
//! (Docker owns stdin and stdout), call STS AssumeRole with the serial and the
//! code, and keep the temporary credentials (0600, for their lifetime, keyed
//! by the profile's description so another profile never sees them), so the
//! prompt comes once per session, not once per pull.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sts::assume_role;
use super::FetchError;
use crate::cache::Cache;
use crate::identity::MfaProfile;
use crate::secret::Secret;
use crate::time::secs;

/// Sessions with less than this left are renewed.
const MIN_VALIDITY: Duration = Duration::from_secs(5 * 60);

/// Temporary credentials from AssumeRole, as kept on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Format version (1).
    pub version: u32,
    /// The profile they belong to.
    pub profile: String,
    /// Temporary access key id.
    pub access_key_id: String,
    /// Temporary secret key.
    pub secret_access_key: Secret,
    /// Session token.
    pub session_token: Secret,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
}

impl Session {
    /// Whether the session has at least five minutes left.
    pub fn is_valid(&self) -> bool {
        self.expires_at > secs(SystemTime::now() + MIN_VALIDITY)
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.expose().to_string(),
            Some(self.session_token.expose().to_string()),
            std::time::UNIX_EPOCH.checked_add(Duration::from_secs(self.expires_at)),
            "ecr-login-mfa",
        )
    }
}

fn key(mfa: &MfaProfile) -> String {
    let mut h = Sha256::new();
    for part in [
        &mfa.profile,
        &mfa.role_arn,
        &mfa.mfa_serial,
        mfa.source_profile.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where the session of `mfa` is kept (`<cache dir>/mfa/<key>.json`), unless the cache is disabled.
pub fn session_path(mfa: &MfaProfile, cache_dir: Option<&Path>) -> Option<PathBuf> {
    cache_dir.map(|c| {
        Cache::new(c)
            .dir()
            .join("mfa")
            .join(format!("{}.json", key(mfa)))
    })
}

/// The kept session of `mfa`, if it is still valid.
pub fn load_session(mfa: &MfaProfile, cache_dir: Option<&Path>) -> Option<Session> {
    let path = session_path(mfa, cache_dir)?;
    let bytes = std::fs::read(&path).ok()?;
    let session: Session = serde_json::from_slice(&bytes).ok()?;
    (session.version == 1 && session.profile == mfa.profile && session.is_valid())
        .then_some(session)
}

fn save_session(mfa: &MfaProfile, session: &Session, cache_dir: Option<&Path>) {
    let Some(path) = session_path(mfa, cache_dir) else {
        return;
    };
    let result = (|| -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(&path);
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
        let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
        tmp.write_all(&serde_json::to_vec(session).map_err(std::io::Error::other)?)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    })();
    if let Err(e) = result {
        crate::warn!(
            "cannot keep the MFA session in {}: {e}; you will be asked again",
            path.display()
        );
    }
}

/// Asks for the MFA code on the controlling terminal.
pub fn prompt_code(mfa: &MfaProfile) -> Result<String, FetchError> {
    let no_terminal = |e: std::io::Error| {
        FetchError::Mfa(format!(
        "profile {} needs an MFA code and there is no terminal to ask on ({e}): run `docker-credential-ecr-login login --profile {}` once in a terminal, or use a profile without mfa_serial",
        mfa.profile, mfa.profile
    ))
    };
    let (mut input, mut output) = open_terminal().map_err(no_terminal)?;
    write!(
        output,
        "MFA code for {} (profile {}): ",
        mfa.mfa_serial, mfa.profile
    )
    .and_then(|()| output.flush())
    .map_err(no_terminal)?;
    let mut line = String::new();
    input.read_line(&mut line).map_err(no_terminal)?;
    let code = line.trim().to_string();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FetchError::Mfa("an MFA code is 6 digits".into()));
    }
    Ok(code)
}

#[cfg(unix)]
fn open_terminal() -> std::io::Result<(BufReader<std::fs::File>, std::fs::File)> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    Ok((BufReader::new(tty.try_clone()?), tty))
}

#[cfg(windows)]
fn open_terminal() -> std::io::Result<(BufReader<std::fs::File>, std::fs::File)> {
    let input = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("CONIN$")?;
    let output = std::fs::OpenOptions::new().write(true).open("CONOUT$")?;
    Ok((BufReader::new(input), output))
}

/// Credentials for `mfa`: the kept session, or a new one after prompting.
/// `force` always prompts.
pub async fn credentials(
    config: &aws_config::SdkConfig,
    provider_config: &aws_config::provider_config::ProviderConfig,
    mfa: &MfaProfile,
    force: bool,
    cache_dir: Option<&Path>,
) -> Result<(Credentials, Session), FetchError> {
    if !force {
        if let Some(session) = load_session(mfa, cache_dir) {
            crate::debug!("using the kept MFA session of profile {}", mfa.profile);
            return Ok((session.credentials(), session));
        }
    }
    let code = prompt_code(mfa)?;
    let base = match &mfa.source_profile {
        Some(source) => aws_config::profile::ProfileFileCredentialsProvider::builder()
            .configure(provider_config)
            .profile_name(source)
            .build()
            .provide_credentials()
            .await
            .map_err(|e| {
                FetchError::Mfa(format!(
                    "cannot load the credentials of source_profile {source}: {e}"
                ))
            })?,
        None => {
            return Err(FetchError::Mfa(format!(
                "profile {} has mfa_serial but no source_profile",
                mfa.profile
            )))
        }
    };
    let session = assume_role(
        config,
        base,
        &mfa.role_arn,
        mfa.role_session_name.as_deref(),
        Some((&mfa.mfa_serial, &code)),
        mfa.duration_seconds,
        mfa.external_id.as_deref(),
    )
    .await
    .map_err(|e| FetchError::Mfa(e.to_string()))?;
    let kept = Session {
        version: 1,
        profile: mfa.profile.clone(),
        access_key_id: session.access_key_id().to_string(),
        secret_access_key: Secret::new(session.secret_access_key()),
        session_token: Secret::new(session.session_token().unwrap_or_default()),
        expires_at: session
            .expiry()
            .map(secs)
            .unwrap_or_else(|| secs(SystemTime::now() + Duration::from_secs(3600))),
    };
    save_session(mfa, &kept, cache_dir);
    crate::info!(
        "MFA session for profile {} valid until {}",
        mfa.profile,
        kept.expires_at
    );
    Ok((session, kept))
}
