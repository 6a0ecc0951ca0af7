//! Build-time facts for the binary, and its link mode.
//!
//! **Version facts.** `version` prints the git commit the binary was built
//! from and its target triple, so a bug report names the exact binary. The
//! commit is `ECR_LOGIN_COMMIT` when set (a build from a source tarball, or a
//! packager who knows better), else `git rev-parse --short HEAD` when this
//! crate is the top of a git work tree, else `unknown`. Cargo re-runs this
//! script only when the commit can have changed: when `HEAD` moves (checkout,
//! detached commit) or the checked-out branch's ref file is rewritten (commit,
//! reset), never on an ordinary source edit.
//!
//! **Link mode.** The Linux (glibc) binary is position-dependent. A credential
//! helper is started once per pull and push; most of its wall time on a cache
//! hit is the dynamic loader. A PIE binary of this size carries ~16 000
//! relative relocations that the loader applies at every start, dirtying ~60
//! pages; a non-PIE executable has none (shared libraries and the heap and
//! stack stay randomised). `scripts/bench` shows the effect.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    link_mode();
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=ECR_LOGIN_BUILD_TARGET={target}");
    println!("cargo:rustc-env=ECR_LOGIN_BUILD_COMMIT={}", commit());
}

fn link_mode() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let crt_static = features.split(',').any(|f| f == "crt-static");
    // A static build (scripts/build-release) chooses its own relocation model.
    if os == "linux" && env == "gnu" && !crt_static {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

/// The commit to print: the override, git's short hash, or `unknown`.
fn commit() -> String {
    println!("cargo:rerun-if-env-changed=ECR_LOGIN_COMMIT");
    if let Ok(commit) = std::env::var("ECR_LOGIN_COMMIT") {
        let commit = commit.trim();
        if !commit.is_empty() && commit.chars().all(|c| c.is_ascii_alphanumeric()) {
            return commit.to_owned();
        }
        println!("cargo:warning=ignoring ECR_LOGIN_COMMIT={commit:?}: expected a commit hash");
    }
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return "unknown".into();
    };
    // Only this crate's own repository: a crate unpacked inside some other
    // work tree (cargo package, a vendored copy) must not borrow its commit.
    let own_tree = git(&dir, &["rev-parse", "--show-toplevel"])
        .is_some_and(|top| same_dir(Path::new(&top), &dir));
    if !own_tree {
        return "unknown".into();
    }
    watch_head(&dir);
    git(&dir, &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into())
}

/// Re-run when HEAD or the checked-out branch's ref changes. Paths come from
/// `git rev-parse --git-path`, so linked worktrees (HEAD in
/// `.git/worktrees/<name>/`, refs in the common directory) work too.
fn watch_head(dir: &Path) {
    let watch = |git_path: &str| {
        let Some(path) = git(dir, &["rev-parse", "--git-path", git_path]) else {
            return false;
        };
        let path = dir.join(path);
        // A missing path would make cargo re-run this script on every build.
        let exists = path.exists();
        if exists {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        exists
    };
    watch("HEAD");
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        // A branch packed by `git gc` has no ref file until its next commit,
        // which then creates it in the branch's directory under refs/.
        if !watch(&branch) {
            watch("packed-refs");
            if let Some(parent) = Path::new(&branch).parent().and_then(Path::to_str) {
                watch(parent);
            }
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
