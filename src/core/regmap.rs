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
//! implicitly, and an alias matches exactly what it says ([`Endpoint`]): a
//! `*` or `?` stays within one DNS label, the port is part of the host
//! (`localhost` is not `localhost:5000`; 443 is the same as no port), and a
//! reference over plain `http://` matches only an alias written with
//! `http://`. Rules match the ECR registry's host with the same label-wise
//! globs ([`host_glob`]); ECR hosts carry no port or scheme.
//!
//! The file is obeyed only if no other user can have written it
//! ([`safe_fs::read_obeyed`]); otherwise [`load`] refuses it. The `fallback` is a credential-helper name (`[a-z0-9-]+`);
//! see `cli::fallback`.

use std::path::Path;

use serde::Deserialize;

use crate::core::registry::Registry;
use crate::support::safe_fs::{self, Why};

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
    /// The first alias whose host matches `input` (a server URL as Docker
    /// sends it, or a bare host), by the rules of [`Endpoint::matches`].
    pub fn alias_for(&self, input: &str) -> Option<&Alias> {
        let input = Endpoint::parse(input, false).ok()?;
        self.aliases
            .iter()
            .find(|a| Endpoint::parse(&a.host, true).is_ok_and(|pattern| pattern.matches(&input)))
    }
}

impl Alias {
    /// The alias's `host:port` when it names one host (no glob): what `list`
    /// can report.
    pub fn exact_host(&self) -> Option<String> {
        let e = Endpoint::parse(&self.host, true).ok()?;
        if e.host.contains(['*', '?']) {
            return None;
        }
        Some(match e.port {
            Some(port) => format!("{}:{port}", e.host),
            None => e.host,
        })
    }
}

/// The scheme a registry reference gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// None (`registry.example.com`): Docker's default, HTTPS.
    Unspecified,
    /// `https://`.
    Https,
    /// `http://`: plain text, which any local user listening on the port sees.
    Http,
}

/// A registry as a client names it, or an alias's `host` pattern: scheme,
/// host (lower case, no trailing dot) and port (`None` when omitted or the
/// scheme's default: 443, or 80 for `http://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The scheme.
    pub scheme: Scheme,
    /// The host name (in a pattern, `*` and `?` may stand in a label).
    pub host: String,
    /// The port.
    pub port: Option<u16>,
}

impl Endpoint {
    /// Parses `[scheme://]host[:port][/path]`; with `pattern`, the host may
    /// hold `*` and `?`, and no path is allowed. Another scheme (`ftp://`,
    /// `unix://`), user information or a host that is not a DNS name is an
    /// error.
    pub fn parse(text: &str, pattern: bool) -> Result<Endpoint, String> {
        let lower = text.trim().to_ascii_lowercase();
        let (scheme, rest) = if let Some(r) = lower.strip_prefix("https://") {
            (Scheme::Https, r)
        } else if let Some(r) = lower.strip_prefix("http://") {
            (Scheme::Http, r)
        } else if lower.contains("://") {
            return Err("only https:// and http:// are registry schemes".into());
        } else {
            (Scheme::Unspecified, lower.as_str())
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if pattern && !path.is_empty() {
            return Err("an alias host has no path".into());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => {
                let number =
                    (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit());
                match port.parse::<u16>() {
                    Ok(p) if number && p > 0 => (host, Some(p)),
                    _ => return Err(format!("bad port {:?}", port.escape_debug().to_string())),
                }
            }
            None => (authority, None),
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        let wild = |b: u8| pattern && (b == b'*' || b == b'?');
        let plain = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || wild(b);
        if host.is_empty()
            || !host
                .split('.')
                .all(|l| !l.is_empty() && l.bytes().all(plain))
        {
            return Err(format!(
                "{:?} is not a host name",
                host.escape_debug().to_string()
            ));
        }
        let default = match scheme {
            Scheme::Http => 80,
            Scheme::Https | Scheme::Unspecified => 443,
        };
        Ok(Endpoint {
            scheme,
            host: host.to_string(),
            port: port.filter(|p| *p != default),
        })
    }

    /// Whether the alias pattern `self` matches the reference `input`: the
    /// same port, each DNS label matched by the pattern's label (`*` never
    /// spans a dot), and a scheme that is `https://` or none, unless the
    /// pattern says `http://` (then plain HTTP matches too).
    pub fn matches(&self, input: &Endpoint) -> bool {
        let scheme = input.scheme != Scheme::Http || self.scheme == Scheme::Http;
        scheme && self.port == input.port && host_glob(&self.host, &input.host)
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

/// A map file that cannot be used (unreadable, not trusted, or wrong): the
/// command stops, since a config that vanished would route tokens elsewhere.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// What is wrong, and the fix.
    pub reason: String,
}

/// The largest config file read.
const MAX_FILE: u64 = 1 << 20;

/// The content of the file `path` (empty when it does not exist), read under
/// the trust rule of [`safe_fs::read_obeyed`]: a file that fails it is an
/// error naming what failed and the fix.
pub fn load(path: &Path) -> Result<MapFile, ConfigError> {
    let error = |reason: String| ConfigError {
        path: path.display().to_string(),
        reason,
    };
    let text = match safe_fs::read_obeyed(path, MAX_FILE) {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(MapFile::default()),
        Err(e) => {
            return Err(error(match safe_fs::untrusted(&e) {
                Some(u) => format!("not obeyed: {}", refusal(u)),
                None => format!("{e} (fix it, or point {} elsewhere)", crate::env::CONFIG),
            }))
        }
    };
    parse(&text).map_err(|reason| {
        error(format!(
            "{reason} (fix the file or point {} elsewhere)",
            crate::env::CONFIG
        ))
    })
}

/// Why a config file (or its directory) is not trusted, and the fix, in one line.
fn refusal(u: &safe_fs::Untrusted) -> String {
    let p = u.path.display();
    let elsewhere = format!("or point {} at a file of your own", crate::env::CONFIG);
    match &u.why {
        Why::Symlink => format!(
            "{p} is a symbolic link, which the config file is never read through (another user may have planted it). Fix: replace the link with the file, {elsewhere}"
        ),
        Why::NotRegular(kind) => format!("{p} is a {kind}, not a regular file. Fix: remove it, {elsewhere}"),
        Why::Owner { owner, me } if *me == 0 => format!(
            "{p} belongs to uid {owner}, not to root (you), so that user could route root's logins. Fix: run the command as uid {owner}, or point {} at a file of root's",
            crate::env::CONFIG
        ),
        Why::Owner { owner, me } => format!(
            "{p} belongs to uid {owner}, not to you (uid {me}) or root, so another user may have written it. Fix: check its content, then `chown {me} {p}`, {elsewhere}"
        ),
        Why::Writable { mode } => format!(
            "{p} is writable by other users (mode {mode:04o}), so another user may have changed it. Fix: check its content, then `chmod go-w {p}`, {elsewhere}"
        ),
        Why::ParentReplaceable { parent, mode } => format!(
            "{p} sits in {} (mode {mode:04o}), where any user can replace it. Fix: `chmod +t {}`, {elsewhere}",
            parent.display(),
            parent.display()
        ),
    }
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
        if let Err(e) = Endpoint::parse(&alias.host, true) {
            return Err(format!("alias host {:?}: {e}", alias.host));
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
        Some(pattern.as_str()) == account || host_glob(&pattern, host)
    })
}

/// Whether the host `pattern` matches `host` label by label: as many DNS
/// labels, each matched by [`glob`], so a `*` never spans a dot (kubelet's
/// `matchImages` rule).
pub fn host_glob(pattern: &str, host: &str) -> bool {
    pattern.split('.').count() == host.split('.').count()
        && pattern
            .split('.')
            .zip(host.split('.'))
            .all(|(p, l)| glob(p, l))
}

/// `*` matches any run of characters, `?` one character; everything else
/// itself (within one label: see [`host_glob`]).
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
    fn aliases_match_exactly_what_they_say() {
        // (alias host, reference, matches), one row per case.
        for (pattern, input, want) in [
            ("registry.example.com", "registry.example.com", true),
            (
                "registry.example.com",
                "https://Registry.Example.COM/v2/",
                true,
            ),
            ("registry.example.com", "registry.example.com.", true),
            (
                "registry.example.com",
                "https://registry.example.com:443",
                true,
            ),
            ("registry.example.com", "registry.example.com:5000", false),
            ("registry.example.com", "http://registry.example.com", false),
            ("registry.example.com", "ftp://registry.example.com", false),
            ("registry.example.com", "evil.registry.example.com", false),
            (
                "registry.example.com",
                "registry.example.com.evil.io",
                false,
            ),
            ("*.mirror.internal", "docker.mirror.internal", true),
            ("*.mirror.internal", "a.b.mirror.internal", false),
            ("*.mirror.internal", "mirror.internal", false),
            ("*.mirror.internal", "hub.mirror.internal:5000", false),
            ("*.mirror.internal:5000", "hub.mirror.internal:5000", true),
            ("mirror.example.*", "mirror.example.com", true),
            ("mirror.example.*", "mirror.example.attacker.net", false),
            ("mirror-?.example.com", "mirror-1.example.com", true),
            ("mirror-?.example.com", "mirror-.example.com", false),
            ("*", "localhost", true),
            ("*", "docker.io", false),
            ("localhost", "localhost", true),
            ("localhost", "localhost:5000", false),
            ("localhost", "localhost:31337", false),
            ("localhost", "http://localhost:8080", false),
            ("localhost", "http://localhost", false),
            ("localhost:5000", "localhost:5000", true),
            ("localhost:5000", "https://localhost:5000/v2/", true),
            ("localhost:5000", "http://localhost:5000", false),
            ("http://localhost:8080", "http://localhost:8080", true),
            ("http://localhost:8080", "localhost:8080", true),
            ("http://localhost:8080", "https://localhost:8080", true),
            ("http://localhost:8080", "localhost", false),
            ("http://localhost:8080", "http://localhost:8081", false),
            (
                "https://registry.example.com/",
                "registry.example.com",
                true,
            ),
            ("registry.example.com", "user@registry.example.com", false),
        ] {
            let file = parse(&format!(
                "[[alias]]\nhost = \"{pattern}\"\nregistry = \"public.ecr.aws\"\n"
            ))
            .unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(
                file.alias_for(input).is_some(),
                want,
                "alias {pattern:?}, reference {input:?}"
            );
        }
    }

    #[test]
    fn alias_hosts_that_say_nothing_clear_are_refused() {
        for (host, want) in [
            ("ftp://registry.example.com", "schemes"),
            ("registry.example.com/v2", "no path"),
            ("registry.example.com:99999", "bad port"),
            ("registry.example.com:", "bad port"),
            ("reg istry.example.com", "not a host name"),
            ("a..b", "not a host name"),
            ("me@registry.example.com", "not a host name"),
        ] {
            let e = parse(&format!(
                "[[alias]]\nhost = \"{host}\"\nregistry = \"public.ecr.aws\"\n"
            ))
            .unwrap_err();
            assert!(e.contains(want), "{host}: {e}");
        }
        let exact = |host: &str| {
            Alias {
                host: host.into(),
                registry: "public.ecr.aws".into(),
            }
            .exact_host()
        };
        assert_eq!(
            exact("https://Reg.Example.com:443/").as_deref(),
            Some("reg.example.com")
        );
        assert_eq!(
            exact("http://localhost:8080").as_deref(),
            Some("localhost:8080")
        );
        assert_eq!(exact("*.mirror.internal"), None);
    }

    #[test]
    fn rule_globs_stay_within_a_label() {
        let rule = |pattern: &str, host: &str| {
            let rules = parse(&format!(
                "[[registry]]\nmatch = \"{pattern}\"\nprofile = \"p\"\n"
            ))
            .unwrap()
            .rules;
            find(&rules, &Registry::parse(host).unwrap()).is_some()
        };
        let host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        assert!(rule("*.dkr.ecr.eu-*.amazonaws.com", host));
        assert!(rule("*.dkr.ecr.*.amazonaws.com", host));
        assert!(!rule("*.amazonaws.com", host));
        assert!(!rule("*", host));
        assert!(rule("123456789012", host));
    }

    #[test]
    fn glob_semantics() {
        assert!(glob("*", "anything"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*.example", "x.y.example"));
        assert!(!glob("*.example", "example"));
        assert!(host_glob("*.example", "x.example"));
        assert!(!host_glob("*.example", "x.y.example"));
        assert!(!host_glob("*", "a.b"));
        assert!(glob("", ""));
        assert!(!glob("", "x"));
    }
}
