//! Shared helpers of the integration tests: where the shared corpus is, and how to read the
//! answers other tools gave on it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The shared corpus beside the project (`../shared/corpus`), if present.
pub fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if p.join("pcap").is_dir() {
        Some(p)
    } else {
        None
    }
}

/// The events `onlooker events` infers from one capture (none when it cannot be opened).
pub fn events_of(path: &Path) -> Vec<onlooker::model::Event> {
    use onlooker::analysis::{pipeline::PipelineConfig, summarize};
    let Ok(mut src) = onlooker::capture::offline::FileSource::new(&[path.to_path_buf()]) else {
        return Vec::new();
    };
    let catalog = onlooker::naming::catalog::Catalog::bundled().unwrap_or_else(|e| panic!("{e}"));
    let geo = onlooker::naming::geo::Geo::bundled();
    let (flows, _) = summarize(&mut src, catalog, geo, PipelineConfig::default());
    onlooker::activity::infer(&flows)
}

/// Say loudly that a corpus test could not run.
pub fn skip(test: &str) {
    println!("SKIPPED {test}: ../shared/corpus is not present beside the project");
    eprintln!("SKIPPED {test}: ../shared/corpus is not present beside the project");
}

/// Every capture file of the corpus as (SOURCE, FILE, path), sorted.
pub fn captures(corpus: &Path) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(sources) = std::fs::read_dir(corpus.join("pcap")) else {
        return out;
    };
    for s in sources.flatten() {
        let Ok(files) = std::fs::read_dir(s.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".txt") || name.ends_with(".md") || !f.path().is_file() {
                continue;
            }
            out.push((s.file_name().to_string_lossy().into_owned(), name, f.path()));
        }
    }
    out.sort();
    out
}

/// A tab-separated file as rows of columns, header dropped.
pub fn read_tsv(path: &Path) -> Vec<Vec<String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// tshark's per-5-tuple counts: (proto, endpoint a, endpoint b) → (frames, bytes).
pub type Conversations = BTreeMap<(String, String, String), (u64, u64)>;

pub fn tshark_flows(corpus: &Path, source: &str, file: &str) -> Option<Conversations> {
    let p = corpus
        .join("expected")
        .join(source)
        .join(format!("{file}.flows.tsv"));
    if !p.is_file() {
        return None;
    }
    let mut m = Conversations::new();
    for r in read_tsv(&p) {
        if r.len() < 5 {
            continue;
        }
        let frames = r[3].parse().unwrap_or(0);
        let bytes = r[4].parse().unwrap_or(0);
        m.insert((r[0].clone(), r[1].clone(), r[2].clone()), (frames, bytes));
    }
    Some(m)
}

/// Order two endpoints as text, as the expected files do.
pub fn ordered(a: String, b: String) -> (String, String) {
    if a <= b { (a, b) } else { (b, a) }
}

// ---------------------------------------------------------------------------------------------
// Helpers of the synthetic-capture tests (flow_table, decode_link_types, bad_input, cli).
// ---------------------------------------------------------------------------------------------

/// Classic pcap bytes holding `frames` (time, bytes) cut at `snaplen`, written by the project's
/// writer, and the byte offset at which each record starts.
#[allow(clippy::expect_used)]
pub fn pcap_bytes(
    link: onlooker::capture::LinkType,
    snaplen: u32,
    frames: &[(onlooker::capture::Timestamp, Vec<u8>)],
) -> (Vec<u8>, Vec<usize>) {
    let mut w = onlooker::capture::writer::PcapWriter::new(Vec::new(), link, snaplen)
        .expect("writing a pcap header to memory");
    let mut offsets = Vec::with_capacity(frames.len());
    let mut at = 24usize;
    for (ts, data) in frames {
        offsets.push(at);
        at += 16 + data.len().min(snaplen as usize);
        w.write(*ts, data).expect("writing a pcap record to memory");
    }
    let bytes = w.finish().expect("flushing a Vec");
    assert_eq!(
        bytes.len(),
        at,
        "record offsets must add up to the file size"
    );
    (bytes, offsets)
}

/// Write `bytes` to `name` inside `dir` and return the path.
#[allow(clippy::expect_used)]
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("writing a test file");
    p
}

/// Run the onlooker binary with `args`, capturing its output.
#[allow(clippy::expect_used)]
pub fn onlooker<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    std::process::Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .args(args)
        .output()
        .expect("running the onlooker binary")
}

/// Run the onlooker binary with `args`, which must succeed; its standard output.
pub fn stdout_of<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = onlooker(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("output not UTF-8: {e}"))
}

/// The exit code of a finished process (`None` if a signal ended it).
pub fn exit_code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

/// Parse NDJSON output into JSON values, one per line.
#[allow(clippy::expect_used)]
pub fn ndjson(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("every stdout line is one JSON value"))
        .collect()
}

/// Run onlooker (TZ=UTC) with `input` written to its standard input from another thread, in
/// small pieces, as a capture still being written arrives.
pub fn with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .args(args)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting onlooker: {e}"));
    let Some(mut stdin) = child.stdin.take() else {
        panic!("onlooker's standard input was not piped");
    };
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        for chunk in input.chunks(4096) {
            if stdin.write_all(chunk).is_err() {
                break;
            }
        }
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for onlooker: {e}"));
    if writer.join().is_err() {
        panic!("the writer of onlooker's standard input panicked");
    }
    out
}
