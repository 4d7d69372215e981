//! The form promises of `onlooker report` over the real corpus: the text report fits 100
//! columns and holds no control character, Markdown tables keep one cell per column, the JSON
//! report carries exactly the fields docs/formats.md documents, and `--redact` leaves no
//! address of the local side or of a direct peer anywhere, in any format. Run on every
//! capture of `expected/labels.tsv` and on a fixed sample of the rest (every 8th capture), and
//! on a synthetic capture whose names carry Markdown's and the terminal's special characters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use onlooker::capture::Timestamp;
use onlooker::scenario::Scenario;

/// Every 8th capture of the corpus besides the labelled ones: a fixed sample that reaches
/// every source folder, read in a few seconds.
const SAMPLE_EVERY: usize = 8;
/// Captures that broke the form before, kept in the set: a DNS name with control characters,
/// a paragraph the optimal-fit wrapping let overflow to 102 columns, and an input read up to
/// its damage (whose message named the file with its directories).
const REGRESSIONS: [&str; 3] = [
    "ndpi/dns-invalid-chars.pcap",
    "rusticata/wireshark_samples-test.pcapng",
    "tcpdump/timestamp_invalid_nano.pcap",
];

fn run(args: &[&str], file: &Path) -> (String, Option<i32>) {
    let mut a: Vec<std::ffi::OsString> = vec!["report".into()];
    a.extend(args.iter().map(Into::into));
    a.push(file.into());
    let out = common::onlooker(a);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        common::exit_code(&out),
    )
}

/// The labelled captures, then the sample; only those that give a report (exit 0, or 3 for
/// a capture read up to its damage).
fn chosen(corpus: &Path) -> Vec<(String, PathBuf)> {
    let labelled: BTreeSet<String> = common::read_tsv(&corpus.join("expected/labels.tsv"))
        .into_iter()
        .filter_map(|r| r.first().cloned())
        .collect();
    let mut out = Vec::new();
    for (i, (source, file, path)) in common::captures(corpus).into_iter().enumerate() {
        let rel = format!("{source}/{file}");
        if labelled.contains(&rel) || i % SAMPLE_EVERY == 0 || REGRESSIONS.contains(&rel.as_str()) {
            out.push((rel, path));
        }
    }
    assert!(out.len() >= labelled.len(), "labelled captures are missing");
    out
}

fn text_fits(rel: &str, text: &str) {
    for (n, l) in text.lines().enumerate() {
        assert!(
            l.chars().count() <= 100,
            "{rel}: line {} has {} characters: {l}",
            n + 1,
            l.chars().count()
        );
        assert!(
            !l.chars().any(|c| c.is_control()),
            "{rel}: line {} holds a control character: {l:?}",
            n + 1
        );
    }
}

/// Cells of a Markdown table row: split on `|` not escaped by a backslash.
fn md_cells(row: &str) -> usize {
    let mut pipes = 0usize;
    let mut chars = row.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '|' => pipes += 1,
            _ => {}
        }
    }
    pipes.saturating_sub(1)
}

fn tables_well_formed(rel: &str, md: &str) {
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with('|') {
            let cols = md_cells(lines[i]);
            assert!(
                lines.get(i + 1).is_some_and(|l| l.starts_with("|---")),
                "{rel}: a table without its separator: {}",
                lines[i]
            );
            let mut j = i + 1;
            while j < lines.len() && lines[j].starts_with('|') {
                assert_eq!(
                    md_cells(lines[j]),
                    cols,
                    "{rel}: a row with another number of cells than its header: {}",
                    lines[j]
                );
                j += 1;
            }
            i = j;
        } else {
            i += 1;
        }
    }
}

#[test]
fn text_fits_100_columns_and_markdown_tables_hold_on_the_corpus() {
    let Some(corpus) = common::corpus() else {
        common::skip("text_fits_100_columns_and_markdown_tables_hold_on_the_corpus");
        return;
    };
    let mut reports = 0;
    for (rel, path) in chosen(&corpus) {
        let (text, code) = run(&["--tz", "UTC"], &path);
        if !matches!(code, Some(0) | Some(3)) {
            continue;
        }
        reports += 1;
        text_fits(&rel, &text);
        let dir = path.parent().unwrap().to_string_lossy().into_owned();
        assert!(
            !text.contains(&dir),
            "{rel}: the report names the capture's directory"
        );
        let (md, _) = run(&["--tz", "UTC", "--format", "markdown"], &path);
        tables_well_formed(&rel, &md);
    }
    println!("{reports} captures reported");
    assert!(reports >= 100, "only {reports} captures gave a report");
}

/// Top-level rows of the report table of docs/formats.md: field and the backquoted words of
/// its meaning (the names of the fields inside it).
fn documented() -> Vec<(String, BTreeSet<String>)> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/formats.md")).unwrap();
    let section: String = doc
        .split("\n## ")
        .find(|s| s.starts_with("Report"))
        .expect("docs/formats.md has a Report section")
        .to_string();
    let ticked = |s: &str| -> BTreeSet<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    // The paragraphs after the table document findings and device hints.
    let after_table: BTreeSet<String> = section
        .lines()
        .filter(|l| !l.starts_with('|'))
        .flat_map(ticked)
        .collect();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let mut cols = l.split(" | ");
            let field = cols
                .next()
                .unwrap()
                .trim_start_matches("| ")
                .replace('`', "");
            let mut words = ticked(&cols.collect::<Vec<_>>().join(" | "));
            words.extend(after_table.iter().cloned());
            (field, words)
        })
        .collect()
}

/// Every object key inside `v` (the first elements of lists stand for the rest).
fn keys(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                keys(x, out);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                keys(x, out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_json_report_has_exactly_the_documented_fields() {
    let Some(corpus) = common::corpus() else {
        common::skip("the_json_report_has_exactly_the_documented_fields");
        return;
    };
    let doc = documented();
    assert!(
        doc.len() >= 15,
        "the report table of docs/formats.md: {doc:?}"
    );
    // A direct call with messages and media, messages and an upload, a push wakeup, a
    // capture without messaging, and names on the local network.
    let mut seen_nested = BTreeSet::new();
    for rel in [
        "ndpi/wa_voice.pcap",
        "ndpi/signal.pcap",
        "matousp/ma1__xz1_wa_merged.pcap",
        "ndpi/android.pcap",
        "ndpi/whatsapp_login_chat.pcap",
    ] {
        let (out, code) = run(
            &["--format", "json", "--tz", "UTC"],
            &corpus.join("pcap").join(rel),
        );
        assert_eq!(code, Some(0), "{rel}");
        let j: serde_json::Value = serde_json::from_str(&out).unwrap();
        let obj = j.as_object().unwrap();
        let emitted: BTreeSet<&String> = obj.keys().collect();
        let listed: BTreeSet<&String> = doc.iter().map(|(f, _)| f).collect();
        assert_eq!(
            emitted, listed,
            "{rel}: top-level fields differ from docs/formats.md"
        );
        for (field, words) in &doc {
            let mut inner = BTreeSet::new();
            keys(&obj[field.as_str()], &mut inner);
            for k in inner {
                assert!(
                    words.contains(&k),
                    "{rel}: `{field}` holds `{k}`, which docs/formats.md does not name"
                );
                seen_nested.insert(format!("{field}.{k}"));
            }
        }
    }
    // The check reached inside the sections, not only their names.
    for must in [
        "calls.peer_ip",
        "rhythm.by_hour",
        "leaks.device_hints",
        "findings.mitigation",
        "messages.conversations",
    ] {
        assert!(
            seen_nested.contains(must),
            "{must} not seen: {seen_nested:?}"
        );
    }
}

/// Addresses of flow references ("proto client server first_ts"): the client's, and the
/// server's when `with_server`.
fn flow_ips(flows: &serde_json::Value, with_server: bool, out: &mut BTreeSet<IpAddr>) {
    for f in flows.as_array().into_iter().flatten() {
        let mut parts = f.as_str().unwrap_or("").split(' ').skip(1);
        for (i, p) in [parts.next(), parts.next()].into_iter().enumerate() {
            if i == 1 && !with_server {
                break;
            }
            if let Some(sa) = p.and_then(|p| p.parse::<SocketAddr>().ok()) {
                out.insert(sa.ip());
            }
        }
    }
}

/// Whether `ip` appears in `text` as a whole address (not inside a longer number).
fn shows(text: &str, ip: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find(ip) {
        let at = from + pos;
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + ip.len()).copied();
        let part =
            |b: Option<u8>| b.is_some_and(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
        if !part(before) && !part(after) {
            return true;
        }
        from = at + 1;
    }
    false
}

#[test]
fn redaction_leaves_no_local_or_peer_address_in_any_format() {
    let Some(corpus) = common::corpus() else {
        common::skip("redaction_leaves_no_local_or_peer_address_in_any_format");
        return;
    };
    let mut with_direct = 0;
    let mut checked = 0;
    for (rel, path) in chosen(&corpus) {
        let (plain, code) = run(&["--format", "json", "--tz", "UTC"], &path);
        if code != Some(0) {
            continue;
        }
        let j: serde_json::Value = serde_json::from_str(&plain).unwrap();
        // What must go: every client of a cited flow, every device hint's client, every
        // direct peer.
        let mut hidden: BTreeSet<IpAddr> = BTreeSet::new();
        let mut all_flows = Vec::new();
        for f in j["findings"].as_array().unwrap() {
            all_flows.push(f["flows"].clone());
        }
        for c in j["calls"].as_array().unwrap() {
            all_flows.push(c["flows"].clone());
        }
        for f in &all_flows {
            flow_ips(f, false, &mut hidden);
        }
        for h in j["leaks"]["device_hints"].as_array().unwrap() {
            if let Some(ip) = h["client"].as_str().and_then(|s| s.parse().ok()) {
                hidden.insert(ip);
            }
        }
        for p in j["leaks"]["direct_peers"].as_array().unwrap() {
            if let Some(ip) = p["ip"].as_str().and_then(|s| s.parse().ok()) {
                hidden.insert(ip);
                with_direct += 1;
            }
        }
        // Unspecified, broadcast and multicast addresses name nobody.
        hidden.retain(|ip| match ip {
            IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
            IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
        });
        // And any private address (a resolver, a router, a printer on the local network).
        for f in &all_flows {
            let mut s = BTreeSet::new();
            flow_ips(f, true, &mut s);
            hidden.extend(
                s.into_iter()
                    .filter(|ip| onlooker::naming::geo::is_local(*ip)),
            );
        }
        let local_names: Vec<String> = j["leaks"]["local_names"]["names"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["name"].as_str())
            .filter(|n| n.len() >= 8)
            .map(str::to_string)
            .collect();
        if hidden.is_empty() && local_names.is_empty() {
            continue;
        }
        checked += 1;
        for format in ["text", "markdown", "json"] {
            let (red, code) = run(&["--format", format, "--tz", "UTC", "--redact"], &path);
            assert_eq!(code, Some(0), "{rel} {format}");
            for ip in &hidden {
                let s = ip.to_string();
                assert!(
                    !shows(&red, &s),
                    "{rel} {format}: {s} is shown after --redact"
                );
            }
            for n in &local_names {
                assert!(!red.contains(n.as_str()), "{rel} {format}: {n} is shown");
            }
        }
    }
    println!("{checked} captures checked, {with_direct} direct peers");
    assert!(
        checked >= 50,
        "only {checked} captures had something to redact"
    );
    assert!(
        with_direct >= 3,
        "only {with_direct} direct peers in the captures checked"
    );
}

/// A capture whose DNS and TLS names carry a table's `|`, Markdown emphasis, HTML and
/// terminal control characters.
fn hostile_names(dir: &Path) -> PathBuf {
    let mut s = Scenario::new(0x0bad_0001);
    let t0 = 1_772_571_480 * Timestamp::NANOS_PER_SEC;
    let phone = IpAddr::from([192, 168, 1, 23]);
    let resolver = SocketAddr::new(IpAddr::from([192, 168, 1, 1]), 53);
    let server = IpAddr::from([198, 51, 100, 7]);
    let names = [
        "a|b.example.com",
        "x_y*z<script>.example.org",
        "[click](evil).example.com",
        "evil\u{1b}[2J\u{7}.example.net",
        "right\u{202e}gnp.example.com",
    ];
    for (i, name) in names.iter().enumerate() {
        let t = Timestamp(t0 + i as i64 * 10 * Timestamp::NANOS_PER_SEC);
        s.dns(
            t,
            SocketAddr::new(phone, 40_000 + i as u16),
            resolver,
            name,
            &[server],
        );
        let (mut conn, t) = s.tls_session(
            Timestamp(t.0 + 100_000_000),
            SocketAddr::new(phone, 41_000 + i as u16),
            SocketAddr::new(server, 443),
            name,
            &[],
        );
        s.tcp_close(&mut conn, Timestamp(t.0 + 1_000_000_000));
    }
    let path = dir.join("names.pcap");
    s.write_pcap(std::io::BufWriter::new(
        std::fs::File::create(&path).unwrap(),
    ))
    .unwrap();
    path
}

#[test]
fn names_with_special_characters_keep_tables_and_terminals_intact() {
    let dir = tempfile::tempdir().unwrap();
    let file = hostile_names(dir.path());
    let (text, code) = run(&["--tz", "UTC"], &file);
    assert_eq!(code, Some(0), "{text}");
    text_fits("names.pcap", &text);
    assert!(
        !text.contains('\u{202e}'),
        "a right-to-left override reaches the terminal"
    );
    assert!(text.contains("a|b.example.com"), "{text}");
    assert!(text.contains("[click](evil).example.com"), "{text}");
    assert!(
        text.contains("\\u{1b}"),
        "the escape is shown, not obeyed: {text}"
    );
    let (md, _) = run(&["--tz", "UTC", "--format", "markdown"], &file);
    tables_well_formed("names.pcap", &md);
    assert!(md.contains("a\\|b.example.com"), "{md}");
    assert!(md.contains("[click\\](evil)"), "a link is escaped: {md}");
    assert!(md.contains("\\<script>"), "HTML is escaped: {md}");
    assert!(!md.replace("\\<", "").contains('<'), "{md}");
    assert!(!md.chars().any(|c| c.is_control() && c != '\n'), "{md}");
    let (json, _) = run(&["--tz", "UTC", "--format", "json"], &file);
    let j: serde_json::Value = serde_json::from_str(&json).unwrap();
    let dns: Vec<&str> = j["leaks"]["dns"]["names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert!(
        dns.contains(&"a|b.example.com"),
        "JSON keeps the name as read: {dns:?}"
    );
}
