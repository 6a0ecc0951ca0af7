//! `cache show` and `cache clear`.

use std::io::Write;

use super::app::App;
use crate::core::cache::Cache;
use crate::core::identity::Identity;
use crate::error::{Error, Result};

fn enabled<'a>(app: &'a App) -> Result<&'a Cache> {
    app.helper().cache().ok_or(Error::CacheDisabled)
}

/// `cache show`: every entry, whose identity, and how long it is valid.
pub fn show(app: &App, stdout: &mut dyn Write) -> Result<()> {
    let cache = enabled(app)?;
    let current = Identity::resolve(app.settings()).ok();
    let now = std::time::SystemTime::now();
    let mut text = format!("cache directory: {}\n", cache.dir().display());
    if let Some(id) = &current {
        text.push_str(&format!(
            "current identity: {} ({})\n",
            id.short(),
            id.label
        ));
    }
    let entries = cache.all_entries();
    if entries.is_empty() {
        text.push_str("no cached tokens\n");
    }
    for e in entries {
        let state = e.state(now);
        let mine = current
            .as_ref()
            .is_some_and(|id| id.fingerprint == e.identity);
        text.push_str(&format!(
            "{}{}  identity {} ({})  {state}\n",
            if mine { "* " } else { "  " },
            e.registry,
            &e.identity[..16.min(e.identity.len())],
            // The registry and the identity come from the (validated) file
            // and directory names; the label from the content, escaped.
            crate::support::redact::escape_controls(&e.identity_label)
        ));
    }
    for e in cache.stored_logins() {
        let left = e.remaining(now);
        let state = if left.is_zero() {
            "expired".to_string()
        } else {
            format!("valid, {} left", crate::support::time::human(left))
        };
        text.push_str(&format!(
            "  {}  docker login (kept; served to every identity)  {state}\n",
            crate::support::redact::escape_controls(&e.registry)
        ));
    }
    super::write_out(stdout, &text)
}

/// `cache clear`: removes every cached token and kept MFA session.
pub fn clear(app: &App, stdout: &mut dyn Write) -> Result<()> {
    let cache = enabled(app)?;
    let cleared = cache.clear()?;
    super::write_out(
        stdout,
        &format!(
            "removed {} cached token(s) and {} MFA session(s) from {}\n",
            cleared.tokens,
            cleared.mfa_sessions,
            cache.dir().display()
        ),
    )
}
