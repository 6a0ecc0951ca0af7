//! A newcomer's mistakes get a message that names the cause, by default
//! (no AWS_ECR_LOG needed), while hosts that are plainly not ECR stay quiet.

use crate::common::*;

#[test]
fn a_mistyped_ecr_host_is_a_one_line_warning_by_default() {
    let env = TestEnv::new();
    for (host, cause) in [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaw.com",
            "\"amazonaw.com\" is not an ECR domain (expected amazonaws.com",
        ),
        (
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "the account id must be exactly 12 digits",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil",
            "is not an ECR domain",
        ),
    ] {
        let run = env.get(host);
        run.assert_not_found();
        assert_eq!(run.stderr.lines().count(), 1, "{host}: {run:#?}");
        assert!(run.stderr.contains("warn"), "{host}: {run:#?}");
        assert!(run.stderr.contains(cause), "{host}: {run:#?}");
    }
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn a_host_that_is_plainly_not_ecr_stays_quiet() {
    let env = TestEnv::new();
    for host in ["ghcr.io", "https://index.docker.io/v1/", "localhost:5000"] {
        let run = env.get(host);
        run.assert_not_found();
        assert_eq!(run.stderr, "", "{host}: {run:#?}");
    }
}

/// A directory holding an executable `docker-credential-ecr-login` that is
/// not this binary (a Go helper from a distribution package, say).
#[cfg(unix)]
fn other_helper_dir(env: &TestEnv) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = env.write(
        "other-bin/docker-credential-ecr-login",
        "#!/bin/sh\necho 0.6.0\n",
    );
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.parent().unwrap().to_path_buf()
}

/// `PATH` with `first` before the test's own.
fn path_with(first: &std::path::Path) -> String {
    format!(
        "{}:{}",
        first.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[cfg(unix)]
#[test]
fn doctor_and_configure_say_when_docker_would_run_another_helper() {
    let mut env = TestEnv::new();
    let other = other_helper_dir(&env);
    env.set("PATH", &path_with(&other));
    let run = env.run(&["doctor", REGISTRY], "");
    let line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("helper"))
        .unwrap_or_else(|| panic!("no helper line: {run:#?}"));
    let shown = other.join("docker-credential-ecr-login");
    assert!(
        line.contains(&format!(
            "Docker runs {} (0.6.0), NOT this binary",
            shown.display()
        )),
        "{line}"
    );
    env.set(
        "DOCKER_CONFIG",
        &env.dir.path().join("docker").display().to_string(),
    );
    let run = env.run(&["configure", "--registry", REGISTRY], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains("NOT this binary") && run.stderr.contains(&shown.display().to_string()),
        "{run:#?}"
    );

    // This binary first on PATH (a link to it, as a package or `ln -s` makes).
    let mine = env.dir.path().join("my-bin");
    std::fs::create_dir_all(&mine).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_docker-credential-ecr-login"),
        mine.join("docker-credential-ecr-login"),
    )
    .unwrap();
    env.set("PATH", &path_with(&mine));
    let run = env.run(&["doctor", REGISTRY], "");
    assert!(run.stdout.contains("(this binary)"), "{run:#?}");
    let run = env.run(&["configure", "--registry", REGISTRY], "");
    assert!(!run.stderr.contains("NOT this binary"), "{run:#?}");
}

#[cfg(unix)]
#[test]
fn a_fallback_that_is_not_installed_is_named_by_configure_and_doctor() {
    let env = TestEnv::new();
    let run = env.run(&["configure", "--fallback", "nowhere-to-be-found"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("the fallback helper docker-credential-nowhere-to-be-found is not on PATH"),
        "{run:#?}"
    );
    let run = env.run(&["doctor", REGISTRY], "");
    assert!(
        run.stdout.contains("docker-credential-nowhere-to-be-found")
            && run.stdout.contains("NOT on PATH"),
        "{run:#?}"
    );
}

#[test]
fn doctor_names_the_real_source_of_the_profile() {
    let mut env = TestEnv::new();
    env.write(
        "home/.aws/credentials",
        "[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = prod-secret\n\
         [other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = other-secret\n",
    );
    env.write(
        "home/.ecr/config.toml",
        "[[registry]]\nmatch = \"123456789012\"\nprofile = \"prod\"\n",
    );
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    let run = env.run(&["doctor", REGISTRY], "");
    assert!(
        run.stdout
            .contains("profile    prod (chosen by the map rule)"),
        "{run:#?}"
    );
    assert!(!run.stdout.contains("AWS_PROFILE"), "{run:#?}");

    env.set("AWS_PROFILE", "other");
    let run = env.run(&["doctor", REGISTRY], "");
    assert!(
        run.stdout.contains("profile    other (AWS_PROFILE)"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains(
            "the map rule's profile prod is not used: AWS_PROFILE in the environment wins"
        ),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("token        ok: user AWS, valid for"),
        "{run:#?}"
    );
}

#[test]
fn a_missing_profile_is_attributed_to_whoever_named_it() {
    let mut env = TestEnv::new();
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    let run = env.run(&["login", "--profile", "nope"], "");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("AWS profile \"nope\" (from login --profile) is not defined"),
        "{run:#?}"
    );
    let config = env.write(
        "home/.ecr/config.toml",
        "[[registry]]\nmatch = \"123456789012\"\nprofile = \"gone\"\n",
    );
    let run = env.get(REGISTRY);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "AWS profile \"gone\" (from map rule \"123456789012\" of {}) is not defined",
            config.display()
        )),
        "{run:#?}"
    );
    env.set("AWS_PROFILE", "typo");
    let run = env.get(REGISTRY);
    assert!(
        run.stderr
            .contains("AWS profile \"typo\" (from AWS_PROFILE) is not defined"),
        "{run:#?}"
    );
}
