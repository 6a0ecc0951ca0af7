//! MFA for assume-role profiles (`role_arn` + `mfa_serial`), which the AWS SDK
//! for Rust does not support: prompt for the code on the controlling terminal
//! (Docker owns stdin and stdout), call STS AssumeRole with the serial and the
//! code, and keep the temporary credentials (0600, for their lifetime, keyed
//! by the profile's description so another profile never sees them, and
//! recording what they were made from: a session made with the source
//! profile's old keys is not used once those keys change), so the prompt
//! comes once per session, not once per pull.
//!
//! Sessions live in the cache tree (`<cache dir>/mfa/<key>.json`) under its
//! trust rules ([`crate::support::safe_fs`]): a session another user could have
//! planted is ignored. One process at a time prompts for a profile
//! (`mfa/<key>.lock`); the others wait for its session instead of prompting
//! on the same terminal, and the prompt, like the wait, ends with the
//! deadline of the `get` that asked for it (`AWS_ECR_TIMEOUT`).

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sts::assume_role;
use crate::core::cache::{Cache, CacheError, MFA_DIR};
use crate::core::identity::MfaProfile;
use crate::core::source::{FetchError, Stage};
use crate::support::secret::Secret;
use crate::support::time::secs;

/// Sessions with less than this left are renewed.
const MIN_VALIDITY: Duration = Duration::from_secs(5 * 60);
/// STS sessions last at most 12 hours; a kept one claiming more is not used.
const MAX_VALIDITY: Duration = Duration::from_secs(12 * 3600 + 15 * 60);
/// How long `login` waits for another process prompting for the same profile
/// (a `get` waits until its own deadline).
const MAX_PROMPT_WAIT: Duration = Duration::from_secs(10 * 60);

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
    #[serde(serialize_with = "Secret::serialize_exposed")]
    pub secret_access_key: Secret,
    /// Session token.
    #[serde(serialize_with = "Secret::serialize_exposed")]
    pub session_token: Secret,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
    /// What it was made from ([`MfaProfile::made_from`]: the profile and its
    /// source credentials, described without secrets and hashed). Empty in
    /// sessions kept before it was recorded, which are then not used.
    #[serde(default)]
    pub made_from: String,
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
    crate::support::hex(&h.finalize()[..16])
}

/// The kept session of `mfa`, if it is trusted and still valid.
pub fn load_session(mfa: &MfaProfile, cache: Option<&Cache>) -> Option<Session> {
    load_from(cache?, mfa)
}

fn load_from(cache: &Cache, mfa: &MfaProfile) -> Option<Session> {
    let bytes = cache.read_private(&[MFA_DIR], &format!("{}.json", key(mfa)))?;
    let session: Session = serde_json::from_slice(&bytes).ok()?;
    let plausible = session.expires_at <= secs(SystemTime::now() + MAX_VALIDITY);
    if session.made_from != mfa.made_from {
        crate::debug!(
            "the kept MFA session of profile {} was made from other source credentials; not using it",
            mfa.profile
        );
        return None;
    }
    (session.version == 1 && session.profile == mfa.profile && session.is_valid() && plausible)
        .then_some(session)
}

/// The right to prompt for one profile's code; released on drop.
struct PromptLock {
    _file: std::fs::File,
}

/// Takes the prompt lock of `mfa`, waiting (asynchronously, so that the
/// caller's deadline can end the wait) for another process prompting for the
/// same profile. `None`: no lock can be had here (the cache is unusable; the
/// reason was reported), so prompt without one and keep nothing.
async fn lock_prompt(cache: &Cache, mfa: &MfaProfile) -> Result<Option<PromptLock>, FetchError> {
    let (file, dir) = match cache.open_lock_file(&[MFA_DIR], &format!("{}.lock", key(mfa))) {
        Ok(opened) => opened,
        Err(e @ CacheError::Untrusted(_)) => {
            crate::debug!("{e}; the MFA session will not be kept");
            return Ok(None);
        }
        Err(e) => {
            crate::warn!("{e}; the MFA session will not be kept");
            return Ok(None);
        }
    };
    let start = Instant::now();
    let mut announced = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(PromptLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                crate::warn!("cannot lock {}: {e}", dir.display());
                return Ok(None);
            }
        }
        if start.elapsed() >= MAX_PROMPT_WAIT {
            return Err(FetchError::Mfa(format!(
                "waited {} for another docker-credential-ecr-login asking for the MFA code of profile {}",
                crate::support::time::human(start.elapsed()),
                mfa.profile
            )));
        }
        if !announced {
            crate::info!(
                "another docker-credential-ecr-login is asking for the MFA code of profile {}; waiting for its session",
                mfa.profile
            );
            announced = true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Keeps `session`; holding the prompt lock of its profile.
fn save_session(cache: &Cache, _lock: &PromptLock, mfa: &MfaProfile, session: &Session) {
    let result = serde_json::to_vec(session)
        .map_err(|e| CacheError::Write {
            path: cache.dir().join(MFA_DIR),
            source: std::io::Error::other(e),
        })
        .and_then(|body| cache.write_private(&[MFA_DIR], &format!("{}.json", key(mfa)), &body));
    match result {
        Ok(()) => {}
        Err(e @ CacheError::Untrusted(_)) => crate::debug!("{e}"),
        Err(e) => crate::warn!("{e}; the MFA session was not kept, you will be asked again"),
    }
}

/// [`prompt_code`] on a thread of its own, so that the caller's deadline
/// (a timeout around this future) ends the wait for the user even though
/// reading a terminal blocks.
async fn prompt_code_until_deadline(mfa: &MfaProfile) -> Result<String, FetchError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let profile = mfa.clone();
    std::thread::Builder::new()
        .name("mfa-prompt".into())
        .spawn(move || {
            let _ = tx.send(prompt_code(&profile));
        })
        .map_err(|e| FetchError::Mfa(format!("cannot prompt for the MFA code: {e}")))?;
    loop {
        match rx.try_recv() {
            Ok(answer) => return answer,
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                return Err(FetchError::Mfa("the MFA prompt failed".into()))
            }
        }
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
/// `force` always prompts. `waiting` is told what the time goes on (another
/// process's prompt, the user typing the code; `None` once the code is in),
/// so that a deadline met meanwhile blames the prompt, not AWS.
pub async fn credentials(
    config: &aws_config::SdkConfig,
    provider_config: &aws_config::provider_config::ProviderConfig,
    mfa: &MfaProfile,
    force: bool,
    cache: Option<&Cache>,
    waiting: &dyn Fn(Option<Stage>),
) -> Result<(Credentials, Session), FetchError> {
    if !force {
        if let Some(session) = cache.and_then(|c| load_from(c, mfa)) {
            crate::debug!("using the kept MFA session of profile {}", mfa.profile);
            return Ok((session.credentials(), session));
        }
    }
    // One prompt per profile at a time: wait for another process's prompt,
    // then use the session it kept.
    waiting(Some(Stage::MfaPrompt(mfa.profile.clone())));
    let lock = match cache {
        Some(c) => lock_prompt(c, mfa).await?,
        None => None,
    };
    waiting(None);
    if !force && lock.is_some() {
        if let Some(session) = cache.and_then(|c| load_from(c, mfa)) {
            crate::info!(
                "using the MFA session of profile {} that another process just made",
                mfa.profile
            );
            return Ok((session.credentials(), session));
        }
    }
    waiting(Some(Stage::MfaCode(mfa.profile.clone())));
    let code = prompt_code_until_deadline(mfa).await?;
    waiting(None);
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
        made_from: mfa.made_from.clone(),
    };
    if let (Some(cache), Some(lock)) = (cache, &lock) {
        save_session(cache, lock, mfa, &kept);
    }
    crate::info!(
        "MFA session for profile {} valid until {}",
        mfa.profile,
        crate::support::time::at(kept.expires_at).map_or_else(
            || kept.expires_at.to_string(),
            crate::support::time::rfc3339
        )
    );
    Ok((session, kept))
}
