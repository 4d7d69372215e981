//! Captures through pipes: `-` is standard input for every command that reads captures, a
//! FIFO is read once as it arrives, and the progress line never reaches a stderr that is not a
//! terminal (nor stdout, ever).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap")
}

/// Run onlooker with `input` written to its standard input.
fn from_file(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap()
}

#[test]
fn dash_is_standard_input_for_every_command_that_reads_captures() {
    let bytes = std::fs::read(demo()).unwrap();
    let file = demo();
    let file = file.to_str().unwrap();
    for cmd in [
        vec!["flows"],
        vec!["events"],
        vec!["events", "--format", "csv"],
        vec!["report", "--format", "json"],
    ] {
        let piped = common::with_stdin(&[cmd.clone(), vec!["-"]].concat(), &bytes);
        assert_eq!(
            common::exit_code(&piped),
            Some(0),
            "{cmd:?} -: {}",
            String::from_utf8_lossy(&piped.stderr)
        );
        let read = from_file(&[cmd.clone(), vec![file]].concat());
        let (a, b) = (
            String::from_utf8_lossy(&piped.stdout),
            String::from_utf8_lossy(&read.stdout),
        );
        assert!(!a.is_empty(), "{cmd:?}");
        if cmd[0] == "report" {
            // The same report but for the name of the input.
            let a: serde_json::Value = serde_json::from_str(&a).unwrap();
            let b: serde_json::Value = serde_json::from_str(&b).unwrap();
            assert_eq!(a["inputs"]["files"][0], "standard input");
            assert_eq!(a["headline"], b["headline"]);
            assert_eq!(a["calls"], b["calls"]);
        } else {
            assert_eq!(a, b, "{cmd:?}: piped and read from the file differ");
        }
    }
}

#[test]
fn bad_input_on_standard_input_gets_the_usual_one_line_answers() {
    let bytes = std::fs::read(demo()).unwrap();
    for (input, says, code) in [
        (Vec::new(), "standard input: the file is empty", 4),
        (b"hello, world".to_vec(), "not a pcap or pcapng capture", 4),
        (vec![0x1f, 0x8b, 8, 0, 0, 0], "gzip-compressed", 4),
        (bytes[..1000].to_vec(), "partial input: standard input", 3),
    ] {
        let out = common::with_stdin(&["flows", "-"], &input);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(common::exit_code(&out), Some(code), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_fifo_is_read_once_as_it_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("capture.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let bytes = std::fs::read(demo()).unwrap();
    let path = fifo.clone();
    // The writer opens the FIFO only once onlooker has it open for reading, as tcpdump would.
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        for chunk in bytes.chunks(1000) {
            f.write_all(chunk).unwrap();
        }
    });
    let out = from_file(&["flows", fifo.to_str().unwrap()]);
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(common::exit_code(&out), Some(0), "{err}");
    let read = from_file(&["flows", demo().to_str().unwrap()]);
    assert_eq!(out.stdout, read.stdout);
}

#[test]
fn no_progress_line_when_stderr_is_not_a_terminal() {
    let file = demo();
    for cmd in ["flows", "events", "report"] {
        let out = from_file(&[cmd, file.to_str().unwrap()]);
        assert_eq!(common::exit_code(&out), Some(0));
        let err = String::from_utf8_lossy(&out.stderr);
        // The line starts "onlooker: read 412 MB of ..." and is redrawn with a carriage return.
        assert!(
            !err.contains("onlooker: read ") && !err.contains('\r'),
            "{cmd}: {err}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("onlooker: read ") && !text.contains('\r'),
            "{cmd}"
        );
    }
}

/// On a terminal (here the pseudo-terminal of util-linux's `script`), a run that takes a while
/// draws the progress line on stderr, redrawn in place, and erases it before the statistics.
#[test]
fn a_progress_line_on_a_terminal_during_a_long_run() {
    let Some(script) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("script"))
            .find(|p| p.is_file())
    }) else {
        println!("SKIPPED a_progress_line_on_a_terminal_during_a_long_run: no script(1)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("slow.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let bytes = std::fs::read(demo()).unwrap();
    let path = fifo.clone();
    // About 1.5 s of input: long enough for the first line (after 0.5 s) and a redraw.
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        for chunk in bytes.chunks(bytes.len() / 15 + 1) {
            f.write_all(chunk).unwrap();
            f.flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
    let cmd = format!(
        "{} flows {} > /dev/null",
        env!("CARGO_BIN_EXE_onlooker"),
        fifo.display()
    );
    let out = Command::new(script)
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    writer.join().unwrap();
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{tty}");
    assert!(tty.contains("\ronlooker: read "), "{tty:?}");
    assert!(tty.contains(" packets/s"), "{tty:?}");
    // Erased before the statistics, which start on a clean line.
    let after = tty
        .split("\r\x1b[K")
        .last()
        .unwrap_or_default()
        .trim_start();
    assert!(
        after.starts_with("onlooker: ") && after.contains(" frames ("),
        "{tty:?}"
    );
    assert!(!after.contains("packets/s"), "{tty:?}");
}
