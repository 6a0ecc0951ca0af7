//! Unit tests of [`super`].

use super::*;

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDphcHAifQ.c2lnbmF0dXJlX3NlY3JldF92YWx1ZQ";
const ROLE: &str = "arn:aws:iam::123456789012:role/ecr-pull";

/// A request as kubelet 1.26+ sends it (no token attributes configured).
fn v1(image: &str) -> String {
    format!(
        r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{image}"}}"#
    )
}

fn err(input: &str) -> String {
    parse_request(input).unwrap_err().to_string()
}

#[test]
fn v1_request_as_kubelet_sends_it() {
    let r = parse_request(&v1(&format!("{HOST}/team/app:v1.2"))).unwrap();
    assert_eq!(r.api_version, ApiVersion::V1);
    assert_eq!(r.image, format!("{HOST}/team/app:v1.2"));
    assert_eq!(r.registry.host(), HOST);
    assert_eq!(r.service_account_token, None);
    assert!(r.service_account_annotations.is_empty());
}

#[test]
fn v1beta1_request_and_digest_reference() {
    let input = format!(
        "{{\n  \"kind\": \"CredentialProviderRequest\",\n  \"apiVersion\": \"credentialprovider.kubelet.k8s.io/v1beta1\",\n  \"image\": \"{HOST}/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\n}}\n"
    );
    let r = parse_request(&input).unwrap();
    assert_eq!(r.api_version, ApiVersion::V1Beta1);
    assert_eq!(r.registry.host(), HOST);
    let r = parse_request(&v1("public.ecr.aws/nginx/nginx:latest")).unwrap();
    assert_eq!(r.registry.host(), "public.ecr.aws");
    let r = parse_request(&v1("123456789012.dkr-ecr.eu-west-1.on.aws/app")).unwrap();
    assert_eq!(r.registry.api_region(), "eu-west-1");
}

#[test]
fn request_with_service_account_token_and_annotations() {
    // kubelet 1.33+ with tokenAttributes in the provider config.
    let input = format!(
        r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{HOST}/app:1","serviceAccountToken":"{TOKEN}","serviceAccountAnnotations":{{"eks.amazonaws.com/ecr-role-arn":"{ROLE}","other":"x"}}}}"#
    );
    let r = parse_request(&input).unwrap();
    assert_eq!(r.service_account_token, Some(Secret::new(TOKEN)));
    assert_eq!(r.service_account_annotations.len(), 2);
    assert!(!format!("{r:?}").contains(TOKEN), "Debug leaks the token");
    assert_eq!(
        pull_as(&r, None).unwrap(),
        PullAs::Role {
            role_arn: ROLE.into(),
            token: Secret::new(TOKEN)
        }
    );
    // The annotation wins over the environment variable.
    assert_eq!(
        pull_as(&r, Some("arn:aws:iam::210987654321:role/other")).unwrap(),
        PullAs::Role {
            role_arn: ROLE.into(),
            token: Secret::new(TOKEN)
        }
    );
}

#[test]
fn role_choice_without_annotation_or_token() {
    let with_token = format!(
        r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{HOST}/app:1","serviceAccountToken":"{TOKEN}","serviceAccountAnnotations":{{}}}}"#
    );
    let r = parse_request(&with_token).unwrap();
    assert_eq!(pull_as(&r, None).unwrap(), PullAs::Ambient);
    assert_eq!(pull_as(&r, Some("  ")).unwrap(), PullAs::Ambient);
    assert_eq!(
        pull_as(&r, Some(ROLE)).unwrap(),
        PullAs::Role {
            role_arn: ROLE.into(),
            token: Secret::new(TOKEN)
        }
    );
    // A role but no token: nothing to assume it with.
    let no_token = parse_request(&v1(&format!("{HOST}/app"))).unwrap();
    assert_eq!(pull_as(&no_token, Some(ROLE)).unwrap(), PullAs::Ambient);
    // An empty token counts as none.
    let empty = with_token.replace(TOKEN, "");
    let r = parse_request(&empty).unwrap();
    assert_eq!(r.service_account_token, None);
    assert_eq!(pull_as(&r, Some(ROLE)).unwrap(), PullAs::Ambient);
}

#[test]
fn a_malformed_role_is_an_error_naming_its_origin() {
    let input = format!(
        r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{HOST}/app","serviceAccountToken":"{TOKEN}","serviceAccountAnnotations":{{"eks.amazonaws.com/ecr-role-arn":"ecr-pull"}}}}"#
    );
    let r = parse_request(&input).unwrap();
    let e = pull_as(&r, None).unwrap_err().to_string();
    assert!(
        e.contains("\"ecr-pull\"") && e.contains(ROLE_ANNOTATION),
        "{e}"
    );
    assert!(!e.contains(TOKEN));
    let r = parse_request(&input.replace("ecr-pull\"", "\"")).unwrap();
    let e = pull_as(&r, Some("arn:aws:iam::123:role/x"))
        .unwrap_err()
        .to_string();
    assert!(e.contains(ROLE_ARN_ENV), "{e}");
}

#[test]
fn role_arns() {
    for ok in [
        ROLE,
        "arn:aws-cn:iam::123456789012:role/path/to/Name_1+=,.@-",
        "arn:aws-us-gov:iam::123456789012:role/x",
    ] {
        assert!(is_role_arn(ok), "{ok}");
    }
    for bad in [
        "",
        "ecr-pull",
        "arn:aws:iam::123456789012:user/bob",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::12345678901:role/x",
        "arn:aws:iam:us-east-1:123456789012:role/x",
        "arn:aws:sts::123456789012:role/x",
        "arn:aws:iam::123456789012:role/x y",
    ] {
        assert!(!is_role_arn(bad), "{bad}");
    }
}

#[test]
fn every_request_error_names_what_was_expected() {
    let cases: &[(&str, &[&str])] = &[
        ("", &["not valid JSON", "CredentialProviderRequest"]),
        ("{\"kind\":", &["not valid JSON"]),
        ("[]", &["expected a JSON object"]),
        (
            r#"{"kind":"CredentialProviderRequest","image":"x/y"}"#,
            &["no \"apiVersion\"", API_V1, API_V1BETA1],
        ),
        (
            r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","image":"x/y"}"#,
            &["unsupported apiVersion", "v1alpha1", API_V1, API_V1BETA1],
        ),
        (
            r#"{"kind":"CredentialProviderRequest","apiVersion":1,"image":"x/y"}"#,
            &["unsupported apiVersion 1"],
        ),
        (
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y"}"#,
            &["no \"kind\"", "CredentialProviderRequest"],
        ),
        (
            r#"{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y"}"#,
            &[
                "kind is \"CredentialProviderResponse\"",
                "expected \"CredentialProviderRequest\"",
            ],
        ),
        (
            r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}"#,
            &["no \"image\""],
        ),
        (
            r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":""}"#,
            &["no \"image\""],
        ),
        (
            r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/a","serviceAccountToken":42}"#,
            &["\"serviceAccountToken\" must be a string"],
        ),
        (
            r#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/a","serviceAccountAnnotations":{"a":1}}"#,
            &["serviceAccountAnnotations[\"a\"] must be a string"],
        ),
    ];
    for (input, wants) in cases {
        let e = err(input);
        assert!(e.starts_with("kubelet request: "), "{input}: {e}");
        for want in *wants {
            assert!(e.contains(want), "{input}: {e:?} lacks {want:?}");
        }
    }
}

#[test]
fn non_ecr_images_are_rejected() {
    for (image, want) in [
        ("nginx:latest", "Docker Hub"),
        ("library/nginx", "Docker Hub"),
        ("ghcr.io/org/app:1", "ghcr.io is not an ECR hostname"),
        ("localhost:5000/app", "not an ECR hostname"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app",
            "\"amazonaws.com.evil.example\" is not an ECR domain",
        ),
    ] {
        let e = err(&v1(image));
        assert!(e.starts_with("not an ECR registry"), "{image}: {e}");
        assert!(e.contains(want) && e.contains(image), "{image}: {e}");
        assert!(matches!(
            parse_request(&v1(image)),
            Err(KubeletError::NotEcr(_))
        ));
    }
}

#[test]
fn the_irsa_annotation_applies_when_the_ecr_one_is_missing() {
    const IRSA: &str = "arn:aws:iam::123456789012:role/app-irsa";
    let with = |annotations: &str| {
        parse_request(&format!(
            r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{HOST}/app:1","serviceAccountToken":"{TOKEN}","serviceAccountAnnotations":{{{annotations}}}}}"#
        ))
        .unwrap()
    };
    let role = |r: &Request, env: Option<&str>| match pull_as(r, env).unwrap() {
        PullAs::Role { role_arn, .. } => role_arn,
        PullAs::Ambient => "ambient".into(),
    };
    let both = with(&format!(
        r#""eks.amazonaws.com/role-arn":"{IRSA}","eks.amazonaws.com/ecr-role-arn":"{ROLE}""#
    ));
    assert_eq!(role(&both, None), ROLE, "the ECR annotation comes first");
    let irsa = with(&format!(r#""eks.amazonaws.com/role-arn":"{IRSA}""#));
    assert_eq!(
        role(&irsa, Some(ROLE)),
        IRSA,
        "then the IRSA one, then the env"
    );
    let blank = with(r#""eks.amazonaws.com/ecr-role-arn":" ""#);
    assert_eq!(role(&blank, Some(ROLE)), ROLE);
    let bad = with(r#""eks.amazonaws.com/role-arn":"nope""#);
    let e = pull_as(&bad, None).unwrap_err().to_string();
    assert!(e.contains("annotation eks.amazonaws.com/role-arn"), "{e}");
}

#[test]
fn aliases_make_other_hosts_and_docker_hub_pullable() {
    let config = crate::core::regmap::parse(&format!(
        "[[alias]]\nhost = \"docker.io\"\nregistry = \"{HOST}\"\n[[alias]]\nhost = \"*.mirror.internal:5000\"\nregistry = \"public.ecr.aws\"\n"
    ))
    .unwrap();
    for (image, auth_host, registry) in [
        ("nginx:latest", "docker.io", HOST),
        ("docker.io/library/nginx:1", "docker.io", HOST),
        (
            "Hub.Mirror.Internal:5000/app",
            "Hub.Mirror.Internal:5000",
            "public.ecr.aws",
        ),
        (&format!("{HOST}/app") as &str, HOST, HOST),
        (
            "123456789012.dkr.ecr.US-EAST-1.amazonaws.com/app",
            "123456789012.dkr.ecr.US-EAST-1.amazonaws.com",
            HOST,
        ),
        (
            &format!("{HOST}:443/app:1") as &str,
            &format!("{HOST}:443") as &str,
            HOST,
        ),
        (
            "ECR-Public.AWS.com/lib/app",
            "ECR-Public.AWS.com",
            "ecr-public.aws.com",
        ),
    ] {
        let r = parse_request_with(&v1(image), &config).unwrap();
        assert_eq!(
            (r.auth_host.as_str(), r.registry.host()),
            (auth_host, registry),
            "{image}"
        );
    }
    assert!(matches!(
        parse_request_with(&v1("ghcr.io/org/app"), &config),
        Err(KubeletError::NotEcr(_))
    ));
    // Without the alias, Docker Hub is still refused.
    assert!(parse_request(&v1("docker.io/library/nginx")).is_err());
}
