//! A small reader for the AWS shared config and credentials files, enough to
//! know, without the SDK and without the network, which credential source a
//! profile uses (for the identity fingerprint and the fast "no credentials"
//! answer). The SDK still does the real credential resolution.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::env;
use crate::settings::Settings;

/// Settings of one section, keys lower-cased.
pub type Section = BTreeMap<String, String>;

/// The profiles and sso-sessions of both files, merged as the SDK merges them
/// (credentials-file values win for the same profile and key).
#[derive(Debug, Default, Clone)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Section>,
    sso_sessions: BTreeMap<String, Section>,
    /// Files that are there but must not be read (a FIFO): the SDK, which
    /// reads them with a blocking read, must not be asked.
    unusable: Vec<String>,
}

/// The most a shared file is read (more is refused, as unusable).
const MAX_FILE: u64 = 16 * 1024 * 1024;

impl ProfileSet {
    /// Loads `~/.aws/config` and `~/.aws/credentials` (or the files named by
    /// `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`), each opened
    /// without blocking. Missing or unreadable files count as empty; one that
    /// is not a regular file (a FIFO) or is huge is [`ProfileSet::unusable`].
    pub fn load(settings: &Settings) -> ProfileSet {
        let mut set = ProfileSet::default();
        for (var, file) in [
            (env::AWS_CONFIG_FILE, "config"),
            (env::AWS_SHARED_CREDENTIALS_FILE, "credentials"),
        ] {
            let Some(path) = config_path(settings, var, file) else {
                continue;
            };
            let text = match crate::support::safe_fs::read_regular(&path, MAX_FILE) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e)
                    if crate::support::safe_fs::untrusted(&e).is_some()
                        || e.kind() == std::io::ErrorKind::InvalidData =>
                {
                    set.unusable.push(format!(
                        "{} ({var}): {}; make it a regular file, or point {var} elsewhere",
                        path.display(),
                        crate::support::safe_fs::why_unreadable(&e)
                    ));
                    continue;
                }
                Err(_) => continue,
            };
            if file == "config" {
                set.add_config(&text);
            } else {
                set.add_credentials(&text);
            }
        }
        set
    }

    /// The shared files that are there but cannot be read safely, each
    /// with why and the fix.
    pub fn unusable(&self) -> &[String] {
        &self.unusable
    }

    /// Adds the text of a config file (`[profile name]`, `[default]`, `[sso-session name]`).
    pub fn add_config(&mut self, text: &str) {
        for (header, section) in parse_ini(text) {
            let header = header.trim();
            if header == "default" {
                merge(
                    self.profiles.entry("default".into()).or_default(),
                    section,
                    false,
                );
            } else if let Some(name) = header.strip_prefix("profile ") {
                merge(
                    self.profiles.entry(name.trim().into()).or_default(),
                    section,
                    false,
                );
            } else if let Some(name) = header.strip_prefix("sso-session ") {
                merge(
                    self.sso_sessions.entry(name.trim().into()).or_default(),
                    section,
                    false,
                );
            }
        }
    }

    /// Adds the text of a credentials file (`[name]`).
    pub fn add_credentials(&mut self, text: &str) {
        for (header, section) in parse_ini(text) {
            merge(
                self.profiles.entry(header.trim().into()).or_default(),
                section,
                true,
            );
        }
    }

    /// The settings of profile `name`.
    pub fn profile(&self, name: &str) -> Option<&Section> {
        self.profiles.get(name)
    }

    /// Every profile, by name.
    pub fn profiles(&self) -> impl Iterator<Item = (&str, &Section)> {
        self.profiles.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The settings of sso-session `name`.
    pub fn sso_session(&self, name: &str) -> Option<&Section> {
        self.sso_sessions.get(name)
    }
}

fn merge(into: &mut Section, from: Section, overwrite: bool) {
    for (k, v) in from {
        if overwrite {
            into.insert(k, v);
        } else {
            into.entry(k).or_insert(v);
        }
    }
}

/// The path of a shared file: the variable's value (with `~/` expanded) or `~/.aws/<file>`.
pub fn config_path(settings: &Settings, var: &str, file: &str) -> Option<PathBuf> {
    match settings.var(var) {
        Some(p) => Some(expand_home(p, settings.home())),
        None => settings.home().map(|h| h.join(".aws").join(file)),
    }
}

fn expand_home(p: &str, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => Path::new(p).to_path_buf(),
    }
}

/// Parses INI text into (header, settings) pairs in file order. Comment lines
/// (`#`, `;`) and indented sub-settings are skipped.
fn parse_ini(text: &str) -> Vec<(String, Section)> {
    let mut out: Vec<(String, Section)> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            if let Some(end) = rest.find(']') {
                out.push((rest[..end].to_string(), Section::new()));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue; // a nested sub-setting such as `s3 =\n  max_concurrent_requests = 10`
        }
        if let (Some((_, section)), Some((k, v))) = (out.last_mut(), trimmed.split_once('=')) {
            let v = v.split(" #").next().unwrap_or_default();
            section.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_credentials_merge() {
        let mut set = ProfileSet::default();
        set.add_config(
            "# comment\n[default]\nregion = us-east-1\n\n[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = default\ns3 =\n  max_concurrent_requests = 4\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n",
        );
        set.add_credentials(
            "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n",
        );
        let d = set.profile("default").unwrap();
        assert_eq!(d["region"], "us-east-1");
        assert_eq!(d["aws_access_key_id"], "AKIDEXAMPLE");
        let dev = set.profile("dev").unwrap();
        assert_eq!(dev["role_arn"], "arn:aws:iam::1:role/dev");
        assert!(!dev.contains_key("max_concurrent_requests"));
        assert_eq!(
            set.sso_session("corp").unwrap()["sso_start_url"],
            "https://corp.awsapps.com/start"
        );
        assert!(set.profile("nope").is_none());
    }

    #[test]
    fn credentials_file_wins() {
        let mut set = ProfileSet::default();
        set.add_config("[default]\naws_access_key_id = FROMCONFIG\n");
        set.add_credentials("[default]\naws_access_key_id = FROMCREDS\n");
        assert_eq!(
            set.profile("default").unwrap()["aws_access_key_id"],
            "FROMCREDS"
        );
    }
}
