//! The manual page says what `help` says: scripts/manpage (which the .deb and
//! the .rpm install) turns the built binary's `help` into roff, and reading
//! the roff back gives `help` line for line.
#![cfg(unix)]

use std::process::Command;

#[test]
fn the_manual_page_is_the_help_text() {
    let bin = env!("CARGO_BIN_EXE_docker-credential-ecr-login");
    let help = Command::new(bin).arg("help").output().expect("run help");
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/manpage");
    let page = Command::new("bash")
        .args([script, bin, "9.9.9", "/usr/share/doc/ecr-login/README.md"])
        .env("SOURCE_DATE_EPOCH", "1764547200")
        .output()
        .expect("run scripts/manpage");
    assert!(page.status.success(), "{page:?}");
    let page = String::from_utf8(page.stdout).unwrap();
    let mut lines = page.lines();
    assert_eq!(
        lines.next(),
        Some(".TH DOCKER-CREDENTIAL-ECR-LOGIN 1 \"2025-12-01\" \"ecr-login 9.9.9\" \"User Commands\"")
    );
    let body: Vec<String> = lines
        .skip_while(|l| *l != ".nf")
        .skip(1)
        .take_while(|l| *l != ".fi")
        // Roff back to text: `\e` is a backslash, a leading `\&` protects a dot.
        .map(|l| l.strip_prefix("\\&").unwrap_or(l).replace("\\e", "\\"))
        .collect();
    let help_lines: Vec<&str> = help.lines().collect();
    assert_eq!(body, help_lines);
    assert!(page.contains(".SH SEE ALSO\n/usr/share/doc/ecr-login/README.md: "));
}
