//! Live capture end to end on the loopback interface: `onlooker live --headless` sees UDP
//! datagrams this test sends to itself, streams them as flows, and on SIGINT flushes and prints
//! its statistics. Needs capture privileges: when not root, it prints that it skipped.
//!
//! Traffic goes only to 127.0.0.1.

use std::io::Read;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn live_headless_streams_flows_and_stops_cleanly_on_sigint() {
    if !is_root() {
        println!("SKIPPED live_headless_streams_flows_and_stops_cleanly_on_sigint: not root");
        return;
    }
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = receiver.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .args(["live", "-i", "lo", "--headless", "-f"])
        .arg(format!("udp port {port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    // Give libpcap time to open the handle and install the filter.
    std::thread::sleep(Duration::from_millis(800));
    const SENDERS: usize = 5;
    const DATAGRAMS: usize = 4;
    for _ in 0..SENDERS {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        for i in 0..DATAGRAMS {
            s.send_to(&[i as u8; 100], ("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("send: {e}"));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).ok();
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).ok();
    }
    assert!(status.success(), "exit {status:?}, stderr: {err}");
    let records: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let flows: Vec<_> = records
        .iter()
        .filter(|r| r.get("proto").is_some())
        .collect();
    let stats = records
        .iter()
        .find_map(|r| r.get("stats"))
        .unwrap_or_else(|| panic!("no stats record in {out}"));
    let frames = stats["frames"].as_u64().unwrap_or(0);
    let dropped = stats["kernel"]["dropped_by_kernel"].as_u64().unwrap_or(0);
    let sent = (SENDERS * DATAGRAMS) as u64;
    for f in &flows {
        assert_eq!(f["server"], format!("127.0.0.1:{port}"));
        // 100 bytes of payload + 8 UDP + 20 IPv4 + 14 Ethernet on loopback.
        assert_eq!(
            f["bytes_up"].as_u64().unwrap_or(0),
            f["packets_up"].as_u64().unwrap_or(0) * 142
        );
    }
    let in_flows: u64 = flows
        .iter()
        .map(|f| f["packets_up"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(in_flows, frames, "every captured frame is in a flow");
    if dropped == 0 {
        assert_eq!(flows.len(), SENDERS, "one flow per sending socket: {out}");
        assert_eq!(frames, sent);
    } else {
        // A drop is never silent: what was not captured was counted by the kernel (which on
        // loopback counts each packet once per direction).
        println!("kernel reported {dropped} drops; captured {frames} of {sent}");
        assert!(
            frames + dropped >= sent,
            "{frames} captured + {dropped} dropped < {sent} sent"
        );
    }
    assert!(stats["kernel"]["received"].as_u64().unwrap_or(0) >= frames);
    assert!(err.contains("dropped by kernel"), "stderr: {err}");
}
