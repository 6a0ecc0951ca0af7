//! Time as the cache and session files store it: whole seconds since the
//! Unix epoch. One conversion each way, for every file format.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch (0 for times before it).
pub fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The time `secs` seconds after the epoch, or `None` past what
/// `SystemTime` can hold.
pub fn at(secs: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// `5h 59m`, `4m 10s`, `45s`: a duration for people.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

/// `2026-12-01T21:00:00Z`: RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: SystemTime) -> String {
    let s = secs(t);
    let (days, rem) = (s / 86_400, s % 86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_bounds() {
        assert_eq!(secs(UNIX_EPOCH - Duration::from_secs(5)), 0);
        assert_eq!(at(1_700_000_000).map(secs), Some(1_700_000_000));
        assert_eq!(at(u64::MAX), None);
        assert_eq!(human(Duration::from_secs(45)), "45s");
        assert_eq!(human(Duration::from_secs(250)), "4m 10s");
        assert_eq!(human(Duration::from_secs(6 * 3600 - 60)), "5h 59m");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(951_782_400).unwrap()), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(at(1_764_622_800).unwrap()), "2025-12-01T21:00:00Z");
        assert_eq!(rfc3339(at(4_102_444_799).unwrap()), "2099-12-31T23:59:59Z");
    }
}
