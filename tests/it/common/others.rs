//! Other local users, for the tests that play them (as root, through
//! util-linux `setpriv`): their uids, the arguments that become one, the
//! binary where they can run it, and the files they plant.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::BIN;

/// The other local user who plants things.
pub const ATTACKER: u32 = 4242;
/// The user whose home it is.
pub const VICTIM: u32 = 4343;

/// The profile of an assume-role chain with MFA, whose kept session
/// [`super::mfa_key`] names.
pub const MFA_CONFIG: &str = "[profile mfa]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nduration_seconds = 900\n";

/// `chmod mode p`.
pub fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The `setpriv` arguments that run what follows them as `uid` (its own
/// group, no supplementary groups).
pub fn setpriv_args(uid: u32) -> Vec<String> {
    vec![
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".into(),
        "--".into(),
    ]
}

/// The binary, where every user can run it: in place if they can reach it,
/// else a copy in a 0755 directory (kept for the life of the test process).
pub fn shared_binary() -> PathBuf {
    static BIN_PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN_PATH
        .get_or_init(|| {
            let ok = Command::new("setpriv")
                .args(setpriv_args(ATTACKER))
                .args([BIN, "version"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return PathBuf::from(BIN);
            }
            let dir = tempfile::Builder::new()
                .prefix("ecr-login-hostile-bin")
                .tempdir()
                .expect("temp dir")
                .keep();
            set_mode(&dir, 0o755);
            let copy = dir.join("docker-credential-ecr-login");
            std::fs::copy(BIN, &copy).expect("copy the binary");
            set_mode(&copy, 0o755);
            copy
        })
        .clone()
}

/// Makes a FIFO (0600) at `path`, as this process's user.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}
