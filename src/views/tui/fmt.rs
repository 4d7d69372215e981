//! Numbers and times as the dashboard prints them. Times are UTC on screen unless `--tz`
//! names a zone ([`Clock`]; the status bar says which), so a capture shows the same clock on
//! every machine.

use crate::observer::words::Zone;
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

/// Bytes in decimal units: "812 B", "4.2 kB", "185 kB", "1.3 MB": the report's own words
/// ([`crate::observer::words::bytes`]), so the dashboard and the report never disagree.
pub fn bytes(b: u64) -> String {
    crate::observer::words::bytes(b)
}

/// "1 flow", "2 flows": a count with its noun, thousands separated.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// The clock times on screen are read in: UTC unless `--tz` names a zone. The zone's rules
/// are the report's ([`Zone`]), so the dashboard and the report give an instant the same time.
#[derive(Clone, Debug)]
pub struct Clock {
    zone: Zone,
    utc: bool,
}

impl Default for Clock {
    fn default() -> Self {
        Self::utc()
    }
}

impl Clock {
    /// UTC, the dashboard's clock unless `--tz` names another.
    pub fn utc() -> Self {
        Self {
            zone: Zone::utc(),
            utc: true,
        }
    }

    /// The clock of a zone resolved from `--tz` ([`Zone::resolve`]).
    pub fn new(zone: Zone) -> Self {
        let utc = zone.info.name.eq_ignore_ascii_case("utc");
        Self { zone, utc }
    }

    /// The zone, for the observer's sentences and the exported report.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// What the status bar and titles call the zone: "UTC", "Europe/Lisbon".
    pub fn label(&self) -> &str {
        if self.utc {
            "UTC"
        } else {
            &self.zone.info.name
        }
    }

    /// "21:04:12".
    pub fn time(&self, ts: f64) -> String {
        if self.utc {
            time(ts)
        } else {
            self.zone.time_secs(ts)
        }
    }

    /// "2026-03-03 21:04:12".
    pub fn datetime(&self, ts: f64) -> String {
        if self.utc {
            datetime(ts)
        } else {
            format!("{} {}", self.zone.day_key(ts), self.zone.time_secs(ts))
        }
    }

    /// A flow as the outputs write it ("udp 192.168.1.2:50000 157.240.1.1:3478
    /// 1700000000.123456"), with its time read on this clock: "udp 192.168.1.2:50000 →
    /// 157.240.1.1:3478 at 21:04:12". Text of another form is returned as it is.
    pub fn flow_ref(&self, written: &str) -> String {
        let parts: Vec<&str> = written.split(' ').collect();
        match parts.as_slice() {
            [proto, client, server, ts] => match ts.parse::<f64>() {
                Ok(t) => format!("{proto} {client} → {server} at {}", self.time(t)),
                Err(_) => written.to_string(),
            },
            _ => written.to_string(),
        }
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
    fn a_zone_moves_the_clock_and_flow_references_read_as_times() {
        let tokyo = Clock::new(Zone::resolve(Some("Asia/Tokyo")).unwrap_or_else(|_| Zone::utc()));
        assert_eq!(tokyo.label(), "Asia/Tokyo");
        // 2000-02-29 12:34:56 UTC is 21:34:56 in Tokyo.
        assert_eq!(tokyo.datetime(951_827_696.0), "2000-02-29 21:34:56");
        let utc = Clock::utc();
        assert_eq!(utc.label(), "UTC");
        assert_eq!(
            utc.flow_ref("udp 10.0.0.2:5000 157.240.1.1:3478 951827696.250000"),
            "udp 10.0.0.2:5000 → 157.240.1.1:3478 at 12:34:56"
        );
        assert_eq!(utc.flow_ref("not a reference"), "not a reference");
    }

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
        assert_eq!(bytes(185_000), "185 kB", "the report's convention");
        assert_eq!(counted(1, "flow", "flows"), "1 flow");
        assert_eq!(counted(1_200, "flow", "flows"), "1,200 flows");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
