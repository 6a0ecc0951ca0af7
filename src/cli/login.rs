//! `login --profile P [--force]`: the MFA prompt, on demand, for a profile
//! that assumes a role with `mfa_serial`; the session is kept for later gets.

use std::io::Write;
use std::time::{Duration, SystemTime};

use crate::aws::SdkTokenSource;
use crate::env;
use crate::error::Result;
use crate::identity::Identity;
use crate::profile::ProfileSet;
use crate::settings::Settings;
use crate::time::{human, secs};

/// Prompts for `profile`'s MFA code (unless a kept session is valid and not
/// `force`) and reports how long the session lasts.
pub fn run(profile: &str, force: bool, settings: &Settings, stdout: &mut dyn Write) -> Result<()> {
    // The profile named on the command line, whatever credentials the
    // environment holds (AWS_ACCESS_KEY_ID would otherwise win).
    let identity = Identity::resolve_with(&ProfileSet::load(settings), &|name| match name {
        env::AWS_PROFILE => Some(profile.to_string()),
        env::AWS_ACCESS_KEY_ID
        | env::AWS_SECRET_ACCESS_KEY
        | env::AWS_SESSION_TOKEN
        | env::AWS_VAULT => None,
        _ => settings.lookup(name),
    })?;
    let Some(mfa) = identity.mfa.clone() else {
        return super::write_out(
            stdout,
            &format!("profile {profile} does not use MFA (no mfa_serial); nothing to do\n"),
        );
    };
    let session = SdkTokenSource::new(settings).mfa_session(&mfa, force)?;
    let left = Duration::from_secs(session.expires_at.saturating_sub(secs(SystemTime::now())));
    super::write_out(
        stdout,
        &format!(
            "MFA session for profile {profile} is valid for {}\n",
            human(left)
        ),
    )
}
