//! What the helper obeys (issue 18, round two): files and programs it reads
//! or runs besides its cache. Another local user plants FIFOs where the
//! helper reads credentials; pods share a cache; an MFA session or a cache
//! entry is found writable by others. The helper must not hand out a
//! password it should not, nor touch a file outside its own, nor miss its
//! deadline, and it must say what is wrong in one line.
//!
//! Planting "as another user" uses `setpriv --reuid=N` when this runs as
//! root (as CI does); otherwise the test plants as itself, which exercises
//! the same read path (nothing here is skipped). Every run of the helper is
//! bounded ([`LIMIT`]) so that a hang fails the case instead of the suite.

#![cfg(target_os = "linux")]

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::common::fake_ecr::iso8601;
use crate::common::*;

/// No run of the helper may take longer than this (the test's own bound).
const LIMIT: Duration = Duration::from_secs(25);
/// The helper's deadline in these tests (`AWS_ECR_TIMEOUT`).
const DEADLINE: Duration = Duration::from_secs(5);

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A test environment with a deadline and a sticky world-writable `shared`
/// directory (like `/tmp`) where another user can plant things.
fn world() -> (TestEnv, PathBuf) {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_TIMEOUT", &DEADLINE.as_secs().to_string());
    set_mode(env.dir.path(), 0o755);
    let shared = env.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    set_mode(&shared, 0o1777);
    (env, shared)
}

/// Makes a FIFO at `path`: as [`ATTACKER`] when root can act as another
/// user, else as this user.
fn plant_fifo(path: &Path) {
    let setpriv = is_root() && Command::new("setpriv").arg("--version").output().is_ok();
    let mut cmd = if setpriv {
        let mut c = Command::new("setpriv");
        c.args(setpriv_args(ATTACKER));
        c.arg("mkfifo");
        c
    } else {
        Command::new("mkfifo")
    };
    let status = cmd.args(["-m", "666"]).arg(path).status().expect("mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn get(env: &TestEnv) -> Run {
    bounded(
        env.command(&["get"]),
        format!("{REGISTRY}\n").as_bytes(),
        LIMIT,
    )
}

/// The helper as `args` under a pseudo-terminal (util-linux `script`),
/// typing `typed`.
fn in_pty(env: &TestEnv, args: &str, typed: &str) -> Run {
    bounded(env.pty_command(args), typed.as_bytes(), LIMIT)
}

/// `get` with no controlling terminal (no MFA prompt is possible).
fn get_without_terminal(env: &TestEnv) -> Run {
    let inner = env.command(&["get"]);
    let mut cmd = Command::new("setsid");
    cmd.arg("-w")
        .arg(BIN)
        .arg("get")
        .env_clear()
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))));
    bounded(cmd, format!("{REGISTRY}\n").as_bytes(), LIMIT)
}

/// Failed at once (well within the deadline), with "not found" on stdout,
/// one line on stderr containing every `want`, and no ECR call.
fn assert_refused_at_once(env: &TestEnv, run: &Run, want: &[&str], case: &str) {
    run.assert_not_found();
    assert!(
        run.elapsed < DEADLINE,
        "{case}: the deadline was not held: {run:#?}"
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{case}: one line: {run:#?}");
    for w in want {
        assert!(lines[0].contains(w), "{case}: should say {w:?}: {run:#?}");
    }
    assert_eq!(env.ecr.count(), 0, "{case}: an ECR call was made");
}

fn is_fifo(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_fifo())
}

// ---------------------------------------------------------------------------
// FIFOs where credentials are read: no hang, one line, the FIFO untouched.

/// `AWS_WEB_IDENTITY_TOKEN_FILE` names a FIFO another user made (in the
/// environment and as a profile's `web_identity_token_file`).
#[test]
fn fifo_web_identity_token_file_does_not_hang_get() {
    let (mut env, shared) = world();
    let fifo = shared.join("token");
    plant_fifo(&fifo);
    let path = fifo.display().to_string();
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod")
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", &path);
    let run = get(&env);
    assert_refused_at_once(&env, &run, &[&path, "a FIFO, not a regular file"], "env");
    env.unset("AWS_ROLE_ARN")
        .unset("AWS_WEB_IDENTITY_TOKEN_FILE")
        .set("AWS_PROFILE", "wi");
    env.write(
        "home/.aws/config",
        &format!("[profile wi]\nrole_arn = arn:aws:iam::123456789012:role/pod\nweb_identity_token_file = {path}\n"),
    );
    let run = get(&env);
    assert_refused_at_once(&env, &run, &[&path, "web_identity_token_file"], "profile");
    assert!(is_fifo(&fifo), "the FIFO was replaced or removed");
}

/// The container credentials' token file is a FIFO.
#[test]
fn fifo_container_token_file_does_not_hang_get() {
    let (mut env, shared) = world();
    let fifo = shared.join("eks-pod-identity-token");
    plant_fifo(&fifo);
    let path = fifo.display().to_string();
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:9/v1/credentials",
        )
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &path);
    let run = get(&env);
    assert_refused_at_once(
        &env,
        &run,
        &[&path, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "a FIFO"],
        "container token",
    );
    assert!(is_fifo(&fifo));
}

/// `AWS_CONFIG_FILE` is a FIFO: the SDK (which would block reading it) is
/// never asked, even with keys in the environment.
#[test]
fn fifo_aws_config_file_does_not_hang_get() {
    let (mut env, shared) = world();
    let fifo = shared.join("config");
    plant_fifo(&fifo);
    let path = fifo.display().to_string();
    env.set("AWS_CONFIG_FILE", &path);
    let run = get(&env);
    assert_refused_at_once(
        &env,
        &run,
        &[&path, "AWS_CONFIG_FILE", "a FIFO"],
        "config file",
    );
    assert!(is_fifo(&fifo));
}

/// The SSO token cache file is a FIFO (another user planted it in a cache
/// directory left writable by others): `get` says which command renews the
/// sign-in, at once.
#[test]
fn fifo_sso_cache_file_does_not_hang_get() {
    let (mut env, _shared) = world();
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set("AWS_PROFILE", "dev");
    env.write(
        "home/.aws/config",
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n",
    );
    let dir = env.home().join(".aws/sso/cache");
    std::fs::create_dir_all(&dir).unwrap();
    set_mode(&env.home(), 0o755);
    set_mode(&env.home().join(".aws"), 0o755);
    set_mode(&env.home().join(".aws/sso"), 0o755);
    set_mode(&dir, 0o777);
    // sha1("corp"): the CLI's name for the session's token.
    let name: String = {
        use sha1::Digest as _;
        sha1::Sha1::digest(b"corp")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let fifo = dir.join(format!("{name}.json"));
    plant_fifo(&fifo);
    let run = get(&env);
    assert_refused_at_once(
        &env,
        &run,
        &[
            "a FIFO, not a regular file",
            "aws sso login --sso-session corp",
        ],
        "sso cache",
    );
    let run = bounded(env.command(&["doctor", REGISTRY]), b"", LIMIT);
    assert!(run.elapsed < DEADLINE, "doctor: {run:#?}");
    assert!(
        run.stdout.contains("a FIFO, not a regular file"),
        "{run:#?}"
    );
    assert!(is_fifo(&fifo));
}

// ---------------------------------------------------------------------------
// Pods sharing a cache directory.

/// A fake container credentials endpoint (ECS / EKS Pod Identity): answers
/// each pod's token with that pod's keys, and counts the requests.
struct FakePodIdentity {
    url: String,
    calls: Arc<Mutex<Vec<String>>>,
}

impl FakePodIdentity {
    fn start() -> FakePodIdentity {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/credentials", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    while let Some(req) = crate::common::http::read_request(&mut reader) {
                        let token = req.header("authorization").unwrap_or_default().to_string();
                        seen.lock().unwrap().push(token.clone());
                        let akid = match token.as_str() {
                            "token-of-pod-a" => "ASIAPODA",
                            "token-of-pod-b" => "ASIAPODB",
                            _ => "",
                        };
                        let (status, body) = if akid.is_empty() {
                            ("403 Forbidden", r#"{"code":"AccessDenied"}"#.to_string())
                        } else {
                            let expires = SystemTime::now() + Duration::from_secs(6 * 3600);
                            (
                                "200 OK",
                                serde_json::json!({
                                    "AccessKeyId": akid,
                                    "SecretAccessKey": "pod-secret",
                                    "Token": "pod-session-token",
                                    "Expiration": iso8601(expires),
                                })
                                .to_string(),
                            )
                        };
                        let reply = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if stream.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakePodIdentity { url, calls }
    }

    fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

/// EKS Pod Identity: the same URI and token path on every pod, different
/// tokens. Pod B, sharing pod A's cache directory, never gets pod A's cached
/// password: it asks (with its own credentials) and gets its own. Each pod
/// still hits its own cache entry.
#[test]
fn pods_sharing_a_cache_never_get_each_others_tokens() {
    let (mut env, _shared) = world();
    let pods = FakePodIdentity::start();
    let token = env.write("pod/eks-pod-identity-token", "token-of-pod-a");
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &pods.url)
        .set(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            &token.display().to_string(),
        );
    let a = get(&env).secret();
    assert_eq!(a, FakeEcr::password("123456789012", "ASIAPODA", 1));
    // Pod B: same URI, same path, its own token; same cache directory.
    std::fs::write(&token, "token-of-pod-b").unwrap();
    let b = get(&env);
    assert_eq!(
        b.secret(),
        FakeEcr::password("123456789012", "ASIAPODB", 2),
        "pod B got pod A's password"
    );
    assert_eq!((env.ecr.count(), pods.count()), (2, 2));
    // Each pod's entry serves that pod again, without a request.
    std::fs::write(&token, "token-of-pod-a").unwrap();
    assert_eq!(get(&env).secret(), a);
    assert_eq!((env.ecr.count(), pods.count()), (2, 2));
    // The token itself is in no cache file.
    for file in env.cache_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("token-of-pod"), "{}", file.display());
    }
    // The same with the token in the environment instead of a file.
    env.unset("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "token-of-pod-b");
    assert_eq!(get(&env).code, 0);
    assert_eq!(
        env.ecr.count(),
        2,
        "pod B's token in the environment: its entry"
    );
}

// ---------------------------------------------------------------------------
// Files of our own left writable by others: never read, replaced atomically.

/// A cache entry of the user's own, left 0666 in the user's own (0700)
/// directory: not served, warned about once (naming the file and the fix),
/// then replaced by the fresh token as a new 0600 file (a new inode: the old
/// file was renamed over, not rewritten or chmod-ed). The next `get` hits.
#[test]
fn world_writable_own_cache_entry_is_not_read_and_is_replaced_atomically() {
    let (env, _shared) = world();
    let first = get(&env).secret();
    let entry = env.cache_files().pop().expect("an entry");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
    doc["password"] = "PLANTED-WHILE-0666".into();
    std::fs::write(&entry, doc.to_string()).unwrap();
    set_mode(&entry, 0o666);
    let inode = std::fs::metadata(&entry).unwrap().ino();
    let run = get(&env);
    assert_eq!(run.secret(), FakeEcr::password("123456789012", AKID, 2));
    assert_ne!(run.secret(), first);
    assert!(!run.stdout.contains("PLANTED"), "{run:#?}");
    let p = ecr_login::support::redact::scrub(&entry.display().to_string());
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains(&p)).collect();
    assert_eq!(warnings.len(), 1, "{run:#?}");
    assert!(warnings[0].contains("chmod go-w"), "{run:#?}");
    let meta = std::fs::metadata(&entry).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert_ne!(meta.ino(), inode, "rewritten in place instead of replaced");
    let again = get(&env);
    assert_eq!(again.secret(), run.secret());
    assert_eq!((env.ecr.count(), again.stderr.as_str()), (2, ""));
}

fn with_mfa_profile(env: &mut TestEnv, source_akid: &str) {
    env.write(
        "home/.aws/credentials",
        &format!("[base]\naws_access_key_id = {source_akid}\naws_secret_access_key = b\n"),
    );
    env.write("home/.aws/config", MFA_CONFIG);
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set("AWS_PROFILE", "mfa");
}

/// After the source profile's keys change, the kept MFA session (made with
/// the old keys) is not used: `get` without a terminal fails (it would have
/// to prompt) and no ECR call is signed with the old session; a new `login`
/// makes a session from the new keys, which then serves.
#[test]
fn mfa_session_of_old_source_keys_is_not_used() {
    let (mut env, _shared) = world();
    with_mfa_profile(&mut env, "AKIDBASE");
    let run = in_pty(&env, "login --profile mfa", "123456\n");
    assert!(
        run.stdout.contains("MFA session for profile mfa is valid"),
        "{run:#?}"
    );
    let run = get_without_terminal(&env);
    assert_eq!(
        run.secret(),
        FakeEcr::password("123456789012", "ASIATEMP1", 2)
    );

    with_mfa_profile(&mut env, "AKIDROTATED");
    let run = get_without_terminal(&env);
    assert_eq!(run.code, 1, "the old session was used: {run:#?}");
    assert!(run.stderr.contains("no terminal"), "{run:#?}");
    assert!(run.elapsed < DEADLINE, "{run:#?}");
    assert_eq!(env.ecr.count(), 2, "a call after the keys changed");

    let run = in_pty(&env, "login --profile mfa", "654321\n");
    assert!(
        run.stdout.contains("MFA session for profile mfa is valid"),
        "{run:#?}"
    );
    let calls = env.ecr.calls();
    assert_eq!(calls[2].target, "STS.AssumeRole");
    assert_eq!(calls[2].access_key, "AKIDROTATED");
    let run = get_without_terminal(&env);
    assert_eq!(
        run.secret(),
        FakeEcr::password("123456789012", "ASIATEMP3", 4)
    );
}

/// An MFA session file of the user's own left 0666: never used (warned about
/// once), and the next session replaces it as a new 0600 file.
#[test]
fn world_writable_own_mfa_session_is_replaced_by_the_next_session() {
    let (mut env, _shared) = world();
    with_mfa_profile(&mut env, "AKIDBASE");
    let mfa = env.cache_dir().join("mfa");
    std::fs::create_dir_all(&mfa).unwrap();
    set_mode(&env.cache_dir(), 0o700);
    set_mode(&mfa, 0o700);
    let file = mfa.join(format!("{}.json", mfa_key()));
    let expires = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let planted = serde_json::json!({
        "version": 1, "profile": "mfa", "access_key_id": "ASIAPLANTED",
        "secret_access_key": "planted", "session_token": "planted",
        "expires_at": expires, "made_from": mfa_made_from("AKIDBASE"),
    });
    std::fs::write(&file, planted.to_string()).unwrap();
    set_mode(&file, 0o666);
    let inode = std::fs::metadata(&file).unwrap().ino();
    let run = in_pty(&env, "login --profile mfa", "123456\n");
    assert!(
        run.stdout.contains("MFA code for"),
        "it used the 0666 session: {run:#?}"
    );
    let p = ecr_login::support::redact::scrub(&file.display().to_string());
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.contains(&p) && l.contains("chmod go-w"))
            .count(),
        1,
        "{run:#?}"
    );
    assert!(env
        .ecr
        .calls()
        .iter()
        .all(|c| c.access_key != "ASIAPLANTED"));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert_ne!(meta.ino(), inode);
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(kept["access_key_id"], "ASIATEMP1");
}
