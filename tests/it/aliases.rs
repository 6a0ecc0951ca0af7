//! Registry aliases (`[[alias]]` in `~/.ecr/config.toml`): a host that is not
//! ECR's name stands for an ECR registry in `get`, `list`, the token
//! commands, `doctor` and kubelet mode; a host nobody configured never does.

// The harness re-exports items that only some test files use.
#[allow(unused_imports)]
use crate::common::*;

/// The alias target: another account and region than [`REGISTRY`].
const TARGET: &str = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";

fn aliased() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        "home/.ecr/config.toml",
        &format!(
            r#"[[alias]]
host = "registry.example.com"
registry = "{TARGET}"

[[alias]]
host = "*.mirror.internal"
registry = "{TARGET}"

[[alias]]
host = "docker.io"
registry = "{TARGET}"
"#
        ),
    );
    env
}

#[test]
fn get_answers_an_alias_with_the_targets_login_and_the_server_url_as_given() {
    let env = aliased();
    for (n, input) in [
        "https://Registry.Example.com/v2/",
        "https://hub.mirror.internal/v2/",
    ]
    .into_iter()
    .enumerate()
    {
        let run = env.get(input);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(run.json()["ServerURL"], input);
        assert_eq!(run.json()["Username"], "AWS");
        assert_eq!(run.secret(), FakeEcr::password("210987654321", AKID, 1));
        // One ECR call in all: the alias shares the target's cached token.
        assert_eq!(env.ecr.count(), 1, "input {n}");
    }
    let call = &env.ecr.calls()[0];
    assert_eq!(
        (call.region.as_str(), call.registry_ids.clone()),
        ("eu-west-1", Vec::<String>::new())
    );
    assert_eq!(
        env.get(TARGET).secret(),
        FakeEcr::password("210987654321", AKID, 1)
    );
}

#[test]
fn only_configured_hosts_are_aliased() {
    let env = aliased();
    for host in [
        "example.com",
        "mirror.internal",
        "ghcr.io",
        "registry.example.com.evil.io",
    ] {
        env.get(host).assert_not_found();
    }
    TestEnv::new()
        .get("registry.example.com")
        .assert_not_found();
    assert_eq!(env.ecr.count(), 0);
}

#[test]
fn list_token_commands_and_doctor_honour_aliases() {
    let env = aliased();
    let run = env.run(&["get-login-password", "registry.example.com"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    let password = FakeEcr::password("210987654321", AKID, 1);
    assert_eq!(run.stdout, format!("{password}\n"));
    let run = env.run(&["authorization-token", "x.mirror.internal"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    let list = env.run(&["list"], "").json();
    assert_eq!(
        list,
        serde_json::json!({
            format!("https://{TARGET}"): "AWS",
            "https://registry.example.com": "AWS",
            "https://docker.io": "AWS",
        }),
        "exact aliases and the aliases' registry are listed, globs cannot be"
    );
    let run = env.run(&["doctor", "registry.example.com"], "");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.starts_with(&format!(
            "alias        registry.example.com -> {TARGET} (alias \"registry.example.com\" of "
        )),
        "{run:#?}"
    );
    assert!(run.stdout.contains("  account    210987654321"), "{run:#?}");
    assert!(!run.stdout.contains(&password));
}

#[test]
fn kubelet_pulls_docker_hub_images_through_an_alias_for_docker_io() {
    let env = aliased();
    let password = FakeEcr::password("210987654321", AKID, 1);
    for (image, key) in [
        ("docker.io/library/nginx:1.27", "docker.io"),
        ("nginx:latest", "docker.io"),
        (
            "hub.mirror.internal/team/app@sha256:0123",
            "hub.mirror.internal",
        ),
    ] {
        let request = format!(
            r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{image}"}}"#
        );
        let run = env.run(&["kubelet"], &request);
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (0, ""),
            "{image}: {run:#?}"
        );
        assert_eq!(
            run.json()["auth"],
            serde_json::json!({key: {"username": "AWS", "password": password}}),
            "{image}"
        );
    }
    // Without the alias, Docker Hub is still not ours.
    let run = TestEnv::new().run(
        &["kubelet"],
        r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"docker.io/library/nginx"}"#,
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not an ECR hostname"), "{run:#?}");
}

#[test]
fn an_alias_to_something_that_is_not_ecr_is_a_config_error() {
    let env = TestEnv::new();
    env.write(
        "home/.ecr/config.toml",
        "[[alias]]\nhost = \"registry.example.com\"\nregistry = \"ghcr.io\"\n",
    );
    let run = env.get("registry.example.com");
    run.assert_not_found();
    assert!(
        run.stderr.contains("config.toml") && run.stderr.contains("not an ECR registry"),
        "{run:#?}"
    );
}
