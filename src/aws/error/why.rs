//! Why AWS or the network refused a request, told apart from plain denials:
//! an endpoint name that does not resolve, credentials AWS does not accept,
//! a clock that is off (and by how much, from SigV4's time error), and the
//! texts that say so.

use std::time::Duration;

use super::{first_line, FetchError};

pub(super) fn busy_mfa(profile: Option<&str>) -> String {
    profile.map_or(String::new(), |p| {
        format!(
            " (it is likely waiting for the MFA code of profile {p}: enter the code at its prompt)"
        )
    })
}

/// Whether a connection error's chain is a failed DNS lookup (hyper's
/// connector says `dns error`).
pub(crate) fn is_dns_failure(chain: &str) -> bool {
    chain.contains("dns error")
}

/// Whether a DNS failure is the resolver's (no answer: EAI_AGAIN), not the
/// name's (no such name).
pub(super) fn is_temporary_dns(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("temporary failure") || d.contains("try again")
}

pub(super) fn unresolved_message(
    host: &str,
    region: &str,
    partition: &str,
    overridden_by: Option<&str>,
    detail: &str,
) -> String {
    let from = overridden_by.map_or(String::new(), |v| format!(" (from {v})"));
    let why = if is_temporary_dns(detail) {
        "the DNS lookup got no answer (check the network and DNS)"
    } else {
        "no such DNS name"
    };
    let names_region = host.split('.').any(|label| label == region);
    let fix = match overridden_by {
        Some(var) if !names_region => format!("check {var}"),
        Some(var) => format!(
            "region {region} looks wrong for the {partition} partition: check the region in the registry's hostname and {var}"
        ),
        None => format!(
            "region {region} looks wrong for the {partition} partition: check the region in the registry's hostname"
        ),
    };
    format!("the ECR endpoint {host}{from} does not resolve ({why}; not retried): {fix}")
}

/// What to do about credentials AWS rejected, by the error's code.
pub(super) fn rejected_advice(code: &str) -> &'static str {
    match code {
        "ExpiredTokenException" | "ExpiredToken" => {
            "the session token has expired; refresh them (sign in again, or get new temporary keys)"
        }
        "InvalidSignatureException" | "SignatureDoesNotMatch" => {
            "the secret access key does not match the access key id; check or refresh them"
        }
        _ => "AWS does not know the access key or session token (deleted, mistyped, from another partition, or a stale AWS_SESSION_TOKEN); refresh them",
    }
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

pub(super) fn skew_message(skew: Option<i64>, detail: &str) -> String {
    let fix = "set the clock right (turn on NTP) and try again";
    match skew {
        Some(s) => {
            let by = crate::support::time::human(Duration::from_secs(s.unsigned_abs()));
            let way = if s < 0 { "behind" } else { "ahead of" };
            format!("AWS refused the request's signature because of its time: this machine's clock is {by} {way} AWS's ({detail}): {fix}")
        }
        None => format!(
            "AWS refused the request's signature because of its time: this machine's clock is off ({detail}): {fix}"
        ),
    }
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

    #[test]
    fn an_unresolved_endpoint_names_the_region_or_the_override() {
        let nx = "failed to lookup address information: Name or service not known";
        let text = unresolved_message(
            "api.ecr.us-east-7.amazonaws.com",
            "us-east-7",
            "aws",
            None,
            nx,
        );
        assert!(
            text.contains("region us-east-7 looks wrong for the aws partition"),
            "{text}"
        );
        assert!(!text.contains("AWS_ENDPOINT_URL"), "{text}");
        let text = unresolved_message(
            "vpce-1.example.internal",
            "us-east-1",
            "aws",
            Some("AWS_ENDPOINT_URL_ECR"),
            nx,
        );
        assert!(
            text.contains("(from AWS_ENDPOINT_URL_ECR)")
                && text.ends_with("check AWS_ENDPOINT_URL_ECR"),
            "{text}"
        );
        assert!(!text.contains("looks wrong"), "{text}");
        let again = "failed to lookup address information: Temporary failure in name resolution";
        let text = unresolved_message(
            "api.ecr.us-east-1.amazonaws.com",
            "us-east-1",
            "aws",
            None,
            again,
        );
        assert!(
            text.contains("got no answer (check the network and DNS)"),
            "{text}"
        );
        let e = |detail: &str| FetchError::Unresolved {
            host: "h".into(),
            region: "r".into(),
            partition: "aws",
            overridden_by: None,
            detail: detail.into(),
        };
        assert!(!e(nx).is_transient());
        assert!(e(again).is_transient());
    }
}
