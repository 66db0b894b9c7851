//! Durations as scenario files write them: `"90s"`, `"500ms"`, `"1.5s"`, `"50us"`, `"2m"`.
//!
//! Parsing is exact: the decimal is read as digits, never through a float, so `"0.61328125s"`
//! is 613_281_250 ns. A value finer than a nanosecond is an error, not a rounding.

use std::time::Duration;

/// Units in the order they are tried (longest suffix first so `ms` wins over `s`).
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses `"<number><unit>"` with unit `ns`, `us`/`µs`, `ms`, `s`, `m` or `h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration; write e.g. \"90s\" or \"500ms\"".into());
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{t}` has no unit; write e.g. \"{t}s\" or \"{t}ms\""))?;
    let (number, unit) = t.split_at(split);
    let unit = unit.trim();
    let scale = UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, s)| *s)
        .ok_or_else(|| format!("`{t}`: unknown unit `{unit}` (use ns, us, ms, s, m or h)"))?;
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() || frac.contains('.') || (number.contains('.') && frac.is_empty()) {
        return Err(format!("`{t}` is not a number followed by a unit"));
    }
    if frac.len() > 18 {
        return Err(format!("`{t}` has too many decimals"));
    }
    let whole: u128 = whole
        .parse()
        .map_err(|_| format!("`{t}` is not a number followed by a unit"))?;
    let frac_digits: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse()
            .map_err(|_| format!("`{t}` is not a number followed by a unit"))?
    };
    let denom = 10u128.pow(frac.len() as u32);
    let frac_ns = frac_digits * scale;
    if !frac_ns.is_multiple_of(denom) {
        return Err(format!("`{t}` is finer than a nanosecond"));
    }
    let nanos = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_ns / denom))
        .filter(|n| *n <= u64::MAX as u128)
        .ok_or_else(|| format!("`{t}` is too long"))?;
    Ok(Duration::from_nanos(nanos as u64))
}

/// Formats nanoseconds as exact seconds with the trailing zeros trimmed: `30.61328125s`.
pub fn format_nanos(nanos: u64) -> String {
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    if frac == 0 {
        format!("{secs}s")
    } else {
        let f = format!("{frac:09}");
        format!("{secs}.{}s", f.trim_end_matches('0'))
    }
}

/// [`format_nanos`] for a [`Duration`].
pub fn format_duration(d: Duration) -> String {
    format_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("50us").unwrap(), Duration::from_micros(50));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        // The VRRPv2 skew for priority 99: 157/256 s.
        assert_eq!(
            parse_duration("0.61328125s").unwrap(),
            Duration::from_nanos(613_281_250)
        );
        assert_eq!(
            parse_duration("3.61328125s").unwrap(),
            Duration::from_nanos(3_613_281_250)
        );
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "90",
            "s",
            "1.s",
            ".5s",
            "1..5s",
            "5 parsecs",
            "0.0000000001s",
            "-1s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should fail");
        }
        assert!(parse_duration("90").unwrap_err().contains("no unit"));
    }

    #[test]
    fn formats_trimmed() {
        assert_eq!(format_nanos(30_613_281_250), "30.61328125s");
        assert_eq!(format_nanos(0), "0s");
        assert_eq!(format_nanos(1_500_000_000), "1.5s");
    }
}
