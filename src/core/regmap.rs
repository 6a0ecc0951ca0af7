//! The helper's own configuration file, `~/.ecr/config.toml` (or the file
//! named by `AWS_ECR_CONFIG`): the registry → profile / role map, so one
//! Docker config can pull from many accounts; registry aliases; and the
//! fallback credential helper for registries that are not ECR.
//!
//! ```toml
//! fallback = "desktop"                          # docker-credential-desktop
//!
//! [[alias]]
//! host = "registry.example.com"                 # an exact host or a glob
//! registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
//!
//! [[registry]]
//! match = "123456789012"                        # an account id
//! profile = "prod"
//!
//! [[registry]]
//! match = "*.dkr.ecr.eu-*.amazonaws.com"        # a glob over the host
//! role_arn = "arn:aws:iam::210987654321:role/EcrPull"
//!
//! [[registry]]
//! match = "public.ecr.aws"                      # an exact host
//! profile = "public"
//! ```
//!
//! The first rule that matches wins. A rule's `profile` selects the AWS
//! profile; its `role_arn` is assumed (with the profile's, or the default,
//! credentials). Precedence: credentials set explicitly in the environment
//! (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`) win over a rule's `profile`; a rule's
//! `role_arn` is still assumed on top of them. No file, no rules: nothing
//! changes.
//!
//! An alias makes a host that is not ECR's name (a reverse proxy, a custom
//! domain, a pull-through-cache mirror) stand for an ECR registry: the first
//! alias whose `host` matches wins, and its `registry` is then looked up in
//! the rules like any other. Only configured hosts are aliased, never
//! implicitly. The `fallback` is a credential-helper name (`[a-z0-9-]+`);
//! see `cli::fallback`.

use std::path::Path;

use serde::Deserialize;

use crate::registry::Registry;

/// One mapping rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Exact host, 12-digit account id, or a glob (`*`, `?`) over the host.
    #[serde(rename = "match")]
    pub pattern: String,
    /// AWS profile to use for matching registries.
    pub profile: Option<String>,
    /// IAM role to assume for matching registries.
    pub role_arn: Option<String>,
}

/// One alias: `host` (exact, or a glob) stands for the ECR `registry`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    /// The host as clients name it: exact (any case) or a glob (`*`, `?`).
    pub host: String,
    /// The ECR registry host it stands for.
    pub registry: String,
}

/// Everything the file says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapFile {
    /// The credential helper for registries that are not ECR (`desktop`...).
    pub fallback: Option<String>,
    /// Aliases, in file order.
    #[serde(default, rename = "alias")]
    pub aliases: Vec<Alias>,
    /// Mapping rules, in file order.
    #[serde(default, rename = "registry")]
    pub rules: Vec<Rule>,
}

impl MapFile {
    /// The first alias whose host matches `host` (already normalised: lower
    /// case, no scheme, port or path).
    pub fn alias_for(&self, host: &str) -> Option<&Alias> {
        self.aliases
            .iter()
            .find(|a| glob(&a.host.trim().to_ascii_lowercase(), host))
    }
}

/// Whether `name` can be a credential helper's name: `[a-z0-9-]+`, with an
/// optional `.exe` (Docker Desktop's `desktop.exe` on WSL), so that
/// `docker-credential-<name>` is a plain file name (no path, no shell), and
/// not this helper itself (that would call itself for ever).
pub fn check_helper_name(name: &str) -> Result<(), String> {
    // `desktop.exe`: Docker Desktop's store as WSL sees it (a Windows
    // program, run through WSL's interop), which Docker runs as
    // `docker-credential-desktop.exe`.
    let stem = name.strip_suffix(".exe").unwrap_or(name);
    if stem.is_empty()
        || !stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "fallback {:?} is not a credential-helper name (lower-case letters, digits and '-', optionally ending in .exe, as in \"desktop\" for docker-credential-desktop or \"desktop.exe\" on WSL)",
            name.escape_debug().to_string()
        ));
    }
    if stem == crate::BIN.trim_start_matches("docker-credential-") {
        return Err(format!(
            "fallback {name:?} is this helper itself; name another one (desktop, pass, secretservice...)"
        ));
    }
    Ok(())
}

/// A map file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason} (fix the file or point AWS_ECR_CONFIG elsewhere)")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// The content of the file `path` (empty when it does not exist).
pub fn load(path: &Path) -> Result<MapFile, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(MapFile::default()),
        Err(e) => {
            return Err(ConfigError {
                path: path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    parse(&text).map_err(|reason| ConfigError {
        path: path.display().to_string(),
        reason,
    })
}

/// Parses the file's text.
pub fn parse(text: &str) -> Result<MapFile, String> {
    let file: MapFile =
        toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))?;
    if let Some(name) = &file.fallback {
        check_helper_name(name)?;
    }
    for alias in &file.aliases {
        if alias.host.trim().is_empty() {
            return Err("an alias has an empty host".into());
        }
        if let Err(e) = Registry::parse(&alias.registry) {
            return Err(format!(
                "alias {:?}: registry {:?} is {e}",
                alias.host, alias.registry
            ));
        }
    }
    for rule in &file.rules {
        if rule.profile.is_none() && rule.role_arn.is_none() {
            return Err(format!(
                "rule {:?} has neither profile nor role_arn",
                rule.pattern
            ));
        }
        if rule.pattern.trim().is_empty() {
            return Err("a rule has an empty match".into());
        }
        if let Some(arn) = &rule.role_arn {
            if !arn.starts_with("arn:") || !arn.contains(":role/") {
                return Err(format!("role_arn {arn:?} is not an IAM role ARN"));
            }
        }
    }
    Ok(file)
}

/// The first rule matching `registry`.
pub fn find<'a>(rules: &'a [Rule], registry: &Registry) -> Option<&'a Rule> {
    let host = registry.host();
    let account = match registry {
        Registry::Private(p) => Some(p.account.as_str()),
        Registry::Public { .. } => None,
    };
    rules.iter().find(|r| {
        let pattern = r.pattern.trim().to_ascii_lowercase();
        Some(pattern.as_str()) == account || glob(&pattern, host)
    })
}

/// `*` matches any run of characters, `?` one character; everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[registry]]
match = "123456789012"
profile = "prod"

[[registry]]
match = "*.dkr.ecr.eu-*.amazonaws.com"
role_arn = "arn:aws:iam::210987654321:role/EcrPull"

[[registry]]
match = "PUBLIC.ECR.AWS"
profile = "public"
"#;

    fn rule_for(host: &str) -> Option<String> {
        let rules = parse(FILE).unwrap().rules;
        let reg = Registry::parse(host).unwrap();
        find(&rules, &reg).map(|r| r.profile.clone().or(r.role_arn.clone()).unwrap())
    }

    #[test]
    fn rules_match_by_account_glob_and_host() {
        assert_eq!(
            rule_for("123456789012.dkr.ecr.eu-west-1.amazonaws.com").as_deref(),
            Some("prod")
        );
        assert_eq!(
            rule_for("210987654321.dkr.ecr.eu-west-1.amazonaws.com").as_deref(),
            Some("arn:aws:iam::210987654321:role/EcrPull")
        );
        assert_eq!(
            rule_for("210987654321.dkr.ecr.us-east-1.amazonaws.com"),
            None
        );
        assert_eq!(rule_for("public.ecr.aws").as_deref(), Some("public"));
    }

    #[test]
    fn bad_files_are_explained() {
        assert!(parse("[[registry]]\nmatch = \"x\"\n")
            .unwrap_err()
            .contains("neither profile nor role_arn"));
        assert!(parse("[[registry]]\nmatch = \"x\"\nrole_arn = \"nope\"\n")
            .unwrap_err()
            .contains("not an IAM role ARN"));
        assert!(parse("[[registry]]\nmatch = \"x\"\nprofle = \"typo\"\n").is_err());
        assert!(parse("this is = = not toml").is_err());
        assert_eq!(parse("").unwrap(), MapFile::default());
    }

    #[test]
    fn aliases_and_fallback() {
        let file = parse(
            r#"
fallback = "desktop"
[[alias]]
host = "Registry.Example.COM"
registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
[[alias]]
host = "*.mirror.internal"
registry = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
"#,
        )
        .unwrap();
        assert_eq!(file.fallback.as_deref(), Some("desktop"));
        let target = |h: &str| file.alias_for(h).map(|a| a.registry.as_str());
        assert_eq!(
            target("registry.example.com"),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com")
        );
        assert_eq!(
            target("docker.mirror.internal"),
            Some("210987654321.dkr.ecr.eu-west-1.amazonaws.com")
        );
        assert_eq!(target("mirror.internal"), None);
        assert_eq!(target("ghcr.io"), None);
    }

    #[test]
    fn bad_aliases_and_fallbacks_are_explained() {
        for (text, want) in [
            ("fallback = \"../bin/sh\"", "not a credential-helper name"),
            ("fallback = \"Desktop\"", "not a credential-helper name"),
            ("fallback = \"\"", "not a credential-helper name"),
            ("fallback = \"ecr-login\"", "this helper itself"),
            (
                "[[alias]]\nhost = \"x.io\"\nregistry = \"ghcr.io\"",
                "not an ECR registry",
            ),
            (
                "[[alias]]\nhost = \" \"\nregistry = \"public.ecr.aws\"",
                "empty host",
            ),
            ("[[alias]]\nhost = \"x.io\"", "missing field"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        assert!(check_helper_name("pass").is_ok());
        assert!(check_helper_name("secret-service2").is_ok());
        assert!(check_helper_name("desktop.exe").is_ok());
        for bad in [
            ".exe",
            "ecr-login.exe",
            "desktop.EXE",
            "desktop.exe.exe",
            "a.b",
        ] {
            assert!(check_helper_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn glob_semantics() {
        assert!(glob("*", "anything"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*.example", "x.y.example"));
        assert!(!glob("*.example", "example"));
        assert!(glob("", ""));
        assert!(!glob("", "x"));
    }
}
