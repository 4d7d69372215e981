//! The report's rhythm section on a capture long enough to show it: three days and nights of
//! WhatsApp chats written by the project's scenario writer (src/scenario.rs), in a zone that is
//! not UTC, with what must not count as the user being awake mixed in: a message received in
//! the night, an Apple push after idle with its heartbeat. The truth is the script: which
//! local hour each message starts in, and which sent message is each day's first and last.
//!
//! No corpus capture covers the 20 hours the wake and sleep hints need, so this is their only
//! end-to-end check (text and JSON, `--tz`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use onlooker::capture::Timestamp;
use onlooker::scenario::Scenario;

/// The zone of the script: America/New_York in January is UTC-5 (no daylight saving).
const ZONE: &str = "America/New_York";
const UTC_OFFSET_H: i64 = -5;
/// Monday 2026-01-12 00:00 in that zone, as seconds since 1970.
const MONDAY: i64 = 1_768_176_000 - UTC_OFFSET_H * 3600;

const PHONE: [u8; 4] = [192, 168, 1, 23];
const WA_CHAT: [u8; 4] = [157, 240, 21, 60];
const APNS: [u8; 4] = [17, 57, 144, 20];

/// Local time `day` days after Monday at `h:m:s`.
fn local(day: i64, h: i64, m: i64, s: i64) -> Timestamp {
    Timestamp((MONDAY + day * 86_400 + h * 3600 + m * 60 + s) * Timestamp::NANOS_PER_SEC)
}

fn ep(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::from(ip), port)
}

fn later(t: Timestamp, ms: i64) -> Timestamp {
    Timestamp(t.0 + ms * 1_000_000)
}

/// What the script did, to check the report against.
#[derive(Default)]
struct Truth {
    /// Messages (both ways) starting in each local hour.
    by_hour: [u64; 24],
    /// Sent messages, as (waking day from Monday, local "HH:MM" of the send).
    sent: Vec<(i64, String)>,
}

/// Keep-alives on an idle chat connection (30 B each way, the client first) come this often:
/// under the flow table's TCP idle timeout, as real chat connections keep their NAT mapping.
const KEEPALIVE_MS: i64 = 240_000;

/// One chat session: a WhatsApp chat connection opened just before the first message, its
/// login exchange, then messages (`true` = sent) at the given local times, each answered by a
/// receipt, keep-alives in the pauses, then closed. `waking_day` is the day the session counts
/// for.
fn session(
    s: &mut Scenario,
    truth: &mut Truth,
    port: u16,
    waking_day: i64,
    msgs: &[(i64, i64, i64, i64, bool)],
) {
    let (d0, h0, m0, s0, _) = msgs[0];
    let open = Timestamp(local(d0, h0, m0, s0).0 - 20 * Timestamp::NANOS_PER_SEC);
    let (mut conn, t) = s.tls_session(
        open,
        ep(PHONE, port),
        ep(WA_CHAT, 443),
        "g.whatsapp.net",
        &[],
    );
    // The login exchange, which is not a message.
    let mut t = s.tls_data(&mut conn, later(t, 100), true, 400);
    t = s.tls_data(&mut conn, later(t, 120), false, 60);
    for &(d, h, m, sec, up) in msgs {
        let at = local(d, h, m, sec);
        assert!(at.0 > t.0, "the script's messages are in order");
        while at.0 - t.0 > KEEPALIVE_MS * 1_000_000 + 60 * Timestamp::NANOS_PER_SEC {
            t = s.tls_data(&mut conn, later(t, KEEPALIVE_MS), true, 30);
            t = s.tls_data(&mut conn, later(t, 90), false, 30);
        }
        t = s.tls_data(&mut conn, at, up, 210);
        // The delivery receipt the other way.
        t = s.tls_data(&mut conn, later(t, 180), !up, 45);
        truth.by_hour[h as usize] += 1;
        if up {
            truth.sent.push((waking_day, format!("{h:02}:{m:02}")));
        }
    }
    s.tcp_close(&mut conn, later(t, 5_000));
}

/// The Apple push channel of one night: opened, a heartbeat (30 B each way), then a push
/// after seven minutes of silence, acknowledged, and closed.
fn push_night(s: &mut Scenario, port: u16, day: i64) {
    let (mut apns, t) = s.tls_session(
        local(day, 3, 0, 0),
        ep(PHONE, port),
        ep(APNS, 5223),
        "courier.push.apple.com",
        &[],
    );
    s.tls_data(&mut apns, later(t, 50), true, 120);
    let t = s.tls_data(&mut apns, local(day, 3, 5, 0), true, 30);
    s.tls_data(&mut apns, later(t, 80), false, 30);
    let t = s.tls_data(&mut apns, local(day, 3, 12, 0), false, 300);
    let t = s.tls_data(&mut apns, later(t, 90), true, 40);
    s.tcp_close(&mut apns, later(t, 2_000));
}

/// Three waking days, Monday to Wednesday; the capture starts Monday 03:00 (before Monday's
/// day starts at 04:00) and ends Thursday 01:30 (before Wednesday's day ends).
fn three_days() -> (Scenario, Truth) {
    let mut s = Scenario::new(0x5eed_0003);
    let mut truth = Truth::default();
    let mut port = 40_000u16;
    let mut next = || {
        port += 1;
        port
    };
    // Monday night's push channel opens the capture at 03:00, before the day starts.
    push_night(&mut s, next(), 0);
    // Monday: a message received at 07:05 comes before the first one sent, at 07:12.
    session(
        &mut s,
        &mut truth,
        next(),
        0,
        &[
            (0, 7, 5, 10, false),
            (0, 7, 12, 0, true),
            (0, 7, 12, 40, false),
            (0, 7, 13, 30, true),
        ],
    );
    session(
        &mut s,
        &mut truth,
        next(),
        0,
        &[(0, 13, 30, 0, true), (0, 13, 31, 0, false)],
    );
    // Monday evening: the last sent at 23:20.
    session(
        &mut s,
        &mut truth,
        next(),
        0,
        &[
            (0, 23, 0, 0, false),
            (0, 23, 1, 0, true),
            (0, 23, 20, 0, true),
            (0, 23, 20, 50, false),
        ],
    );
    // Tuesday 02:30: a message arrives while the user sleeps (no answer, no own activity).
    session(&mut s, &mut truth, next(), 0, &[(1, 2, 30, 0, false)]);
    push_night(&mut s, next(), 1);
    // Tuesday: first sent 07:40; the evening runs past midnight, last sent Wednesday 00:35.
    session(
        &mut s,
        &mut truth,
        next(),
        1,
        &[(1, 7, 40, 0, true), (1, 7, 41, 0, false)],
    );
    session(
        &mut s,
        &mut truth,
        next(),
        1,
        &[
            (1, 23, 50, 0, true),
            (1, 23, 51, 0, false),
            (2, 0, 10, 0, false),
            (2, 0, 35, 0, true),
        ],
    );
    push_night(&mut s, next(), 2);
    // Wednesday: first sent 08:05, last 23:10.
    session(
        &mut s,
        &mut truth,
        next(),
        2,
        &[(2, 8, 5, 0, true), (2, 8, 6, 0, false)],
    );
    session(
        &mut s,
        &mut truth,
        next(),
        2,
        &[(2, 23, 9, 0, false), (2, 23, 10, 0, true)],
    );
    // A heartbeat on Thursday 01:30 ends the capture, before Wednesday's day ends at 04:00.
    let (mut apns, _) = s.tls_session(
        local(3, 1, 29, 0),
        ep(PHONE, next()),
        ep(APNS, 5223),
        "courier.push.apple.com",
        &[],
    );
    let t = s.tls_data(&mut apns, local(3, 1, 30, 0), true, 30);
    s.tls_data(&mut apns, later(t, 80), false, 30);
    (s, truth)
}

fn write_capture(dir: &Path) -> (std::path::PathBuf, Truth) {
    let (s, truth) = three_days();
    let path = dir.join("three_days.pcap");
    let file = std::fs::File::create(&path).unwrap();
    s.write_pcap(std::io::BufWriter::new(file)).unwrap();
    (path, truth)
}

fn report(args: &[&str], file: &Path) -> String {
    let mut all: Vec<&std::ffi::OsStr> = vec!["report".as_ref()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    all.push(file.as_os_str());
    common::stdout_of(all)
}

/// (first sent, last sent) of each waking day, from the script.
fn expected_days(truth: &Truth) -> Vec<(String, String)> {
    (0..3)
        .map(|d| {
            let of_day: Vec<&String> = truth
                .sent
                .iter()
                .filter(|(w, _)| *w == d)
                .map(|(_, t)| t)
                .collect();
            (of_day[0].clone(), of_day[of_day.len() - 1].clone())
        })
        .collect()
}

#[test]
fn wake_and_sleep_hints_and_the_hour_histogram_follow_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let (file, truth) = write_capture(dir.path());
    let j: serde_json::Value =
        serde_json::from_str(&report(&["--format", "json", "--tz", ZONE], &file)).unwrap();
    let r = &j["rhythm"];
    assert!(
        j["capture"]["duration_secs"].as_f64().unwrap() >= 20.0 * 3600.0,
        "{}",
        j["capture"]
    );

    // The histogram: every message the script wrote, in its local hour; the pushes at 03:12
    // and the heartbeats are not activities.
    let by_hour: Vec<u64> = r["by_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(by_hour, truth.by_hour.to_vec(), "{}", r);
    assert_eq!(by_hour[3], 0, "push wakeups are not activity");
    let pushes = j["other_activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "push_wakeup")
        .count();
    assert_eq!(pushes, 3, "the three night pushes are reported, elsewhere");

    // The days: Monday to Wednesday, from the first to the last message sent, the night's
    // received message and pushes left out, Tuesday's 00:35 counted for Tuesday.
    assert_eq!(r["days_shown"], true);
    let days = r["days"].as_array().unwrap();
    let got: Vec<(String, String)> = days
        .iter()
        .map(|d| {
            (
                d["first"].as_str().unwrap().to_string(),
                d["last"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = expected_days(&truth);
    assert_eq!(got, want);
    assert_eq!(
        want[1].1, "00:35",
        "the script's Tuesday ends after midnight"
    );
    let dates: Vec<&str> = days.iter().map(|d| d["date"].as_str().unwrap()).collect();
    assert_eq!(
        dates,
        ["Mon 12 Jan 2026", "Tue 13 Jan 2026", "Wed 14 Jan 2026"]
    );
    let sent_per_day: Vec<u64> = days
        .iter()
        .map(|d| d["activities"].as_u64().unwrap())
        .collect();
    let want_sent: Vec<u64> = (0..3)
        .map(|d| truth.sent.iter().filter(|(w, _)| *w == d).count() as u64)
        .collect();
    assert_eq!(sent_per_day, want_sent);
    assert_eq!(days[1]["last_next_date"], true);
    assert_eq!(days[0]["last_next_date"], false);
    assert!(days.iter().all(|d| d["first_next_date"] == false));
    // The capture began before Monday's day and ended before Wednesday's ended.
    let hints: Vec<(bool, bool)> = days
        .iter()
        .map(|d| {
            (
                d["wake_hint"].as_bool().unwrap(),
                d["sleep_hint"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(hints, [(true, true), (true, true), (true, false)]);

    // The finding says it in words, with the wake times of all three days and the sleep
    // times of the first two, and is in the headline.
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "days")
        .expect("a days finding");
    let sentence = f["sentence"].as_str().unwrap();
    for (d, (first, last)) in want.iter().enumerate() {
        assert!(sentence.contains(first.as_str()), "{sentence}");
        if d < 2 {
            assert!(sentence.contains(last.as_str()), "{sentence}");
        } else {
            assert!(!sentence.contains(last.as_str()), "{sentence}");
        }
    }
    assert!(!sentence.contains("02:30"), "{sentence}");
    assert!(
        j["headline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "days"),
        "{}",
        j["headline"]
    );
}

#[test]
fn the_text_report_shows_the_days_and_hours_in_the_chosen_zone() {
    let dir = tempfile::tempdir().unwrap();
    let (file, truth) = write_capture(dir.path());
    let text = report(&["--tz", ZONE], &file);
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    let section: String = text
        .lines()
        .skip_while(|l| !l.starts_with("3. Rhythm"))
        .take_while(|l| !l.starts_with("4. Calls"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        section.contains(&format!("Activity by hour of day ({ZONE})")),
        "{section}"
    );
    // One histogram row per hour with activity, with its count.
    for (h, n) in truth.by_hour.iter().enumerate() {
        let row = section
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{h:02}:00 ")));
        if *n == 0 {
            assert!(row.is_none(), "hour {h}: {section}");
        } else {
            let row = row.unwrap_or_else(|| panic!("hour {h} missing: {section}"));
            let count: u64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
            assert_eq!(count, *n, "hour {h}: {row}");
        }
    }
    let want = expected_days(&truth);
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| {
            ["Mon 12 Jan", "Tue 13 Jan", "Wed 14 Jan"]
                .iter()
                .any(|d| l.trim_start().starts_with(d))
        })
        .collect();
    assert_eq!(rows.len(), 3, "{section}");
    assert!(rows[0].contains(&want[0].0) && rows[0].contains(&want[0].1));
    assert!(
        rows[1].contains(&format!("{} next day", want[1].1)),
        "{}",
        rows[1]
    );
    // Wednesday's last is not a sleep hint: the capture ended first.
    assert!(rows[2].contains(&format!("({})", want[2].1)), "{}", rows[2]);

    // In UTC the same activity moves five hours later: 07:12 becomes 12:12.
    let utc = report(&["--tz", "UTC", "--format", "json"], &file);
    let j: serde_json::Value = serde_json::from_str(&utc).unwrap();
    let first = j["rhythm"]["days"][0]["first"].as_str().unwrap();
    assert_eq!(first, "12:12");
    let by_hour = j["rhythm"]["by_hour"].as_array().unwrap();
    assert_eq!(by_hour[12].as_u64(), Some(truth.by_hour[7]));
}

#[test]
fn a_short_capture_shows_no_days_and_says_why() {
    // Monday's morning session alone: minutes, not a day and a night.
    let mut s = Scenario::new(0x5eed_0004);
    let mut truth = Truth::default();
    session(
        &mut s,
        &mut truth,
        41_000,
        0,
        &[(0, 7, 12, 0, true), (0, 7, 12, 40, false)],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("morning.pcap");
    s.write_pcap(std::io::BufWriter::new(
        std::fs::File::create(&path).unwrap(),
    ))
    .unwrap();
    let j: serde_json::Value =
        serde_json::from_str(&report(&["--format", "json", "--tz", ZONE], &path)).unwrap();
    assert_eq!(j["rhythm"]["days_shown"], false);
    assert!(j["rhythm"]["days"].as_array().unwrap().is_empty());
    assert!(
        !j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "days")
    );
    let text = report(&["--tz", ZONE], &path);
    assert!(
        text.contains("are shown for captures of 20 h or more"),
        "{text}"
    );
}
