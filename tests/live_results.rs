//! Results from a live capture: `live --stdin --headless --events` and `--report FILE` give
//! what `events` and `report` give on the same packets, `-w FILE` saves a pcapng that libpcap
//! reads back to the same flows, with one line on stderr saying what the file holds, and a
//! stop (SIGTERM) while the input is still open writes the report all the same.
//!
//! The capture comes through standard input, as from `tcpdump -U -w -`: the same code path as
//! an interface from the reader thread on, without needing a capture privilege.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap")
}

fn onlooker() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onlooker"));
    c.env("TZ", "UTC");
    c
}

fn run(args: &[&str]) -> Output {
    let out = onlooker().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn live_events_from_standard_input_are_those_of_the_events_command() {
    let bytes = std::fs::read(demo()).unwrap();
    let file = demo();
    for format in ["ndjson", "csv", "table"] {
        let want = run(&["events", "--format", format, file.to_str().unwrap()]);
        let got = common::with_stdin(
            &[
                "live",
                "--stdin",
                "--headless",
                "--events",
                "--format",
                format,
            ],
            &bytes,
        );
        ok(&got, format);
        let got_text = String::from_utf8(got.stdout).unwrap();
        assert!(got_text.lines().count() > 5, "{format}: {got_text}");
        assert_eq!(
            got_text,
            String::from_utf8(want.stdout).unwrap(),
            "{format}"
        );
        let err = String::from_utf8_lossy(&got.stderr);
        let n = got_text.lines().filter(|l| l.starts_with('{')).count();
        if format == "ndjson" {
            assert!(err.contains(&format!("events: {n}")), "{err}");
        }
    }
}

#[test]
fn live_report_from_standard_input_is_that_of_the_report_command() {
    let bytes = std::fs::read(demo()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [("r.json", "json"), ("r.md", "markdown"), ("r.txt", "text")] {
        let path = dir.path().join(name);
        let want = common::with_stdin(&["report", "--format", format, "-"], &bytes);
        ok(&want, "report");
        let got = common::with_stdin(
            &[
                "live",
                "--stdin",
                "--headless",
                "--report",
                path.to_str().unwrap(),
            ],
            &bytes,
        );
        ok(&got, name);
        let report = std::fs::read_to_string(&path).unwrap();
        assert!(report.len() > 500, "{report}");
        assert_eq!(report, String::from_utf8(want.stdout).unwrap(), "{name}");
        // Without --events, flows still stream on stdout, as `flows` writes them.
        let flows = String::from_utf8(got.stdout).unwrap();
        assert_eq!(
            flows.lines().filter(|l| l.contains("\"first_ts\"")).count(),
            7,
            "{flows}"
        );
    }
    // --redact and --report-format act as in `report`.
    let path = dir.path().join("shared.out");
    let want = common::with_stdin(&["report", "--format", "markdown", "--redact", "-"], &bytes);
    let got = common::with_stdin(
        &[
            "live",
            "--stdin",
            "--headless",
            "--report",
            path.to_str().unwrap(),
            "--report-format",
            "markdown",
            "--redact",
        ],
        &bytes,
    );
    ok(&got, "redacted");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        String::from_utf8(want.stdout).unwrap()
    );
}

#[test]
fn a_stop_while_the_input_is_still_open_writes_the_report() {
    let bytes = std::fs::read(demo()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let mut child = onlooker()
        .args(["live", "--stdin", "--headless", "--events", "--report"])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The whole capture, and the pipe left open, as tcpdump leaves it while it runs.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let started = Instant::now();
    let out = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    ok(&out, "stopped");
    let want = run(&["report", "--format", "json", demo().to_str().unwrap()]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut want: serde_json::Value = serde_json::from_slice(&want.stdout).unwrap();
    // The input is named as read: standard input here, the file there.
    want["inputs"] = report["inputs"].clone();
    assert_eq!(report, want);
    let events = String::from_utf8(out.stdout).unwrap();
    let want = run(&["events", demo().to_str().unwrap()]);
    assert_eq!(events, String::from_utf8(want.stdout).unwrap());
}

#[test]
fn a_saved_capture_reads_back_to_the_same_flows_and_says_what_it_holds() {
    let bytes = std::fs::read(demo()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.pcapng");
    let out = common::with_stdin(
        &[
            "live",
            "--stdin",
            "--headless",
            "-w",
            saved.to_str().unwrap(),
        ],
        &bytes,
    );
    ok(&out, "live -w");
    let err = String::from_utf8(out.stderr).unwrap();
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(saved.to_str().unwrap()))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("contents") && warnings[0].contains("private"),
        "{}",
        warnings[0]
    );
    // pcapng, read back by libpcap (through `flows`) to the very same flow records.
    assert_eq!(
        &std::fs::read(&saved).unwrap()[..4],
        &[0x0a, 0x0d, 0x0d, 0x0a]
    );
    let want = run(&["flows", demo().to_str().unwrap()]);
    let got = run(&["flows", saved.to_str().unwrap()]);
    assert_eq!(got.stdout, want.stdout);
    // And packet by packet through libpcap itself: times to the nanosecond, lengths, bytes.
    let mut a = pcap::Capture::from_file_with_precision(demo(), pcap::Precision::Nano).unwrap();
    let mut b = pcap::Capture::from_file_with_precision(&saved, pcap::Precision::Nano).unwrap();
    assert_eq!(b.get_datalink(), a.get_datalink());
    let mut n = 0;
    loop {
        match (a.next_packet(), b.next_packet()) {
            (Ok(p), Ok(q)) => {
                assert_eq!(
                    (p.header.ts.tv_sec, p.header.ts.tv_usec),
                    (q.header.ts.tv_sec, q.header.ts.tv_usec),
                    "packet {n}"
                );
                assert_eq!(p.header.len, q.header.len, "packet {n}");
                assert_eq!(p.data, q.data, "packet {n}");
                n += 1;
            }
            (Err(pcap::Error::NoMorePackets), Err(pcap::Error::NoMorePackets)) => break,
            (p, q) => panic!("packet {n}: {:?} / {:?}", p.err(), q.err()),
        }
    }
    assert_eq!(n, 9696);
}

#[test]
fn write_is_spelled_dash_w_and_needs_no_other_spelling() {
    let help = run(&["live", "--help"]);
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("-w, --write <FILE>"), "{help}");
    // Options that only make sense with others are refused, not ignored.
    for args in [
        vec!["live", "--events"],
        vec!["live", "--headless", "--format", "csv"],
        vec!["live", "--stdin", "-i", "lo"],
        vec!["live", "--headless", "--redact"],
    ] {
        let out = onlooker()
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
