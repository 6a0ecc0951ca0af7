//! `configure` run by root on another user's home (`sudo` keeping `HOME`, a
//! provisioning script): it acts as that user would. Every file it reads or
//! writes below that home, after following symbolic links, and the directory
//! a new file goes in, must belong to the home's owner; so a
//! `~/.docker/config.json` linked to a root-owned file is refused (not
//! rewritten, no `.bak` beside it, no diff of it shown). New directories and
//! files belong to the home's owner (mode 0700 and 0600, as for anyone).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::ConfigureError;

/// The user whose home root is editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeOwner {
    /// The home directory.
    pub home: PathBuf,
    /// Its owner.
    pub uid: u32,
    /// Its group.
    pub gid: u32,
}

impl HomeOwner {
    /// `Some` when this process is root and `home` belongs to another user.
    #[cfg(unix)]
    pub fn of(home: Option<&Path>) -> Option<HomeOwner> {
        use std::os::unix::fs::MetadataExt;
        if crate::support::safe_fs::euid() != 0 {
            return None;
        }
        let home = home?;
        let m = std::fs::metadata(home).ok()?;
        (m.uid() != 0).then(|| HomeOwner {
            home: home.to_path_buf(),
            uid: m.uid(),
            gid: m.gid(),
        })
    }

    /// Elsewhere there is no root acting for another user.
    #[cfg(not(unix))]
    pub fn of(_: Option<&Path>) -> Option<HomeOwner> {
        None
    }

    /// Refuses `path` (below the home) unless what it leads to, or for a
    /// new file the nearest existing directory on its way, is the user's.
    #[cfg(unix)]
    pub fn check(&self, path: &Path) -> Result<(), ConfigureError> {
        use std::os::unix::fs::MetadataExt;
        if !path.starts_with(&self.home) {
            return Ok(());
        }
        let mut at = Some(path);
        while let Some(p) = at {
            if let Ok(link) = std::fs::symlink_metadata(p) {
                let refuse = |what: String| {
                    ConfigureError::Refused(format!(
                        "refusing to edit {}: {what}, and root edits only the files of uid {} in {} (the owner of HOME), as that user could. Fix: run configure as that user, or make what it edits theirs; nothing was changed",
                        path.display(),
                        self.uid,
                        self.home.display()
                    ))
                };
                let Ok(real) = std::fs::canonicalize(p) else {
                    return Err(refuse(format!("{} is a link to nowhere", p.display())));
                };
                let owner = std::fs::metadata(&real)
                    .map(|m| m.uid())
                    .unwrap_or(link.uid());
                if owner != self.uid {
                    let shown = if real == p {
                        format!("{} belongs to uid {owner}", p.display())
                    } else {
                        format!(
                            "it leads to {}, which belongs to uid {owner}",
                            real.display()
                        )
                    };
                    return Err(refuse(shown));
                }
                return Ok(());
            }
            at = p.parent();
        }
        Ok(())
    }

    #[cfg(not(unix))]
    pub fn check(&self, _: &Path) -> Result<(), ConfigureError> {
        Ok(())
    }
}

/// The text of `path` (`None` when it does not exist), opened without
/// blocking (a FIFO there cannot stall `configure`) and only if it is a
/// regular file.
pub fn read_text(path: &Path) -> Result<Option<String>, ConfigureError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let io = |e: std::io::Error| ConfigureError::io(format!("cannot read {}", path.display()), e);
    let mut file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    if !file.metadata().map_err(io)?.is_file() {
        return Err(ConfigureError::Refused(format!(
            "{} is not a regular file; move it away: nothing was changed",
            path.display()
        )));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io)?;
    Ok(Some(text))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking_and_a_missing_file_is_none() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("config.json");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_text(&fifo).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        assert_eq!(read_text(&d.path().join("none.json")).unwrap(), None);
        std::fs::write(d.path().join("a.json"), "{}").unwrap();
        assert_eq!(
            read_text(&d.path().join("a.json")).unwrap().as_deref(),
            Some("{}")
        );
    }

    #[test]
    fn only_paths_below_the_home_are_held_to_its_owner() {
        let d = tempfile::tempdir().unwrap();
        let me = crate::support::safe_fs::euid();
        let owner = HomeOwner {
            home: d.path().to_path_buf(),
            uid: me + 1,
            gid: me + 1,
        };
        // Below the home: the nearest existing level (the home, ours) is not
        // the owner's, so a new file there is refused.
        let e = owner
            .check(&d.path().join(".docker").join("config.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("belongs to uid {me}")), "{e}");
        // Outside the home, nothing is asked.
        owner.check(Path::new("/etc/docker/config.json")).unwrap();
        let mine = HomeOwner {
            uid: me,
            gid: me,
            ..owner
        };
        mine.check(&d.path().join(".docker").join("config.json"))
            .unwrap();
    }
}
