//! Unit tests of [`super`].

use super::*;
use std::os::unix::fs::PermissionsExt;

fn why(r: io::Result<impl Sized>) -> Why {
    match r {
        Err(e) => untrusted(&e).expect("untrusted").why.clone(),
        Ok(_) => panic!("trusted"),
    }
}

#[test]
fn symlinks_fifos_and_writable_files_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("target");
    std::fs::write(&target, "x").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(why(open_read(&link)), Why::Symlink);
    assert_eq!(why(open_lock(&link)), Why::Symlink);
    assert_eq!(why(open_append(&link)), Why::Symlink);
    let fifo = d.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    assert_eq!(why(open_read(&fifo)), Why::NotRegular("FIFO"));
    assert_eq!(why(open_lock(&fifo)), Why::NotRegular("FIFO"));
    assert!(open_read(&target).is_ok());
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(why(open_read(&target)), Why::Writable { mode: 0o666 });
    assert!(
        open_append(&target).is_ok(),
        "a log file's mode is its owner's"
    );
}

#[test]
fn directories_keep_their_mode() {
    let d = tempfile::tempdir().unwrap();
    let shared = d.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    assert_eq!(why(ensure_dir(&shared)), Why::Writable { mode: 0o1777 });
    let mode = std::fs::metadata(&shared).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o1777);
    // A private directory inside a sticky shared one is fine.
    let mine = shared.join("mine");
    ensure_dir(&mine).unwrap();
    check_root(&mine).unwrap();
    // Inside a world-writable, non-sticky one it is not.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert!(matches!(
        why(check_root(&mine)),
        Why::ParentReplaceable { .. }
    ));
}

#[test]
fn write_atomic_replaces_a_planted_link_instead_of_following_it() {
    let d = tempfile::tempdir().unwrap();
    let outside = d.path().join("outside");
    std::fs::write(&outside, "keep").unwrap();
    std::os::unix::fs::symlink(&outside, d.path().join("entry.json")).unwrap();
    write_atomic(d.path(), "entry.json", b"new").unwrap();
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
    assert_eq!(
        std::fs::read_to_string(d.path().join("entry.json")).unwrap(),
        "new"
    );
}

#[test]
fn obeyed_files_are_read_only_when_no_other_user_can_have_written_them() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("ecr");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let file = dir.join("config.toml");
    assert_eq!(read_obeyed(&file, 100).unwrap(), None, "missing: no config");
    std::fs::write(&file, "fallback = \"pass\"\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        read_obeyed(&file, 100).unwrap().as_deref(),
        Some("fallback = \"pass\"\n")
    );
    assert!(read_obeyed(&file, 5).is_err(), "larger than the bound");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o646)).unwrap();
    assert_eq!(why(read_obeyed(&file, 100)), Why::Writable { mode: 0o646 });
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The directory: writable by others, then in a replaceable parent.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(why(read_obeyed(&file, 100)), Why::Writable { mode: 0o777 });
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    assert!(matches!(
        why(read_obeyed(&file, 100)),
        Why::ParentReplaceable { .. }
    ));
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    assert!(read_obeyed(&file, 100).unwrap().is_some(), "sticky is fine");
    // A link to a good file is refused; a FIFO is refused without blocking.
    let link = dir.join("link.toml");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    assert_eq!(why(read_obeyed(&link, 100)), Why::Symlink);
    let fifo = dir.join("fifo.toml");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    assert_eq!(why(read_obeyed(&fifo, 100)), Why::NotRegular("FIFO"));
    // The directory may be a link of ours to a good directory.
    let linked = d.path().join("linked");
    std::os::unix::fs::symlink(&dir, &linked).unwrap();
    assert!(read_obeyed(&linked.join("config.toml"), 100)
        .unwrap()
        .is_some());
}

#[test]
fn a_locked_write_removes_its_temp_files_whatever_their_age() {
    let d = tempfile::tempdir().unwrap();
    let mine = d.path().join(".tmp-entry.json-123-0-0");
    let other = d.path().join(".tmp-other.json-123-0-0");
    std::fs::write(&mine, "secret left by a killed write").unwrap();
    std::fs::write(&other, "another name's write in progress").unwrap();
    write_atomic_locked(d.path(), "entry.json", b"new").unwrap();
    assert!(!mine.exists(), "a fresh temp file of the locked name stays");
    assert!(other.exists(), "another name's fresh temp file was removed");
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, [".tmp-other.json-123-0-0", "entry.json"]);
    let mode = std::fs::metadata(d.path().join("entry.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// `replace_file` (configure's writer) is the same writer with the mode
/// asked for: it replaces a planted link, and leaves another program's
/// temp files in that directory alone, however old.
#[test]
fn replace_file_gives_the_mode_and_touches_no_other_temp_file() {
    let d = tempfile::tempdir().unwrap();
    let outside = d.path().join("outside");
    std::fs::write(&outside, "keep").unwrap();
    let target = d.path().join("config.json");
    std::os::unix::fs::symlink(&outside, &target).unwrap();
    let theirs = d.path().join(".tmp-other-program");
    std::fs::write(&theirs, "theirs").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&theirs)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let perms = Perms {
        mode: 0o644,
        owner: None,
    };
    replace_file(&target, b"{}", perms).unwrap();
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}");
    let meta = std::fs::symlink_metadata(&target).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o644);
    assert!(theirs.exists());
}
