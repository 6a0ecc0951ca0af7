//! `configure`, through the built binary.
//!
//! Golden cases live in `tests/golden/configure/<case>/`:
//!
//! - `args`: the arguments after `configure`, one per line;
//! - `before.json`: the file before the run (absent: the file does not exist);
//! - `after.json`: the file after the run (absent: the file must be exactly
//!   as before, or still not exist);
//! - `stdout`: the expected stdout;
//! - `stderr`: the expected stderr (absent: empty); `stderr-prefix` instead
//!   when only the start matters;
//! - `code`: the exit code (absent: 0).
//!
//! `{DIR}` in `stdout` and `stderr` stands for the test's temp directory.
//! The file is `{DIR}/docker/config.json` (`DOCKER_CONFIG`), or with
//! `--podman` `{DIR}/containers/auth.json` (`REGISTRY_AUTH_FILE`).
//! `UPDATE_GOLDEN=1 cargo test --test it configure::` rewrites the expected files
//! from the actual results (review the diff before committing).

// The harness re-exports items that only some test files use.
#[allow(unused_imports)]
use std::path::{Path, PathBuf};

use crate::common::*;

const A: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const HELPER: &str = "docker-credential-ecr-login";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/configure")
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A directory holding the helper under test, for PATH: a link to it, as a
/// package's install gives (a copy on Windows).
fn fake_helper_dir(env: &TestEnv) -> PathBuf {
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = env!("CARGO_BIN_EXE_docker-credential-ecr-login");
    #[cfg(unix)]
    if !bin.join(HELPER).exists() {
        std::os::unix::fs::symlink(real, bin.join(HELPER)).unwrap();
    }
    #[cfg(windows)]
    if !bin.join(format!("{HELPER}.exe")).exists() {
        std::fs::copy(real, bin.join(format!("{HELPER}.exe"))).unwrap();
    }
    bin
}

/// A test world where the helper is on PATH, Docker's config is in
/// `{DIR}/docker` and Podman's auth file is `{DIR}/containers/auth.json`.
fn configure_env() -> TestEnv {
    let mut env = TestEnv::new();
    let bin = fake_helper_dir(&env);
    let dir = env.dir.path().to_path_buf();
    env.set("PATH", &bin.display().to_string());
    env.set("DOCKER_CONFIG", &dir.join("docker").display().to_string());
    env.set(
        "REGISTRY_AUTH_FILE",
        &dir.join("containers")
            .join("auth.json")
            .display()
            .to_string(),
    );
    env
}

fn run_case(case: &Path, update: bool) -> Result<(), String> {
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let env = configure_env();
    let dir = env.dir.path().display().to_string();
    let args_text = read(&case.join("args")).unwrap_or_default();
    let args: Vec<&str> = std::iter::once("configure")
        .chain(args_text.lines().filter(|l| !l.is_empty()))
        .collect();
    let rel = if args.contains(&"--podman") {
        ["containers", "auth.json"]
    } else {
        ["docker", "config.json"]
    };
    let target = env.dir.path().join(rel[0]).join(rel[1]);
    let before = read(&case.join("before.json"));
    if let Some(b) = &before {
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, b).unwrap();
    }
    let run = env.run(&args, "");
    // Paths as the golden files write them, whatever the platform's separator.
    let normalize = |text: &str| {
        let label = format!("{{DIR}}/{}/{}", rel[0], rel[1]);
        text.replace(
            &format!("{}.bak", target.display()),
            &format!("{label}.bak"),
        )
        .replace(&target.display().to_string(), &label)
        .replace(&dir, "{DIR}")
    };
    let stdout = normalize(&run.stdout);
    let stderr = normalize(&run.stderr);
    let after = read(&target);
    if update {
        std::fs::write(case.join("stdout"), &stdout).unwrap();
        if case.join("stderr-prefix").exists() {
            let first = stderr.lines().next().unwrap_or_default();
            std::fs::write(case.join("stderr-prefix"), format!("{first}\n")).unwrap();
        } else if stderr.is_empty() {
            let _ = std::fs::remove_file(case.join("stderr"));
        } else {
            std::fs::write(case.join("stderr"), &stderr).unwrap();
        }
        match (&after, &before) {
            (Some(a), Some(b)) if a == b => {
                let _ = std::fs::remove_file(case.join("after.json"));
            }
            (Some(a), _) => std::fs::write(case.join("after.json"), a).unwrap(),
            (None, _) => {
                let _ = std::fs::remove_file(case.join("after.json"));
            }
        }
        if run.code != 0 {
            std::fs::write(case.join("code"), format!("{}\n", run.code)).unwrap();
        } else {
            let _ = std::fs::remove_file(case.join("code"));
        }
        return Ok(());
    }
    let mut problems = Vec::new();
    let mut check = |what: &str, ok: bool, detail: String| {
        if !ok {
            problems.push(format!("{name}: {what}: {detail}"));
        }
    };
    let want_code: i32 = read(&case.join("code"))
        .map(|c| c.trim().parse().unwrap())
        .unwrap_or(0);
    check(
        "exit code",
        run.code == want_code,
        format!("{} (want {want_code}); {run:#?}", run.code),
    );
    let want_stdout = read(&case.join("stdout")).unwrap_or_default();
    check(
        "stdout",
        stdout == want_stdout,
        format!("\n--- got\n{stdout}\n--- want\n{want_stdout}"),
    );
    match read(&case.join("stderr-prefix")) {
        Some(prefix) => check(
            "stderr",
            stderr.starts_with(&prefix),
            format!("{stderr:?} does not start with {prefix:?}"),
        ),
        None => {
            let want = read(&case.join("stderr")).unwrap_or_default();
            check(
                "stderr",
                stderr == want,
                format!("\n--- got\n{stderr}\n--- want\n{want}"),
            );
        }
    }
    let want_after = read(&case.join("after.json")).or_else(|| before.clone());
    check(
        "file content",
        after == want_after,
        format!(
            "\n--- got\n{}\n--- want\n{}",
            after.clone().unwrap_or("<missing>".into()),
            want_after.clone().unwrap_or("<missing>".into())
        ),
    );
    // The backup holds the previous content, only when the content changed.
    let backup = read(&PathBuf::from(format!("{}.bak", target.display())));
    let changed = before.is_some() && after != before;
    check(
        "backup",
        backup == if changed { before.clone() } else { None },
        format!("{backup:?}"),
    );
    // Nothing else is left next to the file (no temp files).
    if let Ok(rd) = std::fs::read_dir(target.parent().unwrap()) {
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        let file = target.file_name().unwrap().to_string_lossy().to_string();
        let mut want = vec![file.clone()];
        if changed {
            want.push(format!("{file}.bak"));
        }
        if after.is_none() {
            want.clear();
        }
        check("directory listing", names == want, format!("{names:?}"));
    }
    #[cfg(unix)]
    if before.is_none() && after.is_some() {
        check(
            "new file mode",
            mode(&target) == 0o600,
            format!("{:o}", mode(&target)),
        );
        check(
            "new directory mode",
            mode(target.parent().unwrap()) == 0o700,
            format!("{:o}", mode(target.parent().unwrap())),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn golden_cases() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "{cases:?}");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| run_case(c, update).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn second_run_changes_nothing_and_keeps_the_backup() {
    let env = configure_env();
    let file = env.dir.path().join("docker").join("config.json");
    let original = "{\n\t\"auths\": {}\n}\n";
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, original).unwrap();
    let first = env.run(&["configure", "--registry", A, "--store"], "");
    assert_eq!(first.code, 0, "{first:#?}");
    assert!(first.stdout.starts_with("updated "), "{first:#?}");
    let configured = read(&file).unwrap();
    assert_ne!(configured, original);
    let bak = PathBuf::from(format!("{}.bak", file.display()));
    assert_eq!(read(&bak).unwrap(), original);
    for _ in 0..2 {
        let again = env.run(&["configure", "--store", "--registry", A], "");
        assert_eq!(again.code, 0, "{again:#?}");
        assert_eq!(
            again.stdout,
            format!("no change: {} is already configured\n", file.display())
        );
        assert_eq!(read(&file).unwrap(), configured);
        assert_eq!(read(&bak).unwrap(), original, "the backup was overwritten");
    }
    // A further change backs up the configured content.
    let more = env.run(&["configure", "--registry", "public.ecr.aws"], "");
    assert_eq!(more.code, 0, "{more:#?}");
    assert_eq!(read(&bak).unwrap(), configured);
    let v: serde_json::Value = serde_json::from_str(&read(&file).unwrap()).unwrap();
    assert_eq!(
        v["credHelpers"],
        serde_json::json!({A: "ecr-login", "public.ecr.aws": "ecr-login"})
    );
}

#[test]
fn a_missing_file_is_created_and_then_left_alone() {
    let env = configure_env();
    let file = env.dir.path().join("docker").join("config.json");
    let run = env.run(&["configure", "--registry", A], "");
    assert_eq!(
        run.stdout,
        format!(
            "created {}\n  credHelpers: {A} -> ecr-login\n",
            file.display()
        )
    );
    let run = env.run(&["configure", "--registry", A], "");
    assert!(run.stdout.starts_with("no change"), "{run:#?}");
    assert!(!PathBuf::from(format!("{}.bak", file.display())).exists());
}

#[cfg(unix)]
#[test]
fn modes_are_kept_or_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = configure_env();
    let file = env.dir.path().join("docker").join("config.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{\"auths\":{\"x\":{\"auth\":\"c2VjcmV0\"}}}").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.run(&["configure", "--registry", A], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(mode(&file), 0o644, "the file's mode was not kept");
    // The backup may hold credentials (auths): private whatever the original.
    assert_eq!(mode(Path::new(&format!("{}.bak", file.display()))), 0o600);
}

// Unix only: on Windows the home directory does not come from the environment,
// so the test would touch the real one.
#[cfg(unix)]
#[test]
fn default_locations() {
    let mut env = configure_env();
    env.unset("DOCKER_CONFIG").unset("REGISTRY_AUTH_FILE");
    let docker = env.home().join(".docker/config.json");
    let run = env.run(&["configure", "--registry", A], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(&docker.display().to_string()),
        "{run:#?}"
    );
    assert!(read(&docker).unwrap().contains(A));

    let podman = env.home().join(".config/containers/auth.json");
    let run = env.run(&["configure", "--podman", "--registry", A], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(read(&podman).unwrap().contains(A), "{run:#?}");

    let runtime = env.dir.path().join("run-user");
    env.set("XDG_RUNTIME_DIR", &runtime.display().to_string());
    let run = env.run(&["configure", "--podman", "--registry", A], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(read(&runtime.join("containers/auth.json"))
        .unwrap()
        .contains(A));

    // REGISTRY_AUTH_FILE wins over XDG_RUNTIME_DIR.
    let explicit = env.dir.path().join("elsewhere/auth.json");
    env.set("REGISTRY_AUTH_FILE", &explicit.display().to_string());
    let run = env.run(&["configure", "--podman", "--registry", A], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(read(&explicit).unwrap().contains(A));
}

#[test]
fn warns_when_the_helper_is_not_on_path() {
    let mut env = configure_env();
    let empty = env.dir.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    // Not executable: does not count (Windows has no such bit).
    #[cfg(unix)]
    std::fs::write(empty.join(HELPER), "not a program").unwrap();
    env.set("PATH", &empty.display().to_string());
    let run = env.run(&["configure", "--registry", A, "--dry-run"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("no docker-credential-ecr-login on PATH: Docker cannot run this helper"),
        "{run:#?}"
    );
    let bin = fake_helper_dir(&env);
    let path = std::env::join_paths([&empty, &bin]).unwrap();
    env.set("PATH", &path.to_string_lossy());
    let run = env.run(&["configure", "--registry", A, "--dry-run"], "");
    assert_eq!(run.stderr, "", "{run:#?}");
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_is_edited_in_place() {
    let env = configure_env();
    let real = env.dir.path().join("dotfiles/docker.json");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, "{\"auths\": {}}\n").unwrap();
    let link = env.dir.path().join("docker").join("config.json");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let run = env.run(&["configure", "--registry", A], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(read(&real).unwrap().contains(A));
    assert_eq!(
        read(&PathBuf::from(format!("{}.bak", real.display()))).unwrap(),
        "{\"auths\": {}}\n"
    );
}

/// Root (sudo, a provisioning script) editing a user's config leaves the
/// file and its backup owned by the user.
#[cfg(unix)]
#[test]
#[ignore = "needs root"]
fn root_keeps_the_owner_and_group_of_a_users_file() {
    use std::os::unix::fs::MetadataExt;
    let env = configure_env();
    let file = env.dir.path().join("docker").join("config.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{\"auths\":{}}\n").unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().uid(),
        0,
        "needs root to give files to another user"
    );
    let (uid, gid) = (4242, 4343);
    std::os::unix::fs::chown(&file, Some(uid), Some(gid)).unwrap();
    std::os::unix::fs::chown(file.parent().unwrap(), Some(uid), Some(gid)).unwrap();
    let run = env.run(&["configure", "--registry", A], "");
    assert_eq!(run.code, 0, "{run:#?}");
    let owner = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.uid(), m.gid())
    };
    assert!(read(&file).unwrap().contains(A));
    assert_eq!(owner(&file), (uid, gid));
    assert_eq!(
        owner(Path::new(&format!("{}.bak", file.display()))),
        (uid, gid)
    );
    // A new file takes its directory's owner.
    let podman = env.dir.path().join("containers");
    std::fs::create_dir_all(&podman).unwrap();
    std::os::unix::fs::chown(&podman, Some(uid), Some(gid)).unwrap();
    let run = env.run(&["configure", "--podman", "--registry", A], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(owner(&podman.join("auth.json")), (uid, gid));
}

/// `--dry-run` on a large config runs in bounded memory: under a 512 MiB
/// address-space limit (the old O(n*m) diff table needed about 2 GB here).
#[cfg(target_os = "linux")]
#[test]
fn a_dry_run_on_a_large_config_runs_in_bounded_memory() {
    let env = configure_env();
    let file = env.dir.path().join("docker").join("config.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    // ~400 KB, one auth per line, compact: re-indentation changes every line.
    let auths: Vec<String> = (0..8000)
        .map(|i| format!("\"registry-{i:05}.example\":{{\"auth\":\"dXNlcjpwYXNzd29yZA==\"}}"))
        .collect();
    let text = format!("{{\"auths\":{{\n{}\n}}}}\n", auths.join(",\n"));
    assert!(text.len() > 400_000, "{}", text.len());
    std::fs::write(&file, &text).unwrap();
    let mut cmd = std::process::Command::new("/usr/bin/prlimit");
    cmd.arg(format!("--as={}", 512 * 1024 * 1024)).arg("--");
    let inner = env.command(&["configure", "--dry-run", "--registry", A]);
    cmd.arg(inner.get_program()).args(inner.get_args());
    cmd.env_clear()
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))));
    use std::process::Stdio;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = run_command(cmd, b"");
    assert_eq!(run.code, 0, "{}", &run.stderr[..run.stderr.len().min(2000)]);
    assert!(
        run.stdout.contains(&format!("+\t\t\"{A}\": \"ecr-login\"")),
        "no diff line for the new helper"
    );
    assert!(run.stdout.ends_with("was not changed\n"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}
