//! `configure` edits of the helper's own config file (`~/.ecr/config.toml`):
//! `--store` keeps the replaced `credsStore` as the fallback, `--fallback
//! NAME`, and `--from-aws-config` (credHelpers plus account → profile rules),
//! through the built binary.
#![cfg(unix)]

// The harness re-exports items that only some test files use.
#[allow(unused_imports)]
use std::path::PathBuf;

use crate::common::*;

/// A world with the helper on PATH (a link to it) and Docker Desktop's
/// helper (a stub), Docker's config in `{DIR}/docker`.
fn world() -> (TestEnv, PathBuf, PathBuf) {
    let mut env = TestEnv::new();
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_docker-credential-ecr-login"),
        bin.join("docker-credential-ecr-login"),
    )
    .unwrap();
    // The store `configure --store` keeps as the fallback is installed.
    stub(&bin, "docker-credential-desktop", "exit 1");
    env.set("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
    let docker = env.dir.path().join("docker");
    env.set("DOCKER_CONFIG", &docker.display().to_string());
    let toml = env.home().join(".ecr").join("config.toml");
    (env, docker.join("config.json"), toml)
}

fn stub(dir: &std::path::Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const MAP: &str =
    "# my rules\n[[registry]]\nmatch = \"123456789012\"   # prod\nprofile = \"prod\"\n";

#[test]
fn store_keeps_the_previous_creds_store_as_the_fallback_and_no_login_is_lost() {
    let (env, docker, toml) = world();
    std::fs::create_dir_all(docker.parent().unwrap()).unwrap();
    std::fs::write(&docker, "{\n\t\"credsStore\": \"desktop\"\n}\n").unwrap();
    env.write("home/.ecr/config.toml", MAP);
    let run = env.run(&["configure", "--store"], "");
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:#?}");
    assert!(run.stdout.contains(&format!(
        "updated {} (previous content saved as {}.bak)\n  fallback: desktop (the previous credsStore",
        toml.display(),
        toml.display()
    )), "{run:#?}");
    assert_eq!(read(&toml), format!("fallback = \"desktop\"\n{MAP}"));
    assert_eq!(read(&docker), "{\n\t\"credsStore\": \"ecr-login\"\n}\n");
    // The login kept in the desktop store is still served.
    stub(
        &env.dir.path().join("bin"),
        "docker-credential-desktop",
        r#"cat >/dev/null; printf '{"ServerURL":"ghcr.io","Username":"octo","Secret":"kept"}'"#,
    );
    let run = env.get("ghcr.io");
    assert_eq!(run.secret(), "kept");
    // Running it again changes nothing.
    let run = env.run(&["configure", "--store"], "");
    assert_eq!(
        run.stdout,
        format!("no change: {} is already configured\n", docker.display())
    );
}

#[test]
fn fallback_sets_it_explicitly_and_a_dry_run_shows_the_diff() {
    let (env, docker, toml) = world();
    env.write("home/.ecr/config.toml", "fallback = \"desktop\"\n");
    let run = env.run(&["configure", "--fallback", "pass", "--dry-run"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    let t = toml.display();
    assert_eq!(
        run.stdout,
        format!("--- {t}\n+++ {t}\n@@ -1 +1 @@\n-fallback = \"desktop\"\n+fallback = \"pass\"\ndry run: {t} was not changed\n")
    );
    assert!(run.stderr.contains("fallback was \"desktop\""), "{run:#?}");
    assert_eq!(read(&toml), "fallback = \"desktop\"\n");
    let run = env.run(&["configure", "--fallback=pass"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(read(&toml), "fallback = \"pass\"\n");
    assert!(
        !docker.exists(),
        "--fallback alone leaves Docker's config alone"
    );
    let run = env.run(&["configure", "--fallback", "../sh"], "");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("not a credential-helper name"),
        "{run:#?}"
    );
}

#[test]
fn a_toml_file_that_cannot_be_edited_leaves_both_files_untouched() {
    let (env, docker, toml) = world();
    std::fs::create_dir_all(docker.parent().unwrap()).unwrap();
    std::fs::write(&docker, "{\"credsStore\": \"desktop\"}").unwrap();
    env.write("home/.ecr/config.toml", "[[registry]\nbroken");
    let run = env.run(&["configure", "--store"], "");
    assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{run:#?}");
    assert!(
        run.stderr.contains("cannot parse") && run.stderr.contains("nothing was changed"),
        "{run:#?}"
    );
    assert_eq!(read(&docker), "{\"credsStore\": \"desktop\"}");
    assert_eq!(read(&toml), "[[registry]\nbroken");
}

#[test]
fn from_aws_config_adds_registries_and_profile_rules_and_dry_run_shows_both() {
    let (env, docker, toml) = world();
    env.write(
        "home/.aws/config",
        "[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Dev\nregion = eu-west-1\n\
         [profile ops]\nrole_arn = arn:aws:iam::222222222222:role/Ops\nsource_profile = dev\nregion = us-east-2\n\
         [profile prod]\nsso_account_id = 123456789012\nsso_region = us-east-1\n\
         [sso-session corp]\nsso_region = us-east-1\nsso_start_url = https://corp.awsapps.com/start\n",
    );
    env.write("home/.ecr/config.toml", MAP);
    let (d, t) = (docker.display(), toml.display());
    let run = env.run(&["configure", "--from-aws-config", "--dry-run"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stdout,
        format!(
            "--- /dev/null\n+++ {d}\n@@ -0,0 +1,7 @@\n+{{\n+\t\"credHelpers\": {{\n+\t\t\"111111111111.dkr.ecr.eu-west-1.amazonaws.com\": \"ecr-login\",\n+\t\t\"123456789012.dkr.ecr.us-east-1.amazonaws.com\": \"ecr-login\",\n+\t\t\"222222222222.dkr.ecr.us-east-2.amazonaws.com\": \"ecr-login\"\n+\t}}\n+}}\ndry run: {d} was not changed\n\
             --- {t}\n+++ {t}\n@@ -2,3 +2,11 @@\n [[registry]]\n match = \"123456789012\"   # prod\n profile = \"prod\"\n+\n+[[registry]]\n+match = \"111111111111\"\n+profile = \"dev\"\n+\n+[[registry]]\n+match = \"222222222222\"\n+profile = \"ops\"\ndry run: {t} was not changed\n"
        )
    );
    assert!(!docker.exists());
    assert_eq!(read(&toml), MAP);
    let run = env.run(&["configure", "--from-aws-config"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains("registry rule: 222222222222 -> profile ops"),
        "{run:#?}"
    );
    let rules = read(&toml);
    assert!(
        rules.starts_with(MAP) && rules.ends_with("profile = \"ops\"\n"),
        "{rules}"
    );
    // Nothing left to add.
    let run = env.run(&["configure", "--from-aws-config"], "");
    assert_eq!(
        run.stdout,
        format!("no change: {d} is already configured\nno change: {t} is already configured\n")
    );
    // The rules are the ones `get` then follows: dev's registry as profile
    // dev (given static keys here: the fake has no SSO portal).
    env.write("home/.aws/config", "[profile dev]\nregion = eu-west-1\n");
    env.write(
        "home/.aws/credentials",
        "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = devsecret\n",
    );
    let mut env = env;
    env.unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    env.get("111111111111.dkr.ecr.eu-west-1.amazonaws.com")
        .secret();
    assert_eq!(env.ecr.calls()[0].access_key, "AKIDDEV");
}
