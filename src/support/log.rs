//! Diagnostics on stderr (which Docker shows to the user) and, optionally, in a
//! log file. Stdout belongs to the protocol and is never written here.
//!
//! Every line goes through [`crate::redact::scrub`] before it is written, as a
//! second line of defence behind the [`crate::Secret`] type.
//!
//! Nothing here can stop the process: a closed or broken stderr (EPIPE,
//! EBADF) or a failing log file loses the line, never the protocol answer
//! (no `eprintln!`, which panics). The log file is opened like a cache file
//! ([`crate::safe_fs::open_append`]): never through a symbolic link, never a
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
        let file = settings
            .log_file()
            .and_then(|path| match open_log_file(&path) {
                Ok(f) => Some(Mutex::new(f)),
                Err(e) => {
                    let path = path.display();
                    problems.push(format!("cannot open {}={path}: {e}", env::LOG_FILE));
                    None
                }
            });
        for p in problems {
            stderr(&format!(
                "ecr-login: warning: {}\n",
                crate::redact::scrub(&p)
            ));
        }
        Logger { level, file }
    }
}

fn open_log_file(path: &std::path::Path) -> std::io::Result<File> {
    crate::safe_fs::open_append(path)
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
    let text = crate::redact::scrub(&message.to_string());
    let line = format!("ecr-login: {}: {text}\n", level.name());
    stderr(&line);
    if let Some(file) = &l.file {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        if let Ok(mut f) = file.lock() {
            let _ = write!(f, "{stamp:.3} pid={} {line}", std::process::id());
        }
    }
}

/// Logs at error level.
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Error, format_args!($($t)*)) } }
/// Logs at warn level.
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Warn, format_args!($($t)*)) } }
/// Logs at info level.
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($t)*)) } }
/// Logs at debug level.
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Debug, format_args!($($t)*)) } }
/// Logs at trace level.
#[macro_export]
macro_rules! trace { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Trace, format_args!($($t)*)) } }
