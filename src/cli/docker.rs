//! The Docker credential-helper protocol front end: wires
//! [`crate::protocol`] (the byte-exact protocol) to the helper.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use super::args::Action;
use super::protocol::{self, Credentials};
use super::ExitCode;
use crate::aws::SdkTokenSource;
use crate::error::{Error, Result};
use crate::helper::Helper;
use crate::identity::Identity;
use crate::secret::Secret;
use crate::settings::Settings;

/// Runs one protocol action: the answer on stdout, the cause on stderr.
pub fn run(
    action: Action,
    settings: &Settings,
    stdin: impl Read,
    stdout: &mut dyn Write,
) -> ExitCode {
    let backend = Backend {
        helper: Helper::from_settings(SdkTokenSource::new(settings), settings),
        settings,
    };
    let outcome = protocol::handle(&backend, action.name(), stdin);
    if let Some(e) = &outcome.diagnostic {
        match e {
            Error::NotEcr(_) => crate::info!("{e}"),
            _ => crate::error!("{e}"),
        }
    }
    if let Err(e) = super::write_out(stdout, &outcome.stdout) {
        crate::error!("{e}");
        return ExitCode::Failure;
    }
    if outcome.success {
        ExitCode::Success
    } else {
        ExitCode::Failure
    }
}

/// The protocol's back end: resolve, then log in.
struct Backend<'a> {
    helper: Helper<SdkTokenSource>,
    settings: &'a Settings,
}

impl Credentials for Backend<'_> {
    fn get(&self, server_url: &str) -> Result<(String, Secret)> {
        let login = self.helper.login_to(server_url, self.settings)?;
        Ok((login.username, login.password))
    }

    fn list(&self) -> Result<BTreeMap<String, String>> {
        let identity = Identity::resolve(self.settings)?;
        Ok(self
            .helper
            .known_registries(&identity)
            .into_iter()
            .map(|host| (format!("https://{host}"), "AWS".to_string()))
            .collect())
    }

    fn ignore_storage(&self) -> bool {
        self.settings.flag(crate::env::IGNORE_CREDS_STORAGE)
    }
}
