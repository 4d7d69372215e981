//! `onlooker report` end to end on real captures of the corpus: snapshots keep the three
//! formats stable (a call with messages and media, Signal messages and an upload, a capture
//! without messaging), and the promises of the command are checked directly: `--redact` hides
//! the local side and direct peers but keeps networks and countries, a capture without
//! messaging says so and still lists its leaks, the zone follows `--tz` or the machine's TZ,
//! text fits 100 columns, Markdown tables are well formed, and two runs give the same bytes.
//!
//! Snapshots use `--tz UTC`. They assume no MaxMind database is installed in the system
//! directories (the bundled IP metadata is used), as on the project's machines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

/// Captures of the snapshots: (corpus path, snapshot name).
const SNAPSHOT_CAPTURES: [(&str, &str); 3] = [
    ("ndpi/wa_voice.pcap", "wa_voice"),
    ("ndpi/signal.pcap", "signal"),
    ("ndpi/android.pcap", "android_no_messaging"),
];

fn capture(rel: &str) -> Option<PathBuf> {
    common::corpus().map(|c| c.join("pcap").join(rel))
}

fn report(args: &[&str], file: &PathBuf) -> (String, String, Option<i32>) {
    let mut a: Vec<std::ffi::OsString> = vec!["report".into()];
    a.extend(args.iter().map(Into::into));
    a.push(file.into());
    let out = common::onlooker(a);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        common::exit_code(&out),
    )
}

fn json(file: &PathBuf, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--format", "json", "--tz", "UTC"];
    args.extend_from_slice(extra);
    let (out, err, code) = report(&args, file);
    assert_eq!(code, Some(0), "{err}");
    serde_json::from_str(&out).expect("the JSON report parses")
}

#[test]
fn snapshots_of_the_three_formats() {
    if common::corpus().is_none() {
        common::skip("snapshots_of_the_three_formats");
        return;
    }
    for (rel, name) in SNAPSHOT_CAPTURES {
        let file = capture(rel).unwrap();
        for format in ["text", "markdown", "json"] {
            let (out, err, code) = report(&["--tz", "UTC", "--format", format], &file);
            assert_eq!(code, Some(0), "{rel} {format}: {err}");
            insta::assert_snapshot!(format!("{name}_{format}"), out);
        }
    }
}

#[test]
fn redact_hides_the_local_side_and_direct_peers_but_keeps_networks() {
    let Some(file) = capture("ndpi/wa_voice.pcap") else {
        common::skip("redact_hides_the_local_side_and_direct_peers_but_keeps_networks");
        return;
    };
    let plain = json(&file, &[]);
    let plain_text = plain.to_string();
    // What redaction must remove is in the plain report to begin with: the device and the
    // direct peer of the call.
    let peer = plain["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "direct")
        .and_then(|c| c["peer_ip"].as_str())
        .expect("the capture's call has a direct leg")
        .to_string();
    let device = "192.168.2.12";
    assert!(plain_text.contains(device) && plain_text.contains(&peer));
    for format in ["json", "text", "markdown"] {
        let (out, err, code) = report(&["--tz", "UTC", "--redact", "--format", format], &file);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            !out.contains(device),
            "{format}: the device's address is shown"
        );
        assert!(
            !out.contains(&peer),
            "{format}: the direct peer's address is shown"
        );
        // Networks, countries and the service's own relays stay.
        assert!(
            out.contains("WIND TRE"),
            "{format}: the peer's network is gone"
        );
        assert!(
            out.contains("Italy"),
            "{format}: the peer's country is gone"
        );
        assert!(
            out.contains("31.13.86.48"),
            "{format}: a relay's address was hidden"
        );
    }
    let red = json(&file, &["--redact"]);
    assert_eq!(red["redacted"], true);
    assert_eq!(
        red["calls"].as_array().map(Vec::len),
        plain["calls"].as_array().map(Vec::len),
        "redaction must not change what was found"
    );
}

#[test]
fn a_capture_without_messaging_says_so_and_still_lists_its_leaks() {
    let Some(file) = capture("ndpi/android.pcap") else {
        common::skip("a_capture_without_messaging_says_so_and_still_lists_its_leaks");
        return;
    };
    let (text, err, code) = report(&["--tz", "UTC"], &file);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("No messaging traffic was seen"), "{text}");
    let j = json(&file, &[]);
    assert_eq!(j["messaging_traffic"], false);
    let dns = j["leaks"]["dns"]["names"].as_array().unwrap();
    assert!(!dns.is_empty(), "the capture's DNS names are leaks");
    let first = dns[0]["name"].as_str().unwrap();
    assert!(text.contains(first), "the text report lists {first}");
    assert!(
        j["headline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "dns" || f["kind"] == "tls"),
        "the headline says what leaked"
    );
}

#[test]
fn times_follow_tz_and_the_machine_zone() {
    let Some(file) = capture("ndpi/wa_voice.pcap") else {
        common::skip("times_follow_tz_and_the_machine_zone");
        return;
    };
    let utc = json(&file, &[]);
    assert_eq!(utc["zone"]["source"], "--tz");
    assert!(
        utc["capture"]["first"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );
    // No --tz: the machine's zone, here from TZ.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .args(["report", "--format", "json"])
        .arg(&file)
        .env("TZ", "Asia/Tokyo")
        .output()
        .unwrap();
    let tokyo: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tokyo["zone"]["name"], "Asia/Tokyo");
    assert_eq!(tokyo["zone"]["source"], "TZ");
    assert!(
        tokyo["capture"]["first"]
            .as_str()
            .unwrap()
            .ends_with("+09:00")
    );
    assert_eq!(tokyo["capture"]["first_ts"], utc["capture"]["first_ts"]);
    let (_, err, code) = report(&["--tz", "Mars/Olympus_Mons"], &file);
    assert_eq!(code, Some(2), "an unknown zone is a usage error");
    assert!(err.contains("unknown time zone"), "{err}");
}

#[test]
fn text_fits_100_columns_markdown_tables_are_whole_and_runs_repeat() {
    if common::corpus().is_none() {
        common::skip("text_fits_100_columns_markdown_tables_are_whole_and_runs_repeat");
        return;
    }
    let mut files: Vec<&str> = SNAPSHOT_CAPTURES.iter().map(|(r, _)| *r).collect();
    files.push("wissamnd/whatsappCall.pcapng");
    for rel in files {
        let file = capture(rel).unwrap();
        let (text, _, _) = report(&["--tz", "UTC"], &file);
        for l in text.lines() {
            assert!(
                l.chars().count() <= 100,
                "{rel}: line over 100 columns: {l}"
            );
        }
        let (again, _, _) = report(&["--tz", "UTC"], &file);
        assert_eq!(text, again, "{rel}: two runs differ");
        let (md, _, _) = report(&["--tz", "UTC", "--format", "markdown"], &file);
        let mut cols: Option<usize> = None;
        for l in md.lines() {
            if l.starts_with('|') {
                let n = l.replace("\\|", "").matches('|').count();
                let want = *cols.get_or_insert(n);
                assert_eq!(n, want, "{rel}: a Markdown row has other columns: {l}");
            } else {
                cols = None;
            }
        }
    }
}

#[test]
fn the_json_report_has_the_documented_fields() {
    let Some(file) = capture("ndpi/signal.pcap") else {
        common::skip("the_json_report_has_the_documented_fields");
        return;
    };
    let j = json(&file, &[]);
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "report_version",
            "inputs",
            "zone",
            "capture",
            "messaging_traffic",
            "redacted",
            "headline",
            "findings",
            "services",
            "rhythm",
            "calls",
            "messages",
            "media",
            "destinations",
            "leaks",
            "other_activities",
            "mitigations",
        ]
    );
    // Every finding cites its evidence and a mitigation that the report explains.
    let mitigations: Vec<&str> = j["mitigations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    for f in j["findings"].as_array().unwrap() {
        let cited = !f["events"].as_array().unwrap().is_empty()
            || !f["flows"].as_array().unwrap().is_empty();
        assert!(cited, "a finding without evidence: {f}");
        assert!(
            mitigations.contains(&f["mitigation"].as_str().unwrap()),
            "{f}"
        );
    }
    let h = j["headline"].as_array().unwrap().len();
    assert!((1..=7).contains(&h), "headline of {h}");
}

#[test]
fn device_hints_guess_the_phones_of_the_corpus() {
    // ndpi/android.pcap and ndpi/iphone.pcap are named after the phone that made them.
    for (rel, want) in [
        ("ndpi/android.pcap", "Linux or Android"),
        ("ndpi/iphone.pcap", "macOS or iOS"),
    ] {
        let Some(file) = capture(rel) else {
            common::skip("device_hints_guess_the_phones_of_the_corpus");
            return;
        };
        let j = json(&file, &[]);
        let top = &j["leaks"]["device_hints"][0];
        let guess = top["guess"].as_str().unwrap_or_default();
        assert_eq!(guess, format!("probably {want}"), "{rel}: {top}");
        assert_eq!(top["initial_ttl"], 64, "{rel}");
    }
}
