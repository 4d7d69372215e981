//! Captures damaged on purpose, run through the binary: odd but readable records (empty,
//! longer than a wrong snaplen, claiming less on the wire than captured, timestamps before
//! 1970, past 2106 or going backwards) are read and counted; records too large for any capture
//! stop the file at their offset; captures of the shared corpus cut at many offsets (inside the
//! file header, inside record headers, inside record data), with bits flipped, and with records
//! shuffled or duplicated never make `flows` or `events` panic, say where reading stopped, and
//! keep the results of the readable prefix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Output;

use onlooker::capture::writer::{Transport, ethernet_frame, tcp_flags};

fn run(cmd: &str, extra: &[&str], path: &Path) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec![cmd.as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(path.as_os_str());
    common::onlooker(args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `stats` record of `flows --stats PATH`, and the flow records before it.
fn flows_and_stats(path: &Path) -> (Vec<serde_json::Value>, serde_json::Value, Output) {
    let out = run("flows", &["--stats"], path);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let mut recs = common::ndjson(&out.stdout);
    let stats = recs
        .pop()
        .and_then(|r| r.get("stats").cloned())
        .unwrap_or_else(|| panic!("no stats record: {}", stderr(&out)));
    (recs, stats, out)
}

/// One classic pcap record, every header field chosen by the test.
struct Rec {
    secs: u32,
    frac: u32,
    /// Captured length written in the header; the data written is `data` as it is.
    caplen: u32,
    wire: u32,
    data: Vec<u8>,
}

impl Rec {
    fn frame(secs: u32, data: Vec<u8>) -> Self {
        let n = data.len() as u32;
        Self {
            secs,
            frac: 0,
            caplen: n,
            wire: n,
            data,
        }
    }
}

/// Little-endian microsecond pcap bytes, with the offset at which each record starts.
fn pcap(snaplen: u32, recs: &[Rec]) -> (Vec<u8>, Vec<usize>) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&snaplen.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    let mut offsets = Vec::new();
    for r in recs {
        offsets.push(b.len());
        for w in [r.secs, r.frac, r.caplen, r.wire] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&r.data);
    }
    (b, offsets)
}

fn udp(sport: u16, payload: &[u8]) -> Vec<u8> {
    ethernet_frame(
        (IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1)), sport),
        (IpAddr::V4(Ipv4Addr::new(10, 9, 0, 2)), 5000),
        Transport::Udp,
        payload,
    )
    .unwrap()
}

fn tcp(sport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    ethernet_frame(
        (IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1)), sport),
        (IpAddr::V4(Ipv4Addr::new(10, 9, 0, 3)), 443),
        Transport::Tcp {
            seq: 1,
            ack: 1,
            flags,
        },
        payload,
    )
    .unwrap()
}

#[test]
fn odd_records_are_read_and_counted() {
    let t0 = 1_700_000_000;
    let mut empty = Rec::frame(t0 + 1, Vec::new());
    empty.wire = 60;
    let mut short_wire = Rec::frame(t0 + 2, udp(41002, b"claims less on the wire"));
    short_wire.wire = 10;
    // After January 2038 (seconds >= 2^31) and the last second of classic pcap (2106).
    let late = Rec::frame(0x9000_0000, udp(41003, b"late"));
    let last = Rec::frame(u32::MAX, udp(41004, b"last"));
    // Back before all of them: the clock goes backwards.
    let early = Rec::frame(t0, udp(41005, b"early"));
    let recs = vec![
        Rec::frame(t0, udp(41001, b"plain")),
        empty,
        short_wire,
        late,
        last,
        early,
    ];
    let (bytes, _) = pcap(65_535, &recs);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "odd.pcap", &bytes);
    let (flows, stats, out) = flows_and_stats(&path);
    assert_eq!(common::exit_code(&out), Some(0), "{}", stderr(&out));
    let a = &stats["record_anomalies"];
    assert_eq!(a["empty"], 1, "{stats}");
    assert_eq!(a["captured_over_wire"], 1, "{stats}");
    assert_eq!(a["over_snaplen"], 0, "{stats}");
    assert_eq!(a["before_1970"], 0, "{stats}");
    assert_eq!(a["after_2106"], 0, "{stats}");
    assert_eq!(stats["frames"], 6);
    assert_eq!(stats["undecodable"]["truncated"], 1, "the empty record");
    assert!(stats["flows"]["timestamps_backwards"].as_u64().unwrap() >= 1);
    // Classic pcap seconds are unsigned: 2^31 and more are after 2038, not before 1970.
    let first_ts = |port: &str| -> f64 {
        flows
            .iter()
            .find(|f| f["client"].as_str().is_some_and(|c| c.ends_with(port)))
            .unwrap_or_else(|| panic!("no flow from port {port}: {flows:?}"))["first_ts"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(first_ts(":41003"), f64::from(0x9000_0000u32));
    assert_eq!(first_ts(":41004"), f64::from(u32::MAX));
    // The record claiming 10 bytes on the wire counts its 60+ captured bytes.
    let f = flows
        .iter()
        .find(|f| f["client"].as_str().is_some_and(|c| c.ends_with(":41002")))
        .unwrap();
    assert_eq!(f["bytes_up"].as_u64(), Some(recs[2].data.len() as u64));
}

#[test]
fn a_wrong_snaplen_loses_no_bytes() {
    let recs = || -> Vec<Rec> {
        (0..6)
            .map(|i| {
                Rec::frame(
                    1_700_000_000 + i,
                    tcp(2000 + i as u16 % 2, tcp_flags::ACK, &[7; 300]),
                )
            })
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    // The same records under a header that declares 64 bytes, and under one that is right.
    let (wrong, _) = pcap(64, &recs());
    let (right, _) = pcap(65_535, &recs());
    let wrong = common::write_file(dir.path(), "wrong-snaplen.pcap", &wrong);
    let right = common::write_file(dir.path(), "right-snaplen.pcap", &right);
    let (wf, ws, wo) = flows_and_stats(&wrong);
    let (rf, rs, _) = flows_and_stats(&right);
    assert_eq!(common::exit_code(&wo), Some(0), "{}", stderr(&wo));
    assert_eq!(ws["record_anomalies"]["over_snaplen"], 6, "{ws}");
    assert_eq!(rs["record_anomalies"]["over_snaplen"], 0, "{rs}");
    assert_eq!(ws["undecodable"], rs["undecodable"]);
    assert_eq!(
        wf, rf,
        "records longer than the declared snaplen are read whole"
    );
    assert_eq!(
        wf.iter()
            .map(|f| f["bytes_up"].as_u64().unwrap())
            .sum::<u64>(),
        6 * 354
    );
}

/// A record claiming more captured bytes than any capture uses (libpcap's 262,144) stops the
/// file at that record's offset; the records before it give their flows. Under a correct
/// snaplen (libpcap reads the file) and under a wrong one (the classic reader does).
#[test]
fn an_oversized_record_stops_the_file_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    for snaplen in [65_535, 64] {
        let mut recs: Vec<Rec> = (0..4)
            .map(|i| Rec::frame(1_700_000_000 + i, udp(3000 + i as u16, &[1; 100])))
            .collect();
        let mut huge = Rec::frame(1_700_000_010, vec![0; 300_000]);
        huge.wire = 300_000;
        recs.insert(2, huge);
        let (bytes, offsets) = pcap(snaplen, &recs);
        let path = common::write_file(dir.path(), &format!("huge-{snaplen}.pcap"), &bytes);
        let prefix = common::write_file(
            dir.path(),
            &format!("prefix-{snaplen}.pcap"),
            &bytes[..offsets[2]],
        );
        for cmd in ["flows", "events"] {
            let out = run(cmd, &[], &path);
            let err = stderr(&out);
            assert_eq!(
                common::exit_code(&out),
                Some(3),
                "{cmd} snaplen {snaplen}: {err}"
            );
            assert!(
                err.contains(&format!("byte offset {} after 2 records", offsets[2])),
                "{cmd} snaplen {snaplen}: {err}"
            );
            assert!(err.contains("300000"), "names the claimed length: {err}");
            assert!(!err.contains("panicked"), "{err}");
            let good = run(cmd, &[], &prefix);
            assert_eq!(common::exit_code(&good), Some(0), "{}", stderr(&good));
            assert_eq!(out.stdout, good.stdout, "{cmd} snaplen {snaplen}");
        }
    }
}

/// pcapng bytes: one section, one Ethernet interface with optional if_tsoffset (seconds),
/// enhanced packet blocks with microsecond timestamps.
fn pcapng(tsoffset: Option<i64>, packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, ty: u32, body: &[u8]) {
        let len = (12 + body.len().div_ceil(4) * 4) as u32;
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + (4 - body.len() % 4) % 4, 0);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    let mut idb = 1u16.to_le_bytes().to_vec();
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65_535u32.to_le_bytes());
    if let Some(off) = tsoffset {
        idb.extend_from_slice(&14u16.to_le_bytes());
        idb.extend_from_slice(&8u16.to_le_bytes());
        idb.extend_from_slice(&off.to_le_bytes());
        idb.extend_from_slice(&[0; 4]); // opt_endofopt
    }
    block(&mut out, 1, &idb);
    for (micros, data) in packets {
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((micros >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(*micros as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        epb.resize(epb.len().div_ceil(4) * 4, 0);
        block(&mut out, 6, &epb);
    }
    out
}

#[test]
fn pcapng_timestamps_before_1970_and_after_2106_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let us = |s: u64| s * 1_000_000;
    // Year 2128 and year 2262 (near the end of i64 nanoseconds), then an ordinary time.
    let late = pcapng(
        None,
        &[
            (us(5_000_000_000), udp(4001, b"a")),
            (us(9_000_000_000), udp(4002, b"b")),
            (us(1_700_000_000), udp(4003, b"c")),
        ],
    );
    let path = common::write_file(dir.path(), "late.pcapng", &late);
    let (flows, stats, out) = flows_and_stats(&path);
    assert_eq!(common::exit_code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(stats["record_anomalies"]["after_2106"], 2, "{stats}");
    assert_eq!(stats["record_anomalies"]["before_1970"], 0, "{stats}");
    assert_eq!(flows.len(), 3);
    assert!(stats["flows"]["timestamps_backwards"].as_u64().unwrap() >= 1);
    let ts: Vec<f64> = flows
        .iter()
        .map(|f| f["first_ts"].as_f64().unwrap())
        .collect();
    assert!(ts.contains(&5_000_000_000.0), "{ts:?}");
    // if_tsoffset moves the interface's clock: 1.0e9 s minus 2.5e9 s is before 1970.
    let early = pcapng(
        Some(-2_500_000_000),
        &[
            (us(1_000_000_000), udp(4004, b"d")),
            (us(1_000_000_001), udp(4005, b"e")),
        ],
    );
    let path = common::write_file(dir.path(), "early.pcapng", &early);
    let (flows, stats, out) = flows_and_stats(&path);
    assert_eq!(common::exit_code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(stats["record_anomalies"]["before_1970"], 2, "{stats}");
    assert_eq!(flows.len(), 2);
    assert!(
        flows.iter().all(|f| f["first_ts"].as_f64().unwrap() < 0.0),
        "{flows:?}"
    );
    for cmd in ["events"] {
        for p in ["late.pcapng", "early.pcapng"] {
            let out = run(cmd, &[], &dir.path().join(p));
            assert_eq!(
                common::exit_code(&out),
                Some(0),
                "{cmd} {p}: {}",
                stderr(&out)
            );
        }
    }
}

/// Record offsets of a classic pcap with 16-byte record headers, or None when it is not one
/// (pcapng, the 24-byte variant, or a record that does not fit).
fn pcap_records(b: &[u8]) -> Option<Vec<usize>> {
    let le = match b.get(..4)? {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => return None,
    };
    let word = |at: usize| -> Option<u32> {
        let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        })
    };
    let snaplen = word(16)?;
    let mut at = 24;
    let mut out = Vec::new();
    while at < b.len() {
        let caplen = word(at + 8)? as usize;
        if caplen > 262_144 || (snaplen != 0 && caplen > snaplen as usize) {
            return None;
        }
        if at + 16 + caplen > b.len() {
            return None;
        }
        out.push(at);
        at += 16 + caplen;
    }
    Some(out)
}

/// Deterministic pseudo-random numbers (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Classic pcaps of the corpus with at least `min_records` records that read cleanly, spread
/// over the corpus sources, at most `limit` of them, smallest first within a source.
fn clean_pcaps(
    corpus: &Path,
    min_records: usize,
    limit: usize,
) -> Vec<(String, Vec<u8>, Vec<usize>)> {
    let mut by_source = std::collections::BTreeMap::<String, Vec<_>>::new();
    for (source, file, path) in common::captures(corpus) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes.len() > 2_000_000 {
            continue;
        }
        let Some(recs) = pcap_records(&bytes) else {
            continue;
        };
        if recs.len() < min_records {
            continue;
        }
        by_source.entry(source.clone()).or_default().push((
            format!("{source}/{file}"),
            bytes,
            recs,
        ));
    }
    let mut out = Vec::new();
    for files in by_source.values_mut() {
        files.sort_by_key(|f| f.1.len());
    }
    // Round-robin over the sources.
    let mut i = 0;
    while out.len() < limit && by_source.values().any(|f| i < f.len()) {
        for files in by_source.values() {
            if let Some(f) = files.get(i)
                && out.len() < limit
            {
                out.push(f.clone());
            }
        }
        i += 1;
    }
    out.retain(|(name, bytes, _)| {
        let dir = tempfile::tempdir().unwrap();
        let p = common::write_file(dir.path(), "probe.pcap", bytes);
        let ok = common::exit_code(&run("flows", &[], &p)) == Some(0);
        if !ok {
            println!("not used (does not read cleanly): {name}");
        }
        ok
    });
    out
}

/// Corpus pcaps cut inside the file header, inside record headers and inside record data, at
/// many records: the file header cut is refused in one line (exit 4); every other cut reads
/// the whole records before it, names the offset of the damaged record and gives exactly the
/// flows (and events) of those records (exit 3).
#[test]
fn corpus_pcaps_cut_at_many_offsets() {
    let Some(corpus) = common::corpus() else {
        common::skip("corpus_pcaps_cut_at_many_offsets");
        return;
    };
    let files = clean_pcaps(&corpus, 12, 6);
    assert!(
        files.len() >= 3,
        "the corpus has classic pcaps: {}",
        files.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_0001);
    let mut cuts_tried = 0;
    for (name, bytes, recs) in &files {
        let n = recs.len();
        let flat = name.replace('/', "_");
        // Inside the file header.
        for cut in [1, 4, 12, 23] {
            let p = common::write_file(dir.path(), &format!("{flat}.h{cut}"), &bytes[..cut]);
            let out = run("flows", &[], &p);
            let err = stderr(&out);
            assert_eq!(
                common::exit_code(&out),
                Some(4),
                "{name} cut at {cut}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{name} cut at {cut}: {err}");
            assert!(err.contains(&p.display().to_string()), "{err}");
            assert!(!err.contains("panicked"), "{err}");
        }
        // (record index, offset inside it) for several records, header and data.
        let mut picks: Vec<(usize, usize)> = vec![(0, 3), (0, 16 + 1), (n - 1, 8), (n - 1, 17)];
        for _ in 0..6 {
            let k = rng.below(n);
            let len = recs.get(k + 1).copied().unwrap_or(bytes.len()) - recs[k];
            picks.push((k, 1 + rng.below(len - 1)));
        }
        for (k, inside) in picks {
            let cut = recs[k] + inside;
            let next = recs.get(k + 1).copied().unwrap_or(bytes.len());
            if cut >= next {
                continue;
            }
            cuts_tried += 1;
            let p = common::write_file(dir.path(), &format!("{flat}.c{cut}"), &bytes[..cut]);
            let r = common::write_file(dir.path(), &format!("{flat}.r{cut}"), &bytes[..recs[k]]);
            let cmds: &[&str] = if k % 2 == 0 {
                &["flows", "events"]
            } else {
                &["flows"]
            };
            for cmd in cmds {
                let out = run(cmd, &[], &p);
                let err = stderr(&out);
                assert_eq!(
                    common::exit_code(&out),
                    Some(3),
                    "{cmd} {name} cut at {cut}: {err}"
                );
                assert!(
                    err.contains(&format!("byte offset {} after {k} records", recs[k])),
                    "{cmd} {name} cut at {cut} (record {k} at {}): {err}",
                    recs[k]
                );
                assert!(!err.contains("panicked"), "{err}");
                let good = run(cmd, &[], &r);
                let good_code = common::exit_code(&good);
                // A prefix of no records is a file header alone: a valid, empty capture.
                assert_eq!(
                    good_code,
                    Some(0),
                    "{cmd} {name} prefix of {k}: {}",
                    stderr(&good)
                );
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&good.stdout),
                    "{cmd} {name} cut at {cut}: the results of its {k} whole records"
                );
            }
        }
    }
    println!("{cuts_tried} cuts in {} corpus pcaps", files.len());
    assert!(cuts_tried >= 20);
}

/// Bits flipped at random in corpus captures (pcap and pcapng; some flips in the file header,
/// most in records): never a panic, exit 0, 3 (with the byte offset where reading stopped) or
/// 4 (one line naming the file).
#[test]
fn corpus_captures_with_flipped_bits() {
    let Some(corpus) = common::corpus() else {
        common::skip("corpus_captures_with_flipped_bits");
        return;
    };
    let mut picked = Vec::new();
    let mut ng = 0;
    for (source, file, path) in common::captures(&corpus) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes.len() < 200 || bytes.len() > 300_000 {
            continue;
        }
        let is_ng = bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]);
        if is_ng && ng >= 4 {
            continue;
        }
        if !is_ng && pcap_records(&bytes).is_none() {
            continue;
        }
        // One file per source and kind keeps the set varied.
        if picked
            .iter()
            .any(|(s, k, _, _): &(String, bool, String, Vec<u8>)| *s == source && *k == is_ng)
        {
            continue;
        }
        ng += usize::from(is_ng);
        picked.push((source.clone(), is_ng, format!("{source}/{file}"), bytes));
    }
    assert!(picked.len() >= 4, "{}", picked.len());
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_0002);
    let mut by_code = std::collections::BTreeMap::<Option<i32>, usize>::new();
    for (_, _, name, bytes) in &picked {
        for m in 0..12 {
            let mut b = bytes.clone();
            let flips = 1 + rng.below(8);
            for _ in 0..flips {
                // A third of the flips land in the first 64 bytes (file and first headers).
                let at = if rng.below(3) == 0 {
                    rng.below(64.min(b.len()))
                } else {
                    rng.below(b.len())
                };
                b[at] ^= 1 << rng.below(8);
            }
            let p = common::write_file(dir.path(), &format!("flip{m}.pcap"), &b);
            let cmd = if m % 3 == 0 { "events" } else { "flows" };
            let out = run(cmd, &[], &p);
            let err = stderr(&out);
            let code = common::exit_code(&out);
            *by_code.entry(code).or_default() += 1;
            assert!(!err.contains("panicked"), "{cmd} {name} mutant {m}: {err}");
            match code {
                Some(0) => {}
                Some(3) => assert!(
                    err.contains("byte offset "),
                    "{cmd} {name} mutant {m}: {err}"
                ),
                Some(4) => {
                    let lines: Vec<&str> = err.lines().filter(|l| !l.is_empty()).collect();
                    assert_eq!(lines.len(), 1, "{cmd} {name} mutant {m}: {err}");
                    assert!(lines[0].contains(&p.display().to_string()), "{err}");
                }
                other => panic!("{cmd} {name} mutant {m}: exit {other:?}: {err}"),
            }
        }
    }
    println!(
        "{} mutants of {} captures by exit code: {by_code:?}",
        picked.len() * 12,
        picked.len()
    );
}

/// Records of corpus pcaps shuffled, and every record written twice: read to the end (exit 0),
/// every frame counted, timestamps going backwards counted, twice the decoded packets.
#[test]
fn corpus_pcaps_with_shuffled_and_duplicated_records() {
    let Some(corpus) = common::corpus() else {
        common::skip("corpus_pcaps_with_shuffled_and_duplicated_records");
        return;
    };
    let files = clean_pcaps(&corpus, 20, 4);
    assert!(files.len() >= 2, "{}", files.len());
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_0003);
    for (name, bytes, recs) in &files {
        let record = |k: usize| &bytes[recs[k]..recs.get(k + 1).copied().unwrap_or(bytes.len())];
        let mut order: Vec<usize> = (0..recs.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut shuffled = bytes[..24].to_vec();
        let mut doubled = bytes[..24].to_vec();
        for &k in &order {
            shuffled.extend_from_slice(record(k));
        }
        for k in 0..recs.len() {
            doubled.extend_from_slice(record(k));
            doubled.extend_from_slice(record(k));
        }
        let orig = common::write_file(dir.path(), "orig.pcap", bytes);
        let shuf = common::write_file(dir.path(), "shuffled.pcap", &shuffled);
        let dup = common::write_file(dir.path(), "doubled.pcap", &doubled);
        let (_, os, _) = flows_and_stats(&orig);
        let (_, ss, so) = flows_and_stats(&shuf);
        let (_, ds, dout) = flows_and_stats(&dup);
        assert_eq!(
            common::exit_code(&so),
            Some(0),
            "{name} shuffled: {}",
            stderr(&so)
        );
        assert_eq!(
            common::exit_code(&dout),
            Some(0),
            "{name} doubled: {}",
            stderr(&dout)
        );
        assert_eq!(ss["frames"], os["frames"], "{name}");
        assert_eq!(ss["undecodable"], os["undecodable"], "{name}");
        assert!(
            ss["flows"]["timestamps_backwards"].as_u64().unwrap() > 0,
            "{name}: {ss}"
        );
        assert_eq!(
            ds["frames"].as_u64(),
            os["frames"].as_u64().map(|n| 2 * n),
            "{name}"
        );
        assert_eq!(
            ds["decoded"].as_u64(),
            os["decoded"].as_u64().map(|n| 2 * n),
            "{name}"
        );
        for cmd in ["events"] {
            for p in [&shuf, &dup] {
                let out = run(cmd, &[], p);
                assert_eq!(
                    common::exit_code(&out),
                    Some(0),
                    "{cmd} {name}: {}",
                    stderr(&out)
                );
                assert!(!stderr(&out).contains("panicked"));
            }
        }
    }
}
