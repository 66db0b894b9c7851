//! Exact time formatting shared by every output.

/// Nanoseconds as seconds with trailing zeros trimmed: `30.61328125s`, `0s`.
pub fn secs(nanos: u64) -> String {
    let s = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{frac:09}");
        format!("{s}.{}s", f.trim_end_matches('0'))
    }
}

/// A delay after a reference: `+0.61333125s`.
pub fn delta(nanos: u64) -> String {
    format!("+{}", secs(nanos))
}

#[cfg(test)]
mod tests {
    #[test]
    fn exact() {
        assert_eq!(super::secs(30_613_281_250), "30.61328125s");
        assert_eq!(super::secs(3_000_000_000), "3s");
        assert_eq!(super::delta(50_000), "+0.00005s");
    }
}
