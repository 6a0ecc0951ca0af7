//! The fallback store (`fallback = "NAME"` / `AWS_ECR_FALLBACK_HELPER`),
//! through the built binary and a fake `docker-credential-rec` that records
//! every call (argv, stdin, environment) and answers from files.
#![cfg(unix)]

// The harness re-exports items that only some test files use.
#[allow(unused_imports)]
mod common;

use std::path::PathBuf;
use std::process::Output;

use common::*;

const ALIAS: &str = "registry.example.com";

/// A recording fake helper: call N leaves `N.args`, `N.stdin`, `N.env` in
/// `dir`; it prints `reply.ACTION` (if any) on stdout, `FAKE-STDERR ACTION`
/// on stderr, and exits with `code.ACTION` (default 0).
struct Rec {
    dir: PathBuf,
}

impl Rec {
    fn install(env: &mut TestEnv, name: &str) -> Rec {
        let bin = env.dir.path().join("bin");
        let dir = env.dir.path().join(format!("calls-{name}"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            r#"#!/bin/sh
d='{}'
n=$(ls "$d" | grep -c '\.args$')
n=$((n + 1))
printf '%s\n' "$@" > "$d/$n.args"
cat > "$d/$n.stdin"
env > "$d/$n.env"
[ -f "$d/reply.$1" ] && cat "$d/reply.$1"
echo "FAKE-STDERR $1" >&2
exit $(cat "$d/code.$1" 2>/dev/null || echo 0)
"#,
            dir.display()
        );
        let exe = bin.join(format!("docker-credential-{name}"));
        std::fs::write(&exe, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        env.set("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
        Rec { dir }
    }

    fn reply(&self, action: &str, stdout: &[u8], code: u8) {
        std::fs::write(self.dir.join(format!("reply.{action}")), stdout).unwrap();
        std::fs::write(self.dir.join(format!("code.{action}")), code.to_string()).unwrap();
    }

    /// (argv, stdin, environment) of every call, in order.
    fn calls(&self) -> Vec<(String, Vec<u8>, String)> {
        (1..)
            .map(|n| self.dir.join(n.to_string()))
            .take_while(|p| p.with_extension("args").exists())
            .map(|p| {
                let read = |ext| std::fs::read(p.with_extension(ext)).unwrap();
                let text = |ext| String::from_utf8(read(ext)).unwrap();
                (text("args"), read("stdin"), text("env"))
            })
            .collect()
    }
}

fn config(env: &TestEnv, text: &str) {
    env.write("home/.ecr/config.toml", text);
}

fn with_fallback() -> (TestEnv, Rec) {
    let mut env = TestEnv::new();
    let rec = Rec::install(&mut env, "rec");
    config(
        &env,
        &format!(
            "fallback = \"rec\"\n\n[[alias]]\nhost = \"{ALIAS}\"\nregistry = \"{REGISTRY}\"\n"
        ),
    );
    (env, rec)
}

/// Runs the binary with raw stdin; raw stdout.
fn raw(env: &TestEnv, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = env.command(args).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn get_for_another_registry_is_passed_through_byte_for_byte() {
    let (env, rec) = with_fallback();
    // No newline at the end, and a byte that is not UTF-8: passed as is.
    let answer = b"{\"ServerURL\":\"ghcr.io\",\"Username\":\"octo\",\"Secret\":\"gh\xff\"}";
    rec.reply("get", answer, 0);
    let out = raw(&env, &["get"], b"https://ghcr.io\r\n");
    assert_eq!(out.stdout, answer);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "FAKE-STDERR get\n");
    let calls = rec.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].0.as_str(), &calls[0].1[..]),
        ("get\n", &b"https://ghcr.io\r\n"[..])
    );
    assert_eq!(
        env.ecr.count(),
        0,
        "no AWS work for a registry that is not ECR"
    );
    // doctor says where such a registry goes (and asks nobody).
    let run = env.run(&["doctor", "ghcr.io"], "");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains(
            "  fallback   not ECR: get, store and erase go to docker-credential-rec (fallback in "
        ),
        "{run:#?}"
    );
    assert_eq!(rec.calls().len(), 1);
}

#[test]
fn store_and_erase_pass_through_with_their_exit_codes() {
    let (env, rec) = with_fallback();
    let creds = br#"{"ServerURL":"https://ghcr.io","Username":"octo","Secret":"ghp_secret"}"#;
    let out = raw(&env, &["store"], creds);
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    rec.reply("erase", b"no such credentials\n", 3);
    let out = raw(&env, &["erase"], b"ghcr.io\n");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout, b"no such credentials\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAKE-STDERR erase"));
    let calls = rec.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].0.as_str(), &calls[0].1[..]),
        ("store\n", &creds[..])
    );
    assert_eq!(
        (calls[1].0.as_str(), &calls[1].1[..]),
        ("erase\n", &b"ghcr.io\n"[..])
    );
}

#[test]
fn ecr_registries_aliases_tokens_and_aws_secrets_never_reach_the_fallback() {
    let (mut env, rec) = with_fallback();
    env.set("AWS_SESSION_TOKEN", "SESSIONTOKENSECRET");
    let password = env.get(REGISTRY).secret();
    assert_eq!(env.get(&format!("https://{ALIAS}")).secret(), password);
    // A docker login to ECR (or an alias) is kept here, never passed on.
    let store = format!(r#"{{"ServerURL":"{REGISTRY}","Username":"AWS","Secret":"x"}}"#);
    assert_eq!(env.run(&["store"], &store).code, 0);
    let store = format!(r#"{{"ServerURL":"{ALIAS}","Username":"AWS","Secret":"x"}}"#);
    assert_eq!(env.run(&["store"], &store).code, 0);
    assert_eq!(env.run(&["erase"], REGISTRY).code, 0);
    assert_eq!(env.run(&["erase"], ALIAS).code, 0);
    assert!(rec.calls().is_empty(), "{:?}", rec.calls());
    // A call that does reach it sees no AWS variable and no token.
    env.get("ghcr.io");
    env.run(&["list"], "");
    let calls = rec.calls();
    assert_eq!(calls.len(), 2);
    for (args, stdin, environment) in calls {
        let all = format!("{args}{}{environment}", String::from_utf8_lossy(&stdin));
        for secret in [
            AKID,
            SECRET_KEY,
            "SESSIONTOKENSECRET",
            &password,
            REGISTRY,
            "AWS_",
        ] {
            assert!(
                !all.contains(secret),
                "{secret} reached the fallback: {all}"
            );
        }
        assert!(
            environment.contains("HOME="),
            "the rest of the environment is kept"
        );
    }
}

#[test]
fn list_merges_the_fallbacks_answer_and_ours_wins_for_ecr() {
    let (env, rec) = with_fallback();
    env.get(REGISTRY).secret();
    rec.reply(
        "list",
        format!(r#"{{"https://ghcr.io":"octo","https://{REGISTRY}":"stale","{ALIAS}":"old"}}"#)
            .as_bytes(),
        0,
    );
    let run = env.run(&["list"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.json(),
        serde_json::json!({
            "https://ghcr.io": "octo",
            format!("https://{REGISTRY}"): "AWS",
            format!("https://{ALIAS}"): "AWS",
        })
    );
    assert_eq!(rec.calls()[0].1, b"", "list sends nothing on stdin");
    // A failing fallback: ours alone, and a warning.
    rec.reply("list", b"oops", 1);
    let run = env.run(&["list"], "");
    assert_eq!(
        run.json(),
        serde_json::json!({format!("https://{REGISTRY}"): "AWS", format!("https://{ALIAS}"): "AWS"})
    );
    assert!(
        run.stderr
            .contains("docker-credential-rec list failed (exit code 1)"),
        "{run:#?}"
    );
}

#[test]
fn the_environment_wins_and_names_are_checked() {
    let (mut env, rec) = with_fallback();
    let other = Rec::install(&mut env, "other");
    let path = format!("{}:/usr/bin:/bin", env.dir.path().join("bin").display());
    env.set("PATH", &path);
    env.set("AWS_ECR_FALLBACK_HELPER", "other");
    other.reply("get", b"{}", 0);
    assert_eq!(env.get("ghcr.io").stdout, "{}");
    assert_eq!((rec.calls().len(), other.calls().len()), (0, 1));
    for bad in ["../../bin/sh", "Other", "ecr-login", "a b"] {
        env.set("AWS_ECR_FALLBACK_HELPER", bad);
        let run = env.get("ghcr.io");
        run.assert_not_found();
        assert!(
            run.stderr.contains("AWS_ECR_FALLBACK_HELPER"),
            "{bad}: {run:#?}"
        );
    }
    env.unset("AWS_ECR_FALLBACK_HELPER");
    config(&env, "fallback = \"/bin/sh\"\n");
    let run = env.run(
        &["store"],
        r#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}"#,
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("not a credential-helper name"),
        "{run:#?}"
    );
}

#[test]
fn a_missing_fallback_is_a_clear_error() {
    let env = TestEnv::new();
    config(&env, "fallback = \"desktop\"\n");
    let run = env.get("ghcr.io");
    run.assert_not_found();
    assert!(
        run.stderr
            .contains("docker-credential-desktop (fallback in ")
            && run.stderr.contains("is not in any PATH directory"),
        "{run:#?}"
    );
    let run = env.run(
        &["store"],
        r#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}"#,
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("docker-credential-desktop"), "{run:#?}");
}

#[test]
fn without_a_fallback_other_registries_are_answered_as_before() {
    let mut env = TestEnv::new();
    let rec = Rec::install(&mut env, "rec");
    env.get("ghcr.io").assert_not_found();
    let run = env.run(
        &["store"],
        r#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}"#,
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with(
            "not implemented: ghcr.io is not an ECR registry and no fallback store is configured"
        ),
        "{run:#?}"
    );
    assert!(rec.calls().is_empty());
}
