//! `configure`: points Docker (or Podman) at this helper by editing its JSON
//! config file.
//!
//! - `--registry HOST` (repeatable) adds `"credHelpers": {"HOST": "ecr-login"}`;
//! - `--store` sets `"credsStore": "ecr-login"` (Docker only);
//! - `--podman` edits the containers auth file instead of Docker's config;
//! - `--dry-run` prints a unified diff of the change and writes nothing.
//!
//! Files: Docker's is `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`. Podman's is `$REGISTRY_AUTH_FILE`, else
//! `$XDG_RUNTIME_DIR/containers/auth.json`, else
//! `~/.config/containers/auth.json` (containers-auth.json(5) reads the same
//! `credHelpers` map).
//!
//! Every other key and value is kept, in the same order (see [`Json`]; new
//! keys go last). The file is re-indented with the unit of its first indented
//! line (a tab or N spaces; a tab for new or one-line files, as Docker writes
//! them). Strings and numbers are re-encoded by serde_json: `\u00e9` becomes
//! `é`, `1.50` becomes `1.5`.
//!
//! Writes are atomic (a temp file in the same directory, renamed over the
//! target, keeping the target's mode; new files are 0600 in a 0700 directory).
//! When the content changes, the previous content is first saved as
//! `<file>.bak` (0600). A file that is not a JSON object, or whose
//! `credHelpers` is not an object, is refused and left untouched. Running the
//! same command twice changes nothing the second time.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::registry::Registry;

/// The helper's name in Docker's config (`docker-credential-<name>`).
pub const HELPER_NAME: &str = "ecr-login";

/// What `configure` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Normalised registry hosts for `credHelpers`, without duplicates.
    pub registries: Vec<String>,
    /// Set `credsStore`.
    pub store: bool,
    /// Edit the containers auth file instead of Docker's config.
    pub podman: bool,
    /// Print the diff, write nothing.
    pub dry_run: bool,
}

/// Parses the arguments after `configure`. Every `--registry` must be an ECR
/// registry; at least one of `--registry` and `--store` is required.
pub fn parse_args(args: &[&str]) -> Result<Options> {
    let mut opts = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = match *arg {
            "--store" => {
                opts.store = true;
                continue;
            }
            "--podman" => {
                opts.podman = true;
                continue;
            }
            "--dry-run" | "-n" => {
                opts.dry_run = true;
                continue;
            }
            "--registry" | "-r" => it
                .next()
                .copied()
                .ok_or_else(|| Error::Usage(format!("{arg} needs a value: {arg} HOST")))?,
            other => match other.strip_prefix("--registry=") {
                Some(v) => v,
                None => {
                    return Err(Error::Usage(format!(
                        "configure: unknown option {:?}",
                        other.escape_debug().to_string()
                    )))
                }
            },
        };
        let host = Registry::parse(value)?.host().to_string();
        if !opts.registries.contains(&host) {
            opts.registries.push(host);
        }
    }
    if opts.registries.is_empty() && !opts.store {
        return Err(Error::Usage(
            "configure needs --registry HOST (repeatable) or --store".into(),
        ));
    }
    if opts.podman && opts.store {
        return Err(Error::Usage(
            "--store does not apply to --podman: containers-auth.json has no credsStore; use --registry HOST, or credential-helpers in registries.conf".into(),
        ));
    }
    Ok(opts)
}

/// The file to edit, from the environment (`var`) and the home directory.
pub fn config_file(
    podman: bool,
    var: &dyn Fn(&str) -> Option<String>,
    home: Option<PathBuf>,
) -> Result<PathBuf> {
    let no_home = |what: &str| {
        Error::Usage(format!(
            "cannot locate {what}: no home directory (set HOME)"
        ))
    };
    if podman {
        if let Some(p) = var("REGISTRY_AUTH_FILE") {
            return Ok(PathBuf::from(p));
        }
        if let Some(run) = var("XDG_RUNTIME_DIR") {
            return Ok(Path::new(&run).join("containers").join("auth.json"));
        }
        return home
            .map(|h| h.join(".config").join("containers").join("auth.json"))
            .ok_or_else(|| no_home("the containers auth file (or set REGISTRY_AUTH_FILE)"));
    }
    if let Some(dir) = var("DOCKER_CONFIG") {
        return Ok(Path::new(&dir).join("config.json"));
    }
    home.map(|h| h.join(".docker").join("config.json"))
        .ok_or_else(|| no_home("the Docker config (or set DOCKER_CONFIG)"))
}

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
}

/// Edits `before` (the file's text, `None` when it does not exist) as `opts`
/// asks. `file` only names the file in errors.
pub fn plan(before: Option<&str>, opts: &Options, file: &Path) -> Result<Plan> {
    let text = before.unwrap_or_default();
    let old: Json = if text.trim().is_empty() {
        Json::Object(Vec::new())
    } else {
        serde_json::from_str(text).map_err(|e| {
            Error::Io(format!(
                "cannot parse {} ({e}); fix or move it: nothing was changed",
                file.display()
            ))
        })?
    };
    let mut new = old.clone();
    let Json::Object(root) = &mut new else {
        return Err(Error::Io(format!(
            "{} is not a JSON object; fix or move it: nothing was changed",
            file.display()
        )));
    };
    let helper = || Json::String(HELPER_NAME.into());
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    if !opts.registries.is_empty() {
        let helpers = entry(root, "credHelpers");
        if matches!(helpers, Json::Null) {
            *helpers = Json::Object(Vec::new());
        }
        let Json::Object(helpers) = helpers else {
            return Err(Error::Io(format!(
                "\"credHelpers\" in {} is not an object; fix it: nothing was changed",
                file.display()
            )));
        };
        for host in &opts.registries {
            let slot = entry(helpers, host);
            if *slot == helper() {
                continue;
            }
            if *slot != Json::Null {
                warnings.push(format!(
                    "credHelpers[{host:?}] was {}; it is now {HELPER_NAME:?}",
                    slot.compact()
                ));
            }
            *slot = helper();
            changes.push(format!("credHelpers: {host} -> {HELPER_NAME}"));
        }
    }
    if opts.store {
        let slot = entry(root, "credsStore");
        if *slot != helper() {
            if *slot != Json::Null {
                warnings.push(format!(
                    "credsStore was {}; it is now {HELPER_NAME:?}: logins to registries other than ECR that were kept there are no longer used",
                    slot.compact()
                ));
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
    })
}

/// A JSON value whose objects keep their keys in document order (serde_json's
/// own map sorts them unless its `preserve_order` feature is on).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as serde_json reads it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: keys and values in document order (duplicates kept).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// One-line JSON text of the value.
    pub fn compact(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The value of `key` in `object` (the last one, as Docker reads duplicates),
/// appended as `null` when missing.
fn entry<'a>(object: &'a mut Vec<(String, Json)>, key: &str) -> &'a mut Json {
    let index = match object.iter().rposition(|(k, _)| k == key) {
        Some(i) => i,
        None => {
            object.push((key.to_string(), Json::Null));
            object.len() - 1
        }
    };
    &mut object[index].1
}

impl serde::Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(v) => s.serialize_str(v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> std::result::Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Json, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Json>()? {
            entries.push(entry);
        }
        Ok(Json::Object(entries))
    }
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

fn to_pretty(v: &Json, indent: &str) -> Result<String> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(v, &mut ser)
        .map_err(|e| Error::Io(format!("cannot encode the configuration: {e}")))?;
    String::from_utf8(out).map_err(|e| Error::Io(format!("cannot encode the configuration: {e}")))
}

/// A unified diff (three lines of context) from `old` to `new`, with the
/// given file labels; empty when the texts are equal. Myers' algorithm
/// (the `similar` crate): memory linear in the input, so a dry run on a large
/// config file stays small.
pub fn unified_diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a == b {
        return String::new();
    }
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_slices(&a, &b);
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&format!("{}\n", hunk.header()));
        for change in hunk.iter_changes() {
            let tag = match change.tag() {
                similar::ChangeTag::Equal => ' ',
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
            };
            out.push_str(&format!("{tag}{}\n", change.value()));
        }
    }
    out
}

/// Whether an executable named `name` (on Windows also `name.exe`) is in one
/// of the `path` directories.
pub fn on_path(name: &str, path: Option<OsString>) -> bool {
    let Some(path) = path else { return false };
    let names = if cfg!(windows) {
        vec![name.to_string(), format!("{name}.exe")]
    } else {
        vec![name.to_string()]
    };
    std::env::split_paths(&path).any(|dir| {
        names.iter().any(|n| match std::fs::metadata(dir.join(n)) {
            #[cfg(unix)]
            Ok(m) => {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            Ok(m) => m.is_file(),
            Err(_) => false,
        })
    })
}

/// Runs `configure` with `args` (after the command name); reports on `stdout`.
pub fn run(args: &[&str], stdout: &mut dyn Write) -> Result<()> {
    let opts = parse_args(args)?;
    let path = config_file(opts.podman, &crate::env::var, dirs::home_dir())?;
    // Edit the target of a symlink (dotfile managers), not the link.
    let path = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&path)
            .map_err(|e| Error::Io(format!("cannot resolve {}: {e}", path.display())))?,
        _ => path,
    };
    let before = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::Io(format!("cannot read {}: {e}", path.display()))),
    };
    let plan = plan(before.as_deref(), &opts, &path)?;
    if !on_path(crate::cli::BIN, std::env::var_os("PATH")) {
        crate::warn!(
            "no executable named {} on PATH: {} runs the helper by that name, so install it in a PATH directory",
            crate::cli::BIN,
            if opts.podman { "Podman" } else { "Docker" }
        );
    }
    for w in &plan.warnings {
        crate::warn!("{w}");
    }
    let shown = path.display().to_string();
    let mut report = String::new();
    if !plan.changed {
        report.push_str(&format!("no change: {shown} is already configured\n"));
    } else if opts.dry_run {
        let old_label = if before.is_some() {
            shown.as_str()
        } else {
            "/dev/null"
        };
        report.push_str(&unified_diff(
            before.as_deref().unwrap_or_default(),
            &plan.after,
            old_label,
            &shown,
        ));
        report.push_str(&format!("dry run: {shown} was not changed\n"));
    } else {
        // Root editing a user's file (sudo, a provisioning script) leaves it,
        // and its backup, owned by the user: the file's owner, or for a new
        // file the owner of its directory.
        let owner = owner_of(&path).or_else(|| path.parent().and_then(owner_of));
        match &before {
            Some(old) => {
                let backup = backup_path(&path);
                write_atomically(&backup, old.as_bytes(), 0o600, owner.as_ref()).map_err(|e| {
                    Error::Io(format!("cannot write the backup {}: {e}", backup.display()))
                })?;
                report.push_str(&format!(
                    "updated {shown} (previous content saved as {})\n",
                    backup.display()
                ));
            }
            None => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    create_private_dir(dir)
                        .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
                }
                report.push_str(&format!("created {shown}\n"));
            }
        }
        let mode = existing_mode(&path).unwrap_or(0o600);
        write_atomically(&path, plan.after.as_bytes(), mode, owner.as_ref())
            .map_err(|e| Error::Io(format!("cannot write {shown}: {e}")))?;
        for c in &plan.changes {
            report.push_str(&format!("  {c}\n"));
        }
    }
    stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::Io(format!("cannot write to stdout: {e}")))
}

/// `config.json` → `config.json.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(".bak");
    path.with_file_name(name)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// The owner and group of `path`, if it exists (Unix).
#[cfg(unix)]
fn owner_of(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.uid(), m.gid()))
}

#[cfg(not(unix))]
fn owner_of(_: &Path) -> Option<(u32, u32)> {
    None
}

#[cfg(unix)]
fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn existing_mode(_: &Path) -> Option<u32> {
    None
}

/// Writes `content` to a temp file next to `path` with `mode` (and, when it
/// differs from ours and we may, `owner`), then renames it over `path`:
/// readers see the old or the new content, never a mix.
fn write_atomically(
    path: &Path,
    content: &[u8],
    mode: u32,
    owner: Option<&(u32, u32)>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ecr-login-configure-")
        .tempfile_in(dir)?;
    tmp.write_all(content)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        use std::os::unix::fs::PermissionsExt;
        let file = tmp.as_file();
        if let Some(&(uid, gid)) = owner {
            let now = file.metadata()?;
            if (now.uid(), now.gid()) != (uid, gid) {
                // Only root may give a file away; anyone else writes it as
                // themselves, as before.
                match std::os::unix::fs::fchown(file, Some(uid), Some(gid)) {
                    Err(e) if now.uid() == 0 => return Err(e),
                    _ => {}
                }
            }
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (mode, owner);
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const B: &str = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";

    fn opts(registries: &[&str], store: bool) -> Options {
        Options {
            registries: registries.iter().map(|s| s.to_string()).collect(),
            store,
            ..Options::default()
        }
    }

    #[test]
    fn args_are_validated_and_normalised() {
        let o = parse_args(&[
            "--registry",
            &format!("https://{}", A.to_uppercase()),
            &format!("--registry={B}"),
            "-r",
            A,
            "--dry-run",
        ])
        .unwrap();
        assert_eq!(o.registries, vec![A.to_string(), B.to_string()]);
        assert!(o.dry_run && !o.store && !o.podman);
        assert!(matches!(
            parse_args(&["--registry", "ghcr.io"]),
            Err(Error::NotEcr(_))
        ));
        for bad in [
            &[][..],
            &["--dry-run"],
            &["--registry"],
            &["--frob"],
            &["--podman", "--store"],
        ] {
            assert!(matches!(parse_args(bad), Err(Error::Usage(_))), "{bad:?}");
        }
        assert!(parse_args(&["--store"]).unwrap().store);
    }

    #[test]
    fn file_locations() {
        let home = Some(PathBuf::from("/home/u"));
        let none = |_: &str| None;
        assert_eq!(
            config_file(false, &none, home.clone()).unwrap(),
            Path::new("/home/u/.docker/config.json")
        );
        assert_eq!(
            config_file(true, &none, home.clone()).unwrap(),
            Path::new("/home/u/.config/containers/auth.json")
        );
        let vars = |k: &str| match k {
            "DOCKER_CONFIG" => Some("/etc/docker-cfg".to_string()),
            "XDG_RUNTIME_DIR" => Some("/run/user/1000".to_string()),
            _ => None,
        };
        assert_eq!(
            config_file(false, &vars, home.clone()).unwrap(),
            Path::new("/etc/docker-cfg/config.json")
        );
        assert_eq!(
            config_file(true, &vars, home.clone()).unwrap(),
            Path::new("/run/user/1000/containers/auth.json")
        );
        let auth_file = |k: &str| (k == "REGISTRY_AUTH_FILE").then(|| "/tmp/a.json".to_string());
        assert_eq!(
            config_file(true, &auth_file, None).unwrap(),
            Path::new("/tmp/a.json")
        );
        assert!(config_file(false, &none, None).is_err());
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
        assert_eq!(replaced.warnings.len(), 2, "{:?}", replaced.warnings);
        assert!(replaced.warnings[0].contains("\"desktop\""));
        assert!(replaced.warnings[1].contains("\"osxkeychain\""));
        // Whitespace-only or empty files count as {}.
        assert!(plan(Some("  \n"), &opts(&[A], false), f).unwrap().changed);
    }

    #[test]
    fn key_order_and_values_are_kept_at_every_level() {
        let before = r#"{"z": 1, "a": {"y": -2, "b": 3.25}, "m": [{"q": null, "c": true}], "dup": 1, "dup": 2, "big": 18446744073709551615}"#;
        let p = plan(Some(before), &opts(&[A], true), Path::new("f")).unwrap();
        assert_eq!(
            p.after,
            format!(
                "{{\n\t\"z\": 1,\n\t\"a\": {{\n\t\t\"y\": -2,\n\t\t\"b\": 3.25\n\t}},\n\t\"m\": [\n\t\t{{\n\t\t\t\"q\": null,\n\t\t\t\"c\": true\n\t\t}}\n\t],\n\t\"dup\": 1,\n\t\"dup\": 2,\n\t\"big\": 18446744073709551615,\n\t\"credHelpers\": {{\n\t\t\"{A}\": \"ecr-login\"\n\t}},\n\t\"credsStore\": \"ecr-login\"\n}}"
            )
        );
        // The last of duplicate keys is the one edited, as Docker reads it.
        let dup = r#"{"credsStore": "ecr-login", "credsStore": "desktop"}"#;
        let p = plan(Some(dup), &opts(&[], true), Path::new("f")).unwrap();
        assert_eq!(
            p.after,
            "{\n\t\"credsStore\": \"ecr-login\",\n\t\"credsStore\": \"ecr-login\"\n}"
        );
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

    #[test]
    fn diffs() {
        assert_eq!(unified_diff("a\nb\n", "a\nb\n", "x", "y"), "");
        assert_eq!(
            unified_diff("", "{\n}\n", "/dev/null", "f"),
            "--- /dev/null\n+++ f\n@@ -0,0 +1,2 @@\n+{\n+}\n"
        );
        let lines = |edit: &dyn Fn(usize) -> Vec<String>| -> String {
            (1..=16).flat_map(edit).map(|l| l + "\n").collect()
        };
        let old = lines(&|n| vec![n.to_string()]);
        let new = lines(&|n| match n {
            2 => vec!["two".into()],
            15 => vec!["15".into(), "fifteen-and-a-half".into()],
            _ => vec![n.to_string()],
        });
        assert_eq!(
            unified_diff(&old, &new, "a", "b"),
            "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n@@ -13,4 +13,5 @@\n 13\n 14\n 15\n+fifteen-and-a-half\n 16\n"
        );
        // Changes less than seven lines apart share a hunk.
        let near = lines(&|n| match n {
            2 => vec!["two".into()],
            8 => vec!["eight".into()],
            _ => vec![n.to_string()],
        });
        assert_eq!(
            unified_diff(&old, &near, "a", "b"),
            "--- a\n+++ b\n@@ -1,11 +1,11 @@\n 1\n-2\n+two\n 3\n 4\n 5\n 6\n 7\n-8\n+eight\n 9\n 10\n 11\n"
        );
        // A deletion at the end.
        assert_eq!(
            unified_diff("a\nb\n", "a\n", "x", "y"),
            "--- x\n+++ y\n@@ -1,2 +1 @@\n a\n-b\n"
        );
    }

    #[test]
    fn backup_names() {
        assert_eq!(
            backup_path(Path::new("/h/.docker/config.json")),
            Path::new("/h/.docker/config.json.bak")
        );
    }
}
