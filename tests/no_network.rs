//! onlooker makes no network connection of its own: replaying captures under strace shows no
//! connect(2) or sendto(2) to an Internet (AF_INET/AF_INET6) address. Prints SKIPPED when strace
//! is not installed (CI installs it).

use std::process::Command;

fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn replay_makes_no_network_connection() {
    if !strace_available() {
        println!("SKIPPED replay_makes_no_network_connection: strace is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.pcap");
    for cmd in ["flows", "events"] {
        let log = dir.path().join(format!("{cmd}.trace"));
        let out = Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=connect,sendto,sendmsg,sendmmsg",
                "-o",
            ])
            .arg(&log)
            .arg(env!("CARGO_BIN_EXE_onlooker"))
            .arg(cmd)
            .arg(&demo)
            .output()
            .unwrap_or_else(|e| panic!("strace: {e}"));
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "{cmd} printed nothing");
        let trace = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{e}"));
        let net: Vec<&str> = trace
            .lines()
            .filter(|l| l.contains("AF_INET") || l.contains("AF_INET6"))
            .collect();
        assert!(net.is_empty(), "{cmd} touched the network: {net:?}");
    }
}
