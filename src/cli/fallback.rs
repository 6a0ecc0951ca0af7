//! The fallback store: with `"credsStore": "ecr-login"`, Docker asks this
//! helper about every registry, ECR or not. For a registry that is not ECR
//! (nor an alias of one), `get`, `store` and `erase` are passed to another
//! credential helper, `docker-credential-NAME`, byte for byte: our stdin is
//! its stdin, its stdout and exit code are ours, its stderr goes straight to
//! ours. `list` adds its answer to ours.
//!
//! NAME comes from `AWS_ECR_FALLBACK_HELPER`, else from `fallback = "NAME"`
//! in `~/.ecr/config.toml` (the environment wins, as it does over the map's
//! profiles). It must match `[a-z0-9-]+` and is looked up in the absolute
//! directories of `PATH`, then run directly (no shell).
//!
//! What never reaches it: an ECR registry or an alias of one (those are
//! answered here, whatever the action), any token of ours, and the `AWS_*`
//! environment variables (removed from its environment, so it sees no AWS
//! key, session token or profile). It gets the action as its only argument.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::env;
use crate::error::{Error, Result};
use crate::regmap::{check_helper_name, MapFile};
use crate::settings::Settings;

/// A configured fallback helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// The helper's name (`desktop`).
    pub name: String,
    /// Where it was configured, for messages.
    pub origin: String,
}

/// What the fallback answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Its stdout, byte for byte.
    pub stdout: Vec<u8>,
    /// Its exit code (1 when it was killed by a signal).
    pub code: u8,
}

impl Fallback {
    /// `docker-credential-NAME`.
    pub fn program(&self) -> String {
        format!("docker-credential-{}", self.name)
    }

    /// Runs `docker-credential-NAME ACTION` with `input` on its stdin.
    pub fn call(&self, action: &str, input: &[u8], settings: &Settings) -> Result<Answer> {
        let path = self.locate(settings)?;
        crate::debug!("passing {action} to {}", path.display());
        let mut cmd = Command::new(&path);
        cmd.arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for name in settings.aws_var_names() {
            cmd.env_remove(name);
        }
        let mut child = cmd.spawn().map_err(|e| {
            Error::Fallback(format!(
                "cannot run the fallback helper {} ({}): {e}",
                path.display(),
                self.origin
            ))
        })?;
        let mut stdin = child.stdin.take();
        // Write from another thread: a helper that answers before it has
        // read everything must not block us both.
        let output = std::thread::scope(|scope| {
            scope.spawn(move || {
                if let Some(stdin) = stdin.as_mut() {
                    // A helper that does not read its stdin is not an error.
                    let _ = stdin.write_all(input);
                }
            });
            child.wait_with_output()
        })
        .map_err(|e| {
            Error::Fallback(format!(
                "the fallback helper {} failed: {e}",
                self.program()
            ))
        })?;
        let code = output
            .status
            .code()
            .map_or(1, |c| u8::try_from(c).unwrap_or(1));
        Ok(Answer {
            stdout: output.stdout,
            code,
        })
    }

    fn locate(&self, settings: &Settings) -> Result<PathBuf> {
        crate::configure::find_on_path(&self.program(), settings.path_var()).ok_or_else(|| {
            Error::Fallback(format!(
                "the fallback helper {} ({}) is not in any PATH directory: install it, or change the fallback",
                self.program(),
                self.origin
            ))
        })
    }
}

/// The configured fallback, if any: `AWS_ECR_FALLBACK_HELPER`, else the
/// config file's `fallback`. A bad name in the environment is an error.
pub fn configured(settings: &Settings, config: &MapFile) -> Result<Option<Fallback>> {
    if let Some(name) = settings.var(env::FALLBACK_HELPER) {
        let name = name.trim();
        check_helper_name(name)
            .map_err(|e| Error::Fallback(format!("{}: {e}", env::FALLBACK_HELPER)))?;
        return Ok(Some(Fallback {
            name: name.to_string(),
            origin: env::FALLBACK_HELPER.to_string(),
        }));
    }
    let origin = match settings.map_file() {
        Some(path) => format!("fallback in {}", path.display()),
        None => "fallback in the config file".to_string(),
    };
    Ok(config.fallback.as_ref().map(|name| Fallback {
        name: name.clone(),
        origin,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::for_tests as settings;

    #[test]
    fn the_environment_wins_and_bad_names_are_refused() {
        let file = MapFile {
            fallback: Some("pass".into()),
            ..MapFile::default()
        };
        let name = |s: &Settings, f: &MapFile| configured(s, f).unwrap().map(|f| f.name);
        assert_eq!(name(&settings(&[]), &file).as_deref(), Some("pass"));
        assert_eq!(name(&settings(&[]), &MapFile::default()), None);
        let env = settings(&[(env::FALLBACK_HELPER, "desktop")]);
        assert_eq!(name(&env, &file).as_deref(), Some("desktop"));
        assert_eq!(
            configured(&env, &file).unwrap().unwrap().program(),
            "docker-credential-desktop"
        );
        for bad in ["../../bin/sh", "desk top", "ecr-login", "a;b"] {
            let e = configured(&settings(&[(env::FALLBACK_HELPER, bad)]), &file)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(env::FALLBACK_HELPER), "{bad}: {e}");
        }
    }

    #[test]
    fn a_missing_program_is_a_clear_error() {
        let f = Fallback {
            name: "nowhere-to-be-found".into(),
            origin: "test".into(),
        };
        let e = f.call("get", b"ghcr.io", &settings(&[])).unwrap_err();
        assert!(
            e.to_string()
                .contains("docker-credential-nowhere-to-be-found (test) is not in any PATH"),
            "{e}"
        );
    }
}
