//! `get-login-password HOST` and `authorization-token HOST`: a registry's
//! password (for `docker login --password-stdin`) or its base64
//! `user:password` (for `Authorization: Basic`), through the same resolution
//! and cache as `get`.

use std::io::Write;

use super::app::App;
use crate::error::Result;

/// Prints `host`'s password, or with `basic_auth` its base64 token, and a newline.
pub fn print(host: &str, basic_auth: bool, app: &App, stdout: &mut dyn Write) -> Result<()> {
    let settings = app.settings();
    let helper = app.helper();
    let (file, path) = crate::core::resolve::config(settings)?;
    let resolved = crate::core::resolve::resolve(host, &file, path.as_deref(), settings)?;
    let login = helper.login(&resolved.registry, &resolved.identity)?;
    let secret = if basic_auth {
        login.basic_auth()
    } else {
        login.password
    };
    super::write_out(stdout, &format!("{}\n", secret.expose()))
}
