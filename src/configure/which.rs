//! Which `docker-credential-ecr-login` Docker will run (the first on `PATH`,
//! which may be another helper, such as the Go one from a distribution
//! package) and whether a fallback helper exists: what `configure` warns
//! about and `doctor` shows.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::settings::Settings;

/// How long another binary's `version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(2);

/// The helper Docker finds by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnPath {
    /// No executable of that name in any `PATH` directory.
    Missing,
    /// This very binary.
    This(PathBuf),
    /// Another binary, with what its `version` printed (first line), if it
    /// answered in time.
    Other(PathBuf, Option<String>),
}

impl OnPath {
    /// One line for people: where it is and whether it is this binary.
    pub fn describe(&self) -> String {
        match self {
            OnPath::Missing => format!(
                "no {} on PATH: Docker cannot run this helper (install it in a PATH directory)",
                crate::BIN
            ),
            OnPath::This(p) => format!("Docker runs {} (this binary)", p.display()),
            OnPath::Other(p, version) => format!(
                "Docker runs {} ({}), NOT this binary ({}): remove that one, or put this one's directory earlier on PATH",
                p.display(),
                version.as_deref().unwrap_or("it did not print a version"),
                current().map_or_else(|| "?".to_string(), |c| c.display().to_string()),
            ),
        }
    }
}

/// The `docker-credential-ecr-login` that `PATH` gives.
pub fn helper_on_path(settings: &Settings) -> OnPath {
    let Some(found) = super::find_on_path(crate::BIN, settings.path_var()) else {
        return OnPath::Missing;
    };
    let same = match (std::fs::canonicalize(&found), current()) {
        (Ok(a), Some(b)) => a == b || same_bytes(&a, &b),
        _ => false,
    };
    if same {
        OnPath::This(found)
    } else {
        let version = version_of(&found);
        OnPath::Other(found, version)
    }
}

/// Where the fallback helper `docker-credential-NAME` is, if anywhere.
pub fn fallback_on_path(name: &str, settings: &Settings) -> Option<PathBuf> {
    super::find_on_path(&format!("docker-credential-{name}"), settings.path_var())
}

/// Whether two files hold the same bytes (a copy of this binary is this
/// helper too); read only when their sizes agree.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    size(a).is_some() && size(a) == size(b) && std::fs::read(a).ok() == std::fs::read(b).ok()
}

fn current() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// The first line `program version` prints within [`VERSION_TIMEOUT`]
/// (killed after it), with control characters escaped.
fn version_of(program: &Path) -> Option<String> {
    let mut child = Command::new(program)
        .arg("version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < VERSION_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let output = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().next()?.trim();
    (!line.is_empty())
        .then(|| crate::support::redact::scrub(&line.chars().take(200).collect::<String>()))
}
