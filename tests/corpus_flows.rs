//! The flow table against Wireshark on the real corpus: summing onlooker's flows per 5-tuple
//! must give tshark's frame and byte counts for at least 99.5% of tshark's rows, and every
//! capture, fuzzed and malformed ones included, must be read without a panic.

mod common;

use std::collections::BTreeMap;

use onlooker::analysis::pipeline::{Pipeline, PipelineConfig};
use onlooker::capture::offline::FileSource;
use onlooker::model::FlowRecord;

/// Share of tshark's conversations onlooker must count identically (the target).
const REQUIRED_AGREEMENT: f64 = 0.995;

#[test]
fn flows_agree_with_tshark_on_the_corpus() {
    let Some(corpus) = common::corpus() else {
        common::skip("flows_agree_with_tshark_on_the_corpus");
        return;
    };
    let mut total = 0usize;
    let mut agree = 0usize;
    let mut per_source: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for (source, file, path) in common::captures(&corpus) {
        let Some(expected) = common::tshark_flows(&corpus, &source, &file) else {
            continue;
        };
        let mut ours: common::Conversations = BTreeMap::new();
        if let Ok(mut src) = FileSource::new(std::slice::from_ref(&path)) {
            let mut p: Pipeline<()> = Pipeline::new(PipelineConfig::default());
            p.run(&mut src, &mut |_, _, _| {}, &mut |f, reason| {
                let r = FlowRecord::from_flow(&f, reason);
                let (a, b) = common::ordered(r.client.to_string(), r.server.to_string());
                let e = ours.entry((r.proto.to_string(), a, b)).or_default();
                e.0 += r.packets_up + r.packets_down;
                e.1 += r.bytes_up + r.bytes_down;
            });
        }
        for (k, v) in &expected {
            total += 1;
            let s = per_source.entry(source.clone()).or_default();
            s.0 += 1;
            if ours.get(k) == Some(v) {
                agree += 1;
                s.1 += 1;
            } else {
                mismatches.push(format!(
                    "{source}/{file} {} {} {}: tshark {:?}, onlooker {:?}",
                    k.0,
                    k.1,
                    k.2,
                    v,
                    ours.get(k)
                ));
            }
        }
    }
    println!("flows vs tshark, per source (rows agreeing / rows):");
    for (s, (n, a)) in &per_source {
        println!("  {s:16} {a:6} / {n:6}");
    }
    let share = agree as f64 / total.max(1) as f64;
    println!(
        "total: {agree} / {total} = {:.3}% (target {:.1}%)",
        share * 100.0,
        REQUIRED_AGREEMENT * 100.0
    );
    for m in mismatches
        .iter()
        .filter(|m| std::env::var("MISMATCH_FILTER").map_or(true, |f| m.contains(&f)))
        .take(400)
    {
        println!("  mismatch: {m}");
    }
    assert!(
        total > 1000,
        "the corpus should hold thousands of tshark rows, found {total}"
    );
    assert!(
        share >= REQUIRED_AGREEMENT,
        "only {agree} of {total} tshark conversations agree"
    );
}
