//! On a loopback interface the kernel counts every packet twice (the sent and the received
//! copy) while libpcap keeps one: `live --headless` says so under its statistics, so "12
//! frames" beside "received 24" is explained. Needs capture privileges: when not root, it
//! prints that it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn loopback_statistics_explain_the_kernels_double_count() {
    if !is_root() {
        println!("SKIPPED loopback_statistics_explain_the_kernels_double_count: not root");
        return;
    }
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .args(["live", "-i", "lo", "--headless", "-f"])
        .arg(format!("udp port {port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..6u8 {
        s.send_to(&[i; 50], ("127.0.0.1", port)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{err}");
    let received = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("capture: received "))
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no kernel count in {err}"));
    let frames = err
        .lines()
        .filter_map(|l| l.strip_prefix("onlooker: "))
        .find_map(|l| {
            l.strip_suffix(" decoded into 1 flow")
                .and(l.split(' ').next())
        })
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no frame count in {err}"));
    assert_eq!(frames, 6, "{err}");
    assert_eq!(received, 2 * frames, "{err}");
    assert!(
        err.contains("on a loopback interface the kernel counts every packet twice"),
        "{err}"
    );
}
