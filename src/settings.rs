//! Everything the environment says, read once at start-up.
//!
//! `main` builds one [`Settings`] from the process environment
//! ([`Settings::from_env`], the only place that reads it) and every command
//! takes what it needs from there: nothing below reads or changes the
//! environment. (The AWS SDK still reads the standard `AWS_*` variables
//! itself; what this helper decides, such as the profile a registry maps to,
//! it passes to the SDK explicitly.) The names are in [`crate::env`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env::*;

/// Default total deadline of one command's AWS work.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default wait for another process's refresh.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(20);

/// Variables outside the `AWS_` family that the helper reads.
const OTHER_VARS: &[&str] = &[
    AS_FALLBACK,
    DOCKER_CONFIG,
    REGISTRY_AUTH_FILE,
    XDG_RUNTIME_DIR,
    SSL_CERT_FILE,
    SSL_CERT_DIR,
];

/// What the environment says, read once.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Non-empty values of the `AWS_*` variables and [`OTHER_VARS`].
    vars: BTreeMap<String, String>,
    home: Option<PathBuf>,
    path: Option<OsString>,
    /// The names of every `AWS_*` variable, whatever its value (empty or
    /// not UTF-8 included): what a child process must not inherit.
    aws_names: Vec<OsString>,
    /// Total deadline of one command's AWS work ([`TIMEOUT`]).
    pub timeout: Duration,
    /// How long to wait for another process's refresh ([`LOCK_TIMEOUT`]).
    pub lock_timeout: Duration,
    /// Values that could not be used, for a warning each.
    pub problems: Vec<String>,
}

/// The user's home directory: `HOME` on Unix (else the password database),
/// `USERPROFILE` on Windows (else the profile directory), as std finds it.
/// An empty value is no home directory.
fn home_dir() -> Option<PathBuf> {
    std::env::home_dir().filter(|h| !h.as_os_str().is_empty())
}

impl Settings {
    /// Reads the process environment: the only place that does.
    pub fn from_env() -> Settings {
        let vars = std::env::vars_os().filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            (k.starts_with("AWS_") || OTHER_VARS.contains(&k.as_str()))
                .then(|| Some((k, v.into_string().ok()?)))?
        });
        let mut s = Settings::from_vars(vars, home_dir());
        s.path = std::env::var_os("PATH");
        s.aws_names = std::env::vars_os()
            .map(|(k, _)| k)
            .filter(|k| k.to_string_lossy().starts_with("AWS_"))
            .collect();
        s
    }

    /// Settings from the given variables and home directory.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
        home: Option<PathBuf>,
    ) -> Settings {
        let mut s = Settings {
            vars: vars.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            home,
            ..Settings::default()
        };
        s.aws_names = s
            .vars
            .keys()
            .filter(|k| k.starts_with("AWS_"))
            .map(OsString::from)
            .collect();
        s.timeout = s.seconds(TIMEOUT, DEFAULT_TIMEOUT);
        s.lock_timeout = s.seconds(LOCK_TIMEOUT, DEFAULT_LOCK_TIMEOUT);
        for (name, consequence) in [
            (CACHE_DIR, "not using a cache"),
            (LOG_FILE, "not writing a log file"),
        ] {
            if let Some(Err((why, fix))) = s.path_parts(name) {
                s.problems.push(format!("{why}; {consequence}. Fix: {fix}"));
            }
        }
        s
    }

    /// The path in the variable `name`: absolute as given; `~` or `~/...`
    /// expanded to the home directory (as the Go helper does); a relative
    /// path is an error (why, and the fix), since it would depend on the
    /// directory Docker runs the helper from (a cloned repository's, say).
    pub fn path(&self, name: &str) -> Option<Result<PathBuf, String>> {
        self.path_parts(name)
            .map(|r| r.map_err(|(why, fix)| format!("{why}. Fix: {fix}")))
    }

    fn path_parts(&self, name: &str) -> Option<Result<PathBuf, (String, &'static str)>> {
        let value = self.var(name)?;
        let tilde = value
            .strip_prefix("~/")
            .or_else(|| value.strip_prefix("~\\").filter(|_| cfg!(windows)))
            .or((value == "~").then_some(""));
        Some(match tilde {
            Some(rest) => match self.home() {
                Some(home) if rest.is_empty() => Ok(home.to_path_buf()),
                Some(home) => Ok(home.join(rest)),
                None => Err((
                    format!("{name}={value:?} starts with ~ but there is no home directory"),
                    "set HOME, or give an absolute path",
                )),
            },
            None if Path::new(value).is_absolute() => Ok(PathBuf::from(value)),
            None => Err((
                format!("{name}={value:?} is a relative path, which would depend on the directory the helper is run from"),
                "give an absolute path, or one starting with ~/",
            )),
        })
    }

    /// The value of `name`, or `None` when it is unset or empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// [`Settings::var`] as an owned value, the shape the identity rules take.
    pub fn lookup(&self, name: &str) -> Option<String> {
        self.var(name).map(str::to_string)
    }

    /// Whether `name` is set to a true value (`true`, `1`, `yes`, `on`, any case).
    pub fn flag(&self, name: &str) -> bool {
        self.var(name).is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on"
            )
        })
    }

    /// The user's home directory.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// `PATH`, as the process got it.
    pub fn path_var(&self) -> Option<&OsString> {
        self.path.as_ref()
    }

    /// The names of the `AWS_*` variables of the environment, to remove from
    /// a child process's (the fallback helper gets no AWS credential).
    pub fn aws_var_names(&self) -> &[OsString] {
        &self.aws_names
    }

    /// The token cache directory ([`CACHE_DIR`], see [`Settings::path`],
    /// else `~/.ecr`), or `None` when [`DISABLE_CACHE`] is set, there is no
    /// home directory, or [`CACHE_DIR`] is relative (a warning in
    /// [`Settings::problems`]).
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if self.flag(DISABLE_CACHE) {
            return None;
        }
        match self.path(CACHE_DIR) {
            Some(dir) => dir.ok(),
            None => self.home().map(|h| h.join(".ecr")),
        }
    }

    /// The log file ([`LOG_FILE`], see [`Settings::path`]); `None` when unset
    /// or relative (a warning in [`Settings::problems`]).
    pub fn log_file(&self) -> Option<PathBuf> {
        self.path(LOG_FILE).and_then(Result::ok)
    }

    /// The registry map file: [`CONFIG`] (see [`Settings::path`]), else
    /// `~/.ecr/config.toml`. A relative [`CONFIG`] is an error: the command
    /// stops rather than obey (or ignore) a file its directory chose.
    pub fn config_file(&self) -> Result<Option<PathBuf>, String> {
        match self.path(CONFIG) {
            Some(path) => path.map(Some),
            None => Ok(self.home().map(|h| h.join(".ecr").join("config.toml"))),
        }
    }

    /// [`Settings::config_file`], for messages: `None` also when it is an error.
    pub fn map_file(&self) -> Option<PathBuf> {
        self.config_file().ok().flatten()
    }

    /// Whether credentials are named explicitly in the environment
    /// (`AWS_PROFILE` or `AWS_ACCESS_KEY_ID`): they win over the registry map.
    pub fn explicit_credentials(&self) -> bool {
        self.var(AWS_PROFILE).is_some() || self.var(AWS_ACCESS_KEY_ID).is_some()
    }

    /// A positive number of seconds from `name`, at most an hour, else `default`
    /// (a bad value is recorded in [`Settings::problems`]).
    fn seconds(&mut self, name: &str, default: Duration) -> Duration {
        match self.var(name) {
            None => default,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(s) if s > 0.0 && s.is_finite() => Duration::from_secs_f64(s.min(3600.0)),
                _ => {
                    let problem = format!(
                        "{name}={v:?} is not a positive number of seconds; using {}",
                        default.as_secs()
                    );
                    self.problems.push(problem);
                    default
                }
            },
        }
    }
}

/// Settings of `vars` with the home directory `/home/u`, for unit tests.
#[cfg(test)]
pub(crate) fn for_tests(vars: &[(&str, &str)]) -> Settings {
    Settings::from_vars(
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        Some(PathBuf::from("/home/u")),
    )
}

#[cfg(test)]
mod tests {
    use super::for_tests as settings;
    use super::*;

    #[test]
    fn values_flags_and_defaults() {
        let s = settings(&[(TIMEOUT, "2.5"), (DISABLE_CACHE, ""), (LOG, "debug")]);
        assert_eq!(s.timeout, Duration::from_millis(2500));
        assert_eq!(s.lock_timeout, DEFAULT_LOCK_TIMEOUT);
        assert_eq!(s.var(DISABLE_CACHE), None, "empty is unset");
        assert_eq!(s.cache_dir(), Some(PathBuf::from("/home/u/.ecr")));
        assert_eq!(
            s.map_file(),
            Some(PathBuf::from("/home/u/.ecr/config.toml"))
        );
        assert!(s.problems.is_empty());
        let s = settings(&[(DISABLE_CACHE, "Yes"), (LOCK_TIMEOUT, "-1")]);
        assert_eq!(s.cache_dir(), None);
        assert_eq!(s.lock_timeout, DEFAULT_LOCK_TIMEOUT);
        assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
        assert!(s.problems[0].contains(LOCK_TIMEOUT));
    }

    #[test]
    fn paths_are_absolute_or_start_with_the_home_directory() {
        for (value, want) in [
            ("/var/cache/ecr", Ok("/var/cache/ecr")),
            ("~/.ecr/cache", Ok("/home/u/.ecr/cache")),
            ("~", Ok("/home/u")),
            ("c", Err("relative path")),
            ("./c", Err("relative path")),
            ("../config.toml", Err("relative path")),
            ("~other/x", Err("relative path")),
        ] {
            for name in [CACHE_DIR, CONFIG, LOG_FILE] {
                let got = settings(&[(name, value)]).path(name).unwrap();
                match (&got, want) {
                    (Ok(p), Ok(w)) => assert_eq!(p, Path::new(w), "{name}={value}"),
                    (Err(e), Err(w)) => {
                        assert!(e.contains(w) && e.contains(name), "{name}={value}: {e}")
                    }
                    _ => panic!("{name}={value}: {got:?}"),
                }
            }
        }
        let s = settings(&[(CACHE_DIR, "c"), (LOG_FILE, "log.txt"), (CONFIG, "x.toml")]);
        assert_eq!(s.cache_dir(), None, "a relative cache is not used");
        assert_eq!(s.log_file(), None);
        assert!(s.config_file().unwrap_err().contains(CONFIG));
        assert_eq!(s.problems.len(), 2, "{:?}", s.problems);
        assert!(s.problems[0].contains("not using a cache"));
        assert!(s.problems[1].contains("not writing a log file"));
        let no_home = Settings::from_vars([(CONFIG.to_string(), "~/c.toml".to_string())], None);
        assert!(no_home
            .config_file()
            .unwrap_err()
            .contains("no home directory"));
        assert_eq!(settings(&[]).path(CONFIG), None);
    }
}
