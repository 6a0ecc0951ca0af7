//! Every command at `AWS_ECR_LOG=trace`: no password, token, secret key or
//! session token on stderr or in the log file (stdout carries the secret only
//! where the command's contract is to print it).

use crate::common::*;
use base64::Engine as _;

const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN-do-not-print-0123456789";
const POD_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.pod-service-account-token.signature";

#[test]
fn no_command_leaks_a_secret_at_trace_level() {
    let mut env = TestEnv::new();
    let log = env.dir.path().join("trace.log");
    let docker = env.dir.path().join("docker").display().to_string();
    env.set("AWS_ECR_LOG", "trace")
        .set("AWS_ECR_LOG_FILE", &log.display().to_string())
        .set("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .set("DOCKER_CONFIG", &docker);
    let public = "public.ecr.aws";
    let kubelet_request = format!(
        r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{REGISTRY}/app:1"}}"#
    );
    let kubelet_with_role = serde_json::json!({
        "kind": "CredentialProviderRequest",
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "image": format!("{REGISTRY}/app:2"),
        "serviceAccountToken": POD_TOKEN,
        "serviceAccountAnnotations": {"eks.amazonaws.com/ecr-role-arn": "arn:aws:iam::123456789012:role/pod"},
    })
    .to_string();
    let runs: Vec<(Vec<&str>, String)> = vec![
        (vec!["get"], REGISTRY.to_string()),
        (vec!["get"], REGISTRY.to_string()),
        (vec!["get"], public.to_string()),
        (vec!["list"], String::new()),
        (vec!["cache", "show"], String::new()),
        (vec!["doctor", REGISTRY], String::new()),
        (vec!["get-login-password", REGISTRY], String::new()),
        (vec!["authorization-token", REGISTRY], String::new()),
        (vec!["kubelet"], kubelet_request),
        (vec!["kubelet"], kubelet_with_role),
        (
            vec!["configure", "--registry", REGISTRY, "--dry-run"],
            String::new(),
        ),
        (
            vec!["store"],
            format!(r#"{{"ServerURL":"other.example","Username":"u","Secret":"{SECRET_KEY}"}}"#),
        ),
        (vec!["erase"], "other.example".to_string()),
        (vec!["get"], "https://AWS:hunter2@evil.example".to_string()),
    ];
    let mut outputs = Vec::new();
    for (args, stdin) in &runs {
        let run = env.run(args, stdin);
        outputs.push((args.join(" "), run));
    }
    // The commands really ran (a failing run would prove little).
    let codes: Vec<i32> = outputs.iter().map(|(_, r)| r.code).collect();
    assert_eq!(
        codes,
        vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
        "{outputs:#?}"
    );
    let first = &outputs[0].1;
    let password = first.secret();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    let public_password = FakeEcr::password("public", AKID, 2);
    let logged = std::fs::read_to_string(&log).expect("the log file was written");
    assert!(
        logged.contains("trace") || logged.contains("debug"),
        "nothing logged at trace: {logged}"
    );
    let secrets = [
        password.as_str(),
        basic.as_str(),
        public_password.as_str(),
        SECRET_KEY,
        SESSION_TOKEN,
        POD_TOKEN,
        "hunter2",
        "tempSecretKey",
        "tempSessionToken",
    ];
    for (name, run) in &outputs {
        for s in secrets {
            assert!(
                !run.stderr.contains(s),
                "`{name}` printed a secret on stderr: {}",
                run.stderr
            );
        }
    }
    for s in secrets {
        assert!(!logged.contains(s), "the log file holds a secret: {logged}");
    }
    // Stdout holds secrets only where that is the command's job.
    for (name, run) in &outputs {
        let allowed = [
            "get",
            "get-login-password",
            "authorization-token",
            "kubelet",
        ]
        .iter()
        .any(|c| name == c || name.starts_with(&format!("{c} ")));
        if !allowed {
            for s in secrets {
                assert!(
                    !run.stdout.contains(s),
                    "`{name}` printed a secret on stdout: {}",
                    run.stdout
                );
            }
        }
    }
}

/// A failing `credential_process` that floods stderr with a secret and
/// terminal escapes: the helper's one line is capped, scrubbed and escaped.
#[cfg(unix)]
#[test]
fn a_failing_credential_process_is_capped_and_scrubbed() {
    let mut env = TestEnv::new();
    let script = env.write(
        "bin/creds",
        "#!/bin/sh\nprintf 'token=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYSECRET \\033[2J\\n' >&2\nhead -c 1000000 /dev/zero | tr '\\0' x >&2\nexit 3\n",
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = env.write(
        "home/.aws/config",
        &format!(
            "[profile proc]\ncredential_process = {}\n",
            script.display()
        ),
    );
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set("AWS_CONFIG_FILE", &config.display().to_string())
        .set("AWS_PROFILE", "proc");
    let run = env.get(REGISTRY);
    run.assert_not_found();
    assert!(
        run.stderr.len() < 4096,
        "{} bytes on stderr",
        run.stderr.len()
    );
    assert!(
        run.stderr.contains("token=****"),
        "{}",
        &run.stderr[..200.min(run.stderr.len())]
    );
    assert!(!run.stderr.contains("EXAMPLEKEYSECRET"));
    assert!(!run.stderr.contains('\u{1b}'));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert_eq!(env.ecr.count(), 0);
}
