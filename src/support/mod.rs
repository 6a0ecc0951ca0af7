//! Small support modules the rest builds on.
//!
//! - [`secret`]: values that never print ([`secret::Secret`]);
//! - [`redact`]: making text from elsewhere safe to show;
//! - [`log`]: diagnostics on stderr and in `AWS_ECR_LOG_FILE`;
//! - [`safe_fs`]: opening files in shared places without following links
//!   planted by someone else;
//! - [`time`]: seconds since the epoch, and durations for people;
//! - [`hex`]: lower-case hex, for fingerprints and file names.

pub(crate) mod log;
pub mod redact;
pub(crate) mod safe_fs;
pub(crate) mod secret;
pub(crate) mod time;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
