//! Live capture when things go wrong or end: the capture interface is deleted mid-run, the run
//! is ended by SIGTERM or SIGHUP, and privileges are dropped after the handle is open while
//! packets still arrive. Needs root (it creates network namespaces and veth interfaces, and
//! captures): otherwise each test prints that it skipped.
//!
//! Traffic goes only to 127.0.0.1 or to 10.252.x.0/30 addresses the test assigns to its own veth
//! pair, one end of which lives in a network namespace the test creates; both are deleted when
//! the test ends, failing or not.

use std::io::Read;
use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A veth pair: `host` in this namespace with 10.252.N.1/30, `peer` in namespace `netns` with
/// 10.252.N.2/30. Dropping it deletes both.
struct Veth {
    netns: String,
    host: String,
    host_addr: Ipv4Addr,
    peer_addr: Ipv4Addr,
}

impl Veth {
    fn create(tag: &str) -> Result<Self, String> {
        let pid = std::process::id();
        let n = (pid % 250) as u8 + u8::from(tag == "b");
        let v = Self {
            netns: format!("onl-f{pid}{tag}"),
            host: format!("onl-f{}{tag}", pid % 1_000_000),
            host_addr: Ipv4Addr::new(10, 252, n, 1),
            peer_addr: Ipv4Addr::new(10, 252, n, 2),
        };
        let peer = format!("{}p", v.host);
        ip(&["netns", "add", &v.netns])?;
        ip(&[
            "link", "add", &v.host, "type", "veth", "peer", "name", &peer, "netns", &v.netns,
        ])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/30", v.host_addr),
            "dev",
            &v.host,
        ])?;
        ip(&[
            "-n",
            &v.netns,
            "addr",
            "add",
            &format!("{}/30", v.peer_addr),
            "dev",
            &peer,
        ])?;
        // No IPv6 on the pair, so the capture sees only what the test sends (and ARP).
        for (ns, dev) in [(None, v.host.as_str()), (Some(v.netns.as_str()), &peer)] {
            let key = format!("net.ipv6.conf.{dev}.disable_ipv6=1");
            let mut c = match ns {
                Some(ns) => {
                    let mut c = Command::new("ip");
                    c.args(["netns", "exec", ns, "sysctl", "-q", "-w", &key]);
                    c
                }
                None => {
                    let mut c = Command::new("sysctl");
                    c.args(["-q", "-w", &key]);
                    c
                }
            };
            let _ = c.status();
        }
        ip(&["link", "set", &v.host, "up"])?;
        ip(&["-n", &v.netns, "link", "set", &peer, "up"])?;
        Ok(v)
    }

    fn delete_host_end(&self) -> Result<(), String> {
        ip(&["link", "del", &self.host])
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        // Either may already be gone; deleting one end of a veth deletes both.
        let _ = ip(&["link", "del", &self.host]);
        let _ = ip(&["netns", "del", &self.netns]);
    }
}

fn onlooker(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onlooker"));
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// Wait at most `limit` for the child; kill it and fail when it does not end.
fn wait_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return s,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("onlooker did not exit within {limit:?}");
            }
            Err(e) => panic!("wait: {e}"),
        }
    }
}

fn output_of(mut child: Child, status: ExitStatus) -> Output {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_end(&mut stdout).ok();
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_end(&mut stderr).ok();
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

fn records(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn stats(recs: &[serde_json::Value]) -> Option<&serde_json::Value> {
    recs.iter().find_map(|r| r.get("stats"))
}

/// Send `sockets` x `datagrams` UDP datagrams of 100 bytes from `from` to `to:port`.
fn send_udp(from: Ipv4Addr, to: Ipv4Addr, port: u16, sockets: usize, datagrams: usize) {
    for _ in 0..sockets {
        let s = UdpSocket::bind((from, 0)).unwrap_or_else(|e| panic!("bind {from}: {e}"));
        for i in 0..datagrams {
            s.send_to(&[i as u8; 100], (to, port))
                .unwrap_or_else(|e| panic!("send to {to}: {e}"));
        }
    }
}

#[test]
fn interface_deleted_mid_capture_exits_6_with_flows_flushed() {
    if !is_root() {
        println!("SKIPPED interface_deleted_mid_capture_exits_6_with_flows_flushed: not root");
        return;
    }
    let veth = Veth::create("a").unwrap_or_else(|e| panic!("setting up the veth pair: {e}"));
    let port = 45_111;
    let mut child = onlooker(&["live", "-i", &veth.host, "--headless", "-f", "udp"])
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    std::thread::sleep(Duration::from_millis(800));
    // ARP first, so the datagrams are not queued behind neighbour resolution.
    send_udp(veth.host_addr, veth.peer_addr, port, 1, 1);
    std::thread::sleep(Duration::from_millis(200));
    const SOCKETS: usize = 3;
    const DATAGRAMS: usize = 3;
    send_udp(veth.host_addr, veth.peer_addr, port, SOCKETS, DATAGRAMS);
    std::thread::sleep(Duration::from_millis(400));
    let deleted_at = Instant::now();
    veth.delete_host_end()
        .unwrap_or_else(|e| panic!("deleting the interface: {e}"));
    let status = wait_within(&mut child, Duration::from_secs(5));
    let took = deleted_at.elapsed();
    let out = output_of(child, status);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(6), "exit {status:?}, stderr: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert!(
        err.contains(&format!("capture interface {} went away", veth.host))
            && err.contains("flows so far were written"),
        "stderr: {err}"
    );
    let recs = records(&out);
    let st = stats(&recs).unwrap_or_else(|| panic!("no stats record: {recs:?}"));
    let flows: Vec<_> = recs
        .iter()
        .filter(|r| r["proto"] == "udp" && r["server"] == format!("{}:{port}", veth.peer_addr))
        .collect();
    let packets: u64 = flows
        .iter()
        .map(|f| f["packets_up"].as_u64().unwrap_or(0))
        .sum();
    let dropped = st["kernel"]["dropped_by_kernel"].as_u64().unwrap_or(0);
    let sent = (SOCKETS * DATAGRAMS + 1) as u64;
    if dropped == 0 {
        assert_eq!(flows.len(), SOCKETS + 1, "one flow per socket: {recs:?}");
        assert_eq!(packets, sent, "{recs:?}");
    } else {
        assert!(packets + dropped >= sent);
    }
    println!("exited {took:?} after the interface was deleted; {packets} packets in flows");
}

/// Capture on loopback, send a few datagrams, end the run with `signal`: exit 0, flows and the
/// stats record on stdout.
fn ends_cleanly_on(signal: libc::c_int, name: &str) {
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = receiver.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut child = onlooker(&["live", "-i", "lo", "--headless", "-f"])
        .arg(format!("udp port {port}"))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    std::thread::sleep(Duration::from_millis(800));
    send_udp(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, port, 2, 3);
    std::thread::sleep(Duration::from_millis(400));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    let status = wait_within(&mut child, Duration::from_secs(5));
    let out = output_of(child, status);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{name}: exit {status:?}, stderr: {err}");
    let recs = records(&out);
    let st = stats(&recs).unwrap_or_else(|| panic!("{name}: no stats record"));
    let frames = st["frames"].as_u64().unwrap_or(0);
    let dropped = st["kernel"]["dropped_by_kernel"].as_u64().unwrap_or(0);
    assert!(
        frames + dropped >= 6,
        "{name}: {frames} frames, {dropped} dropped"
    );
    let in_flows: u64 = recs
        .iter()
        .filter(|r| r.get("proto").is_some())
        .map(|r| r["packets_up"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(in_flows, frames, "{name}: every frame is in a flushed flow");
    assert!(err.contains("dropped by kernel"), "{name}: stderr: {err}");
}

#[test]
fn sigterm_ends_the_run_cleanly() {
    if !is_root() {
        println!("SKIPPED sigterm_ends_the_run_cleanly: not root");
        return;
    }
    ends_cleanly_on(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sighup_ends_the_run_cleanly() {
    if !is_root() {
        println!("SKIPPED sighup_ends_the_run_cleanly: not root");
        return;
    }
    ends_cleanly_on(libc::SIGHUP, "SIGHUP");
}

/// The `Uid:` and `CapEff:` lines of every thread of `pid`.
fn thread_creds(pid: u32) -> Vec<String> {
    let mut lines = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("status")) {
                lines.extend(
                    s.lines()
                        .filter(|l| {
                            l.starts_with("Uid:")
                                || l.starts_with("CapEff:")
                                || l.starts_with("CapPrm:")
                        })
                        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
                );
            }
        }
    }
    lines
}

/// Run a capture of `n` datagrams on the veth pair with `cmd`; return its output and the
/// credentials of its threads while it ran.
fn capture_with(mut cmd: Command, veth: &Veth, port: u16) -> (Output, Vec<String>) {
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    std::thread::sleep(Duration::from_millis(800));
    let creds = thread_creds(child.id());
    send_udp(veth.host_addr, veth.peer_addr, port, 1, 1);
    std::thread::sleep(Duration::from_millis(200));
    send_udp(veth.host_addr, veth.peer_addr, port, 2, 2);
    std::thread::sleep(Duration::from_millis(400));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_within(&mut child, Duration::from_secs(5));
    (output_of(child, status), creds)
}

fn udp_packets(out: &Output, to: Ipv4Addr, port: u16) -> u64 {
    records(out)
        .iter()
        .filter(|r| r["proto"] == "udp" && r["server"] == format!("{to}:{port}"))
        .map(|r| r["packets_up"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn privileges_are_dropped_after_open_and_capture_goes_on() {
    if !is_root() {
        println!("SKIPPED privileges_are_dropped_after_open_and_capture_goes_on: not root");
        return;
    }
    let veth = Veth::create("b").unwrap_or_else(|e| panic!("setting up the veth pair: {e}"));
    let port = 45_112;

    // As if started by `sudo` from uid 65534: becomes that user.
    let mut cmd = onlooker(&["live", "-i", &veth.host, "--headless", "-f", "udp"]);
    cmd.env("SUDO_UID", "65534").env("SUDO_GID", "65534");
    let (out, creds) = capture_with(cmd, &veth, port);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {err}", out.status);
    assert!(
        err.contains(
            "dropped privileges (was root via sudo): now uid 65534 gid 65534, no capabilities"
        ),
        "stderr: {err}"
    );
    assert!(!creds.is_empty());
    for l in &creds {
        assert!(
            l == "Uid: 65534 65534 65534 65534" || l.ends_with(" 0000000000000000"),
            "a thread kept privileges: {creds:?}"
        );
    }
    assert_eq!(udp_packets(&out, veth.peer_addr, port), 5, "{err}");

    // Plain root: uid kept, every capability gone.
    let cmd = onlooker(&["live", "-i", &veth.host, "--headless", "-f", "udp"]);
    let (out, creds) = capture_with(cmd, &veth, port);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {err}", out.status);
    assert!(
        err.contains("now uid 0 gid 0, no capabilities"),
        "stderr: {err}"
    );
    for l in creds.iter().filter(|l| l.starts_with("Cap")) {
        assert!(l.ends_with(" 0000000000000000"), "{creds:?}");
    }
    assert_eq!(udp_packets(&out, veth.peer_addr, port), 5, "{err}");

    // File capabilities (cap_net_raw only) on a copy of the binary, run as uid 65534.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let exe = dir.path().join("onlooker");
    std::fs::copy(env!("CARGO_BIN_EXE_onlooker"), &exe).unwrap_or_else(|e| panic!("copy: {e}"));
    let _ = Command::new("chmod")
        .args(["755"])
        .arg(dir.path())
        .arg(&exe)
        .status();
    let setcap = Command::new("setcap")
        .arg("cap_net_raw=eip")
        .arg(&exe)
        .output();
    if !setcap.as_ref().is_ok_and(|o| o.status.success()) {
        println!("SKIPPED file-capability part: setcap failed or is missing: {setcap:?}");
        return;
    }
    let mut cmd = Command::new(&exe);
    cmd.args(["live", "-i", &veth.host, "--headless", "-f", "udp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::uid(&mut cmd, 65_534);
    std::os::unix::process::CommandExt::gid(&mut cmd, 65_534);
    let (out, creds) = capture_with(cmd, &veth, port);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {err}", out.status);
    assert!(
        err.contains(
            "dropped privileges (had file capabilities): now uid 65534 gid 65534, no capabilities"
        ),
        "stderr: {err}"
    );
    for l in creds.iter().filter(|l| l.starts_with("Cap")) {
        assert!(l.ends_with(" 0000000000000000"), "{creds:?}");
    }
    assert_eq!(udp_packets(&out, veth.peer_addr, port), 5, "{err}");
}
