//! The registry → profile / role map: `~/.ecr/config.toml` (or the file named
//! by `AWS_ECR_CONFIG`), so one Docker config can pull from many accounts.
//!
//! ```toml
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    registry: Vec<Rule>,
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

/// The rules of the map file `path` (none when it does not exist).
pub fn load(path: &Path) -> Result<Vec<Rule>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
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

/// Parses map-file text.
pub fn parse(text: &str) -> Result<Vec<Rule>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))?;
    for rule in &file.registry {
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
    Ok(file.registry)
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
fn glob(pattern: &str, text: &str) -> bool {
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
        let rules = parse(FILE).unwrap();
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
        assert_eq!(parse("").unwrap(), vec![]);
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
