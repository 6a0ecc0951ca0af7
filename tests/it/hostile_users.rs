//! Hostile local users (issue 10): another user on the machine plants cache
//! entries, links, FIFOs and MFA sessions where the victim's helper looks,
//! and the victim must neither hand out an attacker-chosen secret, nor touch
//! a file outside its cache, nor miss its deadline; it must say what is wrong
//! (once) and carry on with a fresh token from the (fake) ECR API.
//!
//! The suite runs as root and acts as other users with `setpriv --reuid=N
//! --regid=N --clear-groups` and fixed numeric ids that need no account
//! ([`ATTACKER`], [`VICTIM`]); the victim is root or [`VICTIM`]. Those
//! cases are `#[ignore = "needs root"]` (`scripts/test` runs them as root
//! with `--include-ignored`); run otherwise, they fail. Every run
//! of the helper is bounded ([`LIMIT`]) so that a hang fails the case instead
//! of the suite.

#![cfg(target_os = "linux")]

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;

/// The password the attacker wants the victim to use.
const PLANTED: &str = "ATTACKER-CHOSEN";
/// No run of the helper may take longer than this (the test's own bound).
const LIMIT: Duration = Duration::from_secs(25);
/// The helper's deadline in these tests (`AWS_ECR_TIMEOUT`).
const DEADLINE: Duration = Duration::from_secs(5);

/// Who runs the helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Root,
    Uid(u32),
}

impl Who {
    fn uid(self) -> u32 {
        match self {
            Who::Root => 0,
            Who::Uid(u) => u,
        }
    }
}

/// One case's machine: a test environment whose directories other users can
/// reach, a sticky world-writable `shared` directory (like `/tmp`), and an
/// `outside` directory standing in for `/etc`.
struct World {
    env: TestEnv,
    bin: PathBuf,
    shared: PathBuf,
    outside: PathBuf,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).expect("stat").mode() & 0o7777
}

impl World {
    /// A world where root plays the users (panics unless this runs as root
    /// with `setpriv`: the tests that use it are `#[ignore = "needs root"]`).
    fn new() -> World {
        needs_root();
        let mut env = TestEnv::new();
        env.set("AWS_ECR_TIMEOUT", &DEADLINE.as_secs().to_string());
        set_mode(env.dir.path(), 0o755);
        let shared = env.dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        set_mode(&shared, 0o1777);
        let outside = env.dir.path().join("etc");
        std::fs::create_dir(&outside).unwrap();
        set_mode(&outside, 0o755);
        World {
            env,
            bin: shared_binary(),
            shared,
            outside,
        }
    }

    /// The stand-in for `/etc/nologin`: must never come into existence.
    fn nologin(&self) -> PathBuf {
        self.outside.join("nologin")
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

    /// The helper as `who`, with `vars` on top of the test environment.
    fn command(&self, who: Who, args: &[&str], vars: &[(&str, &str)]) -> Command {
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
            .env_clear()
            .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .envs(vars.iter().copied());
        cmd
    }

    fn run(&self, who: Who, args: &[&str], stdin: &str, vars: &[(&str, &str)]) -> Run {
        bounded(self.command(who, args, vars), stdin.as_bytes(), LIMIT)
    }

    /// `get` of [`REGISTRY`] as `who` with the cache in `cache`.
    fn get(&self, who: Who, cache: &Path) -> Run {
        self.get_with(who, cache, &[])
    }

    fn get_with(&self, who: Who, cache: &Path, vars: &[(&str, &str)]) -> Run {
        let dir = cache.display().to_string();
        let mut all = vec![("AWS_ECR_CACHE_DIR", dir.as_str())];
        all.extend_from_slice(vars);
        self.run(who, &["get"], &format!("{REGISTRY}\n"), &all)
    }

    /// The identity directory name and fingerprint of `who`, as an attacker
    /// would compute them from public facts; here, from a probe run in a
    /// scratch cache (one API call).
    fn fingerprint(&self, who: Who) -> (String, String) {
        let scratch = self.shared.join(format!("probe-{}", who.uid()));
        let run = self.get(who, &scratch);
        assert_eq!(run.code, 0, "probe: {run:#?}");
        let v1 = scratch.join("v1");
        let dir = std::fs::read_dir(&v1).unwrap().flatten().next().unwrap();
        let entry: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(format!("{KEY}.json"))).unwrap())
                .unwrap();
        let short = dir.file_name().to_string_lossy().into_owned();
        (short, entry["identity"].as_str().unwrap().to_string())
    }

    /// A cache entry for [`REGISTRY`] with the attacker's password.
    fn planted_entry(full: &str, requested_at: u64, expires_at: u64) -> String {
        serde_json::json!({
            "version": 1,
            "registry": KEY,
            "identity": full,
            "identity_label": "access keys from the environment",
            "username": "AWS",
            "password": PLANTED,
            "requested_at": requested_at,
            "expires_at": expires_at,
        })
        .to_string()
    }

    /// As `uid`, with umask 0: makes `root/v1/<short>` (every level 0777) and
    /// writes a planted entry there, valid for 11 more hours.
    fn plant_tree(&self, uid: u32, root: &Path, fp: &(String, String)) -> PathBuf {
        let dir = root.join("v1").join(&fp.0);
        let entry = dir.join(format!("{KEY}.json"));
        let body = World::planted_entry(&fp.1, now() - 3600, now() + 11 * 3600);
        self.sh(
            uid,
            "umask 0 && mkdir -p \"$1\" && printf '%s' \"$3\" > \"$2\"",
            &[
                &dir.display().to_string(),
                &entry.display().to_string(),
                &body,
            ],
        );
        entry
    }

    /// The real token of the fake's latest call, which must be new since `before`.
    fn assert_fresh_token(&self, run: &Run, before: usize, case: &str) {
        assert_eq!(run.code, 0, "{case}: {run:#?}");
        let n = self.env.ecr.count();
        assert!(n > before, "{case}: no API call was made: {run:#?}");
        assert_eq!(
            run.secret(),
            FakeEcr::password("123456789012", AKID, n),
            "{case}"
        );
        assert_no_planted(run, case);
    }
}

fn assert_no_planted(run: &Run, case: &str) {
    assert!(
        !run.stdout.contains(PLANTED) && !run.stderr.contains(PLANTED),
        "{case}: the attacker's secret came out: {run:#?}"
    );
}

/// The helper warned about `path` exactly once, saying `why`.
fn assert_warned_once(run: &Run, path: &Path, why: &str, case: &str) {
    // As the user sees it: diagnostics are scrubbed of key-like runs, which
    // some temp paths resemble.
    let p = ecr_login::support::redact::scrub(&path.display().to_string());
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("warning") && l.contains(&format!("{p} ")))
        .collect();
    assert_eq!(lines.len(), 1, "{case}: one warning about {p}: {run:#?}");
    assert!(
        lines[0].contains(why),
        "{case}: should say {why:?}: {run:#?}"
    );
}

/// A victim-owned private cache with one good entry, made by a first `get`.
fn own_cache(w: &World, who: Who) -> (PathBuf, PathBuf) {
    let root = w.shared.join(format!("own-{}", who.uid()));
    let run = w.get(who, &root);
    assert_eq!(run.code, 0, "{run:#?}");
    let v1 = root.join("v1");
    let dir = std::fs::read_dir(&v1)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    (root, dir)
}

// ---------------------------------------------------------------------------
// Planted entries in directories the attacker made.

/// A planted tree (every directory 0777, made by the attacker) at the path the
/// victim uses: for each (attacker, victim) pair, the victim gets a real token,
/// warns once about the cache root, and writes nothing into the tree.
#[test]
#[ignore = "needs root"]
fn planted_entry_in_attacker_made_0777_tree_is_not_served() {
    let w = World::new();
    for (attacker, victim) in [
        (ATTACKER, Who::Root),
        (ATTACKER, Who::Uid(VICTIM)),
        (VICTIM, Who::Uid(ATTACKER)),
    ] {
        let case = format!("uid {attacker} plants, {victim:?} runs");
        let fp = w.fingerprint(victim);
        let root = w.shared.join(format!("cache-{attacker}-{}", victim.uid()));
        let entry = w.plant_tree(attacker, &root, &fp);
        let before_body = std::fs::read(&entry).unwrap();
        let before = w.env.ecr.count();
        let run = w.get(victim, &root);
        w.assert_fresh_token(&run, before, &case);
        assert_warned_once(&run, &root, &format!("belongs to uid {attacker}"), &case);
        assert_eq!(std::fs::read(&entry).unwrap(), before_body, "{case}");
        assert_eq!(
            std::fs::read_dir(entry.parent().unwrap()).unwrap().count(),
            1,
            "{case}: the victim wrote into the attacker's tree"
        );
    }
}

/// The attacker pre-creates the cache root, private to itself (0700 is not
/// needed by root to read it): the owner alone disqualifies it.
#[test]
#[ignore = "needs root"]
fn planted_entry_under_attacker_owned_private_root_is_not_served() {
    let w = World::new();
    let fp = w.fingerprint(Who::Root);
    let root = w.shared.join("cache");
    w.plant_tree(ATTACKER, &root, &fp);
    w.sh(
        ATTACKER,
        "chmod -R go-w \"$1\"",
        &[&root.display().to_string()],
    );
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "attacker-owned 0755 root");
    assert_warned_once(&run, &root, "belongs to uid 4242", "attacker-owned root");
    // A second get: still not trusted, still a fresh token (nothing cached there).
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before + 1, "second get");
}

/// The victim's own cache root, but its `v1` directory was left 0777 and
/// the attacker planted an identity directory in it.
#[test]
#[ignore = "needs root"]
fn world_writable_directory_inside_own_cache_is_not_trusted_and_keeps_its_mode() {
    let w = World::new();
    let victim = Who::Uid(VICTIM);
    let fp = w.fingerprint(victim);
    let (root, dir) = own_cache(&w, victim);
    let v1 = root.join("v1");
    std::fs::remove_dir_all(&dir).unwrap();
    set_mode(&root, 0o755);
    set_mode(&v1, 0o777);
    w.plant_tree(ATTACKER, &root, &fp);
    let before = w.env.ecr.count();
    let run = w.get(victim, &root);
    w.assert_fresh_token(&run, before, "0777 v1");
    assert_warned_once(&run, &v1, "chmod go-w", "0777 v1");
    assert_eq!(mode(&v1), 0o777, "never chmod a directory");
}

/// The attacker takes the cache root's name first (an empty 0755 directory
/// in a sticky shared directory): the victim warns and does not write there.
#[test]
#[ignore = "needs root"]
fn attacker_precreated_empty_root_stays_empty() {
    let w = World::new();
    let root = w.shared.join("ecr-cache");
    w.sh(
        ATTACKER,
        "mkdir -m 755 \"$1\"",
        &[&root.display().to_string()],
    );
    for who in [Who::Root, Who::Uid(VICTIM)] {
        let before = w.env.ecr.count();
        let run = w.get(who, &root);
        w.assert_fresh_token(&run, before, "precreated root");
        assert_warned_once(&run, &root, "not to you", "precreated root");
    }
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------
// Shared, sticky and setgid directories.

/// A private cache root inside a sticky, world-writable directory (`/tmp`)
/// is trusted: the second get is a cache hit, with no warning.
#[test]
#[ignore = "needs root"]
fn private_root_in_sticky_tmp_like_directory_is_trusted() {
    let w = World::new();
    for who in [Who::Root, Who::Uid(VICTIM)] {
        let root = w.shared.join(format!("mine-{}", who.uid()));
        let first = w.get(who, &root);
        let second = w.get(who, &root);
        assert_eq!(first.secret(), second.secret(), "{who:?}");
        assert!(!second.stderr.contains("warning"), "{second:#?}");
        assert_eq!(mode(&root), 0o700);
    }
}

/// The sticky shared directory itself as the cache root (AWS_ECR_CACHE_DIR=/tmp):
/// not trusted, with a hint to use a directory inside it; its mode stays 1777
/// and the attacker's `v1` in it is ignored.
#[test]
#[ignore = "needs root"]
fn sticky_shared_directory_as_root_is_not_trusted_and_keeps_1777() {
    let w = World::new();
    let fp = w.fingerprint(Who::Root);
    w.plant_tree(ATTACKER, &w.shared, &fp);
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &w.shared);
    w.assert_fresh_token(&run, before, "1777 root");
    assert_warned_once(&run, &w.shared, "a directory inside it", "1777 root");
    assert_eq!(mode(&w.shared), 0o1777);
}

/// A cache root the victim made 1777 itself: not trusted, mode kept (it used
/// to become 0700 silently).
#[test]
#[ignore = "needs root"]
fn own_1777_root_keeps_its_mode() {
    let w = World::new();
    let root = w.shared.join("own-1777");
    std::fs::create_dir(&root).unwrap();
    set_mode(&root, 0o1777);
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "own 1777");
    assert_warned_once(&run, &root, "1777", "own 1777");
    assert_eq!(mode(&root), 0o1777);
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
}

/// A setgid (2750) cache root of the victim's is private: trusted, used, and
/// its mode is left alone.
#[test]
#[ignore = "needs root"]
fn own_setgid_root_is_used_and_keeps_its_mode() {
    let w = World::new();
    let root = w.shared.join("own-setgid");
    std::fs::create_dir(&root).unwrap();
    set_mode(&root, 0o2750);
    let first = w.get(Who::Root, &root);
    let second = w.get(Who::Root, &root);
    assert_eq!(first.secret(), second.secret());
    assert_eq!(w.env.ecr.count(), 1);
    assert!(!second.stderr.contains("warning"), "{second:#?}");
    assert_eq!(mode(&root), 0o2750);
}

/// A setgid root writable by a group shared with the attacker (2770, group
/// 4242): not trusted, mode kept.
#[test]
#[ignore = "needs root"]
fn group_writable_setgid_root_is_not_trusted_and_keeps_its_mode() {
    let w = World::new();
    let root = w.shared.join("group-cache");
    std::fs::create_dir(&root).unwrap();
    std::os::unix::fs::chown(&root, None, Some(ATTACKER)).unwrap();
    set_mode(&root, 0o2770);
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "2770 root");
    assert_warned_once(&run, &root, "chmod go-w", "2770 root");
    assert_eq!(mode(&root), 0o2770);
}

/// A user-private-group set-up (umask 002: `mkdir ~/.ecr` gives 0775, group
/// = the user's own): group write by that group alone is accepted.
#[test]
#[ignore = "needs root"]
fn group_writable_root_of_a_private_group_is_trusted() {
    let w = World::new();
    let root = w.shared.join("upg-cache");
    w.sh(
        VICTIM,
        "mkdir -m 775 \"$1\"",
        &[&root.display().to_string()],
    );
    let first = w.get(Who::Uid(VICTIM), &root);
    let second = w.get(Who::Uid(VICTIM), &root);
    assert_eq!(first.secret(), second.secret());
    assert!(!second.stderr.contains("warning"), "{second:#?}");
    assert_eq!(mode(&root), 0o775);
}

/// The cache root in a world-writable directory without the sticky bit: anyone
/// can swap it, so it is not trusted (the parent's mode is kept).
#[test]
#[ignore = "needs root"]
fn root_in_world_writable_non_sticky_directory_is_not_trusted() {
    let w = World::new();
    let open = w.env.dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    set_mode(&open, 0o777);
    let root = open.join("cache");
    let before = w.env.ecr.count();
    let run = w.get(Who::Uid(VICTIM), &root);
    w.assert_fresh_token(&run, before, "0777 parent");
    assert_warned_once(&run, &root, "any user can replace it", "0777 parent");
    assert_eq!(mode(&open), 0o777);
}

// ---------------------------------------------------------------------------
// Symbolic links.

/// The attacker's tree holds the lock as a link to `/etc/nologin`: root's get
/// must not create it.
#[test]
#[ignore = "needs root"]
fn lock_symlink_in_attacker_tree_does_not_create_nologin() {
    let w = World::new();
    let fp = w.fingerprint(Who::Root);
    let root = w.shared.join("cache");
    let entry = w.plant_tree(ATTACKER, &root, &fp);
    let lock = entry.with_extension("lock");
    w.sh(
        ATTACKER,
        "rm \"$1\" && ln -s \"$2\" \"$3\"",
        &[
            &entry.display().to_string(),
            &w.nologin().display().to_string(),
            &lock.display().to_string(),
        ],
    );
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "lock link");
    assert!(!w.nologin().exists(), "the link's target was created");
}

/// Defence in depth: a lock link inside the victim's own private tree (left
/// by an older version, or a race) is refused too, not followed.
#[test]
#[ignore = "needs root"]
fn lock_symlink_in_own_tree_does_not_create_nologin() {
    let w = World::new();
    let (root, dir) = own_cache(&w, Who::Root);
    std::fs::remove_file(dir.join(format!("{KEY}.json"))).unwrap();
    let lock = dir.join(format!("{KEY}.lock"));
    std::fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink(w.nologin(), &lock).unwrap();
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "own lock link");
    assert!(!w.nologin().exists(), "the link's target was created");
    assert_warned_once(&run, &lock, "symbolic link", "own lock link");
}

/// An entry that is a link to an attacker's file with a planted entry: not
/// read; the refresh replaces the link and leaves the target alone.
#[test]
#[ignore = "needs root"]
fn entry_symlink_to_attacker_file_is_not_followed() {
    let w = World::new();
    let fp = w.fingerprint(Who::Root);
    let (root, dir) = own_cache(&w, Who::Root);
    let bait = w.shared.join("bait.json");
    let body = World::planted_entry(&fp.1, now() - 60, now() + 11 * 3600);
    w.sh(
        ATTACKER,
        "printf '%s' \"$2\" > \"$1\"",
        &[&bait.display().to_string(), &body],
    );
    let entry = dir.join(format!("{KEY}.json"));
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&bait, &entry).unwrap();
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "entry link");
    assert_warned_once(&run, &entry, "symbolic link", "entry link");
    assert_eq!(std::fs::read_to_string(&bait).unwrap(), body);
    assert!(std::fs::symlink_metadata(&entry).unwrap().is_file());
}

/// An entry linked to a file outside the cache (`/etc/nologin`'s stand-in,
/// existing): the refresh must not write through the link.
#[test]
#[ignore = "needs root"]
fn entry_symlink_to_outside_file_is_replaced_not_written_through() {
    let w = World::new();
    let (root, dir) = own_cache(&w, Who::Root);
    let target = w.outside.join("passwd");
    std::fs::write(&target, "root:x:0:0\n").unwrap();
    let entry = dir.join(format!("{KEY}.json"));
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&target, &entry).unwrap();
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "entry link outside");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "root:x:0:0\n");
}

/// A stale temp file that is a link to a file outside: the clean-up removes
/// the link, not its target.
#[test]
#[ignore = "needs root"]
fn stale_temp_symlink_is_removed_not_followed() {
    let w = World::new();
    let (root, dir) = own_cache(&w, Who::Root);
    let target = w.outside.join("shadow");
    std::fs::write(&target, "keep").unwrap();
    let temp = dir.join(".tmp-planted.json");
    std::os::unix::fs::symlink(&target, &temp).unwrap();
    let status = Command::new("touch")
        .args(["-h", "-d", "2000-01-01"])
        .arg(&temp)
        .status()
        .unwrap();
    assert!(status.success());
    // Force a refresh (and so a write) by making the entry stale.
    let entry = dir.join(format!("{KEY}.json"));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
    v["requested_at"] = (now() - 7 * 3600).into();
    v["expires_at"] = (now() + 5 * 3600).into();
    std::fs::write(&entry, v.to_string()).unwrap();
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "temp link");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    assert!(std::fs::symlink_metadata(&temp).is_err(), "stale link left");
}

/// The cache root is a link the attacker planted (in the sticky shared
/// directory) to a private directory of the victim's: not followed, nothing
/// written into the target.
#[test]
#[ignore = "needs root"]
fn root_symlink_owned_by_attacker_is_not_followed() {
    let w = World::new();
    let target = w.outside.join("root-private");
    std::fs::create_dir(&target).unwrap();
    set_mode(&target, 0o700);
    let root = w.shared.join("cache");
    w.sh(
        ATTACKER,
        "ln -s \"$1\" \"$2\"",
        &[&target.display().to_string(), &root.display().to_string()],
    );
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "attacker root link");
    assert_warned_once(&run, &root, "belongs to uid 4242", "attacker root link");
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}

/// The victim's own link as the root (`~/.ecr -> /data/ecr`) is followed.
#[test]
#[ignore = "needs root"]
fn root_symlink_owned_by_victim_is_followed() {
    let w = World::new();
    let target = w.env.dir.path().join("data-ecr");
    let root = w.shared.join("cache-link");
    std::os::unix::fs::symlink(&target, &root).unwrap();
    std::fs::create_dir(&target).unwrap();
    set_mode(&target, 0o700);
    let first = w.get(Who::Root, &root);
    let second = w.get(Who::Root, &root);
    assert_eq!(first.secret(), second.secret());
    assert_eq!(w.env.ecr.count(), 1);
    assert!(!second.stderr.contains("warning"), "{second:#?}");
}

// ---------------------------------------------------------------------------
// FIFOs: nothing may block past the deadline.

/// A FIFO as the entry: `get` finishes within its deadline with a real token.
#[test]
#[ignore = "needs root"]
fn fifo_entry_does_not_hang_get() {
    let w = World::new();
    let (root, dir) = own_cache(&w, Who::Root);
    let entry = dir.join(format!("{KEY}.json"));
    std::fs::remove_file(&entry).unwrap();
    mkfifo(&entry);
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    assert!(run.elapsed < DEADLINE, "{run:#?}");
    w.assert_fresh_token(&run, before, "fifo entry");
    assert_warned_once(&run, &entry, "FIFO", "fifo entry");
}

/// A FIFO as the lock: `get` finishes within its deadline with a real token.
#[test]
#[ignore = "needs root"]
fn fifo_lock_does_not_hang_get() {
    let w = World::new();
    let (root, dir) = own_cache(&w, Who::Uid(VICTIM));
    std::fs::remove_file(dir.join(format!("{KEY}.json"))).unwrap();
    let lock = dir.join(format!("{KEY}.lock"));
    std::fs::remove_file(&lock).unwrap();
    w.sh(
        VICTIM,
        "mkfifo -m 600 \"$1\"",
        &[&lock.display().to_string()],
    );
    let before = w.env.ecr.count();
    let run = w.get(Who::Uid(VICTIM), &root);
    assert!(run.elapsed < DEADLINE, "{run:#?}");
    w.assert_fresh_token(&run, before, "fifo lock");
    assert_warned_once(&run, &lock, "FIFO", "fifo lock");
}

/// FIFOs among the entries: `list` and `cache show` finish within the deadline.
#[test]
#[ignore = "needs root"]
fn fifo_entries_do_not_hang_list_or_cache_show() {
    let w = World::new();
    let (root, dir) = own_cache(&w, Who::Root);
    mkfifo(&dir.join("210987654321.dkr.ecr.eu-west-1.amazonaws.com.json"));
    let cache = root.display().to_string();
    for args in [&["list"][..], &["cache", "show"][..]] {
        let run = w.run(Who::Root, args, "", &[("AWS_ECR_CACHE_DIR", &cache)]);
        assert_eq!(run.code, 0, "{args:?}: {run:#?}");
        assert!(run.elapsed < DEADLINE, "{args:?}: {run:#?}");
        // `list` names the registry, `cache show` its token key.
        let want = if args[0] == "list" { REGISTRY } else { KEY };
        assert!(run.stdout.contains(want), "{args:?}: {run:#?}");
        assert!(!run.stdout.contains("eu-west-1"), "{args:?}: {run:#?}");
    }
}

/// `AWS_ECR_LOG_FILE` names a FIFO the attacker made: `get` neither blocks
/// nor loses its answer.
#[test]
#[ignore = "needs root"]
fn fifo_log_file_does_not_hang_get() {
    let w = World::new();
    let log = w.shared.join("ecr.log");
    w.sh(
        ATTACKER,
        "mkfifo -m 666 \"$1\"",
        &[&log.display().to_string()],
    );
    let root = w.shared.join("cache");
    let before = w.env.ecr.count();
    let log_s = log.display().to_string();
    let run = w.get_with(Who::Root, &root, &[("AWS_ECR_LOG_FILE", &log_s)]);
    assert!(run.elapsed < DEADLINE, "{run:#?}");
    w.assert_fresh_token(&run, before, "fifo log");
    assert!(run.stderr.contains("AWS_ECR_LOG_FILE"), "{run:#?}");
}

// ---------------------------------------------------------------------------
// The log file.

/// `AWS_ECR_LOG_FILE` pre-planted as a link to `/etc/nologin`: root's get
/// does not create the target, and warns.
#[test]
#[ignore = "needs root"]
fn log_file_symlink_does_not_create_nologin() {
    let w = World::new();
    let log = w.shared.join("ecr.log");
    w.sh(
        ATTACKER,
        "ln -s \"$1\" \"$2\"",
        &[
            &w.nologin().display().to_string(),
            &log.display().to_string(),
        ],
    );
    let root = w.shared.join("cache");
    let log_s = log.display().to_string();
    let before = w.env.ecr.count();
    let run = w.get_with(
        Who::Root,
        &root,
        &[("AWS_ECR_LOG_FILE", &log_s), ("AWS_ECR_LOG", "debug")],
    );
    w.assert_fresh_token(&run, before, "log link");
    assert!(!w.nologin().exists(), "the log link's target was created");
    assert!(
        run.stderr.contains("AWS_ECR_LOG_FILE") && run.stderr.contains("symbolic link"),
        "{run:#?}"
    );
}

/// `AWS_ECR_LOG_FILE` pre-planted by the attacker as a 0666 file of its own:
/// the victim writes nothing into it (nothing for the attacker to read).
#[test]
#[ignore = "needs root"]
fn attacker_owned_log_file_is_not_written() {
    let w = World::new();
    let log = w.shared.join("ecr.log");
    w.sh(
        ATTACKER,
        "umask 0 && : > \"$1\"",
        &[&log.display().to_string()],
    );
    let root = w.shared.join("cache");
    let log_s = log.display().to_string();
    let before = w.env.ecr.count();
    let run = w.get_with(
        Who::Uid(VICTIM),
        &root,
        &[("AWS_ECR_LOG_FILE", &log_s), ("AWS_ECR_LOG", "trace")],
    );
    w.assert_fresh_token(&run, before, "attacker log");
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
    // (With fs.protected_regular the kernel refuses the open itself.)
    assert!(run.stderr.contains("AWS_ECR_LOG_FILE"), "{run:#?}");
}

// ---------------------------------------------------------------------------
// Lifetimes: a victim-owned entry (as if the victim's own tree had been
// written by someone with its rights, or the clock jumped).

fn rewrite_entry(dir: &Path, requested_at: u64, expires_at: u64, full: &str) {
    std::fs::write(
        dir.join(format!("{KEY}.json")),
        World::planted_entry(full, requested_at, expires_at),
    )
    .unwrap();
}

/// An entry claiming a ten-year lifetime is not served.
#[test]
#[ignore = "needs root"]
fn entry_with_lifetime_over_12_hours_is_not_served() {
    let w = World::new();
    let fp = w.fingerprint(Who::Root);
    let (root, dir) = own_cache(&w, Who::Root);
    for (name, lifetime) in [("13 hours", 13 * 3600), ("ten years", 10 * 365 * 86400)] {
        rewrite_entry(&dir, now() - 60, now() - 60 + lifetime, &fp.1);
        let before = w.env.ecr.count();
        let run = w.get(Who::Root, &root);
        w.assert_fresh_token(&run, before, name);
    }
}

/// An entry requested in the future (beyond five minutes of slack) is not served.
#[test]
#[ignore = "needs root"]
fn entry_requested_in_the_future_is_not_served() {
    let w = World::new();
    let fp = w.fingerprint(Who::Root);
    let (root, dir) = own_cache(&w, Who::Root);
    rewrite_entry(&dir, now() + 3600, now() + 3 * 3600, &fp.1);
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "future");
}

/// An entry the victim owns but left writable by others (0666) is not served.
#[test]
#[ignore = "needs root"]
fn world_writable_entry_is_not_served() {
    let w = World::new();
    let fp = w.fingerprint(Who::Root);
    let (root, dir) = own_cache(&w, Who::Root);
    rewrite_entry(&dir, now() - 60, now() + 11 * 3600, &fp.1);
    let entry = dir.join(format!("{KEY}.json"));
    set_mode(&entry, 0o666);
    let before = w.env.ecr.count();
    let run = w.get(Who::Root, &root);
    w.assert_fresh_token(&run, before, "0666 entry");
    assert_warned_once(&run, &entry, "chmod go-w", "0666 entry");
}

// ---------------------------------------------------------------------------
// MFA sessions.

fn planted_session(expires_at: u64) -> String {
    serde_json::json!({
        "version": 1,
        "profile": "mfa",
        "access_key_id": "ASIAATTACKER",
        "secret_access_key": PLANTED,
        "session_token": PLANTED,
        "expires_at": expires_at,
        "made_from": mfa_made_from("AKIDBASE"),
    })
    .to_string()
}

impl World {
    /// Switches the environment to the MFA profile (base keys in the files).
    fn with_mfa_profile(&mut self) {
        let creds = self.env.write(
            "home/.aws/credentials",
            "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = b\n",
        );
        let config = self.env.write("home/.aws/config", MFA_CONFIG);
        self.env
            .unset("AWS_ACCESS_KEY_ID")
            .unset("AWS_SECRET_ACCESS_KEY")
            .set("AWS_SHARED_CREDENTIALS_FILE", &creds.display().to_string())
            .set("AWS_CONFIG_FILE", &config.display().to_string())
            .set("AWS_PROFILE", "mfa");
    }

    /// `get` with no controlling terminal (so no prompt is possible).
    fn get_without_terminal(&self, who: Who, cache: &Path) -> Run {
        let dir = cache.display().to_string();
        let inner = self.command(who, &["get"], &[("AWS_ECR_CACHE_DIR", &dir)]);
        let mut cmd = Command::new("setsid");
        cmd.arg("-w")
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear()
            .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))));
        bounded(cmd, format!("{REGISTRY}\n").as_bytes(), LIMIT)
    }

    /// No ECR call was signed with the planted session's key.
    fn assert_session_unused(&self, run: &Run, case: &str) {
        assert_no_planted(run, case);
        assert!(
            self.env
                .ecr
                .calls()
                .iter()
                .all(|c| c.access_key != "ASIAATTACKER"),
            "{case}: the planted session signed a call"
        );
        assert_eq!(run.code, 1, "{case}: {run:#?}");
        assert!(run.stderr.contains("no terminal"), "{case}: {run:#?}");
    }
}

/// A session planted in an attacker-made `mfa/` (0777): not used.
#[test]
#[ignore = "needs root"]
fn planted_mfa_session_in_attacker_tree_is_not_used() {
    let mut w = World::new();
    w.with_mfa_profile();
    let root = w.shared.join("cache");
    let file = root.join("mfa").join(format!("{}.json", mfa_key()));
    w.sh(
        ATTACKER,
        "umask 0 && mkdir -p \"$1\" && printf '%s' \"$3\" > \"$2\"",
        &[
            &file.parent().unwrap().display().to_string(),
            &file.display().to_string(),
            &planted_session(now() + 3600),
        ],
    );
    let run = w.get_without_terminal(Who::Root, &root);
    w.assert_session_unused(&run, "attacker mfa tree");
    assert_warned_once(&run, &root, "belongs to uid 4242", "attacker mfa tree");
}

/// A session in the victim's own `mfa/` that is a link to the attacker's file.
#[test]
#[ignore = "needs root"]
fn mfa_session_symlink_is_not_followed() {
    let mut w = World::new();
    w.with_mfa_profile();
    let root = w.shared.join("cache");
    let mfa = root.join("mfa");
    std::fs::create_dir_all(&mfa).unwrap();
    set_mode(&root, 0o700);
    set_mode(&mfa, 0o700);
    let bait = w.shared.join("session.json");
    w.sh(
        ATTACKER,
        "printf '%s' \"$2\" > \"$1\"",
        &[&bait.display().to_string(), &planted_session(now() + 3600)],
    );
    let file = mfa.join(format!("{}.json", mfa_key()));
    std::os::unix::fs::symlink(&bait, &file).unwrap();
    let run = w.get_without_terminal(Who::Root, &root);
    w.assert_session_unused(&run, "mfa link");
    assert_warned_once(&run, &file, "symbolic link", "mfa link");
}

/// A victim-owned session file writable by others (0666): not used.
#[test]
#[ignore = "needs root"]
fn world_writable_mfa_session_is_not_used() {
    let mut w = World::new();
    w.with_mfa_profile();
    let root = w.shared.join("cache");
    let mfa = root.join("mfa");
    std::fs::create_dir_all(&mfa).unwrap();
    set_mode(&root, 0o700);
    set_mode(&mfa, 0o700);
    let file = mfa.join(format!("{}.json", mfa_key()));
    std::fs::write(&file, planted_session(now() + 3600)).unwrap();
    set_mode(&file, 0o666);
    let run = w.get_without_terminal(Who::Root, &root);
    w.assert_session_unused(&run, "0666 session");
    assert_warned_once(&run, &file, "chmod go-w", "0666 session");
}

/// A session claiming to last ten years (STS gives at most 12 hours): not used.
#[test]
#[ignore = "needs root"]
fn mfa_session_with_impossible_expiry_is_not_used() {
    let mut w = World::new();
    w.with_mfa_profile();
    let root = w.shared.join("cache");
    let mfa = root.join("mfa");
    std::fs::create_dir_all(&mfa).unwrap();
    set_mode(&root, 0o700);
    set_mode(&mfa, 0o700);
    let file = mfa.join(format!("{}.json", mfa_key()));
    std::fs::write(&file, planted_session(now() + 10 * 365 * 86400)).unwrap();
    set_mode(&file, 0o600);
    let run = w.get_without_terminal(Who::Root, &root);
    w.assert_session_unused(&run, "ten-year session");
}

/// The MFA prompt lock as a link to `/etc/nologin`: not created.
#[test]
#[ignore = "needs root"]
fn mfa_lock_symlink_does_not_create_nologin() {
    let mut w = World::new();
    w.with_mfa_profile();
    let root = w.shared.join("cache");
    let mfa = root.join("mfa");
    std::fs::create_dir_all(&mfa).unwrap();
    set_mode(&root, 0o700);
    set_mode(&mfa, 0o700);
    let lock = mfa.join(format!("{}.lock", mfa_key()));
    std::os::unix::fs::symlink(w.nologin(), &lock).unwrap();
    let run = w.get_without_terminal(Who::Root, &root);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(!w.nologin().exists(), "the lock link's target was created");
    assert_warned_once(&run, &lock, "symbolic link", "mfa lock link");
}

// ---------------------------------------------------------------------------
// Cache commands.

/// `cache clear` on an attacker's root refuses, and removes nothing of theirs
/// (nor anything their links point to).
#[test]
#[ignore = "needs root"]
fn cache_clear_refuses_a_foreign_root() {
    let w = World::new();
    let fp = w.fingerprint(Who::Root);
    let root = w.shared.join("cache");
    let entry = w.plant_tree(ATTACKER, &root, &fp);
    let cache = root.display().to_string();
    let run = w.run(
        Who::Root,
        &["cache", "clear"],
        "",
        &[("AWS_ECR_CACHE_DIR", &cache)],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("belongs to uid 4242"), "{run:#?}");
    assert!(entry.exists());
}

/// `list` and `cache show` name registries after validated file names, never
/// after the content, and escape control characters from the content.
#[test]
#[ignore = "needs root"]
fn list_and_show_trust_file_names_not_content() {
    let w = World::new();
    let fp = w.fingerprint(Who::Root);
    let (root, dir) = own_cache(&w, Who::Root);
    let mut evil: serde_json::Value =
        serde_json::from_str(&World::planted_entry(&fp.1, now() - 60, now() + 3600)).unwrap();
    // Content naming another registry than the file.
    evil["registry"] = "evil.example\u{1b}[2J".into();
    std::fs::write(
        dir.join("111122223333.dkr.ecr.us-east-1.amazonaws.com.json"),
        evil.to_string(),
    )
    .unwrap();
    // A file name that is no registry, with matching content.
    evil["registry"] = "evil.example".into();
    std::fs::write(dir.join("evil.example.json"), evil.to_string()).unwrap();
    // The good entry's label with terminal escapes.
    let good = dir.join(format!("{KEY}.json"));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&good).unwrap()).unwrap();
    v["identity_label"] = "keys\u{1b}]0;pwned\u{7}\u{202e}".into();
    std::fs::write(&good, v.to_string()).unwrap();
    for p in std::fs::read_dir(&dir).unwrap().flatten() {
        if !p.file_type().unwrap().is_symlink() {
            set_mode(&p.path(), 0o600);
        }
    }
    let cache = root.display().to_string();
    let vars = [("AWS_ECR_CACHE_DIR", cache.as_str())];
    let list = w.run(Who::Root, &["list"], "", &vars);
    assert_eq!(
        list.stdout,
        format!("{{\"https://{REGISTRY}\":\"AWS\"}}\n"),
        "{list:#?}"
    );
    let show = w.run(Who::Root, &["cache", "show"], "", &vars);
    assert_eq!(show.code, 0, "{show:#?}");
    assert!(!show.stdout.contains("evil"), "{show:#?}");
    assert!(
        !show.stdout.contains('\u{1b}') && !show.stdout.contains('\u{202e}'),
        "{show:#?}"
    );
    assert!(show.stdout.contains("\\u{1b}"), "{show:#?}");
}

/// `cache clear` removes kept MFA sessions too.
#[test]
#[ignore = "needs root"]
fn cache_clear_removes_mfa_sessions() {
    let w = World::new();
    let (root, _) = own_cache(&w, Who::Root);
    let mfa = root.join("mfa");
    std::fs::create_dir(&mfa).unwrap();
    set_mode(&mfa, 0o700);
    std::fs::write(
        mfa.join(format!("{}.json", mfa_key())),
        planted_session(now() + 600),
    )
    .unwrap();
    let cache = root.display().to_string();
    let run = w.run(
        Who::Root,
        &["cache", "clear"],
        "",
        &[("AWS_ECR_CACHE_DIR", &cache)],
    );
    assert!(
        run.stdout
            .starts_with("removed 1 cached token(s) and 1 MFA session(s)"),
        "{run:#?}"
    );
    assert!(!mfa.exists() && !root.join("v1").exists());
}

// ---------------------------------------------------------------------------
// A closed or broken stderr never costs the answer (no other user needed).

/// `get` with stderr closed (`2>&-`) and with a broken stderr pipe, at a
/// verbose level: the answer still goes to stdout, and no cache file takes
/// descriptor 2.
#[test]
fn closed_or_broken_stderr_does_not_abort_get() {
    let env = TestEnv::new();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("exec \"$0\" get 2>&-")
        .arg(BIN)
        .env_clear()
        .envs(
            env.command(&[])
                .get_envs()
                .filter_map(|(k, v)| Some((k, v?))),
        )
        .env("AWS_ECR_LOG", "trace");
    let run = bounded(cmd, format!("{REGISTRY}\n").as_bytes(), LIMIT);
    assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, 1));
    for file in env.cache_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("ecr-login:"),
            "diagnostics in {}",
            file.display()
        );
    }
    // A broken pipe: the reader is gone before the helper writes.
    let mut cmd = env.command(&["get"]);
    cmd.env("AWS_ECR_LOG", "trace")
        .env("AWS_ECR_DISABLE_CACHE", "1");
    let mut child = cmd.spawn().unwrap();
    drop(child.stderr.take());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(REGISTRY.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Secret"], FakeEcr::password("123456789012", AKID, 2));
}
