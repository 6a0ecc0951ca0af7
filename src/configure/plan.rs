//! Editing a Docker or Podman config file's text: add `credHelpers` entries
//! or `credsStore`, keep every other key and value in place (serde_json with
//! `preserve_order`), re-indent with the file's own unit.

use std::path::Path;

use serde_json::{Map, Value};

use super::{ConfigureError, Options, HELPER_NAME};
use crate::core::regmap::check_helper_name;

/// The outcome of editing one file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The new content.
    pub after: String,
    /// Whether it differs in meaning from the old content.
    pub changed: bool,
    /// What was changed, one line each, for the user.
    pub changes: Vec<String>,
    /// What the user should know (replaced settings), one line each.
    pub warnings: Vec<String>,
    /// The `credsStore` that `--store` replaced, when it names a helper: the
    /// caller keeps it as the fallback.
    pub previous_store: Option<String>,
}

/// Edits `before` (the file's text, `None` when it does not exist) as `opts`
/// asks. `file` only names the file in errors.
pub fn plan(before: Option<&str>, opts: &Options, file: &Path) -> Result<Plan, ConfigureError> {
    let text = before.unwrap_or_default();
    let old: Value = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(text).map_err(|e| {
            ConfigureError::Refused(format!(
                "cannot parse {} ({e}); fix or move it: nothing was changed",
                file.display()
            ))
        })?
    };
    let mut new = old.clone();
    let Value::Object(root) = &mut new else {
        return Err(ConfigureError::Refused(format!(
            "{} is not a JSON object; fix or move it: nothing was changed",
            file.display()
        )));
    };
    let helper = || Value::String(HELPER_NAME.into());
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    let mut previous_store = None;
    if !opts.registries.is_empty() {
        let helpers = entry(root, "credHelpers");
        if helpers.is_null() {
            *helpers = Value::Object(Map::new());
        }
        let Value::Object(helpers) = helpers else {
            return Err(ConfigureError::Refused(format!(
                "\"credHelpers\" in {} is not an object; fix it: nothing was changed",
                file.display()
            )));
        };
        for host in &opts.registries {
            let slot = entry(helpers, host);
            if *slot == helper() {
                continue;
            }
            if !slot.is_null() {
                warnings.push(format!(
                    "credHelpers[{host:?}] was {}; it is now {HELPER_NAME:?}",
                    slot
                ));
            }
            *slot = helper();
            changes.push(format!("credHelpers: {host} -> {HELPER_NAME}"));
        }
    }
    if opts.store {
        let slot = entry(root, "credsStore");
        if *slot != helper() {
            match slot.as_str().filter(|n| check_helper_name(n).is_ok()) {
                // Kept as the fallback by the caller: no login is lost.
                Some(name) => previous_store = Some(name.to_string()),
                None if !slot.is_null() => warnings.push(format!(
                    "credsStore was {}; it is now {HELPER_NAME:?}: logins to registries other than ECR that were kept there are no longer used",
                    slot
                )),
                None => {}
            }
            *slot = helper();
            changes.push(format!("credsStore: {HELPER_NAME}"));
        }
    }
    let changed = new != old;
    let after = if changed {
        let trailing_newline = before.is_none_or(|b| b.ends_with('\n') || b.trim().is_empty());
        let mut s = to_pretty(&new, &indent_of(text))?;
        if trailing_newline {
            s.push('\n');
        }
        s
    } else {
        text.to_string()
    };
    Ok(Plan {
        after,
        changed,
        changes,
        warnings,
        previous_store,
    })
}

/// The value of `key` in `object`, appended as `null` when missing.
fn entry<'a>(object: &'a mut Map<String, Value>, key: &str) -> &'a mut Value {
    object.entry(key).or_insert(Value::Null)
}

/// The indentation unit of a JSON text: the leading whitespace of its first
/// indented line (tabs: one tab; spaces: that many), or a tab.
pub fn indent_of(text: &str) -> String {
    for line in text.lines().skip(1) {
        let ws: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if ws.len() == line.len() {
            continue;
        }
        if ws.starts_with('\t') {
            return "\t".into();
        }
        if (1..=8).contains(&ws.len()) && !ws.contains('\t') {
            return ws;
        }
        break;
    }
    "\t".into()
}

fn to_pretty(v: &Value, indent: &str) -> Result<String, ConfigureError> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(v, &mut ser).map_err(ConfigureError::Encode)?;
    // serde_json writes UTF-8 only, so nothing is replaced here.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn opts(registries: &[&str], store: bool) -> Options {
        Options {
            registries: registries.iter().map(|s| s.to_string()).collect(),
            store,
            ..Options::default()
        }
    }

    #[test]
    fn plans_add_replace_and_leave_alone() {
        let f = Path::new("config.json");
        let p = plan(None, &opts(&[A], false), f).unwrap();
        assert!(p.changed);
        assert_eq!(
            p.after,
            format!("{{\n\t\"credHelpers\": {{\n\t\t\"{A}\": \"ecr-login\"\n\t}}\n}}\n")
        );
        let again = plan(Some(&p.after), &opts(&[A], false), f).unwrap();
        assert!(!again.changed && again.changes.is_empty());
        assert_eq!(again.after, p.after);
        let replaced = plan(
            Some(&format!(
                "{{\"credHelpers\":{{\"{A}\":\"desktop\"}},\"credsStore\":\"osxkeychain\"}}"
            )),
            &opts(&[A], true),
            f,
        )
        .unwrap();
        assert!(replaced.changed);
        assert_eq!(replaced.warnings.len(), 1, "{:?}", replaced.warnings);
        assert!(replaced.warnings[0].contains("\"desktop\""));
        assert_eq!(replaced.previous_store.as_deref(), Some("osxkeychain"));
        let odd = plan(Some("{\"credsStore\": \"../x\"}"), &opts(&[], true), f).unwrap();
        assert_eq!(odd.previous_store, None);
        assert!(
            odd.warnings[0].contains("no longer used"),
            "{:?}",
            odd.warnings
        );
        // Whitespace-only or empty files count as {}.
        assert!(plan(Some("  \n"), &opts(&[A], false), f).unwrap().changed);
    }

    #[test]
    fn key_order_and_values_are_kept_at_every_level() {
        let before = r#"{"z": 1, "a": {"y": -2, "b": 3.25}, "m": [{"q": null, "c": true}], "dup": 1, "dup": 2, "big": 18446744073709551615}"#;
        let p = plan(Some(before), &opts(&[A], true), Path::new("f")).unwrap();
        // Duplicate keys become one, in the first one's place, with the last
        // one's value: the one Docker reads.
        assert_eq!(
            p.after,
            format!(
                "{{\n\t\"z\": 1,\n\t\"a\": {{\n\t\t\"y\": -2,\n\t\t\"b\": 3.25\n\t}},\n\t\"m\": [\n\t\t{{\n\t\t\t\"q\": null,\n\t\t\t\"c\": true\n\t\t}}\n\t],\n\t\"dup\": 2,\n\t\"big\": 18446744073709551615,\n\t\"credHelpers\": {{\n\t\t\"{A}\": \"ecr-login\"\n\t}},\n\t\"credsStore\": \"ecr-login\"\n}}"
            )
        );
        // The value Docker reads (the last) is the one edited.
        let dup = r#"{"credsStore": "ecr-login", "credsStore": "desktop"}"#;
        let p = plan(Some(dup), &opts(&[], true), Path::new("f")).unwrap();
        assert!(p.changed);
        assert_eq!(p.after, "{\n\t\"credsStore\": \"ecr-login\"\n}");
    }

    #[test]
    fn unparsable_and_odd_shapes_are_refused() {
        let f = Path::new("/x/config.json");
        for (text, want) in [
            ("{\"auths\": {", "cannot parse /x/config.json"),
            ("[1, 2]", "/x/config.json is not a JSON object"),
            (
                "{\"credHelpers\": []}",
                "\"credHelpers\" in /x/config.json is not an object",
            ),
        ] {
            let e = plan(Some(text), &opts(&[A], false), f)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(want) && e.contains("nothing was changed"),
                "{text}: {e}"
            );
        }
        // credHelpers problems do not matter for --store alone.
        assert!(
            plan(Some("{\"credHelpers\": []}"), &opts(&[], true), f)
                .unwrap()
                .changed
        );
    }

    #[test]
    fn indentation_is_detected() {
        assert_eq!(indent_of("{\n    \"a\": 1\n}"), "    ");
        assert_eq!(indent_of("{\n  \"a\": {\n    \"b\": 1\n  }\n}"), "  ");
        assert_eq!(indent_of("{\n\t\"a\": 1\n}"), "\t");
        assert_eq!(indent_of("{\"a\": 1}"), "\t");
        assert_eq!(indent_of("{\n\n\"a\": 1\n}"), "\t");
        assert_eq!(indent_of(""), "\t");
    }
}
