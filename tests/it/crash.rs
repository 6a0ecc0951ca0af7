//! Crash safety of the token cache through the built binary: `get` processes
//! SIGKILLed at random points never leave a torn entry behind, and a cache
//! that cannot be used (read-only, not a directory, full) never fails a `get`:
//! it warns and carries on.
//!
//! The random schedule is printed; `CRASH_SEED=<n>` replays one.

#![cfg(unix)]

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;

const ITERATIONS: usize = 200;

/// The accounts of the registries the killed processes fetch.
const ACCOUNTS: [&str; 3] = ["123456789012", "210987654321", "111122223333"];

/// One region per account: one token, and so one entry, each.
fn host(account: &str) -> String {
    let i = ACCOUNTS.iter().position(|a| *a == account).unwrap_or(0);
    let region = ["us-east-1", "eu-west-1", "ap-south-1"][i];
    format!("{account}.dkr.ecr.{region}.amazonaws.com")
}

/// The token key (the name of the cache entry) of `account`'s registry.
fn key(account: &str) -> String {
    host(account)
        .split_once('.')
        .map(|(_, k)| k.to_string())
        .unwrap_or_default()
}

/// xorshift64*: enough randomness for a kill schedule, no dependency.
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
            | 1;
        eprintln!("kill schedule: CRASH_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Temp files of an interrupted write (`.tmp-*.json`): partial by design,
/// never read as entries.
fn is_temp(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
}

/// Every entry file is whole: JSON, version 1, for the registry it is named after.
fn assert_entries_whole(env: &TestEnv, when: &str) -> usize {
    let mut entries = 0;
    for path in env.cache_files() {
        if is_temp(&path) {
            continue;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            // Absent is fine (removed between listing and reading).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{when}: cannot read {}: {e}", path.display()),
        };
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{when}: torn cache entry {} ({e}): {:?}",
                path.display(),
                String::from_utf8_lossy(&bytes)
            )
        });
        assert_eq!(v["version"], 1, "{when}: {}: {v}", path.display());
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert_eq!(v["registry"], stem.as_str(), "{when}: {}", path.display());
        entries += 1;
    }
    entries
}

/// A `get` of `account`'s registry succeeded with a token the fake handed out.
fn assert_good_get(env: &TestEnv, account: &str, when: &str) -> Run {
    let run = env.get(&host(account));
    assert_eq!(run.code, 0, "{when}: {run:#?}");
    let v = run.json();
    assert_eq!(v["Username"], "AWS", "{when}: {run:#?}");
    let secret = v["Secret"].as_str().unwrap_or_default();
    let prefix = format!("pw-ecr-{AKID}-");
    let n: usize = secret
        .strip_prefix(&prefix)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{when}: unexpected secret {secret:?}"));
    assert!(
        (1..=env.ecr.count()).contains(&n),
        "{when}: call {n} never made"
    );
    run
}

fn remove_entries(env: &TestEnv) {
    for p in env.cache_files() {
        if !is_temp(&p) {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn spawn_get(env: &TestEnv, registry: &str) -> Child {
    let mut child = env.command(&["get"]).spawn().expect("spawn get");
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(registry.as_bytes());
    child
}

/// One `get` per registry, and a second one on the first registry to race it
/// for the refresh lock; each with a kill delay from `delay`.
fn spawn_batch(env: &TestEnv, mut delay: impl FnMut() -> Duration) -> Vec<(Duration, Child)> {
    let mut hosts: Vec<String> = ACCOUNTS.iter().map(|a| host(a)).collect();
    hosts.push(hosts[0].clone());
    hosts.iter().map(|h| (delay(), spawn_get(env, h))).collect()
}

#[test]
fn sigkill_at_random_points_never_tears_an_entry() {
    let env = TestEnv::new();
    // One-second tokens are never fresh (half their lifetime rounds down to
    // zero seconds), so every process refreshes and replaces the entry; every
    // third iteration starts without entries, so that they are created too.
    env.ecr.set_default(Reply::Token(Duration::from_secs(1)));
    let mut rng = Rng::from_env();
    // Kill within 0-20 ms of the start, or within the time a batch of
    // processes takes to finish here if that is longer (a debug build, a busy
    // machine), so that kills land in every phase, the write included.
    let mut samples: Vec<Duration> = (0..3)
        .map(|_| {
            remove_entries(&env);
            let t = Instant::now();
            for (_, child) in spawn_batch(&env, || Duration::ZERO) {
                let out = child.wait_with_output().expect("wait");
                assert!(out.status.success(), "calibration: {out:?}");
            }
            t.elapsed()
        })
        .collect();
    samples.sort();
    let batch = samples[samples.len() / 2];
    let window = batch.clamp(Duration::from_millis(20), Duration::from_millis(500));
    eprintln!("a batch of cold gets takes {batch:.1?}: kills within 0-{window:.1?}");
    let start = Instant::now();
    let (mut killed, mut finished) = (0, 0);
    for i in 0..ITERATIONS {
        if i % 3 == 0 {
            remove_entries(&env);
        }
        let spawned = Instant::now();
        let mut children = spawn_batch(&env, || {
            Duration::from_micros(rng.below(window.as_micros() as u64))
        });
        children.sort_by_key(|(d, _)| *d);
        for (delay, child) in &mut children {
            if let Some(rest) = delay.checked_sub(spawned.elapsed()) {
                std::thread::sleep(rest);
            }
            // SIGKILL; harmless if it already exited.
            let _ = child.kill();
        }
        for (_, child) in &mut children {
            let status = child.wait().expect("wait");
            if status.signal() == Some(9) {
                killed += 1;
            } else {
                assert_eq!(status.code(), Some(0), "iteration {i}: {status:?}");
                finished += 1;
            }
        }
        let when = format!("after iteration {i}");
        assert_entries_whole(&env, &when);
        let account = ACCOUNTS[i % ACCOUNTS.len()];
        let run = assert_good_get(&env, account, &when);
        // (A one-second token that took over a second to arrive on a busy
        // machine is not cached, and says so.)
        assert!(
            run.stderr.contains("already expired")
                || env
                    .cache_files()
                    .iter()
                    .any(|p| !is_temp(p) && p.ends_with(format!("{}.json", key(account)))),
            "{when}: no entry for {account} after a good get"
        );
        assert_entries_whole(&env, &when);
    }
    let temps = env.cache_files().iter().filter(|p| is_temp(p)).count();
    eprintln!(
        "{ITERATIONS} iterations in {:.1?}: {killed} processes killed, {finished} finished first, {temps} interrupted writes left as temp files, {} ECR calls",
        start.elapsed(),
        env.ecr.count()
    );
    assert!(
        killed >= ITERATIONS,
        "too few kills landed ({killed}): the schedule is too slow for this machine"
    );
    // Listing and showing the cache ignore the leftovers.
    let run = env.run(&["cache", "show"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    let run = env.run(&["list"], "");
    assert_eq!(run.code, 0, "{run:#?}");
}

/// `get` succeeded and warned.
fn assert_degraded(run: &Run, what: &str) {
    assert_eq!(run.code, 0, "{what}: {run:#?}");
    assert_eq!(run.json()["Username"], "AWS", "{what}: {run:#?}");
    assert!(
        run.stderr.contains("warning"),
        "{what}: no warning on stderr: {run:#?}"
    );
}

/// The effective user id of this process, from a file it creates.
fn euid(dir: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    let probe = dir.join(".euid-probe");
    std::fs::write(&probe, "").expect("write probe");
    let uid = std::fs::metadata(&probe).expect("stat probe").uid();
    std::fs::remove_file(&probe).expect("remove probe");
    uid
}

/// The identity directory (`<cache>/v1/<fingerprint>`) of the one entry.
fn identity_dir(env: &TestEnv) -> PathBuf {
    let files: Vec<PathBuf> = env
        .cache_files()
        .into_iter()
        .filter(|p| !is_temp(p))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].parent().unwrap().to_path_buf()
}

/// Makes the one entry stale, so that the next `get` refreshes and writes.
fn make_stale(env: &TestEnv) {
    let path = identity_dir(env).join(format!("{KEY}.json"));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    v["requested_at"] = (now - 7 * 3600).into();
    v["expires_at"] = (now + 5 * 3600).into();
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
}

/// A read-only cache (mode 0500): as a normal user, chmod is enough. Root
/// ignores permission bits, so there `get` runs as `nobody` (uid/gid 65534)
/// over a cache owned by `nobody` (who must be able to run the binary).
#[test]
fn read_only_cache_directory_warns_and_serves() {
    let env = TestEnv::new();
    let root = euid(env.dir.path()) == 0;
    let unprivileged = |mut cmd: Command| {
        if root {
            cmd.uid(65534).gid(65534);
        }
        cmd
    };
    if root {
        // Let nobody reach HOME and the cache inside the temp dir.
        set_mode(env.dir.path(), 0o755);
        let probe = run_command(unprivileged(env.command(&["version"])), b"");
        assert_eq!(
            probe.code, 0,
            "running as root, `nobody` must be able to run the binary: {probe:?}"
        );
    }
    let get = || {
        run_command(
            unprivileged(env.command(&["get"])),
            format!("{REGISTRY}\n").as_bytes(),
        )
    };
    let chown_nobody = |p: &Path| {
        if root {
            std::os::unix::fs::chown(p, Some(65534), Some(65534)).expect("chown");
        }
    };

    // A read-only, empty cache directory: nothing can be created in it.
    std::fs::create_dir_all(env.cache_dir()).unwrap();
    chown_nobody(&env.cache_dir());
    set_mode(&env.cache_dir(), 0o500);
    let run = get();
    assert_degraded(&run, "read-only empty cache");
    assert!(run.stderr.contains("without the cache"), "{run:#?}");
    assert!(env.cache_files().is_empty());

    // A populated cache whose entry directory became read-only: the stale
    // entry cannot be replaced, the new token is served all the same.
    set_mode(&env.cache_dir(), 0o700);
    let first = get();
    assert_eq!(first.code, 0, "{first:#?}");
    make_stale(&env);
    let dir = identity_dir(&env);
    set_mode(&dir, 0o500);
    let run = get();
    assert_degraded(&run, "read-only entry directory");
    assert!(run.stderr.contains("not cached"), "{run:#?}");
    assert_ne!(
        run.json()["Secret"],
        first.json()["Secret"],
        "not refreshed"
    );
    set_mode(&dir, 0o700);
    assert_entries_whole(&env, "read-only entry directory");
}

#[test]
fn cache_directory_that_is_a_file_or_under_a_file() {
    let mut env = TestEnv::new();
    let file = env.write("plain-file", "not a directory");
    for (what, dir) in [
        ("cache dir is a file", file.clone()),
        ("cache dir under a file", file.join("cache")),
        (
            "cache dir two levels under a file",
            file.join("a").join("b"),
        ),
    ] {
        env.set("AWS_ECR_CACHE_DIR", &dir.display().to_string());
        let run = env.get(REGISTRY);
        assert_degraded(&run, what);
        assert!(run.stderr.contains("without the cache"), "{what}: {run:#?}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

#[test]
fn cache_paths_taken_by_the_wrong_kind_of_file() {
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    let dir = identity_dir(&env);
    let entry = dir.join(format!("{KEY}.json"));
    let lock = dir.join(format!("{KEY}.lock"));

    // The entry is a directory: unreadable, and cannot be replaced.
    std::fs::remove_file(&entry).unwrap();
    std::fs::create_dir(&entry).unwrap();
    std::fs::write(entry.join("inside"), "x").unwrap();
    let run = env.get(REGISTRY);
    assert_degraded(&run, "entry is a directory");
    assert!(run.stderr.contains("not cached"), "{run:#?}");
    std::fs::remove_dir_all(&entry).unwrap();

    // The lock is a directory: no lock, so no cache write either.
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();
    let run = env.get(REGISTRY);
    assert_degraded(&run, "lock is a directory");
    assert!(run.stderr.contains("without the cache"), "{run:#?}");
    std::fs::remove_dir(&lock).unwrap();

    // The identity directory is a file.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, "x").unwrap();
    let run = env.get(REGISTRY);
    assert_degraded(&run, "identity directory is a file");
    assert!(run.stderr.contains("without the cache"), "{run:#?}");
    std::fs::remove_file(&dir).unwrap();

    // Repaired: back to normal, without warnings.
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!run.stderr.contains("warning"), "{run:#?}");
    assert_entries_whole(&env, "repaired");
}

/// A write that fails part-way, as on a full disk, without root: a file-size
/// limit of zero (`ulimit -f 0`) with SIGXFSZ ignored makes every write to a
/// regular file fail with EFBIG (the disposition and the limit carry over exec).
#[test]
fn failing_writes_warn_and_serve() {
    let env = TestEnv::new();
    let mut cmd = env.command(&["get"]);
    let program = cmd.get_program().to_owned();
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 0 && exec \"$0\" get")
        .arg(&program)
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    cmd = sh;
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let run = run_command(cmd, format!("{REGISTRY}\n").as_bytes());
    assert_degraded(&run, "file size limit 0");
    assert!(run.stderr.contains("not cached"), "{run:#?}");
    assert_entries_whole(&env, "file size limit 0");
    // The next unconstrained get caches normally.
    env.get(REGISTRY).secret();
    assert_eq!(assert_entries_whole(&env, "after the limit"), 1);
}

/// A really full file system: a 16 KiB tmpfs, filled, in a private mount
/// namespace. Needs root and `unshare`.
#[test]
#[ignore = "needs root"]
fn full_file_system_warns_and_serves() {
    let env = TestEnv::new();
    assert_eq!(euid(env.dir.path()), 0, "mounting a tmpfs needs root");
    let cache = env.cache_dir();
    std::fs::create_dir_all(&cache).unwrap();
    let cmd = env.command(&["get"]);
    let mut sh = Command::new("unshare");
    sh.args(["-m", "--propagation", "private", "/bin/sh", "-c"])
        .arg(
            "mount -t tmpfs -o size=16k,mode=0700 ecr-login-full \"$1\" || exit 97; \
             head -c 65536 /dev/zero > \"$1/fill\" 2>/dev/null; \
             exec \"$0\" get",
        )
        .arg(cmd.get_program())
        .arg(&cache)
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let run = run_command(sh, format!("{REGISTRY}\n").as_bytes());
    assert!(
        run.code != 97
            && !(run.code != 0 && run.stdout.is_empty() && run.stderr.contains("unshare")),
        "cannot mount a tmpfs in a private mount namespace here: {}",
        run.stderr.trim()
    );
    assert_degraded(&run, "full file system");
    assert!(run.stderr.contains("No space left on device"), "{run:#?}");
    // The mount died with the namespace; the real directory is untouched.
    assert!(env.cache_files().is_empty());
}

/// A cache entry whose timestamps are out of `SystemTime`'s range (a
/// damaged or hostile file) reads as unusable, or at least does not crash
/// `get`. Found by `scripts/fuzz` (cache_entry).
#[test]
fn entry_with_timestamps_out_of_range_does_not_crash_get() {
    let env = TestEnv::new();
    env.get(REGISTRY).secret();
    let path = identity_dir(&env).join(format!("{KEY}.json"));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["requested_at"] = 0.into();
    v["expires_at"] = u64::MAX.into();
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()["Username"], "AWS", "{run:#?}");
    assert_entries_whole(&env, "after a get");
}
