//! The kubelet front end: one `CredentialProviderRequest` on stdin, one
//! response on stdout; a failure is one line on stderr and nothing on stdout.
//! The protocol itself is [`crate::kubelet`].

use std::io::{Read, Write};
use std::time::SystemTime;

use super::app::App;
use super::ExitCode;
use crate::core::source::WebIdentity;
use crate::env;
use crate::error::{Error, Result};
use crate::kubelet::{self, KubeletError, PullAs};

/// Answers one request.
pub fn run(app: &App, stdin: impl Read, stdout: &mut dyn Write) -> ExitCode {
    match answer(app, stdin).and_then(|text| super::write_out(stdout, &text)) {
        Ok(()) => ExitCode::Success,
        Err(e) => {
            crate::error!("{e}");
            ExitCode::Failure
        }
    }
}

fn answer(app: &App, stdin: impl Read) -> Result<String> {
    let settings = app.settings();
    let mut bytes = Vec::new();
    stdin
        .take(kubelet::MAX_REQUEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read the kubelet request from stdin", e))?;
    if bytes.len() as u64 > kubelet::MAX_REQUEST {
        return Err(KubeletError::Request(format!(
            "larger than {} KiB",
            kubelet::MAX_REQUEST / 1024
        ))
        .into());
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| KubeletError::Request("stdin is not valid UTF-8".into()))?;
    let (config, config_path) = crate::core::resolve::config(settings)?;
    let request = kubelet::parse_request_with(&text, &config)?;
    let helper = app.helper();
    let env_role = settings.var(env::ECR_ROLE_ARN);
    let login = match kubelet::pull_as(&request, env_role)? {
        PullAs::Role { role_arn, token } => {
            let pod = WebIdentity {
                role_arn: role_arn.clone(),
                token,
                session_name: settings
                    .lookup(env::AWS_ROLE_SESSION_NAME)
                    .unwrap_or_else(|| kubelet::DEFAULT_SESSION_NAME.to_string()),
                region: request.registry.api_region().to_string(),
            };
            helper.login_with_web_identity(&request.registry, &pod, || {
                kubelet::role_identity(&role_arn, &|name| settings.lookup(name))
                    .map_err(Error::from)
            })?
        }
        PullAs::Ambient => {
            if request.service_account_token.is_none() && env_role.is_some() {
                crate::info!(
                    "no service-account token in the request: pulling with the node's credentials, not {}",
                    env::ECR_ROLE_ARN
                );
            }
            let resolved = crate::core::resolve::resolve_registry(
                request.registry.clone(),
                &config,
                config_path.as_deref(),
                settings,
            )?;
            helper.login(&resolved.registry, &resolved.identity)?
        }
    };
    Ok(kubelet::response(&request, &login, SystemTime::now()).to_json()?)
}
