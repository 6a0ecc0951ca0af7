//! Who is asking: an identity fingerprint computed from local configuration
//! only (environment variables and the shared AWS files), so that a cache hit
//! needs neither the SDK nor the network.
//!
//! The rule (also in the README): the fingerprint is the SHA-256 of the
//! credential source the AWS SDK's default chain would pick, described by what
//! stays the same while its credentials rotate:
//!
//! | source | described by |
//! |---|---|
//! | `AWS_ACCESS_KEY_ID` in the environment | the access key id (with aws-vault, `AWS_VAULT`'s profile instead) |
//! | profile with static keys | profile name + access key id |
//! | profile with `role_arn` | profile name + role ARN, external id, MFA serial + its source, recursively |
//! | profile with SSO | profile name + start URL, account id, role name |
//! | profile with `login_session` (`aws login`) | profile name + the session ARN |
//! | profile with `credential_process` | profile name + the command line |
//! | web identity (env or profile) | role ARN + token file path |
//! | ECS / EKS pod identity | the container credentials URI + a hash of the authorization token (the token file's content) |
//! | EC2 instance metadata | the metadata endpoint + the machine id |
//!
//! plus the ECR endpoint overrides. Secrets (secret keys, session tokens) are
//! never part of it, and the input is hashed, so the fingerprint reveals nothing.
//!
//! EKS Pod Identity gives every pod the same URI and token-file path, so the
//! token tells pods apart: its SHA-256 is part of the description (a miss
//! once per rotation, as for temporary keys in the environment). The files
//! read here (the token files) are opened without blocking: a FIFO there is
//! an error, not a `get` stalled past its deadline inside the SDK's read.

use sha2::{Digest, Sha256};

use crate::core::profile::{ProfileSet, Section};
use crate::env;
use crate::settings::Settings;
use crate::support::secret::SessionCredentials;

mod sign_in;
use sign_in::FoundSignIn;
pub use sign_in::{LoginSession, SsoProfile};

/// Where credentials will come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` in the environment.
    Environment,
    /// A profile of the shared config files.
    Profile,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`.
    WebIdentity,
    /// The ECS / EKS container credentials endpoint.
    Container,
    /// The EC2 instance metadata service.
    InstanceMetadata,
    /// Nothing: no credentials can be found.
    None,
}

/// The identity a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Hex SHA-256 of the canonical description (see the module docs).
    pub fingerprint: String,
    /// A human description, without secrets, for `cache show` and `doctor`.
    pub label: String,
    /// The kind of credential source.
    pub source: SourceKind,
    /// The profile the SDK will use, when one is selected explicitly.
    pub profile: Option<String>,
    /// The selected profile assumes a role with MFA (`mfa_serial`).
    pub mfa: Option<MfaProfile>,
    /// A role to assume on top of the credentials (from the registry map).
    pub assume_role: Option<String>,
    /// Credentials already obtained for this identity (a pod's role, after
    /// STS accepted the pod's token): used instead of the credential chain.
    pub session: Option<SessionCredentials>,
    /// The profile chain signs in through IAM Identity Center (SSO).
    pub sso: Option<SsoProfile>,
    /// The profile chain uses an `aws login` session.
    pub login_session: Option<LoginSession>,
}

/// A profile that assumes a role with an MFA code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaProfile {
    /// The profile's name.
    pub profile: String,
    /// The role to assume.
    pub role_arn: String,
    /// The MFA device's serial number or ARN.
    pub mfa_serial: String,
    /// The profile whose credentials call AssumeRole (None: the profile's own keys).
    pub source_profile: Option<String>,
    /// `duration_seconds` of the profile (default 3600).
    pub duration_seconds: Option<i32>,
    /// `role_session_name` of the profile.
    pub role_session_name: Option<String>,
    /// `external_id` of the profile.
    pub external_id: Option<String>,
    /// Hex SHA-256 of the profile's description (role, serial, and the
    /// source profile's, recursively: its access key id, its SSO
    /// settings...): what a kept session was made from. A session made from
    /// other source credentials is not used.
    pub made_from: String,
}

impl MfaProfile {
    fn from_section(name: &str, s: &Section, parts: &[String]) -> Option<MfaProfile> {
        Some(MfaProfile {
            profile: name.to_string(),
            role_arn: s.get("role_arn")?.clone(),
            mfa_serial: s.get("mfa_serial")?.clone(),
            source_profile: s
                .get("source_profile")
                .filter(|p| p.as_str() != name)
                .cloned(),
            duration_seconds: s.get("duration_seconds").and_then(|d| d.parse().ok()),
            role_session_name: s.get("role_session_name").cloned(),
            external_id: s.get("external_id").cloned(),
            made_from: hash_parts(parts),
        })
    }
}

impl Identity {
    /// Resolves the identity of the current process from its settings and
    /// the shared AWS files.
    pub fn resolve(settings: &Settings) -> Result<Identity, IdentityError> {
        Self::resolve_with(&ProfileSet::load(settings), &|name| settings.lookup(name))
    }

    /// Resolves the identity from the given profiles and environment.
    pub fn resolve_with(
        profiles: &ProfileSet,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Identity, IdentityError> {
        if let Some(problem) = profiles.unusable().first() {
            return Err(IdentityError::UnreadableFile(problem.clone()));
        }
        let mut parts: Vec<String> = Vec::new();
        let explicit_profile = var(env::AWS_PROFILE);
        let mut mfa = None;
        let mut sign_in = FoundSignIn::default();
        let (source, label) = if let (Some(akid), Some(_)) =
            (var(env::AWS_ACCESS_KEY_ID), var(env::AWS_SECRET_ACCESS_KEY))
        {
            match var(env::AWS_VAULT) {
                Some(vault) if var(env::AWS_SESSION_TOKEN).is_some() => {
                    parts.push(format!("aws-vault={vault}"));
                    if let Some(section) = profiles.profile(&vault) {
                        describe_profile(
                            profiles,
                            &vault,
                            section,
                            &mut parts,
                            &mut FoundSignIn::default(),
                            0,
                        )?;
                    }
                    (
                        SourceKind::Environment,
                        format!("aws-vault profile {vault}"),
                    )
                }
                _ => {
                    parts.push(format!("env-access-key={akid}"));
                    (
                        SourceKind::Environment,
                        "access keys from the environment".to_string(),
                    )
                }
            }
        } else if let Some(section) = profiles
            .profile(explicit_profile.as_deref().unwrap_or("default"))
            .filter(|s| has_credential_source(s))
        {
            let name = explicit_profile.clone().unwrap_or_else(|| "default".into());
            let how = describe_profile(profiles, &name, section, &mut parts, &mut sign_in, 0)?;
            mfa = MfaProfile::from_section(&name, section, &parts);
            (SourceKind::Profile, format!("profile {name} ({how})"))
        } else if let Some(name) = &explicit_profile {
            return Err(IdentityError::ProfileNotFound {
                name: name.clone(),
                from: env::AWS_PROFILE.to_string(),
            });
        } else if let (Some(token_file), Some(role)) = (
            var(env::AWS_WEB_IDENTITY_TOKEN_FILE),
            var(env::AWS_ROLE_ARN),
        ) {
            check_token_file(&token_file, env::AWS_WEB_IDENTITY_TOKEN_FILE)?;
            parts.push(format!("web-identity={role} token-file={token_file}"));
            (
                SourceKind::WebIdentity,
                format!("web identity for role {role}"),
            )
        } else if let Some(uri) = var(env::AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)
            .or_else(|| var(env::AWS_CONTAINER_CREDENTIALS_FULL_URI))
        {
            parts.push(format!("container={uri}"));
            if let Some(token) = container_token(var)? {
                parts.push(token);
            }
            (
                SourceKind::Container,
                "ECS/EKS container credentials".to_string(),
            )
        } else if crate::core::imds::allowed(var) {
            let endpoint = var(env::AWS_EC2_METADATA_SERVICE_ENDPOINT).unwrap_or_default();
            parts.push(format!(
                "imds={endpoint} machine={}",
                crate::core::imds::machine_id()
            ));
            (
                SourceKind::InstanceMetadata,
                "EC2 instance metadata".to_string(),
            )
        } else {
            (SourceKind::None, "no credentials".to_string())
        };
        for name in [
            env::AWS_ENDPOINT_URL,
            env::AWS_ENDPOINT_URL_ECR,
            env::AWS_ENDPOINT_URL_ECR_PUBLIC,
        ] {
            if let Some(v) = var(name) {
                parts.push(format!("{name}={v}"));
            }
        }
        let fingerprint = hash_parts(&parts);
        Ok(Identity {
            fingerprint,
            label,
            source,
            profile: explicit_profile,
            mfa,
            assume_role: None,
            session: None,
            sso: sign_in.sso,
            login_session: sign_in.login,
        })
    }

    /// The identity of assuming `role_arn` with this identity's credentials.
    pub fn with_assumed_role(mut self, role_arn: &str) -> Identity {
        let mut hasher = Sha256::new();
        hasher.update(self.fingerprint.as_bytes());
        hasher.update(b"\nassume-role=");
        hasher.update(role_arn.as_bytes());
        self.fingerprint = crate::support::hex(&hasher.finalize());
        self.label = format!("role {role_arn} assumed with {}", self.label);
        self.assume_role = Some(role_arn.to_string());
        self
    }

    /// This identity, with credentials already obtained for it.
    pub fn with_session(mut self, session: SessionCredentials) -> Identity {
        self.session = Some(session);
        self
    }

    /// An identity of environment keys with this fingerprint, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(fingerprint: String) -> Identity {
        Identity {
            fingerprint,
            label: "test".into(),
            source: SourceKind::Environment,
            profile: None,
            mfa: None,
            assume_role: None,
            session: None,
            sso: None,
            login_session: None,
        }
    }

    /// A short form of the fingerprint for directory names and messages.
    pub fn short(&self) -> &str {
        &self.fingerprint[..16]
    }
}

impl IdentityError {
    /// The same error, saying that `from` named the profile (for callers that
    /// put their own profile in the place of `AWS_PROFILE`).
    pub fn profile_named_by(self, from: impl Into<String>) -> IdentityError {
        match self {
            IdentityError::ProfileNotFound { name, .. } => IdentityError::ProfileNotFound {
                name,
                from: from.into(),
            },
            other => other,
        }
    }
}

/// Errors found in the local configuration before any network call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A profile (named by `from`: `AWS_PROFILE`, a map rule, the command
    /// line) that neither file defines with credentials.
    #[error("AWS profile {name:?} (from {from}) is not defined with credentials in ~/.aws/config or ~/.aws/credentials: check the name, or run `aws configure --profile {name}`")]
    ProfileNotFound {
        /// The profile.
        name: String,
        /// Who named it.
        from: String,
    },
    /// `source_profile` chains loop or are too deep.
    #[error("AWS profile {0:?}: source_profile chain loops or is deeper than 8 profiles")]
    ProfileLoop(String),
    /// A file the credentials come from cannot be read safely (a FIFO, a
    /// device): the SDK's blocking read would stall past the deadline.
    #[error("{0}")]
    UnreadableFile(String),
    /// `source_profile` names a missing profile.
    #[error(
        "AWS profile {profile:?} has source_profile = {source_profile:?}, which is not defined"
    )]
    MissingSourceProfile {
        /// The profile that refers.
        profile: String,
        /// The missing profile.
        source_profile: String,
    },
}

/// Hex SHA-256 of the lines of a description.
fn hash_parts(parts: &[String]) -> String {
    let mut hasher = Sha256::new();
    for p in parts {
        hasher.update(p.as_bytes());
        hasher.update(b"\n");
    }
    crate::support::hex(&hasher.finalize())
}

/// The most a token file is read (a Kubernetes token is 1-2 KiB).
const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// Refuses a web-identity token file that is there but is not a regular file
/// (a FIFO would block the SDK's read past the deadline). A missing or
/// unreadable one is left to the SDK, which says so.
fn check_token_file(path: &str, origin: &str) -> Result<(), IdentityError> {
    match crate::support::safe_fs::open_regular(std::path::Path::new(path)) {
        Err(e) if crate::support::safe_fs::untrusted(&e).is_some() => {
            Err(IdentityError::UnreadableFile(format!(
                "{path} ({origin}) is {}; make it a regular file",
                crate::support::safe_fs::why_unreadable(&e)
            )))
        }
        _ => Ok(()),
    }
}

/// `token-sha256=<hex>` of the container credentials' authorization token:
/// the content of `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (which the SDK
/// prefers), else `AWS_CONTAINER_AUTHORIZATION_TOKEN`; `None` without one.
fn container_token(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, IdentityError> {
    let token = match var(env::AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) {
        Some(path) => {
            crate::support::safe_fs::read_regular(std::path::Path::new(&path), MAX_TOKEN_FILE)
                .map_err(|e| {
                    IdentityError::UnreadableFile(format!(
                        "cannot read the container authorization token {path} ({}): {}",
                        env::AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
                        crate::support::safe_fs::why_unreadable(&e)
                    ))
                })?
        }
        None => match var(env::AWS_CONTAINER_AUTHORIZATION_TOKEN) {
            Some(token) => token.into_bytes(),
            None => return Ok(None),
        },
    };
    Ok(Some(format!(
        "token-sha256={}",
        crate::support::hex(&Sha256::digest(&token))
    )))
}

const CREDENTIAL_KEYS: &[&str] = &[
    "aws_access_key_id",
    "role_arn",
    "sso_start_url",
    "sso_session",
    "credential_process",
    "login_session",
    "web_identity_token_file",
    "credential_source",
];

fn has_credential_source(section: &Section) -> bool {
    CREDENTIAL_KEYS.iter().any(|k| section.contains_key(*k))
}

/// Appends the stable description of profile `name` to `parts`; returns a
/// human summary.
fn describe_profile(
    profiles: &ProfileSet,
    name: &str,
    s: &Section,
    parts: &mut Vec<String>,
    sign_in: &mut FoundSignIn,
    depth: usize,
) -> Result<String, IdentityError> {
    if depth > 8 {
        return Err(IdentityError::ProfileLoop(name.to_string()));
    }
    parts.push(format!("profile={name}"));
    let get = |k: &str| s.get(k).map(String::as_str).unwrap_or_default();
    if let Some(role) = s.get("role_arn") {
        parts.push(format!(
            "role={role} external-id={} mfa={}",
            get("external_id"),
            get("mfa_serial")
        ));
        if let Some(token_file) = s.get("web_identity_token_file") {
            check_token_file(token_file, "web_identity_token_file")?;
            parts.push(format!("web-identity-token-file={token_file}"));
            return Ok(format!("web identity for role {role}"));
        }
        if let Some(src) = s.get("credential_source") {
            parts.push(format!("credential-source={src}"));
            return Ok(format!("role {role} from {src}"));
        }
        let source_name = get("source_profile");
        if source_name.is_empty() {
            return Ok(format!("role {role}"));
        }
        let source =
            profiles
                .profile(source_name)
                .ok_or_else(|| IdentityError::MissingSourceProfile {
                    profile: name.to_string(),
                    source_profile: source_name.to_string(),
                })?;
        if source_name == name {
            // A profile may hold both the role and the keys that assume it.
            if let Some(akid) = s.get("aws_access_key_id") {
                parts.push(format!("access-key={akid}"));
            }
            return Ok(format!("role {role} via its own keys"));
        }
        let how = describe_profile(profiles, source_name, source, parts, sign_in, depth + 1)?;
        return Ok(format!("role {role} via profile {source_name} ({how})"));
    }
    if let Some(arn) = s.get("login_session") {
        // Before static keys, as the SDK orders them.
        parts.push(format!("login-session={arn}"));
        sign_in.login = Some(LoginSession {
            profile: name.to_string(),
            session_arn: arn.clone(),
        });
        return Ok(format!("aws login session {arn}"));
    }
    if let Some(akid) = s.get("aws_access_key_id") {
        parts.push(format!("access-key={akid}"));
        return Ok("static keys".into());
    }
    if s.contains_key("sso_start_url") || s.contains_key("sso_session") {
        let sso = SsoProfile::from_section(profiles, name, s);
        parts.push(format!(
            "sso={} account={} role={}",
            sso.start_url, sso.account_id, sso.role_name
        ));
        let how = format!("SSO account {} role {}", sso.account_id, sso.role_name);
        sign_in.sso = Some(sso);
        return Ok(how);
    }
    if let Some(cmd) = s.get("credential_process") {
        parts.push(format!("process={cmd}"));
        return Ok("credential_process".into());
    }
    Ok("no credential settings".into())
}

#[cfg(test)]
mod tests;
