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
