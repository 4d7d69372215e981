//! Input that cannot be used, or only partly, run through the binary: each unusable file gives
//! one line on stderr naming it, and exit code 4; a capture cut short gives exit code 3, names
//! the byte offset where reading stopped, and still prints exactly the flows of the records
//! before the cut; and no capture of the shared corpus makes `flows` or `events` panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Output;

use onlooker::capture::writer::{Transport, ethernet_frame, tcp_flags};
use onlooker::capture::{LinkType, Timestamp};

/// `flows PATH...` in NDJSON.
fn flows(paths: &[&Path]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["flows".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    common::onlooker(args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The input was refused: exit code 4, nothing on stdout, one line on stderr that names the
/// file and contains every one of `says`.
#[track_caller]
fn assert_refused(out: &Output, path: &Path, says: &[&str]) {
    let err = stderr(out);
    assert_eq!(common::exit_code(out), Some(4), "{}: {err}", path.display());
    assert!(out.stdout.is_empty(), "{}: wrote flows", path.display());
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got {err:?}");
    assert!(
        lines[0].contains(&path.display().to_string()),
        "the message names the file: {err:?}"
    );
    for s in says {
        assert!(lines[0].contains(s), "the message says {s:?}: {err:?}");
    }
    assert!(!err.contains("panicked"));
}

#[test]
fn a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-capture.pcap");
    assert_refused(&flows(&[&path]), &path, &["no such file"]);
}

#[test]
fn a_directory() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(&flows(&[dir.path()]), dir.path(), &["directory"]);
}

#[test]
fn an_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (bytes, _) = common::pcap_bytes(LinkType::ETHERNET, 65_535, &frames());
    let path = common::write_file(dir.path(), "secret.pcap", &bytes);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&path).is_err() {
        assert_refused(&flows(&[&path]), &path, &["permission"]);
        return;
    }
    // Root (or CAP_DAC_OVERRIDE) reads mode-000 files anyway: try as the unprivileged user
    // `nobody` instead. Switching users fails unless this process may do so.
    let as_nobody = std::process::Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .arg("flows")
        .arg(&path)
        .uid(65_534)
        .gid(65_534)
        .output();
    if let Ok(out) = as_nobody {
        assert_refused(&out, &path, &["permission"]);
        println!("an_unreadable_file: checked as user nobody (uid 65534)");
        return;
    }
    println!("SKIPPED an_unreadable_file: running with privileges that read mode-000 files");
    eprintln!("SKIPPED an_unreadable_file: running with privileges that read mode-000 files");
}

#[test]
fn an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "empty.pcap", b"");
    assert_refused(&flows(&[&path]), &path, &["empty"]);
}

#[test]
fn compressed_files_say_how_to_decompress() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 6] = [
        ("c.pcap.gz", &[0x1f, 0x8b, 0x08, 0x00], "gunzip"),
        ("c.pcap.zst", &[0x28, 0xb5, 0x2f, 0xfd], "zstd -d"),
        ("c.pcap.xz", &[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "unxz"),
        ("c.pcap.bz2", b"BZh9", "bunzip2"),
        ("c.pcap.lz4", &[0x04, 0x22, 0x4d, 0x18], "lz4 -d"),
        ("c.zip", b"PK\x03\x04", "unzip"),
    ];
    for (name, magic, tool) in cases {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(b"\x00junk that is not really compressed data\xff\xfe");
        let path = common::write_file(dir.path(), name, &bytes);
        assert_refused(&flows(&[&path]), &path, &["compressed", "decompress", tool]);
    }
}

#[test]
fn a_text_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "notes.txt", b"these are not packets\n");
    assert_refused(&flows(&[&path]), &path, &["not a pcap or pcapng"]);
}

#[test]
fn a_bad_file_among_good_ones_is_reported_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = common::pcap_bytes(LinkType::ETHERNET, 65_535, &frames());
    let good = common::write_file(dir.path(), "good.pcap", &bytes);
    let missing = dir.path().join("missing.pcap");
    assert_refused(&flows(&[&good, &missing]), &missing, &["no such file"]);
}

/// Eight packets of three flows.
fn frames() -> Vec<(Timestamp, Vec<u8>)> {
    use tcp_flags::*;
    let a = (IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)), 40_000);
    let b = (IpAddr::V4(Ipv4Addr::new(10, 1, 0, 2)), 443);
    let c = (IpAddr::V4(Ipv4Addr::new(10, 1, 0, 3)), 53);
    let d = (IpAddr::V4(Ipv4Addr::new(10, 1, 0, 4)), 123);
    let tcp = |flags| Transport::Tcp {
        seq: 1,
        ack: 1,
        flags,
    };
    let t = |k: i64| Timestamp::from_parts(1_700_000_000 + k, 500_000 * k);
    vec![
        (t(0), ethernet_frame(a, b, tcp(SYN), b"").unwrap()),
        (t(1), ethernet_frame(b, a, tcp(SYN | ACK), b"").unwrap()),
        (
            t(2),
            ethernet_frame(a, c, Transport::Udp, b"query").unwrap(),
        ),
        (
            t(3),
            ethernet_frame(a, b, tcp(PSH | ACK), &[7; 200]).unwrap(),
        ),
        (
            t(4),
            ethernet_frame(c, a, Transport::Udp, b"answer").unwrap(),
        ),
        (
            t(5),
            ethernet_frame(a, d, Transport::Udp, &[0; 48]).unwrap(),
        ),
        (
            t(6),
            ethernet_frame(b, a, tcp(PSH | ACK), &[8; 900]).unwrap(),
        ),
        (
            t(7),
            ethernet_frame(d, a, Transport::Udp, &[1; 48]).unwrap(),
        ),
    ]
}

#[test]
fn a_pcap_cut_inside_a_record() {
    let frames = frames();
    let (bytes, offsets) = common::pcap_bytes(LinkType::ETHERNET, 65_535, &frames);
    let n = frames.len();
    let last = offsets[n - 1];
    // (where to cut, how many whole records remain)
    let cuts = [
        (last + 16 + 10, n - 1),   // inside the last record's data
        (bytes.len() - 1, n - 1),  // one byte short of the end
        (last + 7, n - 1),         // inside the last record's header
        (last + 16, n - 1),        // after the last header, before its data
        (offsets[3] + 3, 3),       // inside a middle record's header
        (offsets[5] + 16 + 1, 5),  // inside a middle record's data
        (offsets[1] + 16 + 20, 1), // inside the second record
        (offsets[0] + 16 + 5, 0),  // inside the first record
        (offsets[0] + 9, 0),       // inside the first record's header
    ];
    let dir = tempfile::tempdir().unwrap();
    for (cut, whole) in cuts {
        let path = common::write_file(dir.path(), &format!("cut{cut}.pcap"), &bytes[..cut]);
        let end = if whole == n {
            bytes.len()
        } else {
            offsets[whole]
        };
        let reference = common::write_file(dir.path(), &format!("ref{cut}.pcap"), &bytes[..end]);
        let out = flows(&[&path]);
        let err = stderr(&out);
        assert_eq!(common::exit_code(&out), Some(3), "cut at {cut}: {err}");
        assert!(
            err.contains(&format!("byte offset {end} ")),
            "cut at {cut}: stderr should name byte offset {end}: {err}"
        );
        assert!(
            err.contains(&format!("after {whole} records")),
            "cut at {cut}: {err}"
        );
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let good = flows(&[&reference]);
        assert_eq!(common::exit_code(&good), Some(0), "{}", stderr(&good));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&good.stdout),
            "cut at {cut}: the flows of the {whole} whole records"
        );
        if whole > 0 {
            assert!(!out.stdout.is_empty());
        }
    }
    // A cut exactly between records is a clean, shorter capture.
    let path = common::write_file(dir.path(), "clean.pcap", &bytes[..offsets[4]]);
    let out = flows(&[&path]);
    assert_eq!(common::exit_code(&out), Some(0), "{}", stderr(&out));
}

#[test]
fn a_cut_file_followed_by_a_good_one_reads_both() {
    let frames = frames();
    let (bytes, offsets) = common::pcap_bytes(LinkType::ETHERNET, 65_535, &frames);
    let dir = tempfile::tempdir().unwrap();
    let cut = common::write_file(dir.path(), "cut.pcap", &bytes[..offsets[4] + 5]);
    let good = common::write_file(dir.path(), "good.pcap", &bytes);
    let out = flows(&[&cut, &good]);
    assert_eq!(common::exit_code(&out), Some(3), "{}", stderr(&out));
    // Both files' packets were read: 4 whole records, then all 8 again.
    let mut args: Vec<&std::ffi::OsStr> = vec!["flows".as_ref(), "--stats".as_ref()];
    args.extend([cut.as_os_str(), good.as_os_str()]);
    let nd = common::ndjson(&common::onlooker(args).stdout);
    assert_eq!(
        nd.last().unwrap()["stats"]["frames"],
        4 + frames.len() as u64
    );
    let partial = &nd.last().unwrap()["stats"]["partial_inputs"];
    assert_eq!(partial.as_array().map(Vec::len), Some(1), "{partial}");
}

/// pcapng blocks of a file: (offset, type, total length). Stops at the first block that does
/// not fit.
fn pcapng_blocks(d: &[u8]) -> Vec<(usize, u32, usize)> {
    let mut out = Vec::new();
    let mut off = 0;
    let mut le = true;
    while off + 12 <= d.len() {
        let word = |at: usize, le: bool| {
            let b: [u8; 4] = d[at..at + 4].try_into().unwrap();
            if le {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            }
        };
        if d[off..off + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            le = d[off + 8..off + 12] == [0x4d, 0x3c, 0x2b, 0x1a];
        }
        let ty = word(off, le);
        let len = word(off + 4, le) as usize;
        if len < 12 || off + len > d.len() {
            break;
        }
        out.push((off, ty, len));
        off += len;
    }
    out
}

#[test]
fn pcapng_files_of_the_corpus_cut_inside_a_block() {
    let Some(corpus) = common::corpus() else {
        common::skip("pcapng_files_of_the_corpus_cut_inside_a_block");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut tried = 0;
    for (source, file, path) in common::captures(&corpus) {
        if !file.ends_with(".pcapng") || tried >= 6 {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let blocks = pcapng_blocks(&bytes);
        // Packet blocks (enhanced 6, simple 3, obsolete 2), skipping the first few.
        let packets: Vec<&(usize, u32, usize)> =
            blocks.iter().filter(|b| matches!(b.1, 2 | 3 | 6)).collect();
        if packets.len() < 6 || common::exit_code(&flows(&[&path])) != Some(0) {
            continue;
        }
        tried += 1;
        let &(start, _, len) = packets[packets.len() / 2];
        for cut in [start + 4, start + len / 2, start + len - 1] {
            let cut_path =
                common::write_file(dir.path(), &format!("{file}.cut{cut}"), &bytes[..cut]);
            let ref_path =
                common::write_file(dir.path(), &format!("{file}.ref{cut}"), &bytes[..start]);
            let out = flows(&[&cut_path]);
            let err = stderr(&out);
            assert_eq!(
                common::exit_code(&out),
                Some(3),
                "{source}/{file} cut at {cut}: {err}"
            );
            // libpcap reports its stream position: somewhere in the damaged block.
            let offset: usize = err
                .split("byte offset ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{source}/{file}: no byte offset in {err}"));
            assert!(
                (start..=cut).contains(&offset),
                "{source}/{file} cut at {cut} in the block at {start}: offset {offset}"
            );
            let good = flows(&[&ref_path]);
            assert_eq!(common::exit_code(&good), Some(0), "{}", stderr(&good));
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&good.stdout),
                "{source}/{file} cut at {cut}"
            );
        }
    }
    println!("cut {tried} pcapng captures of the corpus");
    assert!(tried > 0, "the corpus has pcapng captures with packets");
}

/// Every command that reads capture files; each corpus capture goes through all of them (a new
/// command is one more entry here).
const FILE_COMMANDS: &[&str] = &["flows", "events", "report"];

#[test]
fn no_capture_of_the_corpus_makes_any_command_panic() {
    let Some(corpus) = common::corpus() else {
        common::skip("no_capture_of_the_corpus_makes_any_command_panic");
        return;
    };
    let captures: Vec<(&str, (String, String, std::path::PathBuf))> = common::captures(&corpus)
        .into_iter()
        .flat_map(|c| FILE_COMMANDS.iter().map(move |&cmd| (cmd, c.clone())))
        .collect();
    let mut by_code = std::collections::BTreeMap::<Option<i32>, usize>::new();
    let mut bad = Vec::new();
    // Two workers: the machine has two cores.
    let chunks: Vec<Vec<_>> = captures
        .chunks(captures.len().div_ceil(2).max(1))
        .map(<[_]>::to_vec)
        .collect();
    let results: Vec<(String, Option<i32>, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(cmd, (source, file, path))| {
                            let out = common::onlooker([cmd.as_ref(), path.as_os_str()]);
                            (
                                format!("{cmd} {source}/{file}"),
                                common::exit_code(&out),
                                stderr(&out),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for (name, code, err) in results {
        *by_code.entry(code).or_default() += 1;
        if !matches!(code, Some(0 | 3 | 4)) || err.contains("panicked") {
            bad.push(format!("{name}: exit {code:?}: {err}"));
        }
    }
    println!(
        "{} runs ({FILE_COMMANDS:?} on each corpus capture) by exit code: {by_code:?}",
        captures.len()
    );
    assert!(
        captures.len() > 100 * FILE_COMMANDS.len(),
        "the corpus should hold hundreds of captures"
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
