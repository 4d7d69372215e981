//! Numbers and times as the dashboard prints them. Times are UTC everywhere on screen (the
//! status bar says so), so a capture shows the same clock on every machine.

use crate::session::Speed;

/// Days since 1970-01-01 to a civil (year, month, day), proleptic Gregorian calendar
/// (the era-based method described by H. Hinnant, "chrono-Compatible Low-Level Date
/// Algorithms").
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn split(ts: f64) -> (i64, i64) {
    let secs = if ts.is_finite() { ts.floor() as i64 } else { 0 };
    (secs.div_euclid(86_400), secs.rem_euclid(86_400))
}

/// "21:04:12" (UTC).
pub fn time(ts: f64) -> String {
    let (_, s) = split(ts);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// "2026-03-03 21:04:12" (UTC).
pub fn datetime(ts: f64) -> String {
    let (d, _) = split(ts);
    let (y, m, day) = civil(d);
    format!("{y:04}-{m:02}-{day:02} {}", time(ts))
}

/// "2026-03-03" (UTC).
pub fn date(ts: f64) -> String {
    let (d, _) = split(ts);
    let (y, m, day) = civil(d);
    format!("{y:04}-{m:02}-{day:02}")
}

/// A duration: "0.4 s", "95 s", "12 min", "3.2 h".
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// Bytes in decimal units: "812 B", "4.2 kB", "1.3 MB".
pub fn bytes(b: u64) -> String {
    let f = b as f64;
    if b < 1000 {
        format!("{b} B")
    } else if f < 1e6 {
        format!("{:.1} kB", f / 1e3)
    } else if f < 1e9 {
        format!("{:.1} MB", f / 1e6)
    } else {
        format!("{:.1} GB", f / 1e9)
    }
}

/// A count with thousands separators: "12,345".
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate: "950", "12.3k", "1.2M".
pub fn rate(r: f64) -> String {
    if !r.is_finite() || r < 0.0 {
        "0".into()
    } else if r < 1e4 {
        format!("{r:.0}")
    } else if r < 1e6 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{:.1}M", r / 1e6)
    }
}

/// Cut `s` to at most `w` characters, marking a cut with "…".
pub fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(w - 1).collect();
    out.push('…');
    out
}

/// "x1", "x10", "x100", "max".
pub fn speed_label(s: Speed) -> &'static str {
    match s {
        Speed::X1 => "x1",
        Speed::X10 => "x10",
        Speed::X100 => "x100",
        Speed::Max => "max",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(datetime(0.0), "1970-01-01 00:00:00");
        // 2000-02-29 (a leap day in a century year divisible by 400) 12:34:56 UTC.
        assert_eq!(datetime(951_827_696.0), "2000-02-29 12:34:56");
        assert_eq!(datetime(-1.0), "1969-12-31 23:59:59");
    }

    #[test]
    fn numbers() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_500_000), "1.5 MB");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
