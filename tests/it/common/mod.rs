//! The integration-test harness: a temp HOME, a fixed environment, the fake
//! ECR server, and the built binary.
#![allow(dead_code)]

pub mod fake_ecr;
pub mod fake_sso;
pub mod http;
#[cfg(unix)]
pub mod others;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use fake_ecr::{Call, FakeEcr, Reply};
#[allow(unused_imports)]
pub use fake_sso::FakeSso;
#[cfg(unix)]
#[allow(unused_imports)]
pub use others::*;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_docker-credential-ecr-login");
/// A registry of the default test account.
pub const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
/// The access key id of the default test identity.
pub const AKID: &str = "AKIDTESTONE";
/// Its secret key: a test asserts it never appears in output.
pub const SECRET_KEY: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEYONE";

/// One test's world.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub ecr: FakeEcr,
    vars: Vec<(String, String)>,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    pub fn secret(&self) -> String {
        assert_eq!(self.code, 0, "{self:#?}");
        self.json()["Secret"].as_str().expect("Secret").to_string()
    }

    pub fn assert_not_found(&self) {
        assert_eq!(
            (self.stdout.as_str(), self.code),
            ("credentials not found in native keychain\n", 1),
            "{self:#?}"
        );
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let ecr = FakeEcr::start();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".aws")).expect("mkdir home");
        let mut env = TestEnv {
            dir,
            ecr,
            vars: Vec::new(),
        };
        let h = home.display().to_string();
        env.set("HOME", &h);
        env.set("USERPROFILE", &h);
        // PATH for child processes; SYSTEMROOT because Windows networking needs it.
        for passthrough in ["PATH", "SYSTEMROOT"] {
            if let Ok(v) = std::env::var(passthrough) {
                env.set(passthrough, &v);
            }
        }
        env.set("AWS_ACCESS_KEY_ID", AKID);
        env.set("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        env.set("AWS_ENDPOINT_URL_ECR", &env.ecr.url.clone());
        env.set("AWS_ENDPOINT_URL_ECR_PUBLIC", &env.ecr.url.clone());
        env.set("AWS_ENDPOINT_URL_STS", &env.ecr.url.clone());
        env.set("AWS_ECR_CACHE_DIR", &env.cache_dir().display().to_string());
        // Name every file explicitly: on Windows the home directory does not
        // follow HOME/USERPROFILE, and the tests must never read the real one.
        env.set(
            "AWS_CONFIG_FILE",
            &home.join(".aws").join("config").display().to_string(),
        );
        env.set(
            "AWS_SHARED_CREDENTIALS_FILE",
            &home.join(".aws").join("credentials").display().to_string(),
        );
        env.set(
            "AWS_ECR_CONFIG",
            &home.join(".ecr").join("config.toml").display().to_string(),
        );
        // A closed loopback port: nothing ever probes the real metadata address.
        env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9");
        env.set("AWS_EC2_METADATA_DISABLED", "true");
        env
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.vars.retain(|(key, _)| key != k);
        self.vars.push((k.to_string(), v.to_string()));
        self
    }

    pub fn unset(&mut self, k: &str) -> &mut Self {
        self.vars.retain(|(key, _)| key != k);
        self
    }

    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        p
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// The helper as `args` (one shell word list) under a pseudo-terminal
    /// (util-linux `script`), with this environment; stdin, stdout and stderr
    /// piped (the terminal's output arrives on stdout).
    pub fn pty_command(&self, args: &str) -> Command {
        let mut cmd = Command::new("script");
        cmd.args(["-qefc", &format!("{BIN} {args}"), "/dev/null"])
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        run_command(self.command(args), stdin.as_bytes())
    }

    pub fn get(&self, registry: &str) -> Run {
        self.run(&["get"], &format!("{registry}\n"))
    }

    /// Every cache entry file below the cache directory.
    pub fn cache_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.cache_dir(), &mut out);
        out.retain(|p| p.extension().is_some_and(|x| x == "json"));
        out.sort();
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

/// How long any run of a process in these tests may take before it counts as
/// hanging: generous (the machine may be loaded), so only a hang trips it.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Runs `cmd` with `stdin` to completion, within [`LIMIT`].
pub fn run_command(cmd: Command, stdin: &[u8]) -> Run {
    bounded(cmd, stdin, LIMIT)
}

/// Runs `cmd` to completion with `stdin` (written from a thread, then
/// closed), killing it (and failing) past `limit`. The one process runner:
/// stdout and stderr are drained while it runs, so a chatty child cannot
/// block on a full pipe.
pub fn bounded(cmd: Command, stdin: &[u8], limit: Duration) -> Run {
    spawn(cmd, stdin).wait(limit)
}

/// A process started by [`spawn`], for tests that race several.
pub struct Spawned {
    /// The process (to kill it, say).
    pub child: Child,
    start: Instant,
    what: String,
    writer: std::thread::JoinHandle<()>,
}

/// Starts `cmd` with piped stdio and writes `stdin` to it from a thread,
/// then closes it.
pub fn spawn(mut cmd: Command, stdin: &[u8]) -> Spawned {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    Spawned {
        child,
        start,
        what: format!("{cmd:?}"),
        writer,
    }
}

impl Spawned {
    /// Waits for it to exit, killing it (and failing) past `limit` from its
    /// start; `elapsed` counts from its start.
    pub fn wait(self, limit: Duration) -> Run {
        let run = collect(self.child, self.start, limit, &self.what);
        let _ = self.writer.join();
        run
    }
}

/// Waits for `child` (spawned with piped stdout and stderr) to exit, killing
/// it (and failing, naming `what`) past `limit`; its stdin, if any, stays
/// open until it exits. `elapsed` counts from this call.
pub fn wait_bounded(child: Child, limit: Duration, what: &str) -> Run {
    collect(child, Instant::now(), limit, what)
}

fn collect(mut child: Child, start: Instant, limit: Duration, what: &str) -> Run {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut v);
            }
            v
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    // Polls the child's state (no signal to wait on portably with a
    // deadline); the poll interval bounds nothing but the latency.
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    drop(child.stdin.take());
    Run {
        stdout: String::from_utf8_lossy(&out.join().expect("stdout")).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().expect("stderr")).into_owned(),
        code: status.code().unwrap_or(-1),
        elapsed,
    }
}

/// Fails unless this process runs as root with `setpriv` (util-linux) on
/// `PATH`. For the tests marked `#[ignore = "needs root"]`, which
/// `scripts/test` runs as root with `--include-ignored`.
#[cfg(unix)]
pub fn needs_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "needs root (acting as other users): run as root with --include-ignored"
    );
    assert!(
        Command::new("setpriv").arg("--version").output().is_ok(),
        "needs setpriv (util-linux) to act as other users"
    );
}

/// Waits until `ready()` holds (a file appeared, a child reached a state),
/// checking every few milliseconds; fails naming `what` past `limit`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The file stem of the kept MFA session of a profile `mfa` with role
/// `arn:aws:iam::123456789012:role/Admin`, serial
/// `arn:aws:iam::123456789012:mfa/me` and source profile `base` (the set-up
/// the identity and hostile-user tests share): anyone can compute it.
pub fn mfa_key() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        "mfa",
        "arn:aws:iam::123456789012:role/Admin",
        "arn:aws:iam::123456789012:mfa/me",
        "base",
    ] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the kept MFA session of that set-up records it was made from, when
/// the source profile `base` has the access key id `source_akid`: the SHA-256
/// of the profile chain's description, as the identity fingerprint describes
/// it (no secret in it).
pub fn mfa_made_from(source_akid: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        "profile=mfa",
        "role=arn:aws:iam::123456789012:role/Admin external-id= mfa=arn:aws:iam::123456789012:mfa/me",
        "profile=base",
        &format!("access-key={source_akid}"),
    ] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The token key of [`REGISTRY`] (one token per identity and region): the
/// name of its cache entry, `<KEY>.json`, and lock, `<KEY>.lock`.
pub const KEY: &str = "dkr.ecr.us-east-1.amazonaws.com";
