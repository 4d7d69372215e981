//! The sandbox seen from outside (docs/privileges.md, "After the capture opens: the sandbox"):
//! every command, caught while it runs, has `NoNewPrivs: 1` and `Seccomp: 2` on each of its
//! threads in /proc/PID/task/*/status, and `strace -f` shows `landlock_restrict_self` returning
//! 0; and a process confined by the commands' plans can neither create a file in the home
//! folder, nor connect to 127.0.0.1, nor run /bin/true, where the same unconfined process can.
//!
//! Runs without libtest's harness (`harness = false`): the probe child must be the process's
//! only thread when it confines itself, as the commands are, and libtest runs tests on threads
//! of its own. Missing tools (strace, tmux) and missing root (live capture) print SKIPPED with
//! the reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onlooker::sandbox::{Plan, confine, probe};

const BIN: &str = env!("CARGO_BIN_EXE_onlooker");
const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo.pcap");

/// Environment of the probe child: which plan (or `control`: none), where "home" is, and the
/// port that listens.
const CHILD: &str = "ONLOOKER_SANDBOX_PROBE";
const CHILD_HOME: &str = "ONLOOKER_SANDBOX_PROBE_HOME";
const CHILD_PORT: &str = "ONLOOKER_SANDBOX_PROBE_PORT";

/// How long a command may take to reach the state a check waits for.
const PATIENCE: Duration = Duration::from_secs(20);

fn main() {
    if let Ok(plan) = std::env::var(CHILD) {
        probe_child(&plan);
        return;
    }
    let tests: &[(&str, fn())] = &[
        (
            "forbidden_actions_fail_after_confinement",
            forbidden_actions_fail,
        ),
        ("file_commands_run_confined", file_commands_run_confined),
        ("strace_shows_landlock_in_force", strace_shows_landlock),
        ("live_headless_runs_confined", live_headless_runs_confined),
        (
            "live_stdin_outputs_run_confined",
            live_stdin_outputs_run_confined,
        ),
        ("dashboard_runs_confined", dashboard_runs_confined),
        ("no_sandbox_says_so", no_sandbox_says_so),
    ];
    for (name, test) in tests {
        println!("test {name} ...");
        test();
        println!("test {name} ... ok");
    }
}

/// The child: confine with the plan named (as `flows` and the dashboard do), then try the
/// forbidden things and print one line each: `DENIED what: error` or `ALLOWED what`.
fn probe_child(plan: &str) {
    let home = PathBuf::from(std::env::var(CHILD_HOME).unwrap());
    let port: u16 = std::env::var(CHILD_PORT).unwrap().parse().unwrap();
    let plan = match plan {
        "control" => None,
        "flows" => Some(Plan::new().reading([DEMO])),
        "dashboard" => Some(
            Plan::new()
                .reading([DEMO])
                .writing_in(&home.join("exports"))
                .terminal(),
        ),
        "live" => Some(Plan::new().capture()),
        other => panic!("unknown plan {other}"),
    };
    // The live plan as a capture has it: a packet socket open before confinement (root only).
    // SAFETY: plain socket(2) and geteuid(2) calls.
    let packet = (plan.as_ref().is_some_and(|p| p.is_capture()) && unsafe { libc::geteuid() } == 0)
        .then(|| unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) })
        .filter(|&fd| fd >= 0);
    if let Some(plan) = plan {
        let confined = confine(&plan).unwrap().expect("confined");
        println!(
            "CONFINED landlock ABI {} seccomp {}",
            confined.landlock_abi, confined.seccomp
        );
    }
    let attempts = probe::forbidden(
        &home.join("written-by-a-parser.txt"),
        SocketAddr::from(([127, 0, 0, 1], port)),
        Path::new("/bin/true"),
    );
    for a in attempts {
        match a.outcome {
            Ok(()) => println!("ALLOWED {}", a.what),
            Err(e) => println!("DENIED {}: {e}", a.what),
        }
    }
    if let Some(fd) = packet {
        let frame = [0u8; 60];
        // SAFETY: a descriptor this process opened and a buffer it owns.
        let wrote = unsafe { libc::write(fd, frame.as_ptr().cast(), frame.len()) };
        let write_err = std::io::Error::last_os_error();
        // SAFETY: as above.
        let dup = unsafe { libc::dup(fd) };
        let dup_err = std::io::Error::last_os_error();
        println!(
            "PACKET write {wrote} {:?} dup {dup} {:?}",
            write_err.raw_os_error(),
            dup_err.raw_os_error()
        );
    }
}

/// Run the probe child with `plan`; its lines.
fn run_probe(plan: &str, home: &Path, port: u16) -> Vec<String> {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, plan)
        .env(CHILD_HOME, home)
        .env(CHILD_PORT, port.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "probe child ({plan}) failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines().map(str::to_string).collect()
}

fn forbidden_actions_fail() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("exports")).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Unconfined, the same three attempts succeed: the probe can tell.
    let control = run_probe("control", home.path(), port);
    let allowed = control.iter().filter(|l| l.starts_with("ALLOWED")).count();
    assert_eq!(
        allowed, 3,
        "unconfined, each attempt should succeed: {control:#?}"
    );
    for plan in ["flows", "dashboard", "live"] {
        let lines = run_probe(plan, home.path(), port);
        assert!(
            lines.iter().any(|l| l.starts_with("CONFINED landlock ABI ")
                && !l.starts_with("CONFINED landlock ABI 0")
                && l.ends_with("seccomp true")),
            "{plan}: not confined: {lines:#?}"
        );
        let denied: Vec<&String> = lines.iter().filter(|l| l.starts_with("DENIED")).collect();
        assert_eq!(
            denied.len(),
            3,
            "{plan}: each attempt must fail: {lines:#?}"
        );
        for (d, what) in denied
            .iter()
            .zip(["write ", "connect to 127.0.0.1", "run /bin/true"])
        {
            assert!(d.starts_with(&format!("DENIED {what}")), "{plan}: {d}");
        }
    }
    // SAFETY: no arguments.
    if unsafe { libc::geteuid() } == 0 {
        // On the capture's packet socket, writing (sending a frame) and duplicating it fail
        // with the filter's EPERM.
        let lines = run_probe("live", home.path(), port);
        let eperm = format!("PACKET write -1 Some({0}) dup -1 Some({0})", libc::EPERM);
        assert!(
            lines.contains(&eperm),
            "packet socket not closed to writes: {lines:#?}"
        );
    } else {
        println!("SKIPPED packet socket writes: opening one needs root");
    }
    assert!(
        !home.path().join("written-by-a-parser.txt").exists(),
        "a confined probe left its file"
    );
}

/// `NoNewPrivs` and `Seccomp` of every thread of `pid`, as /proc shows them.
fn thread_states(pid: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(t.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        out.push((field("NoNewPrivs:"), field("Seccomp:")));
    }
    out
}

/// Wait until every thread of `pid` shows `NoNewPrivs: 1` and `Seccomp: 2` (mode 2: filter);
/// the states last seen otherwise.
fn wait_confined(pid: u32) -> Result<usize, Vec<(String, String)>> {
    let start = Instant::now();
    loop {
        let states = thread_states(pid);
        if !states.is_empty() && states.iter().all(|(nnp, sc)| nnp == "1" && sc == "2") {
            return Ok(states.len());
        }
        if start.elapsed() > PATIENCE {
            return Err(states);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn collect(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

/// Run `args` on `fifo` fed with the demo capture, held open halfway so the command waits for
/// more packets; with `check`, /proc is read meanwhile. Stdout, stderr, status and the number
/// of threads confined.
fn through_fifo(args: &[&str], fifo: &Path, check: bool) -> (Vec<u8>, String, bool, usize) {
    let demo = std::fs::read(DEMO).unwrap();
    if !fifo.exists() {
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path and a mode.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }
    let mut child = Command::new(BIN)
        .args(args)
        .arg(fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let mut w = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
    w.write_all(&demo[..demo.len() / 2]).unwrap();
    let confined = if check {
        Some(wait_confined(child.id()))
    } else {
        None
    };
    w.write_all(&demo[demo.len() / 2..]).unwrap();
    drop(w);
    let status = child.wait().unwrap();
    let out = out.join().unwrap();
    let err = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    let threads = match confined {
        Some(c) => c.unwrap_or_else(|s| panic!("{args:?}: not confined: {s:?}\n{err}")),
        None => 0,
    };
    assert!(status.success(), "{args:?}: {status}\n{err}");
    (out, err, status.success(), threads)
}

fn file_commands_run_confined() {
    let dir = tempfile::tempdir().unwrap();
    let runs: &[&[&str]] = &[
        &["flows"],
        &["events", "--tz", "UTC"],
        &["report", "--tz", "UTC"],
    ];
    for args in runs {
        let fifo = dir.path().join(format!("{}.pcap", args[0]));
        let (out, _, _, threads) = through_fifo(args, &fifo, true);
        assert!(
            threads >= 2,
            "{args:?}: the reader thread runs confined too ({threads})"
        );
        // The output is that of the same command unconfined, on the same input.
        let plain: Vec<&str> = std::iter::once("--no-sandbox")
            .chain(args.iter().copied())
            .collect();
        let (unconfined, _, _, _) = through_fifo(&plain, &fifo, false);
        assert!(out.len() > 500, "{args:?}: output too short: {}", out.len());
        assert_eq!(out, unconfined, "{args:?}: output differs confined");
        println!(
            "  {}: {threads} threads confined, output unchanged",
            args[0]
        );
    }
}

/// `live --stdin` with every output it can write (events on stdout, `--report FILE`, `-w
/// FILE`): confined on every thread while the input is still open, and each output written
/// all the same (the report file is created before confinement so that its rule can name it).
fn live_stdin_outputs_run_confined() {
    let dir = tempfile::tempdir().unwrap();
    let (report, saved) = (dir.path().join("r.json"), dir.path().join("s.pcapng"));
    let demo = std::fs::read(DEMO).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "live",
            "--stdin",
            "--headless",
            "--events",
            "--tz",
            "UTC",
            "--report",
        ])
        .arg(&report)
        .arg("-w")
        .arg(&saved)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let mut w = child.stdin.take().unwrap();
    w.write_all(&demo[..demo.len() / 2]).unwrap();
    let confined = wait_confined(child.id());
    w.write_all(&demo[demo.len() / 2..]).unwrap();
    drop(w);
    let status = child.wait().unwrap();
    let (out, err) = (
        out.join().unwrap(),
        String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    );
    let threads = confined.unwrap_or_else(|s| panic!("live --stdin: not confined: {s:?}\n{err}"));
    assert!(status.success(), "live --stdin: {status}\n{err}");
    assert!(
        out.len() > 500,
        "live --stdin: events too short: {}",
        out.len()
    );
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(model.get("findings").is_some(), "report: {model}");
    let pcapng = std::fs::read(&saved).unwrap();
    assert!(
        pcapng.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) && pcapng.len() > demo.len() / 2,
        "saved capture: {} bytes",
        pcapng.len()
    );
    println!("  live --stdin: {threads} threads confined, events, report and capture written");
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Whether strace is installed and may trace here (a container without ptrace rights has the
/// tool but cannot use it).
fn strace_works() -> bool {
    Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn strace_shows_landlock() {
    if !strace_works() {
        println!(
            "SKIPPED strace_shows_landlock_in_force: strace is not installed or may not trace here"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runs: &[&[&str]] = &[
        &["flows", DEMO],
        &["events", DEMO],
        &["report", DEMO],
        &["demo", "--report"],
        &["demo", "--events"],
    ];
    for args in runs {
        let log = dir.path().join("trace");
        let status = Command::new("strace")
            .args(["-f", "-e", "trace=landlock_restrict_self,seccomp", "-o"])
            .arg(&log)
            .arg(BIN)
            .args(*args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{args:?} under strace: {status}");
        let trace = std::fs::read_to_string(&log).unwrap();
        assert_landlock_and_seccomp(&trace, &format!("{args:?}"));
    }
}

fn assert_landlock_and_seccomp(trace: &str, what: &str) {
    assert!(
        trace
            .lines()
            .any(|l| l.contains("landlock_restrict_self(") && l.trim_end().ends_with("= 0")),
        "{what}: no landlock_restrict_self(...) = 0 in:\n{trace}"
    );
    assert!(
        trace
            .lines()
            .any(|l| l.contains("seccomp(SECCOMP_SET_MODE_FILTER")
                && l.contains("TSYNC")
                && l.trim_end().ends_with("= 0")),
        "{what}: no seccomp(SECCOMP_SET_MODE_FILTER, TSYNC, ...) = 0 in:\n{trace}"
    );
    println!("  {what}: landlock_restrict_self = 0, seccomp filter installed");
}

/// Start `live --headless` on lo (under strace when `trace` is given); wait until it has
/// dropped its privileges.
fn start_live(trace: Option<&Path>) -> (Child, std::thread::JoinHandle<String>) {
    let mut cmd = match trace {
        Some(log) => {
            let mut c = Command::new("strace");
            c.args(["-f", "-e", "trace=landlock_restrict_self,seccomp", "-o"])
                .arg(log)
                .arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    let mut child = cmd
        .args(["live", "-i", "lo", "--headless"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("privileges"), "live: {first}");
    let rest =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    (child, rest)
}

fn interrupt(child: &mut Child, pid: u32) -> std::process::ExitStatus {
    // SAFETY: a signal to a process this test started.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
    child.wait().unwrap()
}

fn live_headless_runs_confined() {
    // SAFETY: no arguments, no side effects.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED live_headless_runs_confined: live capture needs root (or CAP_NET_RAW)");
        return;
    }
    let (mut child, rest) = start_live(None);
    let confined = wait_confined(child.id());
    let pid = child.id();
    let status = interrupt(&mut child, pid);
    let err = rest.join().unwrap();
    let threads = confined.unwrap_or_else(|s| panic!("live: not confined: {s:?}\n{err}"));
    assert!(status.success(), "live: {status}\n{err}");
    // Asked before confinement, the loopback note still comes.
    assert!(err.contains("capture: received"), "live: {err}");
    println!("  live --headless: {threads} threads confined");
    if !strace_works() {
        println!("SKIPPED live under strace: strace is not installed or may not trace here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trace");
    let (mut strace, rest) = start_live(Some(&log));
    // The traced onlooker is strace's child: interrupt it, and strace ends with it.
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", strace.id()))
        .unwrap_or_default();
    let pid: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    let _ = interrupt(&mut strace, pid);
    let err = rest.join().unwrap();
    assert!(
        err.contains("capture: received"),
        "live under strace: {err}"
    );
    assert_landlock_and_seccomp(&std::fs::read_to_string(&log).unwrap(), "live --headless");
}

fn dashboard_runs_confined() {
    if !have("tmux") {
        println!("SKIPPED dashboard_runs_confined: tmux is not installed");
        return;
    }
    let exports = tempfile::tempdir().unwrap();
    let socket = format!("onlooker-sandbox-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap()
    };
    let cmd = format!(
        "exec {BIN} replay --export-dir {} {DEMO}",
        exports.path().display()
    );
    let out = tmux(&[
        "new-session",
        "-d",
        "-P",
        "-F",
        "#{pane_pid}",
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);
    assert!(out.status.success(), "tmux new-session failed");
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let confined = wait_confined(pid);
    // The export key still writes into the export folder.
    let start = Instant::now();
    let mut written = 0;
    while written == 0 && start.elapsed() < PATIENCE {
        tmux(&["send-keys", "-t", "0", "x"]);
        std::thread::sleep(Duration::from_millis(500));
        written = std::fs::read_dir(exports.path()).unwrap().count();
    }
    tmux(&["send-keys", "-t", "0", "q"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["kill-server"]);
    let threads = confined.unwrap_or_else(|s| panic!("replay: not confined: {s:?}"));
    assert!(
        written > 0,
        "replay: the export key wrote nothing into the export folder"
    );
    println!("  replay: {threads} threads confined, export written");
}

fn no_sandbox_says_so() {
    let out = Command::new(BIN)
        .args(["--no-sandbox", "flows", DEMO])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with("onlooker: warning: --no-sandbox")),
        "{err}"
    );
    let confined = Command::new(BIN).args(["flows", DEMO]).output().unwrap();
    let err = String::from_utf8_lossy(&confined.stderr);
    assert!(
        !err.contains("warning"),
        "confined on this kernel, nothing to warn: {err}"
    );
    assert_eq!(out.stdout, confined.stdout);
}
