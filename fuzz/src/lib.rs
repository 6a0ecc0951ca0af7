//! The properties the fuzz targets check, one function per target.
//!
//! Each function takes the fuzzer's raw bytes and panics when a property is
//! broken (libFuzzer records a panic as a crash). The same file is compiled
//! into the main crate's `tests/it/fuzz_regressions.rs` (through `#[path]`), which
//! feeds it every file of `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/`,
//! so a crash found once stays a failing test until the source is fixed.
//!
//! It depends only on `ecr_login` and `serde_json`, like the tests.

use ecr_login::configure::{self, Options, HELPER_NAME};
use ecr_login::core::cache::{parse_entry, FORMAT_VERSION, MAX_TIMESTAMP};
use ecr_login::core::login::Login;
use ecr_login::core::registry::Registry;
use ecr_login::kubelet::{self, ApiVersion};
use serde_json::{Map, Value as Json};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// A target's check: panics when a property is broken.
pub type Check = fn(&[u8]);

/// The targets, by name (the names of `fuzz/fuzz_targets/*.rs`).
pub const TARGETS: &[(&str, Check)] = &[
    ("registry", registry),
    ("cache_entry", cache_entry),
    ("kubelet_request", kubelet_request),
    ("docker_config", docker_config),
];

/// `Registry::parse` on the input (lossily decoded as UTF-8): never panics;
/// an accepted registry has a normalised host that parses back to itself.
pub fn registry(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Registry::parse(&text) {
        Ok(reg) => check_registry(&reg, &text),
        Err(e) => assert!(!e.reason.is_empty(), "empty reason for {text:?}"),
    }
}

/// Invariants of an accepted registry (`input` names it in messages).
pub fn check_registry(reg: &Registry, input: &str) {
    let host = reg.host();
    assert!(!host.is_empty(), "empty host from {input:?}");
    assert!(
        host.bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_uppercase() && !b"/:@".contains(&b)),
        "host {host:?} (from {input:?}) is not lower-case ASCII without '/', ':', '@'"
    );
    assert_eq!(
        Registry::parse(host).as_ref(),
        Ok(reg),
        "re-parsing the host of {input:?}"
    );
    // The other spellings Docker sends name the same registry.
    for spelling in [
        format!("https://{host}"),
        format!("https://{}:443/v2/", host.to_ascii_uppercase()),
        format!(" {host}/repo\n"),
    ] {
        assert_eq!(Registry::parse(&spelling).as_ref(), Ok(reg), "{spelling:?}");
    }
    assert!(!reg.api_region().is_empty());
    if let Registry::Private(p) = reg {
        assert_eq!(p.account.len(), 12, "{input:?}");
        assert!(p.account.bytes().all(|b| b.is_ascii_digit()), "{input:?}");
        assert!(host.starts_with(&format!("{}.", p.account)), "{input:?}");
        assert!(host.contains(&format!(".{}.", p.region)), "{input:?}");
    }
}

/// The largest entry `parse_entry` accepts.
const MAX_ENTRY: usize = 64 * 1024;

/// `cache::parse_entry`: never panics; an accepted entry survives a round
/// trip through serde_json (compact and pretty, as `Cache::put` writes it),
/// and turning it into a [`Login`] (as a cache hit does) never panics.
pub fn cache_entry(data: &[u8]) {
    let Ok(entry) = parse_entry(data) else {
        return;
    };
    assert_eq!(entry.version, FORMAT_VERSION);
    assert!(
        entry.requested_at <= entry.expires_at && entry.expires_at <= MAX_TIMESTAMP,
        "impossible timestamps accepted: {entry:?}"
    );
    for body in [
        serde_json::to_vec(&entry).expect("serialize"),
        serde_json::to_vec_pretty(&entry).expect("serialize pretty"),
    ] {
        if body.len() > MAX_ENTRY {
            // Escaping grew it past the size limit: such an entry is refused
            // on reading, as intended.
            continue;
        }
        assert_eq!(
            parse_entry(&body).as_ref(),
            Ok(&entry),
            "round trip of {}",
            String::from_utf8_lossy(&body)
        );
    }
    // The time arithmetic holds for any timestamps.
    for now in [0, 1, entry.requested_at, entry.expires_at, 1 << 40] {
        let Some(t) = UNIX_EPOCH.checked_add(Duration::from_secs(now)) else {
            continue;
        };
        if entry.is_fresh(t) {
            assert!(
                entry.remaining(t) > Duration::ZERO,
                "fresh but expired: {entry:?} at {now}"
            );
        }
    }
    // What `get` does with an entry it serves.
    // (fuzz/regressions/cache_entry/: an expiry past SystemTime's range.)
    let login = Login::from(&entry);
    assert_eq!(login.password, entry.password);
    assert_eq!(
        login.expires_at,
        UNIX_EPOCH + Duration::from_secs(entry.expires_at)
    );
}

/// `kubelet::parse_request` on the input (lossily decoded): never panics; an
/// accepted request names an ECR registry consistent with its image. And when
/// the input is an object with a string `serviceAccountToken`, the same
/// request with a marker as the token never shows the marker in its error or
/// in `Debug`.
pub fn kubelet_request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match kubelet::parse_request(&text) {
        Ok(req) => {
            assert!(matches!(
                req.api_version,
                ApiVersion::V1 | ApiVersion::V1Beta1
            ));
            assert!([kubelet::API_V1, kubelet::API_V1BETA1].contains(&req.api_version.as_str()));
            assert!(!req.image.is_empty() && req.image.trim() == req.image);
            check_registry(&req.registry, &req.image);
            let again = kubelet::image_registry(&req.image).expect("image_registry of the image");
            assert_eq!(again, req.registry);
            if let Some(t) = &req.service_account_token {
                assert!(!t.is_empty() && t.expose().trim() == t.expose());
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    let Some(marked) = with_marked_token(&text) else {
        return;
    };
    match kubelet::parse_request(&marked) {
        Ok(req) => {
            assert_eq!(
                req.service_account_token.as_ref().map(|t| t.expose()),
                Some(TOKEN_MARKER)
            );
            let debug = format!("{req:?}");
            assert!(!debug.contains(TOKEN_MARKER), "token in Debug: {debug}");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains(TOKEN_MARKER), "token in error: {msg}");
        }
    }
}

/// A token no error message could contain by chance.
const TOKEN_MARKER: &str = "Tok3nMark3r-q7Zx.W9";

/// The request with `TOKEN_MARKER` as its `serviceAccountToken`, when the
/// input is a JSON object with a string token and no marker elsewhere.
fn with_marked_token(text: &str) -> Option<String> {
    let serde_json::Value::Object(mut obj) = serde_json::from_str(text).ok()? else {
        return None;
    };
    if !obj.get("serviceAccountToken")?.is_string() || text.contains(TOKEN_MARKER) {
        return None;
    }
    obj.insert("serviceAccountToken".into(), TOKEN_MARKER.into());
    Some(serde_json::Value::Object(obj).to_string())
}

/// Registries `docker_config` picks from.
const HOSTS: &[&str] = &[
    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "210987654321.dkr-ecr.eu-west-1.on.aws",
    "public.ecr.aws",
];

/// `configure::plan` on a Docker config (the first byte chooses the options,
/// the rest is the file): never panics; an accepted edit gives a JSON object
/// with the helper set, every other top-level key unchanged and in order
/// (duplicate keys count once, with the last value, as Docker reads them), and
/// editing the result again changes nothing.
pub fn docker_config(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut opts = Options {
        store: flags & 1 != 0,
        ..Options::default()
    };
    for (i, host) in HOSTS.iter().enumerate() {
        if flags & (2 << i) != 0 {
            opts.registries.push(host.to_string());
        }
    }
    if opts.registries.is_empty() && !opts.store {
        opts.store = true;
    }
    let before = if flags & 0x10 != 0 {
        None
    } else {
        Some(&*text)
    };
    let file = Path::new("config.json");
    let plan = match configure::plan(before, &opts, file) {
        Ok(plan) => plan,
        Err(e) => {
            assert!(
                before.is_some_and(|t| !t.trim().is_empty()),
                "an empty or missing file was refused: {e}"
            );
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let old_text = before.unwrap_or_default();
    if !plan.changed {
        assert_eq!(plan.after, old_text);
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    } else {
        assert!(!plan.changes.is_empty());
    }
    let parsed: Json = serde_json::from_str(&plan.after)
        .unwrap_or_else(|e| panic!("the result is not JSON ({e}): {:?}", plan.after));
    let Json::Object(root) = &parsed else {
        panic!("the result is not an object: {:?}", plan.after);
    };
    let last = |obj: &Map<String, Json>, key: &str| -> Option<Json> { obj.get(key).cloned() };
    let helper = Json::String(HELPER_NAME.into());
    if opts.store {
        assert_eq!(last(root, "credsStore"), Some(helper.clone()));
    }
    if !opts.registries.is_empty() {
        let Some(Json::Object(helpers)) = last(root, "credHelpers") else {
            panic!("no credHelpers object: {:?}", plan.after);
        };
        for host in &opts.registries {
            assert_eq!(last(&helpers, host), Some(helper.clone()), "{host}");
        }
    }
    // Every other top-level key is kept, in order, with the same value.
    if !old_text.trim().is_empty() {
        let old: Json = serde_json::from_str(old_text).expect("the input parsed once");
        let Json::Object(old_root) = old else {
            panic!("a non-object was accepted: {old_text:?}");
        };
        let others = |obj: &Map<String, Json>| -> Vec<(String, Json)> {
            obj.iter()
                .filter(|(k, _)| *k != "credHelpers" && *k != "credsStore")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let (new, old) = (others(root), others(&old_root));
        assert!(
            new.len() == old.len()
                && new
                    .iter()
                    .zip(&old)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2)),
            "other keys changed:\n{new:?}\n{old:?}"
        );
    }
    // Idempotent.
    let again = configure::plan(Some(&plan.after), &opts, file).expect("re-editing the result");
    assert!(!again.changed, "second edit changed {:?}", plan.after);
    assert_eq!(again.after, plan.after);
    // The diff.
    let diff = configure::diff::unified_diff(old_text, &plan.after, "a", "b");
    if old_text.lines().ne(plan.after.lines()) {
        assert!(diff.starts_with("--- a\n+++ b\n@@ -"), "{diff}");
    } else {
        assert!(diff.is_empty());
    }
    let indent = configure::plan::indent_of(old_text);
    assert!(indent == "\t" || (1..=8).contains(&indent.len()) && indent.bytes().all(|b| b == b' '));
}

/// Equal JSON values, numbers compared as serde_json can keep them: without
/// its `float_roundtrip` feature, parsing the shortest representation of a
/// float may come back one unit in the last place off.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => {
                        (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
                    }
                    _ => false,
                }
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2))
        }
        _ => a == b,
    }
}
