//! Wording: times in a chosen zone, durations, sizes, places and activity names as a person
//! reads them. Kept in the observer so that the report and the dashboard print the same
//! sentences. It must never read the clock or the network: the zone comes from the options or
//! the machine's configuration, times from packet timestamps.

use jiff::tz::TimeZone;
use serde::Serialize;

/// The zone times are shown in, and where it came from.
#[derive(Clone, Debug)]
pub struct Zone {
    pub tz: TimeZone,
    pub info: ZoneInfo,
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
                })
            }
            Err(_) => Ok(Self {
                tz: TimeZone::UTC,
                info: ZoneInfo {
                    name: "UTC".into(),
                    source: "fallback".into(),
                },
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

    /// "Tue 21:04".
    pub fn day_time(&self, ts: f64) -> String {
        self.fmt(ts, "%a %H:%M")
    }

    /// "21:04".
    pub fn time(&self, ts: f64) -> String {
        self.fmt(ts, "%H:%M")
    }

    /// "21:04:07".
    pub fn time_secs(&self, ts: f64) -> String {
        self.fmt(ts, "%H:%M:%S")
    }

    /// "Tue 21:00": the local hour an instant falls in.
    pub fn hour_label(&self, ts: f64) -> String {
        self.fmt(ts, "%a %H:00")
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

/// "a 33-minute", "a 45-second", "a 2-hour": the adjective form for sentences.
pub fn duration_adj(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
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

/// "850 B", "19 KB", "1.2 MB", "3.4 GB" (decimal units).
pub fn bytes(n: u64) -> String {
    let f = n as f64;
    if n < 1000 {
        format!("{n} B")
    } else if n < 100_000 {
        format!("{:.1} KB", f / 1e3)
    } else if n < 1_000_000 {
        format!("{:.0} KB", f / 1e3)
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

/// A country's name inside a sentence: "the United States", "Portugal".
pub fn country_in_sentence(code: &str) -> String {
    // Names that take the article in English (of those ISO 3166-1 lists).
    const WITH_THE: [&str; 14] = [
        "AE", "BS", "CF", "DO", "GB", "GM", "KM", "KY", "MH", "MV", "NL", "PH", "SB", "US",
    ];
    let n = country(code);
    if WITH_THE.contains(&code.to_ascii_uppercase().as_str()) {
        format!("the {n}")
    } else {
        n
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
pub fn kind(kind: &str) -> String {
    match kind {
        "voice_call" => "voice call".into(),
        "video_call" => "video call".into(),
        "call_attempt" => "call attempt".into(),
        "message_out" => "message sent".into(),
        "message_in" => "message received".into(),
        "media_upload" => "media upload".into(),
        "media_download" => "media download".into(),
        "online_session" => "online session".into(),
        other => other.replace('_', " "),
    }
}

/// A media size class in words.
pub fn size_class(c: Option<&str>) -> &'static str {
    match c {
        Some("voice_note") => "a voice note or small file",
        Some("photo") => "a photo",
        Some("video") => "a video",
        Some("document") => "a document",
        _ => "a file",
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
        assert_eq!(bytes(19_062), "19.1 KB");
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
}
