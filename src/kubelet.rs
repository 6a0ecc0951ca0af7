//! The kubelet image credential provider protocol
//! (`credentialprovider.kubelet.k8s.io`, `v1` and `v1beta1`).
//!
//! kubelet runs `docker-credential-ecr-login kubelet`, writes one
//! `CredentialProviderRequest` on its stdin and reads one
//! `CredentialProviderResponse` from its stdout. This module holds the pure
//! part: parsing the request ([`parse_request`]), choosing whose credentials
//! pull the image ([`pull_as`]), the cache duration ([`cache_duration`]) and
//! the response ([`response`]). It does no I/O.
//!
//! # Cache duration
//!
//! kubelet keeps the answer for `cacheDuration`. It is **half the token's
//! remaining validity** (a fresh 12-hour ECR token: `6h0m0s`), truncated to
//! whole seconds, so kubelet asks again while the token still has as long to
//! live as kubelet kept it. With less than [`MIN_CACHEABLE`] of validity left
//! it is `0s`, which tells kubelet not to cache the answer at all (an omitted
//! field would mean kubelet's default duration, which may outlive the token).
//!
//! # Pulling as a pod's role
//!
//! When kubelet's provider config asks for service-account tokens
//! (`tokenAttributes`), the request carries the pod's `serviceAccountToken` and
//! the service account's annotations. If the annotation [`ROLE_ANNOTATION`]
//! names a role (or, failing that, the environment variable [`ROLE_ARN_ENV`]
//! does), the image is pulled as that role, assumed with
//! `sts:AssumeRoleWithWebIdentity` and the pod's token, held in memory only.
//! Without a token the node's own credentials are used.
//!
//! **Every** request that names a role is checked by STS with that pod's
//! token before any ECR token for the role is returned, cached or not: a pod
//! whose token STS rejects (or cannot check) gets an error, never another
//! pod's login. Only after STS says yes is the cached ECR token for the role
//! served; it is keyed by the role ARN (and the endpoint overrides), so pods
//! sharing a role share one ECR token.
//!
//! Pulls with the node's credentials follow the same rules as `get`,
//! including the registry map (`~/.ecr/config.toml`). Pulls as a pod's role
//! do not consult the map: the pod's role is the identity, and the node's
//! profiles and keys take no part in that request.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::env;
use crate::error::{Error, Result};
use crate::helper::Login;
use crate::identity::Identity;
use crate::profile::ProfileSet;
use crate::registry::{NotEcr, Registry};
use crate::secret::Secret;

/// The `v1` API version.
pub const API_V1: &str = "credentialprovider.kubelet.k8s.io/v1";
/// The `v1beta1` API version.
pub const API_V1BETA1: &str = "credentialprovider.kubelet.k8s.io/v1beta1";
/// The `kind` of a request.
pub const REQUEST_KIND: &str = "CredentialProviderRequest";
/// The `kind` of a response.
pub const RESPONSE_KIND: &str = "CredentialProviderResponse";
/// The service-account annotation naming the IAM role to pull images as.
pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/ecr-role-arn";
/// The environment variable naming the IAM role to pull images as when the
/// request carries a service-account token but no [`ROLE_ANNOTATION`].
pub const ROLE_ARN_ENV: &str = "AWS_ECR_ROLE_ARN";
/// The role session name when `AWS_ROLE_SESSION_NAME` is not set.
pub const DEFAULT_SESSION_NAME: &str = "ecr-login-kubelet";
/// Below this remaining validity the answer is not cached (`cacheDuration: 0s`).
pub const MIN_CACHEABLE: Duration = Duration::from_secs(60);
/// The largest request read from stdin.
pub const MAX_REQUEST: u64 = 1024 * 1024;

/// What the identity fingerprint records in place of a token file path, so
/// that the cache is keyed by the role.
const TOKEN_FILE_LABEL: &str = "kubelet:serviceAccountToken";

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

fn bad(msg: impl Into<String>) -> Error {
    Error::Usage(format!("kubelet request: {}", msg.into()))
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

/// How long kubelet may keep a login expiring at `expires_at`: half the
/// remaining validity in whole seconds, or zero below [`MIN_CACHEABLE`].
pub fn cache_duration(expires_at: SystemTime, now: SystemTime) -> Duration {
    let remaining = expires_at.duration_since(now).unwrap_or_default();
    if remaining < MIN_CACHEABLE {
        return Duration::ZERO;
    }
    Duration::from_secs(remaining.as_secs() / 2)
}

/// A whole-second duration the way Go's `time.Duration.String` writes it:
/// `6h0m0s`, `4m10s`, `45s`, `0s`.
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// One entry of a response's `auth` map.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuthConfig {
    /// Registry user name (`AWS`).
    pub username: String,
    /// Registry password.
    pub password: Secret,
}

/// A `CredentialProviderResponse`. `Debug` hides the password.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// Always [`RESPONSE_KIND`].
    pub kind: &'static str,
    /// The request's version.
    pub api_version: &'static str,
    /// Always `Registry`: the login is good for every image of the registry.
    pub cache_key_type: &'static str,
    /// See [`cache_duration`], as a Go duration string.
    pub cache_duration: String,
    /// Registry host → login.
    pub auth: BTreeMap<String, AuthConfig>,
}

impl Response {
    /// The JSON text kubelet reads (one line, newline-terminated).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self)
            .map(|s| s + "\n")
            .map_err(|e| Error::Io(format!("cannot encode the kubelet response: {e}")))
    }
}

/// The response to `request` with `login`, at time `now`.
pub fn response(request: &Request, login: &Login, now: SystemTime) -> Response {
    let mut auth = BTreeMap::new();
    auth.insert(
        request.registry.host().to_string(),
        AuthConfig {
            username: login.username.clone(),
            password: login.password.clone(),
        },
    );
    Response {
        kind: RESPONSE_KIND,
        api_version: request.api_version.as_str(),
        cache_key_type: "Registry",
        cache_duration: go_duration(cache_duration(login.expires_at, now)),
        auth,
    }
}

/// The identity a token fetched as `role_arn` is cached under: web identity
/// for the role, as [`Identity::resolve_with`] describes it with no shared
/// files and none of the node's credential variables, with a fixed label
/// instead of a token file path. So the cache is keyed by the role ARN (and
/// the endpoint overrides in `var`), not by the pod or its token.
///
/// That key is only safe because every request is checked by STS first:
/// [`pull_as`]'s caller must have STS accept the pod's token for the role
/// ([`crate::ecr::TokenSource::assume_role_with_web_identity`]) before it
/// looks at the cache.
pub fn role_identity(role_arn: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<Identity> {
    Ok(Identity::resolve_with(
        &ProfileSet::default(),
        &|name| match name {
            env::AWS_WEB_IDENTITY_TOKEN_FILE => Some(TOKEN_FILE_LABEL.to_string()),
            env::AWS_ROLE_ARN => Some(role_arn.to_string()),
            env::AWS_ACCESS_KEY_ID
            | env::AWS_SECRET_ACCESS_KEY
            | env::AWS_SESSION_TOKEN
            | env::AWS_PROFILE
            | env::AWS_VAULT => None,
            _ => var(name),
        },
    )?)
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
            assert!(matches!(parse_request(&v1(image)), Err(Error::NotEcr(_))));
        }
    }

    #[test]
    fn role_identities_are_keyed_by_role_and_endpoints() {
        let vars = |extra: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                [
                    ("AWS_ACCESS_KEY_ID", "AKIDNODE"),
                    ("AWS_SECRET_ACCESS_KEY", "node-secret"),
                    ("AWS_PROFILE", "node"),
                    (
                        "AWS_WEB_IDENTITY_TOKEN_FILE",
                        "/tmp/ecr-login-kubelet-abc/token",
                    ),
                ]
                .iter()
                .chain(extra)
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
            }
        };
        let a = role_identity(ROLE, &vars(&[])).unwrap();
        assert_eq!(a.source, crate::identity::SourceKind::WebIdentity);
        assert!(a.label.contains(ROLE), "{}", a.label);
        let other_file = role_identity(
            ROLE,
            &vars(&[(
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "/tmp/ecr-login-kubelet-xyz/token",
            )]),
        )
        .unwrap();
        assert_eq!(a.fingerprint, other_file.fingerprint);
        let other_role = role_identity("arn:aws:iam::123456789012:role/other", &vars(&[])).unwrap();
        assert_ne!(a.fingerprint, other_role.fingerprint);
        let endpoint = role_identity(
            ROLE,
            &vars(&[("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1")]),
        )
        .unwrap();
        assert_ne!(a.fingerprint, endpoint.fingerprint);
        // Not the node's identity.
        let node = Identity::resolve_with(&ProfileSet::default(), &vars(&[])).unwrap();
        assert_ne!(a.fingerprint, node.fingerprint);
    }

    #[test]
    fn cache_duration_is_half_the_remaining_validity() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!(cache_duration(now + h(12), now), h(6));
        assert_eq!(
            cache_duration(now + Duration::from_millis(7_201_999), now),
            Duration::from_secs(3600)
        );
        assert_eq!(
            cache_duration(now + Duration::from_secs(61), now),
            Duration::from_secs(30)
        );
        assert_eq!(
            cache_duration(now + Duration::from_secs(59), now),
            Duration::ZERO
        );
        assert_eq!(cache_duration(now - h(1), now), Duration::ZERO);
    }

    #[test]
    fn go_duration_strings() {
        for (secs, want) in [
            (0, "0s"),
            (45, "45s"),
            (60, "1m0s"),
            (250, "4m10s"),
            (3600, "1h0m0s"),
            (21_540, "5h59m0s"),
            (21_600, "6h0m0s"),
            (43_199, "11h59m59s"),
            (100 * 3600, "100h0m0s"),
        ] {
            assert_eq!(go_duration(Duration::from_secs(secs)), want);
        }
    }

    #[test]
    fn response_in_the_request_version_with_a_redacted_debug() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let login = Login {
            username: "AWS".into(),
            password: Secret::new("ecr-password-value"),
            expires_at: now + Duration::from_secs(12 * 3600),
        };
        let beta = format!(
            r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"https://{HOST}/app:1"}}"#
        );
        // "https://" makes the first component "https:": not a host.
        assert!(parse_request(&beta).is_err());
        let request = parse_request(&beta.replace("https://", "")).unwrap();
        let r = response(&request, &login, now);
        assert_eq!(
            r.to_json().unwrap(),
            format!("{{\"kind\":\"CredentialProviderResponse\",\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1beta1\",\"cacheKeyType\":\"Registry\",\"cacheDuration\":\"6h0m0s\",\"auth\":{{\"{HOST}\":{{\"username\":\"AWS\",\"password\":\"ecr-password-value\"}}}}}}\n")
        );
        assert!(!format!("{r:?}").contains("ecr-password-value"));
        let request = parse_request(&v1(&format!("{HOST}/app"))).unwrap();
        let json: Value =
            serde_json::from_str(&response(&request, &login, now).to_json().unwrap()).unwrap();
        assert_eq!(json["apiVersion"], API_V1);
    }
}
