//! Parsing a `CredentialProviderRequest` and choosing whose credentials
//! pull its image.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    KubeletError, API_V1, API_V1BETA1, IRSA_ROLE_ANNOTATION, REQUEST_KIND, ROLE_ANNOTATION,
    ROLE_ARN_ENV,
};
use crate::core::registry::{NotEcr, Registry};
use crate::core::regmap::MapFile;
use crate::support::secret::Secret;

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
    /// The ECR registry of the image (through an alias, if one applies).
    pub registry: Registry,
    /// The key of the response's `auth` map: the image's registry as kubelet
    /// matches it, case-sensitively and with its port: the host as the image
    /// writes it (`docker.io` for Docker Hub images).
    pub auth_host: String,
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
/// of its image, with no aliases. Errors say what was expected; they never
/// repeat the token.
pub fn parse_request(input: &str) -> Result<Request> {
    parse_request_with(input, &MapFile::default())
}

/// [`parse_request`] with the aliases of `config`: an image whose registry
/// is an alias is pulled with the alias's ECR registry.
pub fn parse_request_with(input: &str, config: &MapFile) -> Result<Request> {
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
    let (auth_host, registry) = image_registry_with(&image, config)?;
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
        auth_host,
        service_account_token,
        service_account_annotations,
    })
}

/// The ECR registry of an image reference (`host/repo:tag`, `host/repo@sha256:…`).
/// A reference whose first component is not a host (no `.` or `:`, not
/// `localhost`) is on Docker Hub, like `nginx:latest` or `library/nginx`.
pub fn image_registry(image: &str) -> Result<Registry> {
    image_registry_with(image, &MapFile::default()).map(|(_, registry)| registry)
}

/// The registry of an image as kubelet names it (its first component as
/// written, letter case and port kept, or `docker.io` for a Docker Hub image), and the ECR registry
/// that serves it: itself, or through an alias of `config`.
pub fn image_registry_with(image: &str, config: &MapFile) -> Result<(String, Registry)> {
    // Echo at most 200 characters of the image, escaped.
    let shown = match image.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", image[..at].escape_debug()),
        None => image.escape_debug().to_string(),
    };
    let named = image
        .split_once('/')
        .map(|(first, _)| first)
        .filter(|first| first.contains('.') || first.contains(':') || *first == "localhost");
    let Some(first) = named else {
        return match config.alias_for("docker.io") {
            Some(alias) => Registry::parse(&alias.registry)
                .map(|r| ("docker.io".to_string(), r))
                .map_err(Into::into),
            None => Err(NotEcr {
                reason: format!("image \"{shown}\" is on Docker Hub, not in an ECR registry"),
            }
            .into()),
        };
    };
    match crate::core::resolve::registry_for(first, config) {
        // kubelet matches the `auth` key against the image's host
        // case-sensitively and port included: key it as written.
        Ok((registry, _)) => Ok((first.to_string(), registry)),
        Err(e) => Err(NotEcr {
            reason: format!("{} (image \"{shown}\")", e.reason),
        }
        .into()),
    }
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
/// [`ROLE_ANNOTATION`] annotation, else of the [`IRSA_ROLE_ANNOTATION`]
/// annotation, else `env_role` (from [`ROLE_ARN_ENV`]), assumed with the
/// request's service-account token; without a token or a role,
/// [`PullAs::Ambient`]. A role that is not an IAM role ARN is an error.
pub fn pull_as(request: &Request, env_role: Option<&str>) -> Result<PullAs> {
    let annotation = |name: &'static str| {
        request
            .service_account_annotations
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|role| (role, name))
    };
    let from_annotation = annotation(ROLE_ANNOTATION).or_else(|| annotation(IRSA_ROLE_ANNOTATION));
    let (role, origin) = match (from_annotation, env_role.map(str::trim)) {
        (Some((r, name)), _) => (r, format!("annotation {name}")),
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
mod tests;
