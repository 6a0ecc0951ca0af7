//! Diagnostics on stderr (which Docker shows to the user) and, optionally, in a
//! log file. Stdout belongs to the protocol and is never written here.
//!
//! Every line goes through [`crate::support::redact::scrub`] before it is written, as a
//! second line of defence behind the [`crate::Secret`] type.
//!
//! Nothing here can stop the process: a closed or broken stderr (EPIPE,
//! EBADF) or a failing log file loses the line, never the protocol answer
//! (no `eprintln!`, which panics). The log file is opened like a cache file
//! ([`crate::support::safe_fs::open_append`]): never through a symbolic link, never a
//! FIFO, only a file of our own.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use crate::env;
use crate::settings::Settings;

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Only failures.
    Error,
    /// Failures and degraded operation (the default).
    Warn,
    /// What the helper did (cache hit, API call).
    Info,
    /// Why it did it.
    Debug,
    /// Everything.
    Trace,
}

impl Level {
    fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }
}

struct Logger {
    level: Level,
    file: Option<Mutex<File>>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets the level and the log file from `settings` (`AWS_ECR_LOG`,
/// `AWS_ECR_LOG_FILE`). Until then, and if never called, warnings and errors
/// go to stderr only.
pub fn init(settings: &Settings) {
    let _ = LOGGER.set(from_settings(settings));
}

fn logger() -> &'static Logger {
    LOGGER.get_or_init(|| from_settings(&Settings::default()))
}

fn from_settings(settings: &Settings) -> Logger {
    {
        let mut problems = Vec::new();
        let level = match settings.var(env::LOG) {
            None => Level::Warn,
            Some(v) => Level::parse(v).unwrap_or_else(|| {
                problems.push(format!(
                    "{}={v:?} is not one of error, warn, info, debug, trace; using warn",
                    env::LOG
                ));
                Level::Warn
            }),
        };
        let file = match settings.path(env::LOG_FILE) {
            None => None,
            // Reported where the settings are read (main), once.
            Some(Err(_)) => None,
            Some(Ok(path)) => match open_log_file(&path) {
                Ok(f) => Some(Mutex::new(f)),
                Err(e) => {
                    problems.push(log_file_problem(&path, &e));
                    None
                }
            },
        };
        for p in problems {
            stderr(&format!(
                "ecr-login: warning: {}\n",
                crate::support::redact::scrub(&p)
            ));
        }
        Logger { level, file }
    }
}

/// Why the log file cannot be opened, and the fix, in one line.
fn log_file_problem(path: &std::path::Path, e: &std::io::Error) -> String {
    let var = env::LOG_FILE;
    let shown = path.display();
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) if e.kind() == std::io::ErrorKind::NotFound && !dir.is_dir() => format!(
            "cannot open {var}={shown}: the directory {} does not exist (create it, or point {var} at a file in an existing directory); not logging to a file",
            dir.display()
        ),
        _ => format!("cannot open {var}={shown}: {e}; not logging to a file"),
    }
}

fn open_log_file(path: &std::path::Path) -> std::io::Result<File> {
    crate::support::safe_fs::open_append(path)
}

/// Writes `text` to stderr as it is, ignoring every error (a closed or
/// broken stderr must not stop the process).
pub fn stderr(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Writes one diagnostic line at `level`. Use the `error!`..`trace!` macros.
pub fn write(level: Level, message: std::fmt::Arguments<'_>) {
    let l = logger();
    if level > l.level {
        return;
    }
    let text = crate::support::redact::scrub(&message.to_string());
    let line = format!("ecr-login: {}: {text}\n", level.name());
    stderr(&line);
    if let Some(file) = &l.file {
        let stamp = stamp(std::time::SystemTime::now());
        if let Ok(mut f) = file.lock() {
            let _ = write!(f, "{stamp} pid={} {line}", std::process::id());
        }
    }
}

/// `2026-12-01T21:00:00.123Z`: a log line's time, RFC 3339 in UTC.
fn stamp(t: std::time::SystemTime) -> String {
    let whole = crate::support::time::rfc3339(t);
    let millis = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    match whole.strip_suffix('Z') {
        Some(s) => format!("{s}.{millis:03}Z"),
        None => whole,
    }
}

/// Logs at error level.
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::support::log::write($crate::support::log::Level::Error, format_args!($($t)*)) } }
/// Logs at warn level.
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::support::log::write($crate::support::log::Level::Warn, format_args!($($t)*)) } }
/// Logs at info level.
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::support::log::write($crate::support::log::Level::Info, format_args!($($t)*)) } }
/// Logs at debug level.
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::support::log::write($crate::support::log::Level::Debug, format_args!($($t)*)) } }
/// Logs at trace level.
#[macro_export]
macro_rules! trace { ($($t:tt)*) => { $crate::support::log::write($crate::support::log::Level::Trace, format_args!($($t)*)) } }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_s_time_is_rfc3339_with_milliseconds() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_764_622_800_042);
        assert_eq!(stamp(t), "2025-12-01T21:00:00.042Z");
    }

    #[test]
    fn a_missing_log_directory_is_named_with_the_fix() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("absent").join("ecr.log");
        let e = open_log_file(&path).expect_err("no such directory");
        let text = log_file_problem(&path, &e);
        assert!(
            text.contains(&format!(
                "the directory {} does not exist",
                dir.path().join("absent").display()
            )),
            "{text}"
        );
        assert!(text.contains("create it"), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
