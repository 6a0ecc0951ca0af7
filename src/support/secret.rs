//! A string that must never be printed: passwords, tokens, keys.

use std::fmt;

/// A secret value. `Debug` and `Display` print `****`; the value comes out only
/// through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value. Call it only where the value is meant to leave the process
    /// (the protocol's stdout, the cache file, an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Serializes the raw value, for a field that says so:
    /// `#[serde(serialize_with = "Secret::serialize_exposed")]`. Persisting or
    /// sending a secret is a decision made at the field (the cache file, the
    /// kubelet's answer), not something a `derive(Serialize)` does on its own.
    pub fn serialize_exposed<S: serde::Serializer>(
        secret: &Secret,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&secret.0)
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Temporary AWS credentials handed out by STS (a pod's role, for example).
/// `Debug` shows the access key id only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    /// The access key id (not a secret: it names the key).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token.
    pub session_token: Secret,
    /// When STS says they expire.
    pub expires_at: Option<std::time::SystemTime>,
}

#[cfg(test)]
mod tests {
    use super::{Secret, SessionCredentials};

    #[test]
    fn session_credentials_debug_shows_only_the_key_id() {
        let c = SessionCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("secret-key-value"),
            session_token: Secret::new("session-token-value"),
            expires_at: None,
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("ASIAEXAMPLE"), "{shown}");
        assert!(!shown.contains("secret-key-value"), "{shown}");
        assert!(!shown.contains("session-token-value"), "{shown}");
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("hunter2-password");
        assert_eq!(format!("{s:?}"), "****");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(format!("{:?}", Some(&s)), "Some(****)");
        assert_eq!(s.expose(), "hunter2-password");
    }
}
