//! The errors people see, for every command that takes them: a missing file, a directory, an
//! unknown interface, a bad capture filter, an unknown option and an unknown command each give
//! a first line on stderr that names the thing and says what to do, and the documented exit
//! code (docs/robustness.md; `cli::exit`). An unreadable file is in tests/bad_input.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Lines on stderr that are not the run summary a live capture prints when it ends.
fn message_lines(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Exactly one line, with the exit code and every one of `says`.
#[track_caller]
fn assert_one_line(out: &Output, code: i32, says: &[&str]) {
    let lines = message_lines(out);
    assert_eq!(common::exit_code(out), Some(code), "{lines:?}");
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    for s in says {
        assert!(lines[0].contains(s), "{s:?} in {lines:?}");
    }
    assert!(!lines[0].contains("panicked"));
}

#[test]
fn missing_files_and_directories_for_every_file_command() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pcap");
    let m = missing.display().to_string();
    let d = dir.path().display().to_string();
    for cmd in ["flows", "events"] {
        let out = common::onlooker([cmd, m.as_str()]);
        assert_one_line(&out, 4, &[&m, "no such file", "check the path"]);
        assert!(out.stdout.is_empty());
        let out = common::onlooker([cmd, d.as_str()]);
        assert_one_line(&out, 4, &[&d, "directory"]);
    }
}

/// Live capture needs privileges; without them the answer is exit 5 and the way to get them,
/// and the interface or filter cannot be checked (the test says so).
fn live(args: &[&str]) -> Option<Output> {
    let mut all = vec!["live", "--headless"];
    all.extend_from_slice(args);
    let out = common::onlooker(all);
    if common::exit_code(&out) == Some(5) {
        let err = stderr(&out);
        assert!(err.contains("setcap") || err.contains("sudo"), "{err}");
        println!("SKIPPED live {args:?}: no capture privilege here (exit 5 with the fix: {err})");
        return None;
    }
    Some(out)
}

#[test]
fn an_unknown_interface() {
    if let Some(out) = live(&["-i", "nosuchif9"]) {
        assert_one_line(&out, 6, &["nosuchif9", "onlooker interfaces"]);
    }
}

#[test]
fn a_bad_capture_filter() {
    if let Some(out) = live(&["-i", "lo", "-f", "port and and"]) {
        assert_one_line(&out, 2, &["port and and", "pcap-filter"]);
    }
}

#[test]
fn unknown_options_and_commands_are_one_line_naming_themselves() {
    for (args, bad) in [
        (&["flows", "--bogus", "x.pcap"][..], "--bogus"),
        (&["events", "--max-flowz", "3", "x.pcap"], "--max-flowz"),
        (&["frobnicate"], "frobnicate"),
        (&["flows", "--max-flows", "many", "x.pcap"], "many"),
        (&["report", "--format", "pdf", "x.pcap"], "pdf"),
        (&["flows"], "<FILES>"),
    ] {
        let out = common::onlooker(args);
        assert_one_line(&out, 2, &[bad, "--help"]);
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
    }
}

/// Beyond replay (tests/no_network.rs): listing interfaces and a live capture on loopback make
/// no connect(2) or send to an Internet address either. Live capture needs privileges and
/// strace; without them the test says so.
#[test]
fn interfaces_and_live_capture_make_no_network_connection() {
    use std::process::{Command, Stdio};
    if !Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("SKIPPED interfaces_and_live_capture_make_no_network_connection: no strace");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let traced = |name: &str, args: &[&str]| -> (std::path::PathBuf, Command) {
        let log = dir.path().join(format!("{name}.trace"));
        let mut c = Command::new("strace");
        c.args([
            "-f",
            "-qq",
            "-e",
            "trace=connect,sendto,sendmsg,sendmmsg",
            "-o",
        ])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_onlooker"))
        .args(args);
        (log, c)
    };
    let internet = |log: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            // The destination address family; netlink messages (libpcap probing NFLOG) carry
            // AF_INET inside their payload but go to the kernel (sa_family=AF_NETLINK).
            .filter(|l| l.contains("sa_family=AF_INET"))
            .map(str::to_string)
            .collect()
    };
    let (log, mut c) = traced("interfaces", &["interfaces"]);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(internet(&log).is_empty(), "{:?}", internet(&log));

    // timeout(1) sends SIGINT after 1.5 s, which ends a live run cleanly; strace follows it.
    let log = dir.path().join("live.trace");
    let out = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=connect,sendto,sendmsg,sendmmsg",
            "-o",
        ])
        .arg(&log)
        .args(["timeout", "--preserve-status", "-s", "INT", "1.5"])
        .arg(env!("CARGO_BIN_EXE_onlooker"))
        .args(["live", "-i", "lo", "--headless"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&out);
    if err.contains("no permission to capture") {
        println!("SKIPPED live part: no capture privilege here");
        return;
    }
    assert!(out.status.success(), "{err}");
    assert!(internet(&log).is_empty(), "{:?}", internet(&log));
}
