//! Why AWS or the network refused a request, told apart from plain denials:
//! an endpoint name that does not resolve, credentials AWS does not accept,
//! a clock that is off (and by how much, from SigV4's time error). The texts
//! that say so are [`FetchError`]'s, in the core.

use super::first_line;
use crate::core::source::FetchError;

/// Whether a connection error's chain is a failed DNS lookup (hyper's
/// connector says `dns error`).
pub(crate) fn is_dns_failure(chain: &str) -> bool {
    chain.contains("dns error")
}

/// The API's verdict on a request's credentials or time, if that is what
/// its error `code` and `message` say: [`FetchError::ClockSkew`] or
/// [`FetchError::Rejected`] (credentials from `label`).
pub(crate) fn credentials_refused(code: &str, message: &str, label: &str) -> Option<FetchError> {
    const SKEW: [&str; 3] = [
        "Signature expired",
        "Signature not yet current",
        "too large", // "the difference between the request time and the current time is too large"
    ];
    let skewed = matches!(code, "RequestTimeTooSkewed" | "RequestExpired")
        || (matches!(code, "InvalidSignatureException" | "SignatureDoesNotMatch")
            && SKEW.iter().any(|s| message.contains(s)));
    if skewed {
        return Some(FetchError::ClockSkew {
            skew: clock_skew(message),
            detail: first_line(message),
        });
    }
    matches!(
        code,
        "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "ExpiredTokenException"
            | "ExpiredToken"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "InvalidAccessKeyId"
    )
    .then(|| FetchError::Rejected {
        source_label: label.to_string(),
        code: code.to_string(),
        detail: first_line(message),
    })
}

/// This clock minus AWS's, in seconds, from a SigV4 time error: `Signature
/// expired: SIGNED is now earlier than LIMIT (NOW - 15 min.)` or `Signature
/// not yet current: SIGNED is still later than LIMIT (NOW + 15 min.)`.
pub(super) fn clock_skew(message: &str) -> Option<i64> {
    let times: Vec<i64> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(amz_date)
        .collect();
    let fifteen = 15 * 60;
    match times.as_slice() {
        [signed, _, now, ..] => Some(signed - now),
        [signed, limit] if message.contains("earlier") => Some(signed - (limit + fifteen)),
        [signed, limit] if message.contains("later") => Some(signed - (limit - fifteen)),
        _ => None,
    }
}

/// `20261201T103000Z` (SigV4's time format) as seconds since the epoch.
pub(super) fn amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigv4_time_errors_give_the_skew() {
        let cases = [
            ("Signature expired: 20261201T100000Z is now earlier than 20261201T103500Z (20261201T105000Z - 15 min.)", Some(-3000)),
            ("Signature not yet current: 20261201T120000Z is still later than 20261201T111500Z (20261201T110000Z + 15 min.)", Some(3600)),
            ("Signature expired: 20261201T100000Z is now earlier than 20261201T103500Z", Some(-3000)),
            ("Signature expired: 20260228T235959Z is now earlier than 20260301T000000Z (20260301T001500Z - 15 min.)", Some(-901)),
            ("The difference between the request time and the current time is too large.", None),
            ("Signature expired: 2026120T100000Z is now earlier", None),
        ];
        for (message, skew) in cases {
            assert_eq!(clock_skew(message), skew, "{message}");
        }
        assert_eq!(amz_date("19700101T000000Z"), Some(0));
        assert_eq!(amz_date("20000229T000000Z"), Some(951_782_400));
        assert_eq!(amz_date("20261301T000000Z"), None);
    }

    #[test]
    fn refusals_are_told_apart_by_code_and_message() {
        let label = "profile dev (shared credentials)";
        let kind = |code: &str, message: &str| match credentials_refused(code, message, label) {
            Some(FetchError::ClockSkew { .. }) => "skew",
            Some(FetchError::Rejected { .. }) => "rejected",
            Some(_) => "other",
            None => "none",
        };
        assert_eq!(
            kind("InvalidSignatureException", "Signature expired: x"),
            "skew"
        );
        assert_eq!(
            kind("SignatureDoesNotMatch", "Signature not yet current: x"),
            "skew"
        );
        assert_eq!(kind("RequestTimeTooSkewed", "anything"), "skew");
        assert_eq!(
            kind(
                "InvalidSignatureException",
                "The request signature we calculated does not match"
            ),
            "rejected"
        );
        assert_eq!(
            kind(
                "UnrecognizedClientException",
                "The security token included in the request is invalid."
            ),
            "rejected"
        );
        assert_eq!(kind("AccessDeniedException", "not authorized"), "none");
        let text = credentials_refused(
            "ExpiredTokenException",
            "The security token included in the request is expired",
            label,
        )
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            text.contains(label) && text.contains("has expired") && text.contains("refresh"),
            "{text}"
        );
    }
}
