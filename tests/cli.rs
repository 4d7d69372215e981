//! The command line as people use it: `flows` in NDJSON and CSV (same columns, same values),
//! `--stats`, several files read as one capture, how IPv6 and ICMP endpoints print, usage errors
//! (exit 2), and `interfaces`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use etherparse::PacketBuilder;
use onlooker::capture::writer::{Transport, ethernet_frame, tcp_flags};
use onlooker::capture::{LinkType, Timestamp};
use serde_json::Value;

const COLUMNS: [&str; 11] = [
    "proto",
    "client",
    "server",
    "first_ts",
    "last_ts",
    "packets_up",
    "packets_down",
    "bytes_up",
    "bytes_down",
    "tcp_flags",
    "end_reason",
];

const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn ts(k: i64) -> Timestamp {
    // Fractions of a second that are not round in binary.
    Timestamp::from_parts(1_700_000_000 + k, k * 123_456_789 % 1_000_000_000)
}

fn tcp_v4() -> ((IpAddr, u16), (IpAddr, u16)) {
    (
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 49_152),
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 443),
    )
}

fn udp_v6() -> ((IpAddr, u16), (IpAddr, u16)) {
    (
        (
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            5353,
        ),
        (
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            53,
        ),
    )
}

const ICMP_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const ICMP_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

fn icmp_echo(from: Ipv4Addr, to: Ipv4Addr, reply: bool) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B).ipv4(from.octets(), to.octets(), 64);
    let b = if reply {
        b.icmpv4_echo_reply(7, 1)
    } else {
        b.icmpv4_echo_request(7, 1)
    };
    let mut out = Vec::new();
    b.write(&mut out, b"ping payload").unwrap();
    out
}

/// A small capture: a TCP connection over IPv4, a UDP exchange over IPv6, an ICMP echo.
fn capture() -> Vec<(Timestamp, Vec<u8>)> {
    use tcp_flags::*;
    let (c, s) = tcp_v4();
    let (u, d) = udp_v6();
    let t = |seq, ack, flags| Transport::Tcp { seq, ack, flags };
    vec![
        (ts(0), ethernet_frame(c, s, t(1, 0, SYN), b"").unwrap()),
        (
            ts(1),
            ethernet_frame(s, c, t(9, 2, SYN | ACK), b"").unwrap(),
        ),
        (ts(2), ethernet_frame(c, s, t(2, 10, ACK), b"").unwrap()),
        (
            ts(3),
            ethernet_frame(u, d, Transport::Udp, b"query").unwrap(),
        ),
        (
            ts(4),
            ethernet_frame(d, u, Transport::Udp, b"answer!").unwrap(),
        ),
        (
            ts(5),
            ethernet_frame(c, s, t(2, 10, PSH | ACK), &[1; 300]).unwrap(),
        ),
        (ts(6), icmp_echo(ICMP_A, ICMP_B, false)),
        (ts(7), icmp_echo(ICMP_B, ICMP_A, true)),
        (
            ts(8),
            ethernet_frame(s, c, t(10, 302, PSH | ACK), &[2; 1000]).unwrap(),
        ),
        (
            ts(9),
            ethernet_frame(c, s, t(302, 1010, FIN | ACK), b"").unwrap(),
        ),
        (
            ts(10),
            ethernet_frame(s, c, t(1010, 303, FIN | ACK), b"").unwrap(),
        ),
        (
            ts(11),
            ethernet_frame(c, s, t(303, 1011, ACK), b"").unwrap(),
        ),
    ]
}

fn write_capture(dir: &Path, name: &str, frames: &[(Timestamp, Vec<u8>)]) -> PathBuf {
    let (bytes, _) = common::pcap_bytes(LinkType::ETHERNET, 65_535, frames);
    common::write_file(dir, name, &bytes)
}

/// Run `flows` and insist it succeeded.
fn flows_ok(args: &[&str], files: &[&Path]) -> std::process::Output {
    let mut all: Vec<std::ffi::OsString> = vec!["flows".into()];
    all.extend(args.iter().map(Into::into));
    all.extend(files.iter().map(|f| f.as_os_str().to_owned()));
    let out = common::onlooker(&all);
    assert_eq!(
        common::exit_code(&out),
        Some(0),
        "onlooker {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn find<'a>(recs: &'a [Value], proto: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["proto"] == proto).collect()
}

/// The CSV cell NDJSON's `v` corresponds to: text as is, lists joined with ';', absent empty.
fn as_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(as_cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

#[test]
fn csv_has_the_documented_columns_and_the_same_values_as_ndjson() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "mixed.pcap", &capture());
    let nd = common::ndjson(&flows_ok(&[], &[&path]).stdout);
    let csv_out = flows_ok(&["--format", "csv"], &[&path]).stdout;
    let mut reader = csv::Reader::from_reader(&csv_out[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    // The documented flow columns come first, in their order; any later ones are the
    // dissectors' additions, which NDJSON carries under the same names.
    assert_eq!(
        header.get(..COLUMNS.len()),
        Some(&COLUMNS.map(String::from)[..])
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(nd.len(), 3, "tcp, udp and icmp flows: {nd:?}");
    assert_eq!(rows.len(), nd.len());
    for (row, rec) in rows.iter().zip(&nd) {
        let obj = rec.as_object().unwrap();
        let keys: Vec<&String> = obj.keys().collect();
        assert_eq!(
            keys,
            header.iter().collect::<Vec<_>>(),
            "same fields, same order"
        );
        assert_eq!(row.len(), header.len());
        for (col, cell) in header.iter().zip(row.iter()) {
            let v = &rec[col.as_str()];
            match v.as_f64() {
                // Numbers compare as numbers: both formats print the same float.
                Some(n) => assert_eq!(cell.parse::<f64>().ok(), Some(n), "column {col}"),
                None => assert_eq!(cell, as_cell(v), "column {col}"),
            }
        }
    }
}

#[test]
fn ndjson_records_follow_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let frames = capture();
    let path = write_capture(dir.path(), "mixed.pcap", &frames);
    let nd = common::ndjson(&flows_ok(&[], &[&path]).stdout);
    let (c, s) = tcp_v4();
    let tcp = find(&nd, "tcp");
    assert_eq!(tcp.len(), 1);
    let tcp = tcp[0];
    assert_eq!(tcp["client"], SocketAddr::from(c).to_string());
    assert_eq!(tcp["server"], SocketAddr::from(s).to_string());
    // Frames 0,2,5,9,11 go up; 1,8,10 down.
    let len = |i: usize| frames[i].1.len() as u64;
    assert_eq!(tcp["packets_up"], 5);
    assert_eq!(tcp["packets_down"], 3);
    assert_eq!(tcp["bytes_up"], len(0) + len(2) + len(5) + len(9) + len(11));
    assert_eq!(tcp["bytes_down"], len(1) + len(8) + len(10));
    assert_eq!(tcp["tcp_flags"], "SAPF");
    assert_eq!(tcp["end_reason"], "fin");
    // Times are seconds as floats, good to the microsecond.
    let secs = |t: Timestamp| t.as_nanos() as f64 / 1e9;
    let close = |v: &Value, t: Timestamp| (v.as_f64().unwrap() - secs(t)).abs() <= 1e-6;
    assert!(close(&tcp["first_ts"], ts(0)), "{}", tcp["first_ts"]);
    assert!(close(&tcp["last_ts"], ts(11)), "{}", tcp["last_ts"]);
}

#[test]
fn ipv6_endpoints_print_in_brackets() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "mixed.pcap", &capture());
    let nd = common::ndjson(&flows_ok(&[], &[&path]).stdout);
    let (u, d) = udp_v6();
    let udp = find(&nd, "udp");
    assert_eq!(udp.len(), 1);
    let fmt = |e: (IpAddr, u16)| format!("[{}]:{}", e.0, e.1);
    assert_eq!(udp[0]["client"], fmt(u));
    assert_eq!(udp[0]["server"], fmt(d));
    assert_eq!(udp[0]["client"], "[2001:db8::1]:5353");
    assert_eq!(
        (
            udp[0]["packets_up"].as_u64(),
            udp[0]["packets_down"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(udp[0]["tcp_flags"], "");
}

#[test]
fn icmp_flows_have_port_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "mixed.pcap", &capture());
    let nd = common::ndjson(&flows_ok(&[], &[&path]).stdout);
    let icmp = find(&nd, "icmp");
    assert_eq!(icmp.len(), 1, "{nd:?}");
    assert_eq!(icmp[0]["client"], format!("{ICMP_A}:0"));
    assert_eq!(icmp[0]["server"], format!("{ICMP_B}:0"));
    assert_eq!(icmp[0]["packets_up"], 1);
    assert_eq!(icmp[0]["packets_down"], 1);
}

#[test]
fn stats_record_ends_ndjson_and_counts_the_frames() {
    let dir = tempfile::tempdir().unwrap();
    let mut frames = capture();
    // Plus an ARP frame, which is read but not decoded.
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&MAC_A);
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0; 28]);
    frames.push((ts(12), arp));
    let path = write_capture(dir.path(), "mixed.pcap", &frames);
    let out = flows_ok(&["--stats"], &[&path]);
    let nd = common::ndjson(&out.stdout);
    let (last, flows) = nd.split_last().unwrap();
    let stats = &last["stats"];
    assert!(stats.is_object(), "last record is {last}");
    assert_eq!(stats["frames"], frames.len() as u64);
    assert_eq!(stats["decoded"], frames.len() as u64 - 1);
    assert_eq!(stats["undecodable"]["not_ip"], 1);
    let total_bytes: u64 = frames.iter().map(|(_, d)| d.len() as u64).sum();
    assert_eq!(stats["bytes"], total_bytes);
    assert_eq!(stats["flows"]["flows_created"], flows.len() as u64);
    assert!(flows.iter().all(|f| f.get("stats").is_none()));
    let packets: u64 = flows
        .iter()
        .map(|f| f["packets_up"].as_u64().unwrap() + f["packets_down"].as_u64().unwrap())
        .sum();
    assert_eq!(packets, frames.len() as u64 - 1);
    // Statistics also go to stderr, and CSV output has no place for them.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{} frames", frames.len())), "{err}");
    let csv_out = flows_ok(&["--format", "csv", "--stats"], &[&path]);
    let text = String::from_utf8_lossy(&csv_out.stdout);
    assert_eq!(text.lines().count(), flows.len() + 1, "{text}");
    assert!(!text.contains("stats"));
}

#[test]
fn several_files_are_read_as_one_capture() {
    let dir = tempfile::tempdir().unwrap();
    let frames = capture();
    let whole = write_capture(dir.path(), "whole.pcap", &frames);
    // Split in the middle of the TCP connection.
    let (a, b) = frames.split_at(6);
    let first = write_capture(dir.path(), "part1.pcap", a);
    let second = write_capture(dir.path(), "part2.pcap", b);
    let one = flows_ok(&[], &[&whole]).stdout;
    let two = flows_ok(&[], &[&first, &second]).stdout;
    assert_eq!(String::from_utf8_lossy(&two), String::from_utf8_lossy(&one));
    let nd = common::ndjson(&two);
    let tcp = find(&nd, "tcp");
    assert_eq!(tcp.len(), 1, "the TCP flow spans both files: {nd:?}");
    assert_eq!(
        tcp[0]["packets_up"].as_u64().unwrap() + tcp[0]["packets_down"].as_u64().unwrap(),
        8
    );
    // With --stats, the frames of both files are counted.
    let with_stats = common::ndjson(&flows_ok(&["--stats"], &[&first, &second]).stdout);
    assert_eq!(
        with_stats.last().unwrap()["stats"]["frames"],
        frames.len() as u64
    );
}

#[test]
fn unknown_options_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "mixed.pcap", &capture());
    let p = path.to_str().unwrap();
    for args in [
        vec!["flows", "--no-such-option", p],
        vec!["flows", "--format", "xml", p],
        vec!["--bogus"],
        vec!["no-such-command"],
        vec!["flows"],
    ] {
        let out = common::onlooker(&args);
        assert_eq!(common::exit_code(&out), Some(2), "onlooker {args:?}");
        assert!(out.stdout.is_empty(), "onlooker {args:?} wrote to stdout");
        assert!(!out.stderr.is_empty(), "onlooker {args:?} said nothing");
    }
    let out = common::onlooker(["flows", "--no-such-option", p]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-option"));
}

#[test]
fn help_version_and_about() {
    for args in [
        vec!["--help"],
        vec!["--version"],
        vec!["--about"],
        vec!["flows", "--help"],
    ] {
        let out = common::onlooker(&args);
        assert_eq!(common::exit_code(&out), Some(0), "onlooker {args:?}");
        assert!(!out.stdout.is_empty());
    }
    let out = common::onlooker(["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn interfaces_lists_or_explains() {
    let out = common::onlooker(["interfaces"]);
    let err = String::from_utf8_lossy(&out.stderr);
    match common::exit_code(&out) {
        Some(0) => {
            let json = common::onlooker(["interfaces", "--json"]);
            assert_eq!(common::exit_code(&json), Some(0));
            let v: Value = serde_json::from_slice(&json.stdout).unwrap();
            let rows = v.as_array().unwrap();
            // Each row says which of four states it is in; a down interface is not called a
            // permission problem; at most one is the default of `live`.
            for r in rows {
                let state = r["state"].as_str().unwrap();
                assert!(
                    ["permitted", "not-permitted", "down", "failed"].contains(&state),
                    "{r}"
                );
                if state == "down" {
                    assert_eq!(r["up"], false, "{r}");
                }
                assert_eq!(state == "permitted", r["capture_permitted"] == true, "{r}");
            }
            let defaults = rows.iter().filter(|r| r["default"] == true).count();
            assert!(defaults <= 1, "{v}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(text.matches("<- default for").count(), defaults, "{text}");
        }
        // No privilege, or libpcap could not list interfaces here: one explaining line.
        Some(5 | 6) => {
            assert!(
                err.contains("permission")
                    || err.contains("privilege")
                    || err.contains("interface"),
                "{err}"
            );
            println!("interfaces not listed here: {err}");
        }
        other => panic!("onlooker interfaces exited {other:?}: {err}"),
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// Every subcommand a new user can type, as the top-level help lists them.
const SUBCOMMANDS: [&str; 9] = [
    "flows",
    "events",
    "replay",
    "report",
    "demo",
    "live",
    "interfaces",
    "completions",
    "man",
];

#[test]
fn bash_completions_load_and_complete_the_subcommands() {
    let out = common::onlooker(["completions", "bash"]);
    assert_eq!(common::exit_code(&out), Some(0));
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        script.contains("complete -F"),
        "not a bash completion script"
    );
    for sub in SUBCOMMANDS {
        assert!(script.contains(sub), "completions lack {sub}");
    }
    // bash itself accepts the script (when bash is here: it is on every Debian system).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onlooker.bash");
    std::fs::write(&path, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p onlooker", path.display()))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash refused the completion script: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("onlooker"));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = common::onlooker(["completions", shell]);
        assert_eq!(common::exit_code(&out), Some(0), "completions {shell}");
        assert!(!out.stdout.is_empty(), "completions {shell}");
    }
    let out = common::onlooker(["completions", "tcsh"]);
    assert_eq!(common::exit_code(&out), Some(2));
}

#[test]
fn man_prints_a_roff_page_with_the_subcommands() {
    let out = common::onlooker(["man"]);
    assert_eq!(common::exit_code(&out), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    assert!(page.contains(".TH onlooker 1"), "no title header");
    assert!(page.contains(".SH NAME") && page.contains(".SH SYNOPSIS"));
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("onlooker\\-{sub}")),
            "the manual page lacks {sub}"
        );
    }
}

#[test]
fn licence_files_exist_and_are_referenced() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mit = std::fs::read_to_string(root.join("LICENSE-MIT")).unwrap();
    assert!(mit.contains("Permission is hereby granted, free of charge"));
    assert!(mit.contains("the onlooker authors"));
    let apache = std::fs::read_to_string(root.join("LICENSE-APACHE")).unwrap();
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
    assert!(apache.contains("END OF TERMS AND CONDITIONS"));
    assert_eq!(env!("CARGO_PKG_LICENSE"), "MIT OR Apache-2.0");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("LICENSE-MIT") && readme.contains("LICENSE-APACHE"));
    assert!(readme.contains("cargo install --path ."));
}

/// The release binary a user installs: at most 30 MiB (it was 49 MB with debug information).
const MAX_RELEASE_BINARY: u64 = 30 * 1024 * 1024;

#[test]
fn the_release_binary_is_at_most_30_mib() {
    let bin = Path::new(env!("CARGO_BIN_EXE_onlooker"));
    let in_release = bin
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "release");
    if !in_release {
        println!("SKIPPED: {} is not a release build", bin.display());
        return;
    }
    let size = std::fs::metadata(bin).unwrap().len();
    assert!(
        size <= MAX_RELEASE_BINARY,
        "{} is {size} bytes, over {MAX_RELEASE_BINARY}",
        bin.display()
    );
}

#[test]
fn no_names_is_refused_where_it_would_not_act() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "mixed.pcap", &capture());
    let p = path.to_str().unwrap();
    let bare = common::onlooker(["flows", "--no-names", p]);
    assert_eq!(common::exit_code(&bare), Some(0));
    assert!(!common::ndjson(&bare.stdout).is_empty());
    for args in [
        vec!["events", "--no-names", p],
        vec!["report", "--no-names", p],
        vec!["replay", "--no-names", p],
        vec!["demo", "--no-names"],
        vec!["demo", "--report", "--no-names"],
        vec!["live", "--no-names"],
    ] {
        let out = common::onlooker(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(common::exit_code(&out), Some(2), "onlooker {args:?}: {err}");
        assert!(out.stdout.is_empty(), "onlooker {args:?}");
        assert!(
            err.contains("--no-names acts only in `flows` and `live --headless`"),
            "onlooker {args:?}: {err}"
        );
    }
    // Help lists it only where it acts.
    for (cmd, listed) in [
        ("flows", true),
        ("live", true),
        ("events", false),
        ("report", false),
        ("replay", false),
        ("demo", false),
    ] {
        let help = common::onlooker([cmd, "--help"]);
        let text = String::from_utf8_lossy(&help.stdout);
        assert_eq!(text.contains("--no-names"), listed, "onlooker {cmd} --help");
    }
}

#[test]
fn top_level_help_gives_each_command_one_whole_sentence() {
    let out = common::onlooker(["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |cmd: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{cmd} ")))
            .unwrap_or_else(|| panic!("no {cmd} line in {text}"))
            .to_string()
    };
    for cmd in SUBCOMMANDS {
        let l = line(cmd);
        // Short enough for an 80-column terminal, so nothing wraps or is cut.
        assert!(l.chars().count() <= 100, "{l}");
    }
    assert!(!line("flows").ends_with("as one"), "{text}");
    let demo = common::onlooker(["demo", "--help"]);
    let demo = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.contains("ten minutes") && !demo.contains("eight"),
        "{demo}"
    );
}
