//! `doctor HOST`: explains, for one registry, every decision the helper makes,
//! then tries to get a token and says how to fix what failed. Never prints a
//! secret.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use super::app::App;
use crate::core::identity::{Identity, SourceKind};
use crate::core::registry::Registry;
use crate::core::source::{Cached, SignIn};
use crate::error::{Error, Result};
use crate::support::time::human;

/// A sign-in with less than this left is renewed (or must be) soon.
const RENEW: Duration = Duration::from_secs(15 * 60);

/// Writes the report for `input` to `out`; `Ok(true)` when a token was obtained.
pub fn run(input: &str, app: &App, out: &mut dyn Write) -> Result<bool> {
    let settings = app.settings();
    let source = app.source();
    let mut w = |line: String| {
        out.write_all(crate::support::redact::scrub(&line).as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| Error::io("cannot write to stdout", e))
    };
    let (config, config_path) = match crate::core::resolve::config(settings) {
        Ok(c) => c,
        Err(e) => {
            w(format!("registry     {input}"))?;
            w(format!("map          problem: {e}"))?;
            return Ok(false);
        }
    };
    let registry = match crate::core::resolve::registry_for(input, &config) {
        Ok((r, None)) => r,
        Ok((r, Some((host, alias)))) => {
            w(format!(
                "alias        {host} -> {} (alias {:?} of {})",
                r.host(),
                alias.host,
                config_path.as_deref().unwrap_or(Path::new("?")).display()
            ))?;
            r
        }
        Err(e) => {
            w(format!("registry     {input}"))?;
            w(format!("  problem    {e}"))?;
            match super::fallback::configured(settings, &config) {
                Ok(Some(f)) => w(format!(
                    "  fallback   not ECR: get, store and erase go to {} ({})",
                    f.program(),
                    f.origin
                ))?,
                _ => w("  fix        use a hostname like 123456789012.dkr.ecr.us-east-1.amazonaws.com or public.ecr.aws, or an [[alias]] in the config file".into())?,
            }
            return Ok(false);
        }
    };
    w(format!("registry     {}", registry.host()))?;
    w(format!(
        "  helper     {}",
        crate::configure::which::helper_on_path(settings).describe()
    ))?;
    if let Ok(Some(f)) = super::fallback::configured(settings, &config) {
        let found = crate::configure::which::fallback_on_path(&f.name, settings);
        w(format!(
            "  fallback   {} ({}) for registries that are not ECR: {}",
            f.program(),
            f.origin,
            found.map_or_else(
                || "NOT on PATH (install it, or change the fallback)".to_string(),
                |p| format!("found at {}", p.display())
            )
        ))?;
    }
    match &registry {
        Registry::Private(p) => {
            w(format!("  account    {}", p.account))?;
            w(format!("  region     {}", p.region))?;
            w(format!("  partition  {}", p.partition))?;
            w(format!("  fips       {}", yes_no(p.fips)))?;
            w(format!("  dual-stack {}", yes_no(p.dual_stack)))?;
        }
        Registry::Public { .. } => {
            w("  kind       ECR Public (API in us-east-1)".into())?;
        }
    }
    w(format!("endpoint     {}", source.api_endpoint(&registry)))?;

    let resolved = match crate::core::resolve::resolve_registry(
        registry.clone(),
        &config,
        config_path.as_deref(),
        settings,
    ) {
        Ok(r) => r,
        // The map was read above: only the identity can fail here.
        Err(e) => {
            w(format!("credentials  problem: {e}"))?;
            return Ok(false);
        }
    };
    match &resolved.rule {
        Some((rule, file)) => w(format!(
            "map          rule {:?} of {}: profile {}, role {}",
            rule.pattern,
            file.display(),
            rule.profile.as_deref().unwrap_or("-"),
            rule.role_arn.as_deref().unwrap_or("-")
        ))?,
        None => w("map          no rule (standard credential chain)".into())?,
    }
    let identity = resolved.identity;
    w(format!("credentials  {}", identity.label))?;
    if let Some(mfa) = &identity.mfa {
        let kept = if app.sign_in().mfa_session_is_kept(mfa) {
            "a kept session is valid"
        } else {
            "no valid kept session: the next get prompts"
        };
        w(format!("  mfa        {} ({kept})", mfa.mfa_serial))?;
    }
    for line in sign_in_lines(app.sign_in(), &identity) {
        w(line)?;
    }
    let rule_profile = resolved.rule.as_ref().and_then(|(r, _)| r.profile.clone());
    if let Some(p) = &identity.profile {
        let from = if settings.var(crate::env::AWS_PROFILE) == Some(p.as_str()) {
            crate::env::AWS_PROFILE.to_string()
        } else if rule_profile.as_deref() == Some(p.as_str()) {
            "chosen by the map rule".to_string()
        } else {
            "the default profile".to_string()
        };
        w(format!("  profile    {p} ({from})"))?;
    }
    if let Some(p) = rule_profile.filter(|_| settings.explicit_credentials()) {
        w(format!(
            "  note       the map rule's profile {p} is not used: {} in the environment wins (unset it to use the rule)",
            if settings.var(crate::env::AWS_PROFILE).is_some() {
                crate::env::AWS_PROFILE
            } else {
                crate::env::AWS_ACCESS_KEY_ID
            }
        ))?;
    }
    w(format!("  source     {}", source_name(identity.source)))?;
    w(format!("  identity   {}", identity.fingerprint))?;

    match app.helper().cache() {
        None => w("cache        disabled".into())?,
        Some(cache) => {
            let now = SystemTime::now();
            let state = match cache.get(&identity, registry.cache_key()) {
                None => "no entry (the next get calls ECR)".to_string(),
                Some(e) if e.remaining(now).is_zero() => {
                    "expired (the next get calls ECR)".to_string()
                }
                Some(e) => e.state(now),
            };
            w(format!("cache        {}: {state}", cache.dir().display()))?;
            let kept = crate::core::registry::host_of(input)
                .ok()
                .and_then(|h| cache.stored_login(&h))
                .filter(|e| e.remaining(now) >= super::list::MIN_STORED_VALIDITY);
            if let Some(e) = kept {
                w(format!(
                    "  kept       a `docker login` for {} ({} left): `get` serves it instead of this identity's token; `docker logout {}` forgets it",
                    e.registry,
                    crate::support::time::human(e.remaining(now)),
                    e.registry
                ))?;
            }
        }
    }

    let started = Instant::now();
    match source.fetch(&registry, &identity, settings.timeout) {
        Ok(token) => {
            let left = token
                .expires_at
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            w(format!(
                "token        ok: user {}, valid for {} (took {} ms)",
                token.username,
                human(left),
                started.elapsed().as_millis()
            ))?;
            Ok(true)
        }
        Err(e) => {
            w(format!(
                "token        FAILED after {} ms: {e}",
                started.elapsed().as_millis()
            ))?;
            w(format!("  fix        {}", e.fix()))?;
            Ok(false)
        }
    }
}

/// What the cached SSO token or `aws login` session says: when it expires,
/// whether the next get renews it, and what to run when it cannot.
fn sign_in_lines(source: &dyn SignIn, identity: &Identity) -> Vec<String> {
    let now = SystemTime::now();
    let mut lines = Vec::new();
    let verdict = |state: &Cached, command: String| match state {
        Cached::Token { expires_at, .. } if *expires_at > now + RENEW => "ok".to_string(),
        Cached::Token {
            refreshable: true, ..
        } => "the next get renews it with its refresh token".to_string(),
        Cached::Token { expires_at, .. } if *expires_at > now => {
            format!("expires soon: run `{command}`")
        }
        _ => format!("run `{command}`"),
    };
    if let Some(sso) = &identity.sso {
        let of = match &sso.session {
            Some(s) => format!("sso-session {s}"),
            None => format!("profile {}", sso.profile),
        };
        lines.push(format!(
            "  sso        {of}, start URL {}, account {} role {}",
            sso.start_url, sso.account_id, sso.role_name
        ));
        if let Some(state) = source.sso_token(sso) {
            lines.push(format!(
                "  sso token  {} ({})",
                state.describe(now),
                verdict(&state, sso.sign_in_command())
            ));
        }
    }
    if let Some(login) = &identity.login_session {
        lines.push(format!(
            "  login      `aws login` session {} of profile {}",
            login.session_arn, login.profile
        ));
        if let Some(state) = source.login_token(login) {
            lines.push(format!(
                "  session    credentials {} ({})",
                state.describe(now),
                verdict(&state, login.sign_in_command())
            ));
        }
    }
    lines
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn source_name(s: SourceKind) -> &'static str {
    match s {
        SourceKind::Environment => "environment variables",
        SourceKind::Profile => "shared config / credentials files",
        SourceKind::WebIdentity => "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
        SourceKind::Container => "ECS / EKS container credentials endpoint",
        SourceKind::InstanceMetadata => "EC2 instance metadata",
        SourceKind::None => "none found",
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::rc::Rc;
    use std::time::{Duration, SystemTime};

    use super::super::app::{fake::Fake, App};
    use crate::core::login::Login;
    use crate::core::source::Cached;
    use crate::settings::Settings;
    use crate::support::secret::Secret;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    /// `doctor HOST` against `fake`, with `vars` (and `config` as the AWS
    /// config file, no cache): its report, whether it got a token, the
    /// fake's calls.
    fn doctor(vars: &[(&str, &str)], config: &str, fake: Fake) -> (String, bool, usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, config).unwrap();
        let mut all: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        all.push(("AWS_CONFIG_FILE".into(), path.display().to_string()));
        all.push((crate::env::DISABLE_CACHE.into(), "true".into()));
        let settings = Settings::from_vars(all, Some(dir.path().to_path_buf()));
        let fake = Rc::new(fake);
        let app = App::with(&settings, fake.clone(), fake.clone());
        let mut out = Vec::new();
        let ok = super::run(HOST, &app, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), ok, fake.calls.get())
    }

    /// The report's line that starts with `label`.
    fn line<'a>(report: &'a str, label: &str) -> &'a str {
        report
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line in:\n{report}"))
    }

    const KEYS: &[(&str, &str)] = &[
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret-not-printed"),
    ];

    #[test]
    fn a_failed_fetch_is_reported_with_the_source_s_endpoint_and_the_fix() {
        let (report, ok, calls) = doctor(KEYS, "", Fake::new());
        assert!(!ok);
        assert_eq!(calls, 1);
        assert_eq!(
            line(&report, "endpoint"),
            "endpoint     https://api.ecr.fake.example (fake)"
        );
        assert_eq!(
            line(&report, "  source"),
            "  source     environment variables"
        );
        assert_eq!(line(&report, "cache"), "cache        disabled");
        let expected = (Fake::new().fetch)().unwrap_err();
        let failed = line(&report, "token");
        assert!(failed.starts_with("token        FAILED after "), "{failed}");
        assert!(failed.ends_with(&format!(" ms: {expected}")), "{failed}");
        assert_eq!(
            line(&report, "  fix"),
            format!("  fix        {}", expected.fix())
        );
        assert!(!report.contains("secret-not-printed"), "{report}");
    }

    #[test]
    fn an_sso_profile_s_sign_in_is_explained_and_a_token_reported() {
        let config = "[sso-session corp]\nsso_start_url = https://corp/start\nsso_region = eu-west-1\n[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n";
        let mut fake = Fake::new();
        fake.sso = Some(Cached::Token {
            path: PathBuf::from("/h/t.json"),
            expires_at: SystemTime::now() - Duration::from_secs(3600 + 90),
            refreshable: false,
        });
        fake.fetch = || {
            Ok(Login {
                username: "AWS".into(),
                password: Secret::new("pw-not-printed"),
                expires_at: SystemTime::now() + Duration::from_secs(12 * 3600 - 30),
            })
        };
        let (report, ok, calls) = doctor(&[("AWS_PROFILE", "dev")], config, fake);
        assert!(ok, "{report}");
        assert_eq!(calls, 1);
        assert_eq!(
            line(&report, "  sso token"),
            "  sso token  has expired (1h 1m ago) (run `aws sso login --sso-session corp`)"
        );
        let token = line(&report, "token");
        assert!(
            token.starts_with("token        ok: user AWS, valid for 11h 59m (took "),
            "{token}"
        );
        assert!(!report.contains("pw-not-printed"), "{report}");
    }
}
