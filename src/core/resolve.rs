//! One way from a registry host to everything a login needs: the registry,
//! the alias and registry-map rule that apply to it, and the identity whose
//! credentials are used. Every front end (the Docker protocol, the token
//! commands, `doctor`, kubelet's node-credential pulls) starts here.
//!
//! The order: normalise the host; if an alias of the config file
//! ([`crate::core::regmap`]) matches it, the alias's ECR registry stands in for it
//! (aliases come first, so a configured host is always aliased); parse the
//! registry ([`Registry::parse`]); find the first rule of the map; select the
//! rule's profile unless the environment names credentials explicitly
//! (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`); describe the identity
//! ([`Identity`]); put the rule's role, if any, on top. Nothing here touches
//! the network or the SDK.

use std::path::{Path, PathBuf};

use crate::core::identity::{Identity, IdentityError};
use crate::core::profile::ProfileSet;
use crate::core::registry::{self, NotEcr, Registry};
use crate::core::regmap::{self, Alias, ConfigError, MapFile, Rule};
use crate::env;
use crate::settings::Settings;

/// Why a registry reference does not lead to a registry and an identity.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// It names no ECR registry (nor an alias of one).
    #[error(transparent)]
    NotEcr(#[from] NotEcr),
    /// The local AWS configuration is inconsistent.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// A registry and who logs in to it.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The registry.
    pub registry: Registry,
    /// The map rule that applies, and the file it is from.
    pub rule: Option<(Rule, PathBuf)>,
    /// Whose credentials log in (with the rule's profile and role applied).
    pub identity: Identity,
}

/// The config file's content and path (empty when there is none).
/// A relative `AWS_ECR_CONFIG`, or a file that fails the trust rule, is an
/// error ([`regmap::load`]).
pub fn config(settings: &Settings) -> Result<(MapFile, Option<PathBuf>), ConfigError> {
    let path = settings.config_file().map_err(|reason| ConfigError {
        path: settings.var(env::CONFIG).unwrap_or_default().to_string(),
        reason,
    })?;
    match path {
        Some(path) => Ok((regmap::load(&path)?, Some(path))),
        None => Ok((MapFile::default(), None)),
    }
}

/// A registry reference as Docker sends it, read once: its host (what a
/// login `docker login` gave is kept under), and the ECR registry that
/// answers for it, or why none does.
#[derive(Debug, Clone)]
pub struct Named {
    /// The normalised host.
    pub host: String,
    /// The ECR registry: `input`'s own, or an alias's.
    pub registry: Result<Registry, NotEcr>,
}

/// What `input` names with the aliases of `file`; an error when it has no
/// host at all.
pub fn named(input: &str, file: &MapFile) -> Result<Named, NotEcr> {
    let host = registry::host_of(input)?;
    let registry = through_alias(input, host.clone(), file).map(|(registry, _)| registry);
    Ok(Named { host, registry })
}

/// The ECR registry `input` names: through the first alias of `file` that
/// matches its host, else itself.
pub fn registry_for(
    input: &str,
    file: &MapFile,
) -> Result<(Registry, Option<(String, Alias)>), NotEcr> {
    through_alias(input, registry::host_of(input)?, file)
}

/// [`registry_for`] of `input`, whose host is `host`.
fn through_alias(
    input: &str,
    host: String,
    file: &MapFile,
) -> Result<(Registry, Option<(String, Alias)>), NotEcr> {
    if let Some(alias) = file.alias_for(input) {
        let target = Registry::parse(&alias.registry)?;
        crate::debug!("{host} is an alias of {}", target.host());
        return Ok((target, Some((host, alias.clone()))));
    }
    Ok((Registry::parse(input)?, None))
}

/// Whether this helper answers for `input` (an ECR registry or an alias of
/// one); `false` when the config file cannot be read.
pub fn is_ecr(input: &str, file: &MapFile) -> bool {
    registry_for(input, file).is_ok()
}

/// Resolves a registry reference as Docker sends it (`https://host/...`)
/// with the config file `file` (read from `path`, see [`config`]), which the
/// front end has read once already.
pub fn resolve(
    host: &str,
    file: &MapFile,
    path: Option<&Path>,
    settings: &Settings,
) -> Result<Resolved, ResolveError> {
    let (registry, _alias) = registry_for(host, file)?;
    Ok(resolve_registry(registry, file, path, settings)?)
}

/// Resolves an already parsed registry with the config file `file`.
pub fn resolve_registry(
    registry: Registry,
    file: &MapFile,
    path: Option<&Path>,
    settings: &Settings,
) -> Result<Resolved, IdentityError> {
    let rule = match path {
        Some(path) => regmap::find(&file.rules, &registry)
            .cloned()
            .map(|rule| (rule, path.to_path_buf())),
        None => None,
    };
    let mut profile = None;
    if let Some((rule, file)) = &rule {
        crate::debug!(
            "{} matches rule {:?} of {}",
            registry.host(),
            rule.pattern,
            file.display()
        );
        match &rule.profile {
            Some(p) if settings.explicit_credentials() => {
                crate::debug!("credentials set in the environment win over the rule's profile {p}")
            }
            Some(p) => profile = Some(p.clone()),
            None => {}
        }
    }
    let identity = Identity::resolve_with(&ProfileSet::load(settings), &|name| match (
        name, &profile,
    ) {
        (env::AWS_PROFILE, Some(p)) => Some(p.clone()),
        _ => settings.lookup(name),
    })
    .map_err(|e| match (&rule, &profile) {
        (Some((r, file)), Some(_)) => {
            e.profile_named_by(format!("map rule {:?} of {}", r.pattern, file.display()))
        }
        _ => e,
    })?;
    let identity = match rule.as_ref().and_then(|(r, _)| r.role_arn.as_deref()) {
        Some(role) => identity.with_assumed_role(role),
        None => identity,
    };
    crate::debug!(
        "registry {} as {} ({})",
        registry.host(),
        identity.label,
        identity.short()
    );
    Ok(Resolved {
        registry,
        rule,
        identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    #[test]
    fn aliases_come_first_and_only_configured_hosts_are_aliased() {
        let file = regmap::parse(&format!(
            "[[alias]]\nhost = \"registry.example.com\"\nregistry = \"{TARGET}\"\n[[alias]]\nhost = \"*.cache.internal\"\nregistry = \"public.ecr.aws\"\n"
        ))
        .unwrap();
        let target = |input: &str| {
            registry_for(input, &file).map(|(r, a)| (r.host().to_string(), a.map(|(h, _)| h)))
        };
        assert_eq!(
            target("https://Registry.Example.com:443/v2/").unwrap(),
            (TARGET.to_string(), Some("registry.example.com".to_string()))
        );
        assert_eq!(
            target("docker.cache.internal").unwrap(),
            (
                "public.ecr.aws".to_string(),
                Some("docker.cache.internal".to_string())
            )
        );
        assert_eq!(target(TARGET).unwrap(), (TARGET.to_string(), None));
        assert!(target("ghcr.io").is_err());
        assert!(target("example.com").is_err());
        assert!(!is_ecr("docker.io", &file));
        assert!(is_ecr("registry.example.com", &file));
        assert!(!is_ecr("registry.example.com", &MapFile::default()));
    }
}
