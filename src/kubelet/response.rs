//! The `CredentialProviderResponse`: the login, for how long kubelet may
//! keep it, in the request's API version.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::{KubeletError, Request, RESPONSE_KIND};
use crate::core::login::Login;
use crate::support::secret::Secret;

/// Below this remaining validity the answer is not cached (`cacheDuration: 0s`).
pub const MIN_CACHEABLE: Duration = Duration::from_secs(60);

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
    /// Registry password (the answer to the kubelet: explicitly).
    #[serde(serialize_with = "Secret::serialize_exposed")]
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
    pub fn to_json(&self) -> Result<String, KubeletError> {
        serde_json::to_string(self)
            .map(|s| s + "\n")
            .map_err(KubeletError::Response)
    }
}

/// The response to `request` with `login`, at time `now`.
pub fn response(request: &Request, login: &Login, now: SystemTime) -> Response {
    let mut auth = BTreeMap::new();
    auth.insert(
        request.auth_host.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet::{parse_request, API_V1};
    use serde_json::Value;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    /// A request as kubelet 1.26+ sends it (no token attributes configured).
    fn v1(image: &str) -> String {
        format!(
            r#"{{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"{image}"}}"#
        )
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
