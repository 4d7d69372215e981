//! Wording: times in a chosen zone, durations, sizes, places and activity names as a person
//! reads them. Kept in the observer so that the report and the dashboard print the same
//! sentences. It must never read the clock or the network: the zone comes from the options or
//! the machine's configuration, times from packet timestamps.

use crate::model::{EventKind, SizeClass};
use jiff::tz::TimeZone;
use serde::Serialize;

/// The zone times are shown in, and where it came from.
#[derive(Clone, Debug)]
pub struct Zone {
    pub tz: TimeZone,
    pub info: ZoneInfo,
    /// Times name their date ("3 Mar 18:34") rather than their weekday ("Tue 18:34"): set by
    /// [`Zone::for_span`] for captures covering a week or more, where a weekday repeats.
    pub dated: bool,
    /// Dates also name the year: the capture covers more than one calendar year.
    pub with_year: bool,
}

/// What the report says about its zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ZoneInfo {
    /// IANA name ("Europe/Lisbon", "UTC") or the TZ rule as given.
    pub name: String,
    /// `--tz`, `TZ` (the environment variable), `/etc/localtime`, or `fallback` (no zone
    /// configured on this machine: UTC).
    pub source: String,
}

/// A `--tz` value that names no zone.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone {name:?} (use an IANA name such as Europe/Lisbon, or UTC)")]
pub struct UnknownZone {
    pub name: String,
}

impl Zone {
    /// UTC.
    pub fn utc() -> Self {
        Self {
            tz: TimeZone::UTC,
            info: ZoneInfo {
                name: "UTC".into(),
                source: "--tz".into(),
            },
            dated: false,
            with_year: false,
        }
    }

    /// The zone `name` names, or the machine's (TZ, then /etc/localtime, then UTC).
    pub fn resolve(name: Option<&str>) -> Result<Self, UnknownZone> {
        if let Some(n) = name {
            let tz = if n.eq_ignore_ascii_case("utc") {
                TimeZone::UTC
            } else {
                TimeZone::get(n).map_err(|_| UnknownZone { name: n.into() })?
            };
            return Ok(Self {
                tz,
                info: ZoneInfo {
                    name: n.to_string(),
                    source: "--tz".into(),
                },
                dated: false,
                with_year: false,
            });
        }
        let from_env = std::env::var("TZ").ok().filter(|v| !v.is_empty());
        match TimeZone::try_system() {
            Ok(tz) => {
                let name = tz
                    .iana_name()
                    .map(str::to_string)
                    .or_else(|| from_env.clone())
                    .unwrap_or_else(|| "local".into());
                Ok(Self {
                    tz,
                    info: ZoneInfo {
                        name,
                        source: if from_env.is_some() {
                            "TZ".into()
                        } else {
                            "/etc/localtime".into()
                        },
                    },
                    dated: false,
                    with_year: false,
                })
            }
            Err(_) => Ok(Self {
                tz: TimeZone::UTC,
                info: ZoneInfo {
                    name: "UTC".into(),
                    source: "fallback".into(),
                },
                dated: false,
                with_year: false,
            }),
        }
    }

    fn zoned(&self, ts: f64) -> Option<jiff::ZonedDateTime> {
        let micros = (ts * 1e6).round();
        if !micros.is_finite() {
            return None;
        }
        let t = jiff::Timestamp::from_microsecond(micros as i64).ok()?;
        Some(t.to_zoned_datetime(self.tz.clone()))
    }

    fn fmt(&self, ts: f64, f: &str) -> String {
        self.zoned(ts)
            .map(|z| z.strftime(f).to_string())
            .unwrap_or_else(|| format!("{ts:.0}"))
    }

    /// This zone, worded for a capture from `first` to `last`: when it covers
    /// [`DATED_SPAN_SECS`] or more, a weekday no longer names one day, so times name their date
    /// (and their year, when the capture covers more than one).
    pub fn for_span(&self, first: Option<f64>, last: Option<f64>) -> Self {
        let mut z = self.clone();
        if let (Some(a), Some(b)) = (first, last) {
            z.dated = b - a >= DATED_SPAN_SECS;
            z.with_year = z.dated && self.fmt(a, "%Y") != self.fmt(b, "%Y");
        }
        z
    }

    /// "Tue 21:04"; "3 Mar 21:04" (or "3 Mar 2015 21:04") in a capture of a week or more.
    pub fn day_time(&self, ts: f64) -> String {
        match (self.dated, self.with_year) {
            (false, _) => self.fmt(ts, "%a %H:%M"),
            (true, false) => self.fmt(ts, "%-d %b %H:%M"),
            (true, true) => self.fmt(ts, "%-d %b %Y %H:%M"),
        }
    }

    /// The waking day `ts` belongs to: the local day from [`DAY_START_HOUR`] to the same hour
    /// the next day, so that activity after midnight counts for the evening before. Returns
    /// the day's start and end (seconds since 1970) and its date.
    pub fn waking_day(&self, ts: f64) -> Option<(f64, f64, String)> {
        let z = self.zoned(ts)?;
        let mut date = z.date();
        if z.hour() < DAY_START_HOUR {
            date = date.yesterday().ok()?;
        }
        let at = |d: jiff::civil::Date| -> Option<f64> {
            let start = d
                .at(DAY_START_HOUR, 0, 0, 0)
                .to_zoned_datetime(self.tz.clone())
                .ok()?;
            Some(start.timestamp().as_microsecond() as f64 / 1e6)
        };
        let start = at(date)?;
        let end = at(date.tomorrow().ok()?)?;
        Some((start, end, self.date(start)))
    }

    /// "21:04".
    pub fn time(&self, ts: f64) -> String {
        self.fmt(ts, "%H:%M")
    }

    /// "21:04:07".
    pub fn time_secs(&self, ts: f64) -> String {
        self.fmt(ts, "%H:%M:%S")
    }

    /// "Tue 21:00": the local hour an instant falls in ("3 Mar 21:00" in a long capture).
    pub fn hour_label(&self, ts: f64) -> String {
        match (self.dated, self.with_year) {
            (false, _) => self.fmt(ts, "%a %H:00"),
            (true, false) => self.fmt(ts, "%-d %b %H:00"),
            (true, true) => self.fmt(ts, "%-d %b %Y %H:00"),
        }
    }

    /// "Tue 1 Dec 2026".
    pub fn date(&self, ts: f64) -> String {
        self.fmt(ts, "%a %-d %b %Y")
    }

    /// "2026-12-01T21:04:07+00:00", for JSON.
    pub fn rfc3339(&self, ts: f64) -> String {
        self.fmt(ts, "%Y-%m-%dT%H:%M:%S%:z")
    }

    /// "2026-12-01", the local calendar day.
    pub fn day_key(&self, ts: f64) -> String {
        self.fmt(ts, "%Y-%m-%d")
    }

    /// Hour of the day, 0 to 23.
    pub fn hour(&self, ts: f64) -> usize {
        self.zoned(ts)
            .map(|z| usize::try_from(z.hour()).unwrap_or(0))
            .unwrap_or(0)
            .min(23)
    }

    /// "at Tue 21:04" within one minute, else "from Tue 21:04 to 21:37" (the day repeated only
    /// when it changes).
    pub fn from_to(&self, start: f64, end: f64) -> String {
        let (a, b) = (self.day_time(start), self.day_time(end));
        if a == b {
            format!("at {a}")
        } else if self.day_key(start) == self.day_key(end) {
            format!("from {a} to {}", self.time(end))
        } else {
            format!("from {a} to {b}")
        }
    }

    /// "Tue 21:04-21:37", or "Tue 23:50-Wed 00:10" across midnight, or "Tue 21:04" when
    /// start and end fall in the same minute.
    pub fn span(&self, start: f64, end: f64) -> String {
        let (a, b) = (self.day_time(start), self.day_time(end));
        if a == b {
            a
        } else if self.day_key(start) == self.day_key(end) {
            format!("{a}-{}", self.time(end))
        } else {
            format!("{a}-{b}")
        }
    }
}

/// A capture covering this long or more names dates rather than weekdays: from a week on, the
/// same weekday names two days ("from Tue 18:34 to Tue 14:09" would read as going backwards).
/// Six days rather than seven, so that the two ends of a capture never share a weekday.
pub const DATED_SPAN_SECS: f64 = 6.0 * 86_400.0;

/// The local hour a waking day starts at. A choice, not a measurement: late-evening use often
/// runs past midnight (the issue's own example: "Signal messages every few minutes from 23:10
/// to 01:45"), and cutting days at midnight would make 00:05 the "first activity" of a day and
/// 23:59 the "last" of the one before. Four in the morning lies inside most people's night;
/// shift workers and people up at four are still misread.
pub const DAY_START_HOUR: i8 = 4;

/// "45 s", "33 min", "1 h 05 min", "2 d 3 h".
pub fn duration(secs: f64) -> String {
    if secs < 0.5 {
        return "under 1 s".to_string();
    }
    let s = secs.round() as u64;
    match s {
        0..=89 => format!("{s} s"),
        90..=3599 => format!("{} min", (s + 30) / 60),
        3600..=86_399 => {
            let m = (s + 30) / 60;
            if m % 60 == 0 {
                format!("{} h", m / 60)
            } else {
                format!("{} h {:02} min", m / 60, m % 60)
            }
        }
        _ => {
            let h = (s + 1800) / 3600;
            format!("{} d {} h", h / 24, h % 24)
        }
    }
}

/// "a 33-minute", "a 45-second", "a 2-hour": the adjective form for sentences ("a sub-second"
/// under half a second, rather than "a 0-second").
pub fn duration_adj(secs: f64) -> String {
    if secs < 0.5 {
        return "a sub-second".to_string();
    }
    let s = secs.round() as u64;
    let (n, unit) = match s {
        0..=89 => (s, "second"),
        90..=5399 => ((s + 30) / 60, "minute"),
        _ => ((s + 1800) / 3600, "hour"),
    };
    let article = if n == 8 || n == 11 || n == 18 || (80..90).contains(&n) {
        "an"
    } else {
        "a"
    };
    format!("{article} {n}-{unit}")
}

/// "850 B", "19.1 kB", "185 kB", "1.2 MB", "3.4 GB" (decimal units, SI prefixes: the one
/// convention of the report, the dashboard and the CSV).
pub fn bytes(n: u64) -> String {
    let f = n as f64;
    if n < 1000 {
        format!("{n} B")
    } else if n < 100_000 {
        format!("{:.1} kB", f / 1e3)
    } else if n < 1_000_000 {
        format!("{:.0} kB", f / 1e3)
    } else if n < 1_000_000_000 {
        format!("{:.1} MB", f / 1e6)
    } else {
        format!("{:.1} GB", f / 1e9)
    }
}

/// "Portugal" for "PT"; the code itself when unknown.
pub fn country(code: &str) -> String {
    super::countries::name(code)
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string())
}

/// A country's name inside a sentence: "the United States", "the Russian Federation",
/// "Portugal".
pub fn country_in_sentence(code: &str) -> String {
    // Names that take the article in English (of those ISO 3166-1 lists), besides those of
    // islands, republics, federations and unions, which always do.
    const WITH_THE: [&str; 6] = ["BS", "GM", "KM", "MV", "NL", "PH"];
    let n = country(code);
    let by_name = ["Islands", "Republic", "Federation", "United ", "Holy See"]
        .iter()
        .any(|w| n.contains(w));
    if super::countries::name(code).is_some()
        && (by_name || WITH_THE.contains(&code.to_ascii_uppercase().as_str()))
    {
        format!("the {n}")
    } else {
        n
    }
}

/// "a" or "an" before `word` (a service's name, usually). Initialisms ("XMPP", "SMS") go by
/// how their first letter is spelt out, other words by their first letter being a vowel.
pub fn article(word: &str) -> &'static str {
    let first_word = word.split([' ', '-']).next().unwrap_or("");
    let initialism = first_word.len() >= 2
        && first_word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let first = first_word
        .chars()
        .next()
        .unwrap_or('x')
        .to_ascii_lowercase();
    let an = if initialism {
        "aefhilmnorsx".contains(first)
    } else {
        "aeio".contains(first)
    };
    if an { "an" } else { "a" }
}

/// "WhatsApp's", "Teams'": the possessive of a name.
pub fn possessive(name: &str) -> String {
    if name.ends_with('s') {
        format!("{name}'")
    } else {
        format!("{name}'s")
    }
}

/// "Porto, Portugal", "Portugal", or `None`.
pub fn place(city: Option<&str>, country_code: Option<&str>) -> Option<String> {
    match (city, country_code) {
        (Some(c), Some(k)) => Some(format!("{c}, {}", country(k))),
        (None, Some(k)) => Some(country_in_sentence(k)),
        (Some(c), None) => Some(c.to_string()),
        (None, None) => None,
    }
}

/// An operator's name as a person says it: "Facebook, Inc." stays, "MEO-RESIDENCIAL" stays;
/// only the AS number is added when there is no name.
pub fn network(asn: Option<u32>, org: Option<&str>) -> Option<String> {
    match (org, asn) {
        (Some(o), _) => Some(o.to_string()),
        (None, Some(a)) => Some(format!("AS{a}")),
        (None, None) => None,
    }
}

/// An event kind in words: "video call", "probing suspected" (unknown kinds generically).
pub fn kind(kind: EventKind) -> &'static str {
    match kind {
        EventKind::VoiceCall => "voice call",
        EventKind::VideoCall => "video call",
        EventKind::CallAttempt => "call attempt",
        EventKind::MessageOut => "message sent",
        EventKind::MessageIn => "message received",
        EventKind::MediaUpload => "media upload",
        EventKind::MediaDownload => "media download",
        EventKind::OnlineSession => "online session",
        EventKind::TypingIndicator => "likely typing indicator",
        EventKind::ReadReceipt => "likely read receipt",
        EventKind::ProbingSuspected => "suspected silent-receipt probing",
        EventKind::PushWakeup => "push wakeup",
    }
}

/// A media size class in words.
pub fn size_class(c: Option<SizeClass>) -> &'static str {
    match c {
        Some(SizeClass::VoiceNote) => "a voice note or small file",
        Some(SizeClass::Photo) => "a photo",
        Some(SizeClass::Video) => "a video",
        None => "a file",
    }
}

/// How a service was recognised, from an evidence kind (docs/naming.md).
pub fn evidence_kind(k: &str) -> &'static str {
    match k {
        "sni" => "server name in TLS/QUIC (SNI)",
        "http-host" => "HTTP Host header",
        "cert" => "server certificate",
        "dns-query" => "name asked in DNS",
        "dns" => "earlier DNS answer",
        "ip-list" => "published address range",
        "asn" => "network (AS) of the server",
        "port" => "port",
        "same-socket" => "same socket as a call",
        "same-server" => "another flow to the same server",
        k if k.starts_with("stun") => "STUN markers",
        k if k.starts_with("prologue") || k == "xml-stream" => "protocol prologue",
        _ => "other evidence",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_as_people_say_them() {
        assert_eq!(duration(45.2), "45 s");
        assert_eq!(duration(0.2), "under 1 s");
        assert_eq!(duration(33.0 * 60.0 + 10.0), "33 min");
        assert_eq!(duration(3900.0), "1 h 05 min");
        assert_eq!(duration_adj(33.0 * 60.0), "a 33-minute");
        assert_eq!(duration_adj(11.0), "an 11-second");
        assert_eq!(bytes(850), "850 B");
        assert_eq!(bytes(19_062), "19.1 kB");
        assert_eq!(bytes(1_234_567), "1.2 MB");
        assert_eq!(country("PT"), "Portugal");
        assert_eq!(country("XX"), "XX");
    }

    #[test]
    fn times_follow_the_zone() {
        let utc = Zone::utc();
        // 2019-06-25 09:41:27 UTC.
        assert_eq!(utc.day_time(1_561_455_687.9), "Tue 09:41");
        let lisbon = Zone::resolve(Some("Europe/Lisbon")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lisbon.day_time(1_561_455_687.9), "Tue 10:41");
        assert_eq!(
            utc.span(1_561_455_687.9, 1_561_455_687.9 + 1980.0),
            "Tue 09:41-10:14"
        );
        assert!(Zone::resolve(Some("Mars/Olympus")).is_err());
    }

    #[test]
    fn articles_possessives_and_country_names_read_as_english() {
        assert_eq!(article("Instagram"), "an");
        assert_eq!(article("imo"), "an");
        assert_eq!(article("WhatsApp"), "a");
        assert_eq!(article("XMPP"), "an");
        assert_eq!(article("LINE"), "an");
        assert_eq!(article("Google Meet"), "a");
        assert_eq!(possessive("Teams"), "Teams'");
        assert_eq!(possessive("Signal"), "Signal's");
        assert_eq!(duration_adj(0.2), "a sub-second");
        assert_eq!(country_in_sentence("RU"), "the Russian Federation");
        assert_eq!(country_in_sentence("KY"), "the Cayman Islands");
        assert_eq!(country_in_sentence("PT"), "Portugal");
        assert_eq!(country_in_sentence("XX"), "XX");
        assert!(!country("VG").contains(','));
    }

    #[test]
    fn waking_days_run_from_four_to_four_in_the_zone() {
        let ny = Zone::resolve(Some("America/New_York")).unwrap_or_else(|e| panic!("{e}"));
        // 2026-01-13 05:35 UTC is Tue 00:35 in New York: the waking day of Monday.
        let (start, end, date) = ny.waking_day(1_768_282_500.0).unwrap_or_default();
        assert_eq!(date, "Mon 12 Jan 2026");
        assert_eq!(ny.time_secs(start), "04:00:00");
        assert_eq!(end - start, 86_400.0);
        // Clocks go forward at 02:00 on 8 Mar 2026 in New York: Saturday's day is 23 h long.
        let (s2, e2, d2) = ny.waking_day(1_772_902_800.0).unwrap_or_default();
        assert_eq!(d2, "Sat 7 Mar 2026");
        assert_eq!(e2 - s2, 23.0 * 3600.0);
    }

    #[test]
    fn a_capture_of_a_week_or_more_names_dates() {
        let utc = Zone::utc();
        let t = 1_561_455_687.9;
        assert_eq!(
            utc.for_span(Some(t), Some(t + 86_400.0)).day_time(t),
            "Tue 09:41"
        );
        let long = utc.for_span(Some(t), Some(t + 7.0 * 86_400.0));
        assert_eq!(long.day_time(t), "25 Jun 09:41");
        assert_eq!(
            long.from_to(t, t + 7.0 * 86_400.0),
            "from 25 Jun 09:41 to 2 Jul 09:41"
        );
        let years = utc.for_span(Some(t), Some(t + 400.0 * 86_400.0));
        assert_eq!(years.day_time(t), "25 Jun 2019 09:41");
    }
}
