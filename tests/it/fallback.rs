//! The fallback store (`fallback = "NAME"` / `AWS_ECR_FALLBACK_HELPER`),
//! through the built binary and a fake `docker-credential-rec` that records
//! every call (argv, stdin, environment) and answers from files.
#![cfg(unix)]

// The harness re-exports items that only some test files use.
#[allow(unused_imports)]
use std::path::PathBuf;
use std::process::Output;

use crate::common::*;

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

// ---------------------------------------------------------------------------
// Issue 18 (what the helper obeys) and 21 (WSL, long input).

/// One line of stderr (the helper's diagnostics, fallback's own excluded).
fn one_line(run: &Run, want: &str) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {run:#?}");
    assert!(lines[0].contains(want), "{want:?}: {run:#?}");
}

/// Installs `docker-credential-NAME` as a shell script with `body`.
fn script(env: &mut TestEnv, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&exe, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
    exe
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// A fallback that hangs (here: a shell waiting on a `sleep 20` child) is
/// killed at the deadline, child included, for every action; the user gets
/// one line saying so; `get` says "not found", `store` and `erase` fail,
/// `list` answers with what it has (the cached ECR registry).
#[test]
fn a_fallback_that_hangs_is_killed_at_the_deadline() {
    let mut env = TestEnv::new();
    let pids = env.dir.path().join("pids");
    std::fs::create_dir_all(&pids).unwrap();
    script(
        &mut env,
        "slow",
        &format!("sleep 20 & echo $! > '{}/'\"$1\"\nwait", pids.display()),
    );
    config(&env, "fallback = \"slow\"\n");
    env.get(REGISTRY).secret();
    env.set("AWS_ECR_TIMEOUT", "2");
    let store = r#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}"#;
    for (action, input) in [
        ("get", "ghcr.io\n"),
        ("store", store),
        ("erase", "ghcr.io\n"),
        ("list", ""),
    ] {
        let run = env.run(&[action], input);
        assert!(
            run.elapsed < std::time::Duration::from_secs(10),
            "{action}: the deadline was not held: {run:#?}"
        );
        one_line(&run, "docker-credential-slow (fallback in ");
        assert!(
            run.stderr.contains(&format!(
                "did not finish `{action}` within 2s (AWS_ECR_TIMEOUT); stopped it"
            )),
            "{action}: {run:#?}"
        );
        match action {
            "get" => run.assert_not_found(),
            "list" => {
                assert_eq!(run.code, 0, "{run:#?}");
                assert_eq!(
                    run.json(),
                    serde_json::json!({format!("https://{REGISTRY}"): "AWS"})
                );
            }
            _ => {
                assert_eq!(run.code, 1, "{action}: {run:#?}");
                assert!(run.stdout.contains("did not finish"), "{run:#?}");
            }
        }
        let pid: i32 = std::fs::read_to_string(pids.join(action))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid), "{action}: the fallback's child {pid} still runs");
    }
    assert_eq!(env.ecr.count(), 1, "no AWS work for the other registry");
}

/// `docker-credential-loop` as a symbolic link, a hard link and a copy of
/// this binary: refused in one line, at once, with no recursion and no panic.
#[test]
fn a_fallback_that_is_this_helper_is_refused_in_one_line() {
    let mut env = TestEnv::new();
    config(&env, "fallback = \"loop\"\n");
    let bin = std::path::Path::new(BIN);
    // A hard link needs the binary's own file system.
    let near = tempfile::tempdir_in(bin.parent().unwrap()).unwrap();
    let far = env.dir.path().join("bin");
    std::fs::create_dir_all(&far).unwrap();
    type Make = fn(&std::path::Path, &std::path::Path) -> std::io::Result<()>;
    let cases: [(&str, &std::path::Path, Make, &str); 3] = [
        (
            "symlink",
            &far,
            |b, e| std::os::unix::fs::symlink(b, e),
            "is docker-credential-ecr-login itself",
        ),
        (
            "hard link",
            near.path(),
            |b, e| std::fs::hard_link(b, e),
            "is docker-credential-ecr-login itself",
        ),
        (
            "copy",
            &far,
            |b, e| std::fs::copy(b, e).map(|_| ()),
            "itself running as a fallback helper",
        ),
    ];
    for (kind, dir, make, want) in cases {
        let exe = dir.join("docker-credential-loop");
        let _ = std::fs::remove_file(far.join("docker-credential-loop"));
        make(bin, &exe).unwrap();
        env.set("PATH", &format!("{}:/usr/bin:/bin", dir.display()));
        let run = env.get("ghcr.io");
        run.assert_not_found();
        one_line(&run, want);
        assert!(!run.stderr.contains("panic"), "{kind}: {run:#?}");
        assert!(
            run.elapsed < std::time::Duration::from_secs(10),
            "{kind}: {run:#?}"
        );
        let run = env.run(
            &["store"],
            r#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}"#,
        );
        assert_eq!(run.code, 1, "{kind}: {run:#?}");
        one_line(&run, want);
        let run = env.run(&["list"], "");
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "{}\n"),
            "{kind}: {run:#?}"
        );
        one_line(&run, want);
    }
}

/// On WSL, Docker Desktop's store is `desktop.exe`: accepted as a fallback
/// (file and environment), run as `docker-credential-desktop.exe`.
#[test]
fn a_wsl_exe_fallback_is_accepted() {
    let mut env = TestEnv::new();
    let rec = Rec::install(&mut env, "desktop.exe");
    rec.reply(
        "get",
        b"{\"ServerURL\":\"ghcr.io\",\"Username\":\"u\",\"Secret\":\"s\"}",
        0,
    );
    config(&env, "fallback = \"desktop.exe\"\n");
    let run = env.get("ghcr.io");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()["Username"], "u");
    config(&env, "");
    env.set("AWS_ECR_FALLBACK_HELPER", "desktop.exe");
    assert_eq!(env.get("ghcr.io").code, 0);
    assert_eq!(rec.calls().len(), 2);
    assert_eq!(rec.calls()[0].0, "get\n");
    for bad in ["desktop.EXE", "ecr-login.exe", ".exe"] {
        env.set("AWS_ECR_FALLBACK_HELPER", bad);
        let run = env.get("ghcr.io");
        run.assert_not_found();
        one_line(&run, "AWS_ECR_FALLBACK_HELPER");
    }
    assert_eq!(rec.calls().len(), 2);
}

/// Writes `stdin` from a thread (the helper may stop reading early) and
/// returns the raw output.
fn raw_threaded(env: &TestEnv, args: &[&str], stdin: Vec<u8>) -> Output {
    use std::io::Write;
    let mut child = env.command(args).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Input over the old 64 KiB cap reaches the fallback whole (a 300 KiB
/// `store`, a `get` with a 200 KiB tail); over 1 MiB it is refused in one
/// line and the fallback is not run (never passed cut short).
#[test]
fn large_input_reaches_the_fallback_whole_or_not_at_all() {
    let (env, rec) = with_fallback();
    let secret = "s".repeat(300 * 1024);
    let creds = format!(r#"{{"ServerURL":"https://ghcr.io","Username":"u","Secret":"{secret}"}}"#);
    let out = raw_threaded(&env, &["store"], creds.clone().into_bytes());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mut get = b"ghcr.io\n".to_vec();
    get.extend(std::iter::repeat_n(b'\n', 200 * 1024));
    let out = raw_threaded(&env, &["get"], get.clone());
    assert_eq!(out.status.code(), Some(0));
    let calls = rec.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[0].1 == creds.as_bytes(),
        "store input cut: {} bytes",
        calls[0].1.len()
    );
    assert!(
        calls[1].1 == get,
        "get input cut: {} bytes",
        calls[1].1.len()
    );

    let huge = format!(
        r#"{{"ServerURL":"https://ghcr.io","Username":"u","Secret":"{}"}}"#,
        "s".repeat(2 << 20)
    );
    // Too large to know its ServerURL: refused as `store` refuses bad input.
    let out = raw_threaded(&env, &["store"], huge.into_bytes());
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("larger than 1 MiB"), "{stdout}");
    // A `get` for another registry with more than 1 MiB: not passed on.
    let mut get = b"ghcr.io\n".to_vec();
    get.extend(std::iter::repeat_n(b'\n', 2 << 20));
    let out = raw_threaded(&env, &["get"], get);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"credentials not found in native keychain\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("larger than 1 MiB; not passing it to the fallback helper"),
        "{stderr}"
    );
    assert_eq!(rec.calls().len(), 2, "the fallback was run with cut input");
}

/// A server URL followed by a long tail of blank lines (more than is ever
/// read) is an ECR `get` like any other, as with the Go helper.
#[test]
fn an_ecr_host_followed_by_a_long_tail_of_blank_lines_is_answered() {
    let (env, rec) = with_fallback();
    let mut input = format!("{REGISTRY}\n").into_bytes();
    input.extend(std::iter::repeat_n(b'\n', 3 << 20));
    let out = raw_threaded(&env, &["get"], input);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["ServerURL"], REGISTRY);
    assert_eq!(answer["Secret"], FakeEcr::password("123456789012", AKID, 1));
    assert!(rec.calls().is_empty());
}
