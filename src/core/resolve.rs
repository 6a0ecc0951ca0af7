//! One way from a registry host to everything a login needs: the registry,
//! the registry-map rule that applies to it, and the identity whose
//! credentials are used. Every front end (the Docker protocol, the token
//! commands, `doctor`, kubelet's node-credential pulls) starts here.
//!
//! The order: parse the host ([`Registry::parse`]); find the first rule of
//! the map file ([`crate::regmap`]); select the rule's profile unless the
//! environment names credentials explicitly (`AWS_PROFILE`,
//! `AWS_ACCESS_KEY_ID`); describe the identity ([`Identity`]); put the rule's
//! role, if any, on top. Nothing here touches the network or the SDK.

use std::path::PathBuf;

use crate::env;
use crate::error::Result;
use crate::identity::Identity;
use crate::profile::ProfileSet;
use crate::registry::Registry;
use crate::regmap::{self, Rule};
use crate::settings::Settings;

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

/// Resolves a registry reference as Docker sends it (`https://host/...`).
pub fn resolve(host: &str, settings: &Settings) -> Result<Resolved> {
    resolve_registry(Registry::parse(host)?, settings)
}

/// Resolves an already parsed registry.
pub fn resolve_registry(registry: Registry, settings: &Settings) -> Result<Resolved> {
    let rule = match settings.map_file() {
        Some(file) => regmap::find(&regmap::load(&file)?, &registry)
            .cloned()
            .map(|rule| (rule, file)),
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
