//! How numbers, durations and times read in comments.

use chrono::{DateTime, Utc};

/// A duration in the compact form the comments use: `45s`, `3m 15s`, `12m`, `2h 5m`, `1h`,
/// `3d 4h 5m`. Negative durations (clock skew) read as `0s`.
pub fn duration(seconds: i64) -> String {
    let total = seconds.max(0);
    let (days, hours, minutes, secs) = (
        total / 86_400,
        total % 86_400 / 3_600,
        total % 3_600 / 60,
        total % 60,
    );
    // The largest unit is always shown; smaller ones only when non-zero. Seconds stop mattering
    // past an hour.
    let units: [(i64, &str); 4] = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")];
    let largest = units.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    let smallest = if largest <= 1 { 2 } else { 3 };
    units[largest..=smallest.max(largest)]
        .iter()
        .enumerate()
        .filter(|(i, (n, _))| *i == 0 || *n > 0)
        .map(|(_, (n, unit))| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The time between two instants, formatted by [`duration`].
pub fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    duration((to - from).num_seconds())
}

/// A number with thousands separators: `45000` → `45,000`.
pub fn thousands(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let groups: Vec<String> = digits
        .rchunks(3)
        .rev()
        .map(|group| group.iter().collect())
        .collect();
    groups.join(",")
}

/// A UTC timestamp as comments show it: `2026-05-15 12:34:56 UTC`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn durations_use_the_two_largest_useful_units() {
        let cases = [
            (-5, "0s"),
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (195, "3m 15s"),
            (725, "12m 5s"),
            (3_600, "1h"),
            (3_600 + 5 * 60 + 9, "1h 5m"),
            (86_400, "1d"),
            (86_400 + 4 * 3_600 + 5 * 60, "1d 4h 5m"),
            (2 * 86_400 + 5 * 60, "2d 5m"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(duration(seconds), expected, "{seconds}s");
        }
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(45_000), "45,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn timestamps_are_utc_with_seconds() {
        let at = Utc.with_ymd_and_hms(2026, 5, 15, 12, 34, 56).unwrap();
        assert_eq!(timestamp(at), "2026-05-15 12:34:56 UTC");
        assert_eq!(elapsed(at, at + chrono::Duration::seconds(725)), "12m 5s");
    }
}
