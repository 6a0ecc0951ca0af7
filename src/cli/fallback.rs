//! The fallback store: with `"credsStore": "ecr-login"`, Docker asks this
//! helper about every registry, ECR or not. For a registry that is not ECR
//! (nor an alias of one), `get`, `store` and `erase` are passed to another
//! credential helper, `docker-credential-NAME`, byte for byte: our stdin is
//! its stdin, its stdout and exit code are ours, its stderr goes straight to
//! ours. `list` adds its answer to ours.
//!
//! NAME comes from `AWS_ECR_FALLBACK_HELPER`, else from `fallback = "NAME"`
//! in `~/.ecr/config.toml` (the environment wins, as it does over the map's
//! profiles). It must match `[a-z0-9-]+`, optionally ending in `.exe`
//! (`desktop.exe`, Docker Desktop's store seen from WSL), and is looked up in
//! the absolute directories of `PATH`, then run directly (no shell). It is
//! not this helper: not by name, not as a link or hard link to this program
//! (same device and inode), and a copy of it sees [`env::AS_FALLBACK`] in its
//! environment and refuses to pass the request on again. It gets the
//! command's deadline (`AWS_ECR_TIMEOUT`): still running then, it is killed
//! with its process group, and `get` says "not found", `store` and `erase`
//! fail, `list` answers with ours only, each with one line on stderr.
//!
//! What never reaches it: an ECR registry or an alias of one (those are
//! answered here, whatever the action), any token of ours, and the `AWS_*`
//! environment variables (removed from its environment, so it sees no AWS
//! key, session token or profile). It gets the action as its only argument.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::core::regmap::{check_helper_name, MapFile};
use crate::env;
use crate::error::{Error, Result};
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

    /// Runs `docker-credential-NAME ACTION` with `input` on its stdin,
    /// within the command's deadline (`AWS_ECR_TIMEOUT`): a helper still
    /// running then is killed, with its process group (the way GNU `timeout`
    /// stops a command), and that is the error.
    pub fn call(&self, action: &str, input: &[u8], settings: &Settings) -> Result<Answer> {
        if settings.var(env::AS_FALLBACK).is_some() {
            // The backstop of `refuse_self`: a copy of this program found as
            // the fallback, now asked to pass the request on again.
            return Err(Error::Fallback(format!(
                "not passing `{action}` to {} ({}): this docker-credential-ecr-login is itself running as a fallback helper, so the fallback is (a copy of) ecr-login; name another helper (desktop, pass, ...)",
                self.program(),
                self.origin
            )));
        }
        let path = self.locate(settings)?;
        self.refuse_self(&path)?;
        crate::debug!("passing {action} to {}", path.display());
        let mut cmd = Command::new(&path);
        cmd.arg(action)
            .env(env::AS_FALLBACK, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for name in settings.aws_var_names() {
            cmd.env_remove(name);
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(|e| {
            Error::Fallback(format!(
                "cannot run the fallback helper {} ({}): {e}",
                path.display(),
                self.origin
            ))
        })?;
        let deadline = Instant::now() + settings.timeout;
        // Write and read on threads of their own: a helper that answers
        // before it has read everything must not block us both, and neither
        // may outlive the deadline (they are not joined).
        if let Some(mut stdin) = child.stdin.take() {
            let input = input.to_vec();
            std::thread::spawn(move || {
                // A helper that does not read its stdin is not an error.
                let _ = stdin.write_all(&input);
            });
        }
        let (tx, answer) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let read = stdout
                    .take(MAX_ANSWER + 1)
                    .read_to_end(&mut bytes)
                    .map(|_| bytes);
                let _ = tx.send(read);
            });
        }
        let failed = |e: std::io::Error| {
            Error::Fallback(format!(
                "the fallback helper {} failed: {e}",
                self.program()
            ))
        };
        let late = || {
            Error::Fallback(format!(
                "the fallback helper {} ({}) did not finish `{action}` within {} ({}); stopped it",
                self.program(),
                self.origin,
                crate::support::time::human(settings.timeout),
                env::TIMEOUT
            ))
        };
        let status = loop {
            if let Some(status) = child.try_wait().map_err(failed)? {
                break status;
            }
            if Instant::now() >= deadline {
                stop(&mut child);
                return Err(late());
            }
            std::thread::sleep(POLL);
        };
        // Its output ends when the last process of its group that holds
        // stdout is gone.
        let left = deadline.saturating_duration_since(Instant::now());
        let stdout = match answer.recv_timeout(left) {
            Ok(read) => read.map_err(failed)?,
            Err(_) => {
                stop(&mut child);
                return Err(late());
            }
        };
        if stdout.len() as u64 > MAX_ANSWER {
            return Err(Error::Fallback(format!(
                "the fallback helper {} answered `{action}` with more than {} MiB",
                self.program(),
                MAX_ANSWER >> 20
            )));
        }
        let code = status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1));
        Ok(Answer { stdout, code })
    }

    /// Refuses a fallback that is this very program (a link, hard link or
    /// the same path): it would pass the request to itself, for ever.
    fn refuse_self(&self, path: &Path) -> Result<()> {
        match std::env::current_exe() {
            Ok(me) if same_file(path, &me) => Err(Error::Fallback(format!(
                "the fallback helper {} ({}) is docker-credential-ecr-login itself ({} is {}); name another helper (desktop, pass, ...)",
                self.program(),
                self.origin,
                path.display(),
                me.display()
            ))),
            _ => Ok(()),
        }
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

/// The most a fallback may print (a `list` of many registries fits).
const MAX_ANSWER: u64 = 1024 * 1024;
/// How often a running fallback is checked on.
const POLL: Duration = Duration::from_millis(5);

/// Kills `child` and, on Unix, every process of its group (it leads one).
fn stop(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill has no memory effects; the group is the child's own
        // (process_group(0)), so nothing else is signalled.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether `a` and `b` are the same file: the same device and inode (links
/// and hard links), else the same canonical path.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return (x.dev(), x.ino()) == (y.dev(), y.ino());
        }
    }
    matches!(
        (std::fs::canonicalize(a), std::fs::canonicalize(b)),
        (Ok(x), Ok(y)) if x == y
    )
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
