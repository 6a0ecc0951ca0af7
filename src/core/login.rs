//! A registry login: user name, password, and when it stops working. What
//! the token source fetches, the cache keeps and every front end hands out.

use std::time::SystemTime;

use base64::Engine as _;

use crate::support::secret::Secret;

/// A registry login. `Debug` hides the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Registry user name (`AWS` for ECR).
    pub username: String,
    /// Registry password.
    pub password: Secret,
    /// When it expires.
    pub expires_at: SystemTime,
}

impl Login {
    /// Decodes ECR's base64 `user:password` authorization token.
    pub fn decode(token: &str, expires_at: SystemTime) -> Result<Login, &'static str> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| "the authorization token is not base64")?;
        let text = String::from_utf8(raw).map_err(|_| "the authorization token is not UTF-8")?;
        let (user, password) = text
            .split_once(':')
            .ok_or("the authorization token has no ':' between user and password")?;
        if user.is_empty() || password.is_empty() {
            return Err("the authorization token has an empty user or password");
        }
        Ok(Login {
            username: user.to_string(),
            password: Secret::new(password),
            expires_at,
        })
    }

    /// The base64 `user:password` form used in `Authorization: Basic` headers.
    pub fn basic_auth(&self) -> Secret {
        Secret::new(base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.username,
            self.password.expose()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_decode_and_reject_garbage() {
        let at = SystemTime::UNIX_EPOCH;
        let ok = Login::decode("QVdTOnBhc3N3b3Jk", at).unwrap();
        assert_eq!(
            (ok.username.as_str(), ok.password.expose()),
            ("AWS", "password")
        );
        assert_eq!(ok.basic_auth().expose(), "QVdTOnBhc3N3b3Jk");
        for bad in [
            "not base64!",
            "QVdTcGFzc3dvcmQ=", /* AWSpassword */
            "OnBhc3M=",         /* :pass */
            "QVdTOg==",         /* AWS: */
            "//79",
        ] {
            assert!(Login::decode(bad, at).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_of_a_login_hides_the_password() {
        let t = Login::decode("QVdTOnBhc3N3b3Jk", SystemTime::UNIX_EPOCH).unwrap();
        assert!(!format!("{t:?}").contains("password\""));
        assert!(format!("{t:?}").contains("****"));
    }
}
