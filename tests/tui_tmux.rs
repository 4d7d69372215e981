//! End to end: `onlooker demo` in a real terminal (tmux), driven by keys, its screen read back
//! with capture-pane; after quitting (and after SIGTERM) the terminal must be back in normal
//! mode: alternate screen left, canonical input restored.
//!
//! Needs tmux; prints SKIPPED when it is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, cmd: &str) -> Option<Self> {
        if Command::new("tmux").arg("-V").output().is_err() {
            println!("SKIPPED {name}: tmux is not installed");
            eprintln!("SKIPPED {name}: tmux is not installed");
            return None;
        }
        let t = Tmux {
            socket: format!("onlooker-test-{}-{name}", std::process::id()),
        };
        let ok = t
            .cmd(&["new-session", "-d", "-x", "80", "-y", "24", "-s", "t", cmd])
            .status
            .success();
        assert!(ok, "tmux new-session failed");
        Some(t)
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("running tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        self.cmd(&["send-keys", "-t", "t", keys]);
    }

    /// Wait until the screen contains `what`; the screen last seen otherwise.
    fn wait_for(&self, what: &str) -> Result<String, String> {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return Ok(s);
            }
            if start.elapsed() > Duration::from_secs(20) {
                return Err(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn expect(&self, what: &str) -> String {
        match self.wait_for(what) {
            Ok(s) => s,
            Err(s) => panic!("the screen never showed {what:?}; last screen:\n{s}"),
        }
    }

    fn alternate_screen(&self) -> bool {
        let o = self.cmd(&["display-message", "-p", "-t", "t", "#{alternate_on}"]);
        String::from_utf8_lossy(&o.stdout).trim() == "1"
    }

    fn pane_pid(&self) -> u32 {
        let o = self.cmd(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
        String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

/// The shell line run in the pane: the demo, then its exit code and whether the terminal is
/// back in canonical mode ("MODE=icanon"; raw mode would print "MODE=-icanon").
fn shell_line() -> String {
    format!(
        "{} demo --speed max; echo ONLOOKER_EXIT=$?; stty -a | grep -o -- '-\\?icanon' | head -1 | sed 's/^/MODE=/'; sleep 60",
        env!("CARGO_BIN_EXE_onlooker")
    )
}

#[test]
fn demo_tabs_and_quit_restore_the_terminal() {
    let Some(t) = Tmux::start("demo_quit", &shell_line()) else {
        return;
    };
    let s = t.expect("synthetic capture");
    assert!(s.contains("1 Observer"), "{s}");
    assert!(
        t.alternate_screen(),
        "the dashboard uses the alternate screen"
    );
    // The replay runs to the end: the status bar says so.
    t.expect("done");
    t.keys("3");
    let s = t.expect("Evidence of the selected flow");
    assert!(s.contains("WhatsApp"), "{s}");
    t.keys("Down");
    t.keys("4");
    t.expect("Evidence of the selected event");
    t.keys("2");
    t.expect("whole capture");
    t.keys("5");
    t.expect("Places");
    t.keys("?");
    t.expect("jump to the end");
    t.keys("q");
    let s = t.expect("MODE=");
    assert!(s.contains("ONLOOKER_EXIT=0"), "{s}");
    assert!(s.contains("MODE=icanon"), "raw mode was left on:\n{s}");
    assert!(!t.alternate_screen(), "the alternate screen was left");
    assert!(s.contains("7 flows, 14 events"), "the closing line: {s}");
}

#[test]
fn sigterm_restores_the_terminal() {
    let Some(t) = Tmux::start("demo_sigterm", &shell_line()) else {
        return;
    };
    t.expect("1 Observer");
    // The dashboard is the pane shell's child.
    let shell = t.pane_pid();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
        .expect("reading the shell's children");
    let pid: i32 = children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the dashboard process");
    let ok = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let s = t.expect("MODE=");
    assert!(s.contains("MODE=icanon"), "raw mode was left on:\n{s}");
    assert!(s.contains("ONLOOKER_EXIT=0"), "{s}");
    assert!(!t.alternate_screen());
}

/// The dashboard's process id: the pane shell's child.
fn dashboard_pid(t: &Tmux) -> i32 {
    let shell = t.pane_pid();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
        .expect("reading the shell's children");
    children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the dashboard process")
}

#[test]
fn a_closed_terminal_ends_the_dashboard() {
    let Some(t) = Tmux::start("demo_hangup", &shell_line()) else {
        return;
    };
    t.expect("1 Observer");
    let pid = dashboard_pid(&t);
    // Close the terminal under it, as closing the window or losing the SSH connection does.
    t.cmd(&["kill-server"]);
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // A zombie has ended; only its parent's wait is missing.
        if state.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("the dashboard was still running 10 s after its terminal closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn replay_of_a_missing_file_fails_before_opening_the_terminal() {
    let out = Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .args(["replay", "/nonexistent/none.pcap"])
        .output()
        .expect("running onlooker");
    assert_eq!(out.status.code(), Some(4), "bad input exit code");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("none.pcap"), "{err}");
    // No escape sequences: the alternate screen was never entered.
    assert!(!out.stdout.contains(&0x1b), "stdout: {:?}", out.stdout);
}

#[test]
fn the_export_keys_write_reports_into_the_export_folder() {
    let dir = std::env::temp_dir().join(format!("olx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let line = format!(
        "{} demo --speed max --export-dir {}; sleep 60",
        env!("CARGO_BIN_EXE_onlooker"),
        dir.display()
    );
    let Some(t) = Tmux::start("demo_export", &line) else {
        return;
    };
    t.expect("done");
    t.keys("x");
    let s = t.expect("report written to");
    assert!(s.contains(&dir.display().to_string()), "{s}");
    t.keys("X");
    t.expect(".json");
    t.keys("q");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.iter().all(|n| n.starts_with("onlooker-report-20")),
        "the names carry the date: {names:?}"
    );
    let json = names.iter().find(|n| n.ends_with(".json")).unwrap();
    let md = names.iter().find(|n| n.ends_with(".md")).unwrap();
    let md_text = std::fs::read_to_string(dir.join(md)).unwrap();
    assert!(
        md_text.contains("What an observer on the path learned"),
        "{md_text}"
    );
    let json_text = std::fs::read_to_string(dir.join(json)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    assert!(v["findings"].as_array().is_some_and(|f| !f.is_empty()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_terminal_demo_and_replay_say_what_to_run_instead() {
    let bin = env!("CARGO_BIN_EXE_onlooker");
    let demo_pcap = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.pcap");
    for (args, hint) in [
        (vec!["demo"], "onlooker demo --report".to_string()),
        (
            vec!["replay", demo_pcap],
            format!("onlooker report {demo_pcap}"),
        ),
    ] {
        // Output to a pipe, as under cron, CI or `| less`.
        let out = Command::new(bin)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains("needs a terminal"), "{err}");
        assert!(err.contains(&hint), "{args:?} suggests {hint}: {err}");
        assert!(!err.contains("os error"), "{err}");
        assert!(out.stdout.is_empty(), "nothing drawn: {:?}", out.stdout);
    }
}

#[test]
fn a_zone_or_export_folder_that_does_not_exist_is_a_usage_error() {
    let bin = env!("CARGO_BIN_EXE_onlooker");
    for (args, says) in [
        (vec!["demo", "--tz", "Nowhere/Atlantis"], "--tz"),
        (
            vec!["demo", "--export-dir", "/nonexistent/reports"],
            "--export-dir",
        ),
    ] {
        let out = Command::new(bin).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn live_stdin_shows_a_capture_still_being_written_and_saves_it() {
    let dir = std::env::temp_dir().join(format!("olstdin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join("saved.pcapng");
    // The capture arrives through a pipe whose writer stays, as `tcpdump -U -w -` does.
    let line = format!(
        "(cat {}; sleep 3600) | {{ {} live --stdin -w {}; echo ONLOOKER_EXIT=$?; }}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.pcap"),
        env!("CARGO_BIN_EXE_onlooker"),
        saved.display()
    );
    let Some(t) = Tmux::start("live_stdin", &line) else {
        return;
    };
    let s = t.expect("live standard input");
    assert!(t.alternate_screen(), "the dashboard is up:\n{s}");
    // No pacing: the whole ten minutes are read at once, and the capture goes on.
    t.keys("3");
    let s = t.expect("Evidence of the selected flow");
    let s = if s.contains("signal") || s.contains("Signal") {
        s
    } else {
        t.expect("Signal")
    };
    assert!(s.contains("WhatsApp"), "{s}");
    assert!(s.contains("capturing"), "still open, shown as live:\n{s}");
    t.keys("q");
    let s = t.expect("ONLOOKER_EXIT=");
    assert!(s.contains("ONLOOKER_EXIT=0"), "{s}");
    assert!(s.contains("7 flows, 14 events"), "the closing line: {s}");
    assert!(s.contains("capture saved to"), "{s}");
    let bytes = std::fs::read(&saved).unwrap();
    assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "pcapng");
    let flows = Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .arg("flows")
        .arg(&saved)
        .output()
        .unwrap();
    assert!(flows.status.success());
    assert_eq!(String::from_utf8_lossy(&flows.stdout).lines().count(), 7);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn live_stdin_stays_up_on_the_result_after_the_end_of_input() {
    let line = format!(
        "cat {} | {{ {} live --stdin; echo ONLOOKER_EXIT=$?; }}; sleep 60",
        concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.pcap"),
        env!("CARGO_BIN_EXE_onlooker"),
    );
    let Some(t) = Tmux::start("live_stdin_end", &line) else {
        return;
    };
    let s = t.expect("done");
    assert!(s.contains("live standard input"), "{s}");
    // Still up after the end of the input, as a replay that reached its end.
    std::thread::sleep(Duration::from_millis(500));
    assert!(t.alternate_screen(), "the dashboard stays up");
    t.keys("4");
    let s = t.expect("Evidence of the selected event");
    assert!(s.contains("14 events"), "{s}");
    t.keys("q");
    let s = t.expect("ONLOOKER_EXIT=");
    assert!(s.contains("ONLOOKER_EXIT=0"), "{s}");
}

#[test]
fn replay_of_a_pipe_still_open_quits_at_once() {
    let line = format!(
        "(cat {}; sleep 3600) | {{ {} replay --speed max -; echo ONLOOKER_EXIT=$?; }}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.pcap"),
        env!("CARGO_BIN_EXE_onlooker"),
    );
    let Some(t) = Tmux::start("replay_pipe", &line) else {
        return;
    };
    t.expect("1 Observer");
    t.keys("3");
    t.expect("Signal");
    t.keys("q");
    let start = Instant::now();
    let s = t.expect("ONLOOKER_EXIT=");
    assert!(s.contains("ONLOOKER_EXIT=0"), "{s}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "quitting took {:?}",
        start.elapsed()
    );
}
