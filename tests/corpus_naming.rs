//! Naming on the real corpus, against two other tools:
//! - every TLS/QUIC ClientHello server name tshark decodes (`expected/*/*.sni.tsv`) must be on
//!   onlooker's flow with that 5-tuple;
//! - over the flows nDPI labels with a messaging service (`expected/ndpi-out`, mapped through
//!   `service-map.tsv`), onlooker names the same service for at least 97%; over the flows nDPI
//!   labels otherwise, onlooker names a mapped messaging service for at most 1%;
//! - over every capture, of the flows to a server that another flow of the same capture (its
//!   SNI, certificate, HTTP Host or DNS name, or a DNS answer read here from the packets) names
//!   as a messaging service, at most 1% are left unnamed or named otherwise.
//!
//! Set `NAMING_DETAIL=1` to print every disagreement.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;

use onlooker::analysis::{self, Depth, Engine, Pipeline, PipelineConfig};
use onlooker::capture::offline::FileSource;
use onlooker::dissect::dns;
use onlooker::model::{EvidenceKind, FlowRecord, Role};
use onlooker::naming::Namer;
use onlooker::naming::catalog::Catalog;
use onlooker::naming::geo::{Geo, is_local};

/// The targets: at least 97% of nDPI's messaging flows named the same, at most 1% of
/// its other flows given a messaging name. Measured on 2026-11-24: 97.1% and 0.39%; the
/// remaining disagreements are listed with their reasons in docs/naming.md.
const MIN_SERVICE_AGREEMENT: f64 = 0.97;
const MAX_FALSE_MESSAGING: f64 = 0.01;
/// tshark rows whose name onlooker cannot place on the same 5-tuple, each explained in
/// docs/naming.md: five ClientHellos inside UDP tunnels (VXLAN, GTP-U, CAPWAP) that tshark
/// reports under the outer 5-tuple, one TLS inside RDP's UDP transport, and two in a pcapng file
/// libpcap refuses (interfaces of different link types).
const KNOWN_SNI_GAPS: usize = 8;

type Key = (String, String, String);

/// Our flows of one capture, per 5-tuple (endpoints ordered as text).
fn our_flows(path: &Path) -> HashMap<Key, Vec<FlowRecord>> {
    let mut out: HashMap<Key, Vec<FlowRecord>> = HashMap::new();
    let Ok(mut src) = FileSource::new(std::slice::from_ref(&path.to_path_buf())) else {
        return out;
    };
    let catalog = Catalog::bundled().unwrap_or_else(|e| panic!("catalog: {e}"));
    let namer = Namer::new(catalog);
    let attributor = namer.attributor(Geo::bundled());
    let mut engine = Engine::new(PipelineConfig::default(), namer, Depth::Names);
    engine.run(&mut src, &mut |f, r| {
        let rec = analysis::record(Some(&attributor), &f, r);
        let (x, y) = common::ordered(rec.client.to_string(), rec.server.to_string());
        out.entry((rec.proto.to_string(), x, y))
            .or_default()
            .push(rec);
    });
    out
}

/// Canonical `ip:port` text of an endpoint as another tool printed it.
fn canon(ep: &str) -> String {
    ep.parse::<SocketAddr>()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| ep.to_string())
}

/// nDPI flows of one capture: 5-tuple → label (e.g. "SRTP.WhatsAppCall").
fn ndpi_flows(corpus: &Path, source: &str, file: &str) -> Option<Vec<(Key, String)>> {
    let p = corpus
        .join("expected/ndpi-out")
        .join(source)
        .join(format!("{file}.out"));
    let bytes = std::fs::read(&p).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let mut parts = t.splitn(2, char::is_whitespace);
        let (Some(n), Some(rest)) = (parts.next(), parts.next()) else {
            continue;
        };
        if n.parse::<u32>().is_err() {
            continue;
        }
        let rest = rest.trim_start();
        let Some(bracket) = rest.find(" [proto: ") else {
            continue;
        };
        let head: Vec<&str> = rest[..bracket].split_whitespace().collect();
        let (proto, a, b) = match head.as_slice() {
            [proto, a, _arrow, b] => (proto.to_ascii_lowercase(), canon(a), canon(b)),
            _ => continue,
        };
        let label_start = bracket + " [proto: ".len();
        let Some(end) = rest[label_start..].find(']') else {
            continue;
        };
        let label = &rest[label_start..label_start + end];
        let label = label.split_once('/').map_or(label, |(_, l)| l).to_string();
        let (x, y) = common::ordered(a, b);
        out.push(((proto, x, y), label));
    }
    Some(out)
}

/// nDPI names → our service names.
fn service_map(corpus: &Path) -> HashMap<String, String> {
    common::read_tsv(&corpus.join("expected/service-map.tsv"))
        .into_iter()
        .filter(|r| r.len() >= 2)
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

fn ndpi_service(label: &str, map: &HashMap<String, String>) -> Option<String> {
    let (master, app) = label.split_once('.').unwrap_or((label, ""));
    map.get(app).or_else(|| map.get(master)).cloned()
}

/// The service we give a 5-tuple: that of its largest named flow.
fn our_service(flows: &[FlowRecord]) -> Option<String> {
    flows
        .iter()
        .filter(|f| f.service.is_some())
        .max_by_key(|f| f.packets_up + f.packets_down)
        .and_then(|f| f.service.clone())
}

#[test]
fn names_agree_with_tshark_and_ndpi_on_the_corpus() {
    let Some(corpus) = common::corpus() else {
        common::skip("names_agree_with_tshark_and_ndpi_on_the_corpus");
        return;
    };
    let detail = std::env::var_os("NAMING_DETAIL").is_some();
    let map = service_map(&corpus);
    let messaging: BTreeSet<String> = map.values().cloned().collect();
    let (mut sni_total, mut sni_ok) = (0usize, 0usize);
    let mut sni_miss = Vec::new();
    let (mut svc_total, mut svc_ok) = (0usize, 0usize);
    let (mut other_total, mut other_false) = (0usize, 0usize);
    let mut per_service: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for (source, file, path) in common::captures(&corpus) {
        let sni_rows = common::read_tsv(
            &corpus
                .join("expected")
                .join(&source)
                .join(format!("{file}.sni.tsv")),
        );
        let ndpi = ndpi_flows(&corpus, &source, &file);
        if sni_rows.is_empty() && ndpi.is_none() {
            continue;
        }
        let ours = our_flows(&path);
        for r in sni_rows.iter().filter(|r| r.len() >= 4) {
            sni_total += 1;
            let (x, y) = common::ordered(canon(&r[1]), canon(&r[2]));
            let key = (r[0].clone(), x, y);
            let found = ours
                .get(&key)
                .is_some_and(|fs| fs.iter().any(|f| f.sni.as_deref() == Some(r[3].as_str())));
            if found {
                sni_ok += 1;
            } else {
                sni_miss.push(format!(
                    "{source}/{file} {} {} {} {}",
                    r[0], r[1], r[2], r[3]
                ));
            }
        }
        for (key, label) in ndpi.unwrap_or_default() {
            let Some(flows) = ours.get(&key) else {
                continue;
            };
            let mine = our_service(flows);
            match ndpi_service(&label, &map) {
                Some(expected) => {
                    svc_total += 1;
                    let e = per_service.entry(expected.clone()).or_default();
                    e.0 += 1;
                    if mine.as_deref() == Some(expected.as_str()) {
                        svc_ok += 1;
                        e.1 += 1;
                    } else {
                        disagreements.push(format!(
                            "{source}/{file} {} {} {}: nDPI {label} ({expected}), onlooker {:?} {:?}",
                            key.0,
                            key.1,
                            key.2,
                            mine,
                            flows.first().map(|f| &f.service_evidence)
                        ));
                    }
                }
                None => {
                    other_total += 1;
                    if mine.as_ref().is_some_and(|m| messaging.contains(m)) {
                        other_false += 1;
                        disagreements.push(format!(
                            "{source}/{file} {} {} {}: nDPI {label} (not messaging), onlooker {:?} {:?}",
                            key.0,
                            key.1,
                            key.2,
                            mine,
                            flows.first().map(|f| &f.service_evidence)
                        ));
                    }
                }
            }
        }
    }
    println!("SNI: {sni_ok} / {sni_total} tshark ClientHello names found on their flow");
    for m in &sni_miss {
        println!("  sni missing: {m}");
    }
    let agree = svc_ok as f64 / svc_total.max(1) as f64;
    let false_rate = other_false as f64 / other_total.max(1) as f64;
    println!(
        "service: {svc_ok} / {svc_total} = {:.2}% of nDPI's messaging flows named the same (target {:.0}%)",
        agree * 100.0,
        MIN_SERVICE_AGREEMENT * 100.0
    );
    println!(
        "false messaging: {other_false} / {other_total} = {:.2}% of nDPI's other flows (target at most {:.0}%)",
        false_rate * 100.0,
        MAX_FALSE_MESSAGING * 100.0
    );
    println!("per service (agree / nDPI flows):");
    for (s, (n, ok)) in &per_service {
        println!("  {s:14} {ok:5} / {n:5}");
    }
    let shown = if detail { disagreements.len() } else { 40 };
    for d in disagreements.iter().take(shown) {
        println!("  disagree: {d}");
    }
    assert!(
        sni_total > 900,
        "expected about 1000 SNI rows, found {sni_total}"
    );
    assert!(
        svc_total > 300,
        "expected hundreds of nDPI messaging flows, found {svc_total}"
    );
    assert!(
        sni_ok + KNOWN_SNI_GAPS >= sni_total,
        "{} SNI rows missing",
        sni_total - sni_ok
    );
    assert!(
        agree >= MIN_SERVICE_AGREEMENT,
        "service agreement {agree:.4}"
    );
    assert!(
        false_rate <= MAX_FALSE_MESSAGING,
        "false messaging rate {false_rate:.4}"
    );
}

/// The target for names across a capture: at most 1% of the flows to a server that
/// another flow of the same capture names as a messaging service are left unnamed or named
/// otherwise.
const MAX_SERVER_NAME_MISSES: f64 = 0.01;

/// The remote side of a record: the server, unless the server is local and the client not.
fn remote_ip(r: &FlowRecord) -> std::net::IpAddr {
    let (c, s) = (r.client.ip(), r.server.ip());
    if is_local(s) && !is_local(c) { c } else { s }
}

/// The services a record's own names (SNI, certificate, HTTP Host, DNS name) give its server.
fn own_names(catalog: &Catalog, r: &FlowRecord) -> Vec<String> {
    r.service_evidence
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EvidenceKind::Sni | EvidenceKind::Cert | EvidenceKind::HttpHost | EvidenceKind::Dns
            )
        })
        .filter_map(|e| {
            let name = e.detail.split(' ').next().unwrap_or_default();
            let name = name.trim_start_matches("*.");
            catalog
                .domain(name)
                .map(|(_, d)| catalog.service_name(d.service).to_string())
        })
        .collect()
}

/// Flows of one capture to a server another of its flows names as a messaging service: how
/// many, and those left unnamed or named otherwise. A flow whose own clear name (SNI,
/// certificate, HTTP Host) is another one is a different host on a shared address and is not
/// counted; neither are servers named as two messaging services.
fn server_name_misses(
    catalog: &Catalog,
    messaging: &BTreeSet<String>,
    records: &[FlowRecord],
    answers: &[(std::net::IpAddr, String)],
) -> (usize, Vec<String>) {
    let mut named: HashMap<std::net::IpAddr, BTreeMap<String, usize>> = HashMap::new();
    // A DNS answer names its addresses as another flow (the DNS flow) would.
    for (ip, service) in answers.iter().collect::<BTreeSet<_>>() {
        if messaging.contains(service) {
            *named
                .entry(*ip)
                .or_default()
                .entry(service.clone())
                .or_default() += 1;
        }
    }
    let owns: Vec<Vec<String>> = records.iter().map(|r| own_names(catalog, r)).collect();
    for (r, own) in records.iter().zip(&owns) {
        let own: BTreeSet<&String> = own.iter().filter(|s| messaging.contains(*s)).collect();
        for s in own {
            *named
                .entry(remote_ip(r))
                .or_default()
                .entry(s.clone())
                .or_default() += 1;
        }
    }
    let (mut total, mut misses) = (0usize, Vec::new());
    for (r, own) in records.iter().zip(&owns) {
        if r.service_role == Some(Role::Dns)
            || !matches!(r.proto.to_string().as_str(), "tcp" | "udp")
        {
            continue;
        }
        let Some(by) = named.get(&remote_ip(r)) else {
            continue;
        };
        let [(service, n)] = by.iter().collect::<Vec<_>>()[..] else {
            continue;
        };
        let self_names = own.iter().any(|s| s == service);
        if *n <= usize::from(self_names) {
            continue;
        }
        let clear_other = r.service_evidence.iter().any(|e| {
            matches!(
                e.kind,
                EvidenceKind::Sni | EvidenceKind::Cert | EvidenceKind::HttpHost
            )
        }) && !self_names;
        if clear_other {
            continue;
        }
        total += 1;
        if r.service.as_deref() != Some(service.as_str()) {
            misses.push(format!(
                "{} {} -> {}: {:?} {:?} (server named {service})",
                r.proto,
                r.client,
                r.server,
                r.service,
                r.service_evidence
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            ));
        }
    }
    (total, misses)
}

/// Every address a DNS answer of the capture gives, with the service of the queried name or
/// of a name on its CNAME chain (read here on the packets, independently of the namer).
fn dns_answers(catalog: &Catalog, path: &Path) -> Vec<(std::net::IpAddr, String)> {
    let mut out = Vec::new();
    let Ok(mut src) = FileSource::new(std::slice::from_ref(&path.to_path_buf())) else {
        return out;
    };
    let mut pipeline: Pipeline<()> = Pipeline::new(PipelineConfig::default());
    pipeline.run(
        &mut src,
        &mut |_, pkt, _| {
            if pkt.proto != 17 || !dns::usable_for_naming(pkt.src_port, pkt.dst_port) {
                return;
            }
            let Ok(ans) = dns::parse_dns(pkt.payload) else {
                return;
            };
            if !ans.response {
                return;
            }
            let service = std::iter::once(&ans.qname)
                .chain(&ans.cnames)
                .find_map(|n| catalog.domain(n))
                .map(|(_, d)| catalog.service_name(d.service).to_string());
            if let Some(service) = service {
                for a in &ans.addrs {
                    out.push((a.addr, service.clone()));
                }
            }
        },
        &mut |_, _| {},
    );
    out
}

#[test]
fn a_server_named_in_a_capture_is_named_on_all_its_flows() {
    let Some(corpus) = common::corpus() else {
        common::skip("a_server_named_in_a_capture_is_named_on_all_its_flows");
        return;
    };
    let catalog = Catalog::bundled().unwrap_or_else(|e| panic!("catalog: {e}"));
    let map = service_map(&corpus);
    let messaging: BTreeSet<String> = map.values().cloned().collect();
    let (mut total, mut missed) = (0usize, 0usize);
    let mut offenders = Vec::new();
    let (mut captures, mut flows) = (0usize, 0usize);
    for (source, file, path) in common::captures(&corpus) {
        let mut records: Vec<FlowRecord> = our_flows(&path).into_values().flatten().collect();
        captures += 1;
        flows += records.len();
        records.sort_by(|a, b| a.first_ts.total_cmp(&b.first_ts));
        let answers = dns_answers(&catalog, &path);
        let (n, misses) = server_name_misses(&catalog, &messaging, &records, &answers);
        total += n;
        missed += misses.len();
        offenders.extend(misses.into_iter().map(|m| format!("{source}/{file} {m}")));
    }
    let rate = missed as f64 / total.max(1) as f64;
    println!("{captures} captures, {flows} flows");
    println!(
        "names across a capture: {missed} / {total} = {:.2}% of the flows to a server another flow of the same capture names as a messaging service left unnamed or named otherwise (target at most {:.0}%)",
        rate * 100.0,
        MAX_SERVER_NAME_MISSES * 100.0
    );
    for o in &offenders {
        println!("  unnamed: {o}");
    }
    assert!(
        total > 200,
        "expected hundreds of such flows, found {total}"
    );
    assert!(
        rate <= MAX_SERVER_NAME_MISSES,
        "names across a capture {rate:.4}"
    );
}
