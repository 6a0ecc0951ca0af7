//! `doctor HOST`: explains, for one registry, every decision the helper makes,
//! then tries to get a token and says how to fix what failed. Never prints a
//! secret.

use std::io::Write;
use std::path::Path;
use std::time::{Instant, SystemTime};

use crate::aws::{SdkTokenSource, TokenSource};
use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::identity::SourceKind;
use crate::registry::Registry;
use crate::settings::Settings;
use crate::time::human;

/// Writes the report for `input` to `out`; `Ok(true)` when a token was obtained.
pub fn run(input: &str, settings: &Settings, out: &mut dyn Write) -> Result<bool> {
    let source = SdkTokenSource::new(settings);
    let mut w = |line: String| {
        out.write_all(crate::redact::scrub(&line).as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| Error::Io(format!("cannot write to stdout: {e}")))
    };
    let (config, config_path) = match crate::resolve::config(settings) {
        Ok(c) => c,
        Err(e) => {
            w(format!("registry     {input}"))?;
            w(format!("map          problem: {e}"))?;
            return Ok(false);
        }
    };
    let registry = match crate::resolve::registry_for(input, &config) {
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

    let resolved = match crate::resolve::resolve_registry(registry.clone(), settings) {
        Ok(r) => r,
        Err(e @ Error::Config(_)) => {
            w(format!("map          problem: {e}"))?;
            return Ok(false);
        }
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
        let kept = source
            .mfa_session_is_kept(mfa)
            .map(|_| "a kept session is valid")
            .unwrap_or("no valid kept session: the next get prompts");
        w(format!("  mfa        {} ({kept})", mfa.mfa_serial))?;
    }
    if let Some(p) = &identity.profile {
        w(format!("  profile    {p} (AWS_PROFILE)"))?;
    }
    w(format!("  source     {}", source_name(identity.source)))?;
    w(format!("  identity   {}", identity.fingerprint))?;

    match Cache::from_settings(settings) {
        None => w("cache        disabled".into())?,
        Some(cache) => {
            let now = SystemTime::now();
            let state = match cache.get(&identity, registry.host()) {
                None => "no entry (the next get calls ECR)".to_string(),
                Some(e) if e.remaining(now).is_zero() => {
                    "expired (the next get calls ECR)".to_string()
                }
                Some(e) if e.is_fresh(now) => format!("valid, {} left", human(e.remaining(now))),
                Some(e) => format!(
                    "valid, {} left, past half-life (the next get refreshes)",
                    human(e.remaining(now))
                ),
            };
            w(format!("cache        {} : {state}", cache.dir().display()))?;
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
                "token        ok: user {} , valid for {} (took {} ms)",
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
