//! Parsing a `CredentialProviderRequest` and choosing whose credentials
//! pull its image.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{KubeletError, API_V1, API_V1BETA1, REQUEST_KIND, ROLE_ANNOTATION, ROLE_ARN_ENV};
use crate::registry::{NotEcr, Registry};
use crate::secret::Secret;

type Result<T> = std::result::Result<T, KubeletError>;

/// A supported API version of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `credentialprovider.kubelet.k8s.io/v1`.
    V1,
    /// `credentialprovider.kubelet.k8s.io/v1beta1`.
    V1Beta1,
}

impl ApiVersion {
    /// The `apiVersion` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => API_V1,
            ApiVersion::V1Beta1 => API_V1BETA1,
        }
    }
}

/// A parsed `CredentialProviderRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request's version; the response uses the same.
    pub api_version: ApiVersion,
    /// The image to pull, as kubelet sent it.
    pub image: String,
    /// The ECR registry of the image.
    pub registry: Registry,
    /// The pod's service-account token, if kubelet sent one.
    pub service_account_token: Option<Secret>,
    /// The service account's annotations (empty when none were sent).
    pub service_account_annotations: BTreeMap<String, String>,
}

fn bad(msg: impl Into<String>) -> KubeletError {
    KubeletError::Request(msg.into())
}

/// A JSON value for an error message: compact and at most 80 characters.
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(77).collect::<String>())
    } else {
        s
    }
}

/// Parses a `CredentialProviderRequest` (either version) and the ECR registry
/// of its image. Errors say what was expected; they never repeat the token.
pub fn parse_request(input: &str) -> Result<Request> {
    let value: Value = serde_json::from_str(input).map_err(|e| {
        bad(format!(
            "stdin is not valid JSON ({e}); expected a {REQUEST_KIND} object"
        ))
    })?;
    let Value::Object(obj) = value else {
        return Err(bad(format!(
            "expected a JSON object ({REQUEST_KIND}), got {}",
            shown(&value)
        )));
    };
    let expected_versions = format!("expected \"{API_V1}\" or \"{API_V1BETA1}\"");
    let api_version = match obj.get("apiVersion") {
        Some(Value::String(s)) if s == API_V1 => ApiVersion::V1,
        Some(Value::String(s)) if s == API_V1BETA1 => ApiVersion::V1Beta1,
        None => return Err(bad(format!("no \"apiVersion\": {expected_versions}"))),
        Some(other) => {
            return Err(bad(format!(
                "unsupported apiVersion {}: {expected_versions}",
                shown(other)
            )))
        }
    };
    match obj.get("kind") {
        Some(Value::String(s)) if s == REQUEST_KIND => {}
        None => return Err(bad(format!("no \"kind\": expected \"{REQUEST_KIND}\""))),
        Some(other) => {
            return Err(bad(format!(
                "kind is {}: expected \"{REQUEST_KIND}\"",
                shown(other)
            )))
        }
    }
    let image = match obj.get("image") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => {
            return Err(bad(
                "no \"image\": expected the image to pull, e.g. \"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1\"",
            ))
        }
    };
    let registry = image_registry(&image)?;
    let service_account_token = match obj.get("serviceAccountToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(Secret::new(s.trim())),
        Some(_) => return Err(bad("\"serviceAccountToken\" must be a string")),
    };
    let mut service_account_annotations = BTreeMap::new();
    match obj.get("serviceAccountAnnotations") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let Value::String(v) = v else {
                    return Err(bad(format!(
                        "serviceAccountAnnotations[{k:?}] must be a string"
                    )));
                };
                service_account_annotations.insert(k.clone(), v.clone());
            }
        }
        Some(_) => {
            return Err(bad(
                "\"serviceAccountAnnotations\" must be an object of strings",
            ))
        }
    }
    Ok(Request {
        api_version,
        image,
        registry,
        service_account_token,
        service_account_annotations,
    })
}

/// The ECR registry of an image reference (`host/repo:tag`, `host/repo@sha256:…`).
/// A reference whose first component is not a host (no `.` or `:`, not
/// `localhost`) is on Docker Hub, like `nginx:latest` or `library/nginx`.
pub fn image_registry(image: &str) -> Result<Registry> {
    // Echo at most 200 characters of the image, escaped.
    let shown = match image.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", image[..at].escape_debug()),
        None => image.escape_debug().to_string(),
    };
    let Some((first, _)) = image.split_once('/') else {
        return Err(NotEcr {
            reason: format!("image \"{shown}\" is on Docker Hub, not in an ECR registry"),
        }
        .into());
    };
    if !(first.contains('.') || first.contains(':') || first == "localhost") {
        return Err(NotEcr {
            reason: format!("image \"{shown}\" is on Docker Hub, not in an ECR registry"),
        }
        .into());
    }
    Registry::parse(first).map_err(|e| {
        NotEcr {
            reason: format!("{} (image \"{shown}\")", e.reason),
        }
        .into()
    })
}

/// Whose credentials pull the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullAs {
    /// The helper's own credentials (the node's), as for `get`.
    Ambient,
    /// The role, assumed with the pod's service-account token.
    Role {
        /// The IAM role ARN.
        role_arn: String,
        /// The service-account token (a JWT).
        token: Secret,
    },
}

/// Chooses whose credentials pull the image: the role of the
/// [`ROLE_ANNOTATION`] annotation, else `env_role` (from [`ROLE_ARN_ENV`]),
/// assumed with the request's service-account token; without a token or a
/// role, [`PullAs::Ambient`]. A role that is not an IAM role ARN is an error.
pub fn pull_as(request: &Request, env_role: Option<&str>) -> Result<PullAs> {
    let from_annotation = request
        .service_account_annotations
        .get(ROLE_ANNOTATION)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty());
    let (role, origin) = match (from_annotation, env_role.map(str::trim)) {
        (Some(r), _) => (r, format!("annotation {ROLE_ANNOTATION}")),
        (None, Some(r)) if !r.is_empty() => (r, ROLE_ARN_ENV.to_string()),
        _ => return Ok(PullAs::Ambient),
    };
    let Some(token) = &request.service_account_token else {
        return Ok(PullAs::Ambient);
    };
    if !is_role_arn(role) {
        return Err(bad(format!(
            "the role {:?} (from {origin}) is not an IAM role ARN like arn:aws:iam::123456789012:role/name",
            role.escape_debug().to_string()
        )));
    }
    Ok(PullAs::Role {
        role_arn: role.to_string(),
        token: token.clone(),
    })
}

/// `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, iam, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let name = resource.strip_prefix("role/").unwrap_or_default();
    *arn == "arn"
        && !partition.is_empty()
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
        && *iam == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.ends_with('/')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
}

#[cfg(test)]
mod tests {
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
                "not an ECR hostname",
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
}
