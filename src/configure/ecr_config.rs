//! Editing the helper's own config file (`~/.ecr/config.toml`, see
//! [`crate::core::regmap`]) as text: set the top-level `fallback`, append
//! `[[registry]]` rules. Everything else (comments, order, spacing) stays
//! byte for byte.
//!
//! Why text and not `toml_edit`: the two edits are small and local (one
//! top-level line; tables appended at the end), and every result is checked
//! by parsing it again with the `toml` crate: the new file must say exactly
//! what the old one said, plus the edit. A file where the text edit would
//! not give that (a `fallback` spelt as a quoted key, say) is refused with
//! what to add by hand. One dependency fewer, and no reformatting of a file
//! people write by hand.

use std::path::Path;

use super::{ConfigureError, Plan};
use crate::core::regmap::{self, MapFile, Rule};

/// Plans the edit of the config file: `before` is its text (`None` when it
/// does not exist), `fallback` the helper to set, `rules` the
/// (account, profile) rules to add when no rule of the file covers the
/// account's registry `host` yet. `file` names the file in messages.
pub fn plan(
    before: Option<&str>,
    fallback: Option<(&str, &str)>,
    rules: &[(String, String, String)],
    file: &Path,
) -> Result<Plan, ConfigureError> {
    let text = before.unwrap_or_default();
    let old = regmap::parse(text).map_err(|e| {
        ConfigureError::Refused(format!(
            "cannot parse {} ({e}); fix or move it: nothing was changed",
            file.display()
        ))
    })?;
    let mut want = old.clone();
    let mut after = text.to_string();
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    if let Some((name, why)) = fallback {
        if old.fallback.as_deref() != Some(name) {
            if let Some(was) = &old.fallback {
                warnings.push(format!(
                    "fallback was {was:?} in {}; it is now {name:?}",
                    file.display()
                ));
            }
            after = set_fallback(&after, name);
            want.fallback = Some(name.to_string());
            changes.push(format!("fallback: {name}{why}"));
        }
    }
    for (account, profile, host) in rules {
        let covered = crate::core::registry::Registry::parse(host)
            .ok()
            .and_then(|r| regmap::find(&want.rules, &r).cloned());
        if let Some(rule) = covered {
            if rule.profile.as_deref() != Some(profile.as_str()) {
                warnings.push(format!(
                    "{host} is already covered by the rule {:?} of {}; not adding profile {profile}",
                    rule.pattern,
                    file.display()
                ));
            }
            continue;
        }
        if !after.is_empty() && !after.ends_with('\n') {
            after.push('\n');
        }
        if !after.trim().is_empty() {
            after.push('\n');
        }
        after.push_str(&format!(
            "[[registry]]\nmatch = {}\nprofile = {}\n",
            quoted(account),
            quoted(profile)
        ));
        want.rules.push(Rule {
            pattern: account.clone(),
            profile: Some(profile.clone()),
            role_arn: None,
        });
        changes.push(format!("registry rule: {account} -> profile {profile}"));
    }
    let changed = want != old;
    if changed && regmap::parse(&after).ok().as_ref() != Some(&want) {
        return Err(ConfigureError::Refused(format!(
            "cannot edit {} safely; add this by hand: {}",
            file.display(),
            by_hand(&want, &old)
        )));
    }
    Ok(Plan {
        after: if changed { after } else { text.to_string() },
        changed,
        changes,
        warnings,
        previous_store: None,
    })
}

/// `text` with its top-level `fallback` line replaced, or a new one first.
fn set_fallback(text: &str, name: &str) -> String {
    let line = format!("fallback = {}", quoted(name));
    let mut out = Vec::new();
    let mut done = false;
    let mut top_level = true;
    for l in text.split_inclusive('\n') {
        let t = l.trim_start();
        top_level &= !t.starts_with('[');
        let is_key = t
            .strip_prefix("fallback")
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if top_level && is_key && !done {
            let eol = if l.ends_with("\r\n") { "\r\n" } else { "\n" };
            out.push(format!("{line}{eol}"));
            done = true;
        } else {
            out.push(l.to_string());
        }
    }
    if done {
        out.concat()
    } else {
        format!("{line}\n{text}")
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn by_hand(want: &MapFile, old: &MapFile) -> String {
    let mut parts = Vec::new();
    if want.fallback != old.fallback {
        if let Some(f) = &want.fallback {
            parts.push(format!("fallback = {} (at the top)", quoted(f)));
        }
    }
    for r in want.rules.iter().skip(old.rules.len()) {
        parts.push(format!(
            "[[registry]] match = {} profile = {}",
            quoted(&r.pattern),
            quoted(r.profile.as_deref().unwrap_or_default())
        ));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn edit(before: Option<&str>, fallback: Option<&str>, rules: &[(&str, &str)]) -> Plan {
        let rules: Vec<(String, String, String)> = rules
            .iter()
            .map(|(a, p)| {
                let host = crate::core::registry::private_host(a, "us-east-1").unwrap();
                (a.to_string(), p.to_string(), host)
            })
            .collect();
        plan(
            before,
            fallback.map(|f| (f, "")),
            &rules,
            Path::new("c.toml"),
        )
        .unwrap()
    }

    #[test]
    fn the_fallback_is_set_in_place_or_first() {
        assert_eq!(
            edit(None, Some("desktop"), &[]).after,
            "fallback = \"desktop\"\n"
        );
        let file = "# my map\n[[registry]]\nmatch = \"123456789012\"\nprofile = \"p\" # keep\n";
        assert_eq!(
            edit(Some(file), Some("pass"), &[]).after,
            format!("fallback = \"pass\"\n{file}")
        );
        let had = "# top\nfallback = 'desktop'   # was\r\n\n[[registry]]\nmatch = \"fallback\"\nprofile = \"x\"\n";
        let p = edit(Some(had), Some("pass"), &[]);
        assert_eq!(
            p.after,
            "# top\nfallback = \"pass\"\r\n\n[[registry]]\nmatch = \"fallback\"\nprofile = \"x\"\n"
        );
        assert!(p.warnings[0].contains("was \"desktop\""));
        let same = edit(Some("fallback = \"pass\"\n"), Some("pass"), &[]);
        assert!(!same.changed && same.changes.is_empty());
    }

    #[test]
    fn rules_are_appended_unless_a_rule_covers_the_registry() {
        let p = edit(
            Some("fallback = \"x\""),
            None,
            &[("123456789012", "prod \"eu\"")],
        );
        assert_eq!(
            p.after,
            "fallback = \"x\"\n\n[[registry]]\nmatch = \"123456789012\"\nprofile = \"prod \\\"eu\\\"\"\n"
        );
        let covered = format!("[[registry]]\nmatch = \"{HOST}\"\nprofile = \"other\"\n");
        let p = edit(Some(&covered), None, &[("123456789012", "prod")]);
        assert!(!p.changed);
        assert!(
            p.warnings[0].contains("already covered"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn unsafe_or_unparsable_files_are_refused() {
        let quoted_key = "\"fallback\" = \"desktop\"\n";
        let e = plan(
            Some(quoted_key),
            Some(("pass", "")),
            &[],
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("add this by hand: fallback = \"pass\""), "{e}");
        let e = plan(
            Some("nope = = 1"),
            Some(("pass", "")),
            &[],
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cannot parse c.toml"), "{e}");
    }
}
