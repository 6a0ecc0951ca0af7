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
    }
}
