//! The files the helper obeys (issue 18): `~/.ecr/config.toml` planted or
//! left writable by another user, relative and `~/` paths in the
//! environment, aliases that would match more than they say, and
//! `configure` run by root on another user's home.
//!
//! Each case asserts what matters: no ECR password for a host the user did
//! not name (no API call at all when the config is refused), one line naming
//! the path and the fix, a non-zero exit, the deadline held; for
//! `configure`, no file outside the user's own touched. The cases with other
//! users run as root and act as them with `setpriv --reuid=N --regid=N
//! --clear-groups` (numeric ids that need no account), as in
//! `hostile_users.rs`; those are `#[ignore = "needs root"]` (`scripts/test`
//! runs them as root with `--include-ignored`). Every run is bounded
//! ([`LIMIT`]).

#![cfg(target_os = "linux")]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;

/// No run of the helper may take longer than this (the test's own bound).
const LIMIT: Duration = Duration::from_secs(25);
/// The helper's deadline in these tests (`AWS_ECR_TIMEOUT`).
const DEADLINE: Duration = Duration::from_secs(5);
/// The host the attacker wants an ECR password for.
const EVIL: &str = "attacker.example";

/// A config file that sends the ECR login to the attacker's hosts.
fn evil_config() -> String {
    format!(
        "[[alias]]\nhost = \"{EVIL}\"\nregistry = \"{REGISTRY}\"\n\n[[alias]]\nhost = \"docker.io\"\nregistry = \"{REGISTRY}\"\n"
    )
}

/// Who runs the helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Root,
    Uid(u32),
}

/// One case's machine: the victim's home (owned by [`VICTIM`], 0755), a
/// sticky world-writable `shared` directory (like `/tmp`), and an `outside`
/// directory of root's standing in for `/etc`.
struct World {
    env: TestEnv,
    bin: PathBuf,
    home: PathBuf,
    shared: PathBuf,
    outside: PathBuf,
}

fn chown(p: &Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(uid)).expect("chown");
}

impl World {
    /// A world where root plays the users (panics unless this runs as root
    /// with `setpriv`: the tests that use it are `#[ignore = "needs root"]`).
    fn new() -> World {
        needs_root();
        let mut env = TestEnv::new();
        set_mode(env.dir.path(), 0o755);
        let home = env.dir.path().join("victim");
        std::fs::create_dir(&home).unwrap();
        chown(&home, VICTIM);
        set_mode(&home, 0o755);
        let shared = env.dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        set_mode(&shared, 0o1777);
        let outside = env.dir.path().join("etc");
        std::fs::create_dir(&outside).unwrap();
        set_mode(&outside, 0o755);
        env.set("AWS_ECR_TIMEOUT", &DEADLINE.as_secs().to_string());
        env.set("HOME", &home.display().to_string());
        // The default location, ~/.ecr/config.toml.
        env.unset("AWS_ECR_CONFIG");
        World {
            env,
            bin: shared_binary(),
            home,
            shared,
            outside,
        }
    }

    /// Runs `script` (`sh -c`, arguments `$1`...) as `uid`; it must succeed.
    fn sh(&self, uid: u32, script: &str, args: &[&str]) {
        let mut cmd = Command::new("setpriv");
        cmd.args(setpriv_args(uid))
            .args(["sh", "-c", script, "sh"])
            .args(args);
        let run = bounded(cmd, b"", LIMIT);
        assert_eq!(run.code, 0, "as uid {uid}: {script}: {run:#?}");
    }

    /// The helper as `who`, with `vars` on top of the test environment (a
    /// private cache of `who`'s in `shared` unless `vars` says otherwise).
    fn run(&self, who: Who, args: &[&str], stdin: &str, vars: &[(&str, &str)]) -> Run {
        let uid = match who {
            Who::Root => 0,
            Who::Uid(u) => u,
        };
        let cache = self
            .shared
            .join(format!("cache-{uid}"))
            .display()
            .to_string();
        let base = self.env.command(args);
        let mut cmd = match who {
            Who::Root => Command::new(&self.bin),
            Who::Uid(uid) => {
                let mut c = Command::new("setpriv");
                c.args(setpriv_args(uid)).arg(&self.bin);
                c
            }
        };
        cmd.args(args)
            .current_dir(&self.shared)
            .env_clear()
            .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .env("AWS_ECR_CACHE_DIR", cache)
            .envs(vars.iter().copied());
        bounded(cmd, stdin.as_bytes(), LIMIT)
    }

    fn get(&self, who: Who, host: &str) -> Run {
        self.run(who, &["get"], &format!("{host}\n"), &[])
    }

    fn ecr_dir(&self) -> PathBuf {
        self.home.join(".ecr")
    }

    fn config(&self) -> PathBuf {
        self.ecr_dir().join("config.toml")
    }

    /// The victim's `~/.ecr` with `mode`, made by the victim.
    fn make_ecr_dir(&self, mode: u32) {
        let dir = self.ecr_dir().display().to_string();
        self.sh(
            VICTIM,
            "mkdir \"$1\" && chmod \"$2\" \"$1\"",
            &[&dir, &format!("{mode:o}")],
        );
    }

    /// Writes the attacker's config as `uid`, with `mode`.
    fn plant_config(&self, uid: u32, mode: u32) {
        let file = self.config().display().to_string();
        self.sh(
            uid,
            "printf '%s' \"$2\" > \"$1\" && chmod \"$3\" \"$1\"",
            &[&file, &evil_config(), &format!("{mode:o}")],
        );
    }

    /// For every host (the attacker's, Docker Hub, the ECR registry itself):
    /// `get` as `who` is refused in one line naming `path` and saying `why`,
    /// with no password and no API call, well inside the deadline.
    fn assert_refused(&self, who: Who, path: &Path, why: &str, case: &str) {
        for host in [EVIL, "docker.io", REGISTRY] {
            let run = self.get(who, host);
            assert_refusal(&run, path, why, &format!("{case}, get {host}"));
        }
        assert_eq!(self.env.ecr.count(), 0, "{case}: the ECR API was called");
    }
}

/// `run` failed, printed no password, said in one line what is wrong with
/// `path` (`why`) and how to fix it, and took well under the deadline.
fn assert_refusal(run: &Run, path: &Path, why: &str, case: &str) {
    assert_ne!(run.code, 0, "{case}: {run:#?}");
    assert!(
        !run.stdout.contains("Secret") && !run.stdout.contains("auth-token"),
        "{case}: a password came out: {run:#?}"
    );
    let p = ecr_login::support::redact::scrub(&path.display().to_string());
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains(&p)).collect();
    assert_eq!(lines.len(), 1, "{case}: one line naming {p}: {run:#?}");
    assert!(
        lines[0].contains(why),
        "{case}: should say {why:?}: {run:#?}"
    );
    assert!(
        lines[0].contains("Fix:"),
        "{case}: should say the fix: {run:#?}"
    );
    assert!(
        run.elapsed < DEADLINE / 2,
        "{case}: took {:?}: {run:#?}",
        run.elapsed
    );
}

// ---------------------------------------------------------------------------
// ~/.ecr/config.toml that another user wrote or could have written.

/// The victim left `~/.ecr` at 0777; the attacker writes `config.toml`
/// there, aliasing its own host (and Docker Hub) to the victim's registry.
#[test]
#[ignore = "needs root"]
fn config_planted_in_a_0777_ecr_dir_is_refused() {
    let w = World::new();
    w.make_ecr_dir(0o777);
    w.plant_config(ATTACKER, 0o644);
    w.assert_refused(
        Who::Uid(VICTIM),
        &w.config(),
        "belongs to uid 4242",
        "planted",
    );
    // With the attacker's file gone and one of the victim's own in its
    // place, the 0777 directory alone is still refused: anyone can swap it.
    std::fs::remove_file(w.config()).unwrap();
    w.plant_config(VICTIM, 0o600);
    w.assert_refused(
        Who::Uid(VICTIM),
        &w.ecr_dir(),
        "writable by other users (mode 0777)",
        "own file in a 0777 directory",
    );
}

/// The file is the victim's path, but another user owns it (0644).
#[test]
#[ignore = "needs root"]
fn config_owned_by_another_user_is_refused() {
    let w = World::new();
    w.make_ecr_dir(0o755);
    w.plant_config(VICTIM, 0o644);
    chown(&w.config(), ATTACKER);
    w.assert_refused(
        Who::Uid(VICTIM),
        &w.config(),
        "belongs to uid 4242",
        "foreign file",
    );
    // The directory another user's (a config named by AWS_ECR_CONFIG in a
    // directory the attacker made).
    let dir = w.shared.join("attacker-ecr");
    let file = dir.join("config.toml");
    w.sh(
        ATTACKER,
        "mkdir -m 755 \"$1\" && printf '%s' \"$3\" > \"$2\"",
        &[
            &dir.display().to_string(),
            &file.display().to_string(),
            &evil_config(),
        ],
    );
    chown(&file, VICTIM);
    let shown = file.display().to_string();
    let run = w.run(
        Who::Uid(VICTIM),
        &["get"],
        &format!("{EVIL}\n"),
        &[("AWS_ECR_CONFIG", &shown)],
    );
    assert_refusal(&run, &dir, "belongs to uid 4242", "foreign directory");
    assert_eq!(w.env.ecr.count(), 0);
}

/// Root running with the victim's `HOME` (`sudo docker pull`) does not obey
/// the victim's config: the victim could route root's login anywhere.
#[test]
#[ignore = "needs root"]
fn root_with_a_users_home_does_not_obey_that_users_config() {
    let w = World::new();
    w.make_ecr_dir(0o755);
    w.plant_config(VICTIM, 0o600);
    w.assert_refused(
        Who::Root,
        &w.config(),
        "belongs to uid 4343, not to root",
        "root",
    );
}

/// Group-writable for a group that is not the user's private group.
#[test]
#[ignore = "needs root"]
fn group_writable_config_is_refused() {
    let w = World::new();
    w.make_ecr_dir(0o755);
    w.plant_config(VICTIM, 0o664);
    std::os::unix::fs::lchown(w.config(), None, Some(ATTACKER)).unwrap();
    w.assert_refused(
        Who::Uid(VICTIM),
        &w.config(),
        "writable by other users (mode 0664)",
        "group-writable",
    );
    // The same mode with the user's private group (uid 4343, group 4343):
    // obeyed, as ssh on Debian obeys it.
    std::os::unix::fs::lchown(w.config(), None, Some(VICTIM)).unwrap();
    let run = w.get(Who::Uid(VICTIM), EVIL);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, 1));
}

/// `config.toml` is a link (to a file of the attacker's in a shared
/// directory): never followed.
#[test]
#[ignore = "needs root"]
fn config_symlink_is_refused() {
    let w = World::new();
    w.make_ecr_dir(0o755);
    let target = w.shared.join("evil.toml");
    w.sh(
        ATTACKER,
        "printf '%s' \"$2\" > \"$1\" && chmod 644 \"$1\"",
        &[&target.display().to_string(), &evil_config()],
    );
    std::os::unix::fs::symlink(&target, w.config()).unwrap();
    chown(&w.config(), VICTIM);
    w.assert_refused(Who::Uid(VICTIM), &w.config(), "symbolic link", "link");
}

/// A FIFO as `config.toml` (planted in the 0777 directory, and one of the
/// user's own) is refused at once instead of blocking past the deadline.
#[test]
#[ignore = "needs root"]
fn config_fifo_does_not_hang_get() {
    let w = World::new();
    w.make_ecr_dir(0o755);
    mkfifo(&w.config());
    chown(&w.config(), VICTIM);
    w.assert_refused(Who::Uid(VICTIM), &w.config(), "FIFO", "own FIFO");
    std::fs::remove_file(w.config()).unwrap();
    set_mode(&w.ecr_dir(), 0o777);
    w.sh(
        ATTACKER,
        "mkfifo -m 666 \"$1\"",
        &[&w.config().display().to_string()],
    );
    w.assert_refused(Who::Uid(VICTIM), &w.config(), "FIFO", "planted FIFO");
}

// ---------------------------------------------------------------------------
// Relative and ~/ paths in the environment (any user).

/// A directory like the one Docker may run the helper from: a cloned
/// repository holding a `config.toml` of the attacker's.
fn repository(env: &TestEnv) -> PathBuf {
    let repo = env.dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    std::fs::write(repo.join("config.toml"), evil_config()).unwrap();
    repo
}

fn run_in(env: &TestEnv, dir: &Path, host: &str) -> Run {
    let mut cmd = env.command(&["get"]);
    cmd.current_dir(dir);
    run_command(cmd, format!("{host}\n").as_bytes())
}

#[test]
fn relative_config_path_is_refused() {
    let mut env = TestEnv::new();
    let repo = repository(&env);
    env.set("AWS_ECR_CONFIG", "config.toml");
    for host in [EVIL, REGISTRY] {
        let run = run_in(&env, &repo, host);
        assert_ne!(run.code, 0, "{host}: {run:#?}");
        assert!(!run.stdout.contains("Secret"), "{host}: {run:#?}");
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("AWS_ECR_CONFIG"))
            .collect();
        assert_eq!(lines.len(), 1, "{host}: {run:#?}");
        assert!(
            lines[0].contains("relative path") && lines[0].contains("absolute"),
            "{run:#?}"
        );
    }
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn relative_cache_dir_is_not_used() {
    let mut env = TestEnv::new();
    let repo = repository(&env);
    env.set("AWS_ECR_CACHE_DIR", "c");
    for n in 1..=2 {
        let run = run_in(&env, &repo, REGISTRY);
        // No cache: a fresh token each time, and nothing made in the repository.
        assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, n));
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("AWS_ECR_CACHE_DIR"))
            .collect();
        assert_eq!(lines.len(), 1, "{run:#?}");
        assert!(lines[0].contains("relative path") && lines[0].contains("not using a cache"));
    }
    assert!(!repo.join("c").exists());
}

#[test]
fn relative_log_file_is_not_written() {
    let mut env = TestEnv::new();
    let repo = repository(&env);
    env.set("AWS_ECR_LOG_FILE", "log.txt")
        .set("AWS_ECR_LOG", "debug");
    let run = run_in(&env, &repo, REGISTRY);
    assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, 1));
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("AWS_ECR_LOG_FILE"))
        .collect();
    assert_eq!(lines.len(), 1, "{run:#?}");
    assert!(lines[0].contains("relative path") && lines[0].contains("not writing a log file"));
    assert!(!repo.join("log.txt").exists());
}

/// `~/` is the home directory, as the Go helper reads it: no directory
/// named `~` is made where the helper runs.
#[test]
fn tilde_paths_are_expanded_to_the_home_directory() {
    let mut env = TestEnv::new();
    let repo = repository(&env);
    std::fs::create_dir_all(env.home().join(".ecr")).unwrap();
    std::fs::write(
        env.home().join(".ecr").join("alt.toml"),
        format!("[[alias]]\nhost = \"registry.example.com\"\nregistry = \"{REGISTRY}\"\n"),
    )
    .unwrap();
    env.set("AWS_ECR_CACHE_DIR", "~/.ecr/cache")
        .set("AWS_ECR_CONFIG", "~/.ecr/alt.toml")
        .set("AWS_ECR_LOG_FILE", "~/ecr.log");
    let run = run_in(&env, &repo, "registry.example.com");
    assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, 1));
    assert!(!run.stderr.contains("warning"), "{run:#?}");
    assert!(!repo.join("~").exists(), "a ./~ directory was made");
    let entries = std::fs::read_dir(env.home().join(".ecr").join("cache").join("v1")).unwrap();
    assert_eq!(entries.count(), 1, "the token is cached in ~/.ecr/cache");
    assert!(env.home().join("ecr.log").is_file());
    // The second get is served from that cache.
    let run = run_in(&env, &repo, REGISTRY);
    assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, 1));
    assert_eq!(env.ecr.count(), 1);
}

// ---------------------------------------------------------------------------
// Aliases match exactly what they say (any user).

fn with_aliases(hosts: &[&str]) -> TestEnv {
    let env = TestEnv::new();
    let text: String = hosts
        .iter()
        .map(|h| format!("[[alias]]\nhost = \"{h}\"\nregistry = \"{REGISTRY}\"\n\n"))
        .collect();
    env.write("home/.ecr/config.toml", &text);
    env
}

#[test]
fn alias_wildcard_does_not_span_labels() {
    let env = with_aliases(&["mirror.example.*"]);
    env.get("mirror.example.attacker.net").assert_not_found();
    env.get("https://mirror.example.attacker.net/v2/")
        .assert_not_found();
    assert_eq!(env.ecr.count(), 0);
    let run = env.get("mirror.example.com");
    assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, 1));
}

#[test]
fn alias_without_a_port_does_not_match_other_ports() {
    let env = with_aliases(&["localhost"]);
    for input in [
        "localhost:31337",
        "https://localhost:5000/v2/",
        "localhost:8080",
    ] {
        env.get(input).assert_not_found();
    }
    assert_eq!(env.ecr.count(), 0);
    assert_eq!(
        env.get("localhost").secret(),
        FakeEcr::password("123456789012", AKID, 1)
    );
}

#[test]
fn alias_does_not_match_plain_http_unless_it_says_http() {
    let env = with_aliases(&["localhost:8080"]);
    env.get("http://localhost:8080").assert_not_found();
    assert_eq!(env.ecr.count(), 0);
    assert_eq!(
        env.get("localhost:8080").secret(),
        FakeEcr::password("123456789012", AKID, 1)
    );
    let env = with_aliases(&["http://localhost:8080"]);
    assert_eq!(
        env.get("http://localhost:8080").secret(),
        FakeEcr::password("123456789012", AKID, 1)
    );
    env.get("http://localhost:8081").assert_not_found();
}

/// A scheme other than https:// or http:// in an alias is an error, not a
/// silent never-match.
#[test]
fn alias_with_another_scheme_is_a_config_error() {
    let env = with_aliases(&["ftp://localhost"]);
    let run = env.get(REGISTRY);
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("only https:// and http://"), "{run:#?}");
    assert_eq!(env.ecr.count(), 0);
}

// ---------------------------------------------------------------------------
// `configure` as root on the victim's home.

/// A root-owned file with a secret of root's, `/etc`-like.
fn root_file(w: &World, name: &str, content: &str) -> PathBuf {
    let p = w.outside.join(name);
    std::fs::write(&p, content).unwrap();
    set_mode(&p, 0o600);
    p
}

#[test]
#[ignore = "needs root"]
fn configure_as_root_does_not_follow_a_link_to_a_root_file() {
    let w = World::new();
    let docker = w.home.join(".docker");
    let json = root_file(
        &w,
        "root.json",
        "{\"auths\": {\"ghcr.io\": {\"auth\": \"ROOT-SECRET-AUTH\"}}}\n",
    );
    let toml = root_file(&w, "root.toml", "# ROOT-SECRET-TOML\n");
    w.sh(
        VICTIM,
        "mkdir -m 700 \"$1\" \"$2\" && ln -s \"$3\" \"$1/config.json\" && ln -s \"$4\" \"$2/config.toml\"",
        &[
            &docker.display().to_string(),
            &w.ecr_dir().display().to_string(),
            &json.display().to_string(),
            &toml.display().to_string(),
        ],
    );
    let before = (std::fs::read(&json).unwrap(), std::fs::read(&toml).unwrap());
    for args in [
        &["configure", "--store"][..],
        &["configure", "--store", "--dry-run"],
        &["configure", "--registry", REGISTRY, "--dry-run"],
        &["configure", "--fallback", "pass"],
        &["configure", "--fallback", "pass", "--dry-run"],
    ] {
        let run = w.run(Who::Root, args, "", &[]);
        let case = args.join(" ");
        assert_ne!(run.code, 0, "{case}: {run:#?}");
        for secret in ["ROOT-SECRET", "auths"] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{case}: root's file was shown: {run:#?}"
            );
        }
        assert!(
            run.stderr.contains("refusing to edit") && run.stderr.contains("belongs to uid 0"),
            "{case}: {run:#?}"
        );
        assert_eq!(
            (std::fs::read(&json).unwrap(), std::fs::read(&toml).unwrap()),
            before,
            "{case}: root's file changed"
        );
        let left: Vec<_> = std::fs::read_dir(&w.outside)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            left.len(),
            2,
            "{case}: something was written beside root's files: {left:?}"
        );
        for dir in [&docker, &w.ecr_dir()] {
            assert_eq!(
                std::fs::read_dir(dir).unwrap().count(),
                1,
                "{case}: a .bak in {dir:?}"
            );
        }
    }
}

#[test]
#[ignore = "needs root"]
fn configure_as_root_makes_the_users_directories_the_users() {
    let w = World::new();
    let run = w.run(
        Who::Root,
        &["configure", "--registry", REGISTRY, "--fallback", "pass"],
        "",
        &[],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let docker = w.home.join(".docker");
    for (path, mode) in [
        (docker.clone(), 0o700),
        (docker.join("config.json"), 0o600),
        (w.ecr_dir(), 0o700),
        (w.config(), 0o600),
    ] {
        let m = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!((m.uid(), m.gid()), (VICTIM, VICTIM), "{path:?}");
        assert_eq!(m.mode() & 0o7777, mode, "{path:?}");
    }
    // The user's next get reads that config and caches in that ~/.ecr.
    let cache = w.ecr_dir().display().to_string();
    let run = w.run(
        Who::Uid(VICTIM),
        &["get"],
        &format!("{REGISTRY}\n"),
        &[("AWS_ECR_CACHE_DIR", &cache)],
    );
    assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, 1));
    assert!(
        !run.stderr.contains("warning") && !run.stderr.contains("denied"),
        "{run:#?}"
    );
    assert!(
        w.ecr_dir().join("v1").is_dir(),
        "the user's get cached its token"
    );
}
