//! Hostile input through the built binary: every case gets a clear error and
//! the right exit code; none panics (a panic aborts: no exit code), none makes
//! an API call.

#![cfg(unix)]

use std::os::unix::ffi::OsStrExt;

use crate::common::*;

const NOT_FOUND: &str = "credentials not found in native keychain\n";
const NO_URL: &str = "no credentials server URL\n";

/// (name, stdin bytes, expected stdout, a fragment expected on stderr at info level)
#[rustfmt::skip]
fn get_cases() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    vec![
        ("empty", b"".to_vec(), NO_URL, ""),
        ("whitespace only", b" \t\r\n \n".to_vec(), NO_URL, ""),
        ("10 MiB of stdin", vec![b'a'; 10 * 1024 * 1024], NOT_FOUND, "longer than 64 KiB"),
        ("NUL bytes", b"123456789012.dkr.ecr.us-east-1.amazonaws.com\0\0".to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("only NUL", b"\0".to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("invalid UTF-8", b"\xff\xfe123456789012.dkr.ecr.us-east-1.amazonaws.com".to_vec(), NOT_FOUND, "not valid UTF-8"),
        ("several lines", b"123456789012.dkr.ecr.us-east-1.amazonaws.com\nevil.example\n".to_vec(), NOT_FOUND, "second line of text"),
        ("ANSI escape", b"\x1b[31m123456789012.dkr.ecr.us-east-1.amazonaws.com".to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("bell and backspace", b"1234\x07\x08.dkr.ecr.us-east-1.amazonaws.com".to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("userinfo with password", b"https://AWS:hunter2@123456789012.dkr.ecr.us-east-1.amazonaws.com".to_vec(), NOT_FOUND, "user information"),
        ("userinfo redirect", b"123456789012.dkr.ecr.us-east-1.amazonaws.com@evil.example".to_vec(), NOT_FOUND, "user information"),
        ("IPv6 literal", b"[::1]:443".to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("IPv6 bare", b"::1".to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("IPv4 literal", b"127.0.0.1".to_vec(), NOT_FOUND, "not an ECR hostname"),
        ("port out of range", b"123456789012.dkr.ecr.us-east-1.amazonaws.com:99999".to_vec(), NOT_FOUND, "out of range"),
        ("negative port", b"123456789012.dkr.ecr.us-east-1.amazonaws.com:-1".to_vec(), NOT_FOUND, "bad port"),
        ("two ports", b"123456789012.dkr.ecr.us-east-1.amazonaws.com:443:443".to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("cyrillic lookalike", "123456789012.dkr.ecr.us-east-1.amаzonaws.com".as_bytes().to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("right-to-left override", "123456789012.dkr.ecr.us-east-1.amazonaws.com\u{202e}moc".as_bytes().to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("zero-width space", "123456789012.dkr.ecr\u{200b}.us-east-1.amazonaws.com".as_bytes().to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("emoji", "🐳.dkr.ecr.us-east-1.amazonaws.com".as_bytes().to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("percent-encoded", b"123456789012%2Edkr.ecr.us-east-1.amazonaws.com".to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("inner space", b"123456789012.dkr.ecr.us-east-1 .amazonaws.com".to_vec(), NOT_FOUND, "not a plain DNS name"),
        ("scheme only", b"https://".to_vec(), NOT_FOUND, "no host name"),
        ("slash only", b"/".to_vec(), NOT_FOUND, "no host name"),
        ("port only", b":443".to_vec(), NOT_FOUND, "no host name"),
        ("dots only", b"...........".to_vec(), NOT_FOUND, "not an ECR hostname"),
        ("JSON instead of a host", br#"{"ServerURL":"123456789012.dkr.ecr.us-east-1.amazonaws.com"}"#.to_vec(), NOT_FOUND, "bad port"),
        ("2 KiB host name", format!("{}.dkr.ecr.us-east-1.amazonaws.com", "1".repeat(2048)).into_bytes(), NOT_FOUND, "bytes long"),
        ("13-digit account", b"1234567890123.dkr.ecr.us-east-1.amazonaws.com".to_vec(), NOT_FOUND, "exactly 12 digits"),
        ("lookalike suffix", b"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example".to_vec(), NOT_FOUND, "\"amazonaws.com.evil.example\" is not an ECR domain"),
        ("javascript scheme", b"javascript:alert(1)".to_vec(), NOT_FOUND, "bad port"),
    ]
}

#[test]
fn hostile_get_input_table() {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_LOG", "info");
    let cases = get_cases();
    assert!(cases.len() >= 30);
    for (name, input, stdout, stderr) in cases {
        let run = run_command(env.command(&["get"]), &input);
        assert_eq!(
            (run.stdout.as_str(), run.code),
            (stdout, 1),
            "{name}: {run:#?}"
        );
        assert!(
            run.stderr.contains(stderr),
            "{name}: stderr should mention {stderr:?}: {run:#?}"
        );
        assert!(run.stderr.lines().count() <= 1, "{name}: {run:#?}");
        assert!(!run.stderr.contains("hunter2"), "{name}: password echoed");
        assert!(
            run.stderr.len() < 600,
            "{name}: stderr echoes too much: {} bytes",
            run.stderr.len()
        );
    }
    assert_eq!(env.ecr.count(), 0, "hostile input reached the API");
}

#[test]
fn hostile_argv() {
    let env = TestEnv::new();
    let long = "x".repeat(100_000);
    let many: Vec<String> = (0..1000).map(|i| format!("arg{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("no argument", vec![]),
        ("empty argument", vec![""]),
        ("get with extra argument", vec!["get", "extra"]),
        ("a thousand arguments", many),
        ("100 KB argument", vec![long.as_str()]),
        ("NUL-free control characters", vec!["\x1b[2J"]),
        ("option lookalike", vec!["--get"]),
        ("cache without subcommand", vec!["cache"]),
        ("cache unknown subcommand", vec!["cache", "explode"]),
        ("doctor without host", vec!["doctor"]),
    ];
    for (name, args) in cases {
        let run = env.run(&args, "");
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{name}: {run:#?}");
        assert!(run.stderr.contains("help`)"), "{name}: {run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{name}: {run:#?}");
        assert!(
            run.stderr.len() < 4000,
            "{name}: stderr is {} bytes",
            run.stderr.len()
        );
    }
    // Not UTF-8 at all.
    let mut cmd = env.command(&[]);
    cmd.arg(std::ffi::OsStr::from_bytes(b"g\xffet"));
    let run = run_command(cmd, b"");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("unknown command"), "{run:#?}");
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn hostile_store_and_erase_input() {
    let mut env = TestEnv::new();
    env.set("AWS_ECR_IGNORE_CREDS_STORAGE", "true");
    for (action, input) in [
        ("store", vec![b'{'; 10 * 1024 * 1024]),
        ("store", b"\xff\xfe".to_vec()),
        ("store", b"[]".to_vec()),
        ("store", b"{\"ServerURL\":1}".to_vec()),
        ("erase", vec![b'a'; 10 * 1024 * 1024]),
    ] {
        let run = run_command(env.command(&[action]), &input);
        assert_eq!(run.code, 1, "{action}: {run:#?}");
        assert!(
            !run.stdout.is_empty() && run.stdout.len() < 400,
            "{action}: {run:#?}"
        );
    }
}
