//! Live capture agrees with the file: corpus captures are rewritten into the test's own subnets,
//! replayed by tcpreplay across a veth pair joining two network namespaces the test creates,
//! and captured on the other end by `onlooker live --headless`; the flow records must be those
//! `onlooker flows` gives on the same rewritten file (count; per record the 5-tuple, packets and
//! bytes each way), IPv4 and IPv6, and every frame sent must be captured or counted as dropped.
//!
//! Needs root (namespaces, veth, capture) and tcpreplay; when not root it prints that it
//! skipped. The namespaces (and with them the veth pair) are deleted when the test ends,
//! failing or not. No packet is addressed to anything but the test's hosts: every address is
//! rewritten into 10.253.0.0/24 and fd00:253::/64, which the two namespaces hold, and both
//! ends are kept silent (no link-local address, no ARP, no multicast reports), so the only
//! frames on the pair are tcpreplay's. scripts/live-load.sh is the same check under load.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Packets per second of the replay: far below what the capture keeps up with on a busy
/// 2-core machine (docs/live-load.md), so no frame may be lost.
const RATE: &str = "5000";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{cmd:?}: {e} (is it installed?)"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    run(Command::new("ip").args(args))
}

/// Two namespaces `a` and `b` joined by a veth pair (each end named as its namespace). Dropping
/// it deletes both namespaces, which deletes the pair.
struct Hosts {
    a: String,
    b: String,
    mac_b: String,
}

impl Hosts {
    fn create() -> Result<Self, String> {
        let pid = std::process::id() % 100_000;
        let (a, b) = (format!("onl-l{pid}a"), format!("onl-l{pid}b"));
        // Constructed first, so the namespaces are deleted whatever fails below.
        let mut h = Self {
            a: a.clone(),
            b: b.clone(),
            mac_b: String::new(),
        };
        ip(&["netns", "add", &a])?;
        ip(&["netns", "add", &b])?;
        ip(&[
            "-n", &a, "link", "add", &a, "type", "veth", "peer", "name", &b, "netns", &b,
        ])?;
        for ns in [&a, &b] {
            // Silent ends: no link-local address (nothing sent on link-up), no router
            // solicitations, no ARP or neighbour answers, no IGMP/MLD reports.
            run(Command::new("ip").args([
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{ns}.addr_gen_mode=1"),
                &format!("net.ipv6.conf.{ns}.accept_ra=0"),
                &format!("net.ipv6.conf.{ns}.router_solicitations=0"),
            ]))?;
            // Frames of captures taken with offloads exceed 1500 bytes.
            ip(&[
                "-n",
                ns,
                "link",
                "set",
                ns,
                "mtu",
                "65000",
                "arp",
                "off",
                "multicast",
                "off",
            ])?;
        }
        ip(&["-n", &a, "addr", "add", "10.253.0.1/24", "dev", &a])?;
        ip(&[
            "-n",
            &a,
            "addr",
            "add",
            "fd00:253::1/64",
            "dev",
            &a,
            "nodad",
        ])?;
        ip(&["-n", &b, "addr", "add", "10.253.0.2/24", "dev", &b])?;
        ip(&[
            "-n",
            &b,
            "addr",
            "add",
            "fd00:253::2/64",
            "dev",
            &b,
            "nodad",
        ])?;
        ip(&["-n", &a, "link", "set", &a, "up"])?;
        ip(&["-n", &b, "link", "set", &b, "up"])?;
        h.mac_b = mac(&b)?;
        Ok(h)
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

/// The MAC address of the interface named as its namespace.
fn mac(ns: &str) -> Result<String, String> {
    let out = ip(&["-n", ns, "-j", "link", "show", ns])?;
    let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    v[0]["address"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no MAC in {out}"))
}

/// A flow record reduced to what must agree: protocol, client, server, packets and bytes each
/// way.
type Key = (String, String, String, u64, u64, u64, u64);

fn key(r: &serde_json::Value) -> Key {
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let n = |k: &str| r[k].as_u64().unwrap_or(u64::MAX);
    (
        s("proto"),
        s("client"),
        s("server"),
        n("packets_up"),
        n("packets_down"),
        n("bytes_up"),
        n("bytes_down"),
    )
}

/// Flow records of an NDJSON output as a multiset, and its statistics record.
fn flows(ndjson: &[u8]) -> (BTreeMap<Key, u32>, serde_json::Value) {
    let mut set = BTreeMap::new();
    let mut stats = serde_json::Value::Null;
    for r in common::ndjson(ndjson) {
        if r.get("stats").is_some() {
            stats = r["stats"].clone();
        } else if r.get("proto").is_some() {
            *set.entry(key(&r)).or_insert(0) += 1;
        }
    }
    (set, stats)
}

fn count_family(set: &BTreeMap<Key, u32>, v6: bool) -> u32 {
    set.iter()
        .filter(|(k, _)| k.1.starts_with('[') == v6)
        .map(|(_, n)| n)
        .sum()
}

/// Replay `capture` once across the pair while capturing; return (frames sent, live stdout).
fn replay_and_capture(hosts: &Hosts, rewritten: &Path, dir: &Path) -> (u64, Vec<u8>, String) {
    let err_path = dir.join("live.err");
    let out_path = dir.join("live.ndjson");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &hosts.b, env!("CARGO_BIN_EXE_onlooker")])
        .args(["live", "-i", &hosts.b, "--headless", "-f"])
        .arg(format!("not ether src {}", hosts.mac_b))
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("starting onlooker live");
    // The handle is open once onlooker says what it did with its privileges.
    let start = Instant::now();
    while !std::fs::read_to_string(&err_path)
        .unwrap_or_default()
        .contains("privileges")
    {
        if start.elapsed() > Duration::from_secs(20) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!(
                "onlooker did not start: {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let replay = run(Command::new("ip")
        .args(["netns", "exec", &hosts.a, "tcpreplay", "-i", &hosts.a])
        .args([&format!("--pps={RATE}"), "--loop=1", "--preload-pcap"])
        .arg(rewritten)
        .stdin(Stdio::null()));
    // Frames in the kernel ring are handed over within its block timeout (100 ms).
    std::thread::sleep(Duration::from_millis(600));
    // SAFETY: kill has no memory preconditions; `ip netns exec` became onlooker (same pid).
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("onlooker did not end on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(status.success(), "onlooker live: {status:?}, stderr: {err}");
    let replay = replay.unwrap_or_else(|e| panic!("tcpreplay: {e}"));
    let sent = replay
        .lines()
        .find_map(|l| l.trim().strip_prefix("Successful packets:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no packet count in tcpreplay's output: {replay}"));
    (sent, std::fs::read(&out_path).unwrap(), err)
}

#[test]
fn live_flows_equal_the_files_flows() {
    if !is_root() {
        println!(
            "SKIPPED live_flows_equal_the_files_flows: not root (needs root: network namespaces and capture)"
        );
        return;
    }
    let Some(corpus) = common::corpus() else {
        common::skip("live_flows_equal_the_files_flows");
        return;
    };
    for tool in ["tcpreplay", "tcprewrite"] {
        assert!(
            Command::new(tool).arg("--version").output().is_ok(),
            "{tool} is not installed (Debian package tcpreplay; .ci/run installs it)"
        );
    }
    let hosts = Hosts::create().unwrap_or_else(|e| panic!("setting up the test hosts: {e}"));
    let mac_a = mac(&hosts.a).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // IPv4 with IPv6 multicast (whose source MACs tcprewrite replaces), and IPv6 unicast TCP.
    let (mut v4, mut v6) = (0, 0);
    for capture in ["pcap/ndpi/1kxun.pcap", "pcap/ndpi/http_ipv6.pcap"] {
        let rewritten = dir.path().join("rewritten.pcap");
        run(Command::new("tcprewrite")
            .arg(format!("--infile={}", corpus.join(capture).display()))
            .arg(format!("--outfile={}", rewritten.display()))
            .arg("--pnat=0.0.0.0/0:10.253.0.0/24,[::/0]:[fd00:253::/64]")
            .arg(format!("--enet-smac={mac_a}"))
            .arg(format!("--enet-dmac={}", hosts.mac_b))
            .arg("--fixcsum"))
        .unwrap_or_else(|e| panic!("tcprewrite {capture}: {e}"));
        let offline = common::onlooker([
            OsStr::new("flows"),
            OsStr::new("--stats"),
            rewritten.as_os_str(),
        ]);
        assert!(offline.status.success(), "onlooker flows on {capture}");
        let (file, file_stats) = flows(&offline.stdout);

        let (sent, live_out, err) = replay_and_capture(&hosts, &rewritten, dir.path());
        let (live, stats) = flows(&live_out);
        let captured = stats["frames"].as_u64().unwrap_or_default();
        let dropped = stats["kernel"]["dropped_by_kernel"]
            .as_u64()
            .unwrap_or(u64::MAX);
        assert_eq!(
            sent,
            file_stats["frames"].as_u64().unwrap_or_default(),
            "{capture}: tcpreplay sent every frame of the file"
        );
        assert_eq!(
            (captured, dropped),
            (sent, 0),
            "{capture}: every frame sent is captured at {RATE} packets/s; stderr: {err}"
        );
        let only_live: Vec<_> = live
            .keys()
            .filter(|k| live[*k] != file.get(*k).copied().unwrap_or(0))
            .take(5)
            .collect();
        let only_file: Vec<_> = file
            .keys()
            .filter(|k| file[*k] != live.get(*k).copied().unwrap_or(0))
            .take(5)
            .collect();
        assert!(
            only_live.is_empty() && only_file.is_empty(),
            "{capture}: live flows differ from the file's: live {only_live:?}, file {only_file:?}"
        );
        assert_eq!(
            live.values().sum::<u32>(),
            file.values().sum::<u32>(),
            "{capture}"
        );
        v4 += count_family(&live, false);
        v6 += count_family(&live, true);
    }
    assert!(
        v4 > 100 && v6 > 20,
        "both families were compared: {v4} IPv4 and {v6} IPv6 flows"
    );
}
