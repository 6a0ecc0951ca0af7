//! `get-login-password HOST` and `authorization-token HOST`: a registry's
//! password (for `docker login --password-stdin`) or its base64
//! `user:password` (for `Authorization: Basic`), through the same resolution
//! and cache as `get`.

use std::io::Write;

use crate::aws::SdkTokenSource;
use crate::error::Result;
use crate::helper::Helper;
use crate::settings::Settings;

/// Prints `host`'s password, or with `basic_auth` its base64 token, and a newline.
pub fn print(
    host: &str,
    basic_auth: bool,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> Result<()> {
    let helper = Helper::from_settings(SdkTokenSource::new(settings), settings);
    let (file, path) = crate::resolve::config(settings)?;
    let login = helper.login_to(&crate::resolve::resolve(
        host,
        &file,
        path.as_deref(),
        settings,
    )?)?;
    let secret = if basic_auth {
        login.basic_auth()
    } else {
        login.password
    };
    super::write_out(stdout, &format!("{}\n", secret.expose()))
}
