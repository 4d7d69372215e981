//! The service catalog: which domains, address ranges, autonomous systems, ports and STUN
//! markers belong to which messaging service.
//!
//! Signatures are data, not code: they live in `assets/catalog/*.tsv`, each row with its public
//! source and the date it was taken (see `assets/catalog/SOURCES.md`), and are compiled into the
//! binary. `--catalog FILE` adds rows from a file of the same shape (or replaces the bundled
//! ones). A row's kind is told by its file name or, in a user file, by a first column naming
//! the table (`domain`, `ip`, `asn`, `port`, `stun`).
//!
//! Lookups are per flow, not per packet. This module must never decide which evidence wins;
//! it only answers "which entries match".

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use rustc_hash::FxHashMap;

pub use crate::model::Role;

/// Index of a service name in [`Catalog::services`].
pub type ServiceId = u16;

/// A domain entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainEntry {
    pub service: ServiceId,
    pub role: Role,
    /// Matches subdomains too (`suffix`), or only the name itself (`exact`).
    pub suffix: bool,
}

/// An address range entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeEntry {
    pub service: ServiceId,
    pub role: Role,
    /// The range as written (`91.108.4.0/22`), for evidence strings.
    pub cidr: String,
}

/// An autonomous system entry: names the company, never an app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsnEntry {
    pub org: String,
    pub company: String,
    /// Services the company runs (to combine with a port that names one of them).
    pub services: Vec<ServiceId>,
    /// Their names, shared by every flow the network alone names (no copy per flow).
    pub service_names: std::sync::Arc<[String]>,
}

/// A port entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortEntry {
    pub service: ServiceId,
    pub role: Role,
    pub proto: u8,
    pub lo: u16,
    pub hi: u16,
}

/// What a STUN/prologue marker matches on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marker {
    /// A STUN attribute type.
    Attr(u16),
    /// A STUN message type.
    MsgType(u16),
    /// A substring of the STUN SOFTWARE attribute (lowercase).
    Software(String),
    /// A substring of the STUN REALM attribute (lowercase).
    Realm(String),
    /// The first bytes of the first payload of a flow.
    Prefix(Vec<u8>),
    /// A whole payload of exactly `len` bytes starting with `prefix` (written `0xPREFIX/LEN`):
    /// the length makes even a short prefix specific.
    Packet { prefix: Vec<u8>, len: usize },
    /// A QUIC flow of this wire version that named no server, then RTP or RTCP on the same
    /// 5-tuple (written as the version's four ASCII characters, `Q046`): a call stack that opens
    /// its media path with a QUIC handshake.
    QuicThenRtp(u32),
    /// A clear-text XML stream (a first TCP payload that opens with an XML stanza: `<?xml`,
    /// `<stream:stream`, `<iq`) on a port the catalog lists for this service (written
    /// `stanza`).
    XmlStream,
}

/// A marker entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerEntry {
    pub service: ServiceId,
    pub marker: Marker,
    /// What it means, from the catalog.
    pub meaning: String,
}

/// Errors loading a catalog file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} line {line}: {message}")]
    Row {
        file: String,
        line: usize,
        message: String,
    },
}

/// The loaded catalog.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    services: Vec<String>,
    by_name: HashMap<String, ServiceId>,
    domains: HashMap<String, DomainEntry>,
    /// Text patterns for names the label-wise lookup cannot express: a name starting with the
    /// text (`instagram.` for Instagram's hosts under Facebook's CDN) or ending with it
    /// (`-teams.cloudapp.net`). Few, so a scan is cheap.
    name_patterns: Vec<(String, bool, DomainEntry)>,
    /// Ranges by (prefix length, masked address).
    ranges: FxHashMap<(u8, IpAddr), RangeEntry>,
    /// Prefix lengths present, longest first, per family (v4, v6).
    prefix_lens: (Vec<u8>, Vec<u8>),
    /// IPv4 ranges indexed by the first 16 bits of an address: `v4_index[b]..v4_index[b + 1]`
    /// are the positions in `v4_candidates` of the ranges that can contain an address of
    /// bucket `b`, longest prefix first. A lookup is one bucket and a handful of compares
    /// instead of a hash probe per prefix length (it runs for every new UDP flow).
    v4_index: Vec<u32>,
    v4_candidates: Vec<(u32, u8)>,
    asns: FxHashMap<u32, AsnEntry>,
    ports: Vec<PortEntry>,
    markers: Vec<MarkerEntry>,
}

/// The bundled tables, compiled in.
const BUNDLED: [(&str, &str); 5] = [
    (
        "domains.tsv",
        include_str!("../../assets/catalog/domains.tsv"),
    ),
    (
        "ip-ranges.tsv",
        include_str!("../../assets/catalog/ip-ranges.tsv"),
    ),
    ("asns.tsv", include_str!("../../assets/catalog/asns.tsv")),
    ("ports.tsv", include_str!("../../assets/catalog/ports.tsv")),
    ("stun.tsv", include_str!("../../assets/catalog/stun.tsv")),
];

/// Which table a file's rows go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Domain,
    Ip,
    Asn,
    Port,
    Stun,
}

impl Catalog {
    /// The catalog bundled with onlooker.
    pub fn bundled() -> Result<Self, CatalogError> {
        let mut c = Self::default();
        for (name, text) in BUNDLED {
            c.load_str(name, text)?;
        }
        Ok(c)
    }

    /// Add the rows of a user catalog file. Its name says its table (`domains*.tsv`,
    /// `ip-ranges*.tsv`, `asns*.tsv`, `ports*.tsv`, `stun*.tsv`), or each row starts with the
    /// table's name as an extra first column.
    pub fn load_file(&mut self, path: &Path) -> Result<(), CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            file: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.load_str(&name, &text)
    }

    /// Names of all services, indexed by [`ServiceId`].
    pub fn services(&self) -> &[String] {
        &self.services
    }

    pub fn service_name(&self, id: ServiceId) -> &str {
        self.services
            .get(usize::from(id))
            .map_or("?", String::as_str)
    }

    fn intern(&mut self, name: &str) -> ServiceId {
        if let Some(&id) = self.by_name.get(name) {
            return id;
        }
        let id = self.services.len() as ServiceId;
        self.services.push(name.to_string());
        self.by_name.insert(name.to_string(), id);
        id
    }

    /// Parse one table's text.
    pub fn load_str(&mut self, file: &str, text: &str) -> Result<(), CatalogError> {
        let fixed = table_of_file(file);
        let mut header_seen = false;
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut cols: Vec<&str> = line.split('\t').collect();
            let table = match fixed {
                Some(t) => t,
                None => {
                    let t = match cols.first().map(|s| s.trim()) {
                        Some("domain") => Table::Domain,
                        Some("ip") => Table::Ip,
                        Some("asn") => Table::Asn,
                        Some("port") => Table::Port,
                        Some("stun") => Table::Stun,
                        _ => {
                            return Err(CatalogError::Row {
                                file: file.into(),
                                line: line_no,
                                message: "the first column must name the table (domain, ip, asn, port, stun) when the file name does not".into(),
                            });
                        }
                    };
                    cols.remove(0);
                    t
                }
            };
            // The header line of a table file names its columns.
            if !header_seen && fixed.is_some() {
                header_seen = true;
                if matches!(cols.first().map(|s| s.trim()), Some("service" | "asn")) {
                    continue;
                }
            }
            self.add_row(table, &cols)
                .map_err(|message| CatalogError::Row {
                    file: file.into(),
                    line: line_no,
                    message,
                })?;
        }
        self.prefix_lens = self.compute_prefix_lens();
        self.build_v4_index();
        Ok(())
    }

    fn add_row(&mut self, table: Table, cols: &[&str]) -> Result<(), String> {
        match table {
            Table::Domain => self.add_domain(cols),
            Table::Ip => self.add_range(cols),
            Table::Asn => self.add_asn(cols),
            Table::Port => self.add_port(cols),
            Table::Stun => self.add_marker(cols),
        }
    }

    /// `service role domain match ...`
    fn add_domain(&mut self, cols: &[&str]) -> Result<(), String> {
        let service = self.intern(col(cols, 0)?);
        let role = parse_role(col(cols, 1)?)?;
        let text = col(cols, 2)?.to_ascii_lowercase();
        let entry = |suffix| DomainEntry {
            service,
            role,
            suffix,
        };
        match col(cols, 3)? {
            "suffix" => {
                self.domains
                    .insert(text.trim_end_matches('.').to_string(), entry(true));
            }
            "exact" => {
                self.domains
                    .insert(text.trim_end_matches('.').to_string(), entry(false));
            }
            "prefix" => self.name_patterns.push((text, true, entry(false))),
            "text-suffix" => self.name_patterns.push((text, false, entry(false))),
            m => {
                return Err(format!(
                    "match must be suffix, exact, prefix or text-suffix, not {m:?}"
                ));
            }
        }
        Ok(())
    }

    /// `service role cidr ...`
    fn add_range(&mut self, cols: &[&str]) -> Result<(), String> {
        let service = self.intern(col(cols, 0)?);
        let role = parse_role(col(cols, 1)?)?;
        let cidr = col(cols, 2)?;
        let (net, len) = parse_cidr(cidr).ok_or_else(|| format!("bad CIDR {cidr:?}"))?;
        self.ranges.insert(
            (len, net),
            RangeEntry {
                service,
                role,
                cidr: cidr.to_string(),
            },
        );
        Ok(())
    }

    /// `asn org company services ...`
    fn add_asn(&mut self, cols: &[&str]) -> Result<(), String> {
        let asn = col(cols, 0)?;
        let n: u32 = asn
            .trim_start_matches("AS")
            .parse()
            .map_err(|_| format!("bad ASN {asn:?}"))?;
        let org = col(cols, 1)?.to_string();
        let company = col(cols, 2)?.to_string();
        let names: Vec<String> = cols
            .get(3)
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let services = names.iter().map(|s| self.intern(s)).collect();
        self.asns.insert(
            n,
            AsnEntry {
                org,
                company,
                services,
                service_names: names.into(),
            },
        );
        Ok(())
    }

    /// `service role proto ports ...`
    fn add_port(&mut self, cols: &[&str]) -> Result<(), String> {
        let service = self.intern(col(cols, 0)?);
        let role = parse_role(col(cols, 1)?)?;
        let proto = match col(cols, 2)? {
            "tcp" => crate::decode::proto::TCP,
            "udp" => crate::decode::proto::UDP,
            p => return Err(format!("proto must be tcp or udp, not {p:?}")),
        };
        let ports = col(cols, 3)?;
        let (lo, hi) = match ports.split_once('-') {
            Some((a, b)) => (a.parse(), b.parse()),
            None => (ports.parse(), ports.parse()),
        };
        let (Ok(lo), Ok(hi)) = (lo, hi) else {
            return Err(format!("bad port range {ports:?}"));
        };
        self.ports.push(PortEntry {
            service,
            role,
            proto,
            lo,
            hi,
        });
        Ok(())
    }

    /// `service kind value meaning ...`
    fn add_marker(&mut self, cols: &[&str]) -> Result<(), String> {
        let service = self.intern(col(cols, 0)?);
        let value = col(cols, 2)?;
        let marker = parse_marker(col(cols, 1)?, value)?;
        self.markers.push(MarkerEntry {
            service,
            marker,
            meaning: cols
                .get(3)
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
        });
        Ok(())
    }

    fn build_v4_index(&mut self) {
        const BUCKETS: usize = 1 << 16;
        let mut per_bucket: Vec<Vec<(u32, u8)>> = vec![Vec::new(); BUCKETS];
        for (len, net) in self.ranges.keys() {
            let IpAddr::V4(v4) = net else { continue };
            let start = u32::from(*v4);
            let span = if *len >= 16 { 1 } else { 1usize << (16 - len) };
            let first = (start >> 16) as usize;
            let last = (first + span).min(BUCKETS);
            for bucket in per_bucket.iter_mut().take(last).skip(first) {
                bucket.push((start, *len));
            }
        }
        self.v4_index = Vec::with_capacity(BUCKETS + 1);
        self.v4_candidates.clear();
        for mut cands in per_bucket {
            self.v4_index.push(self.v4_candidates.len() as u32);
            cands.sort_unstable_by_key(|c| std::cmp::Reverse(c.1));
            self.v4_candidates.extend(cands);
        }
        self.v4_index.push(self.v4_candidates.len() as u32);
    }

    fn compute_prefix_lens(&self) -> (Vec<u8>, Vec<u8>) {
        let mut v4: Vec<u8> = Vec::new();
        let mut v6: Vec<u8> = Vec::new();
        for (len, net) in self.ranges.keys() {
            let v = if net.is_ipv4() { &mut v4 } else { &mut v6 };
            if !v.contains(len) {
                v.push(*len);
            }
        }
        v4.sort_unstable_by(|a, b| b.cmp(a));
        v6.sort_unstable_by(|a, b| b.cmp(a));
        (v4, v6)
    }

    /// The most specific domain entry for `name` and the catalog domain that matched.
    pub fn domain(&self, name: &str) -> Option<(&str, DomainEntry)> {
        let name = name.trim_end_matches('.');
        let lower;
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = name.to_ascii_lowercase();
            lower.as_str()
        } else {
            name
        };
        if let Some((k, e)) = self.domains.get_key_value(name) {
            return Some((k.as_str(), *e));
        }
        let mut rest = name;
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some((k, e)) = self.domains.get_key_value(parent) {
                if e.suffix {
                    return Some((k.as_str(), *e));
                }
            }
            rest = parent;
        }
        self.name_patterns.iter().find_map(|(text, prefix, e)| {
            let hit = if *prefix {
                name.starts_with(text.as_str())
            } else {
                name.ends_with(text.as_str())
            };
            hit.then_some((text.as_str(), *e))
        })
    }

    /// The most specific range containing `ip`.
    pub fn range(&self, ip: IpAddr) -> Option<&RangeEntry> {
        if let IpAddr::V4(v4) = ip {
            let a = u32::from(v4);
            let b = (a >> 16) as usize;
            let (lo, hi) = (*self.v4_index.get(b)?, *self.v4_index.get(b + 1)?);
            let cands = self.v4_candidates.get(lo as usize..hi as usize)?;
            return cands.iter().find_map(|&(start, len)| {
                let m = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                (a & m == start)
                    .then(|| self.ranges.get(&(len, ip_from_u32(start))))
                    .flatten()
            });
        }
        let lens = if ip.is_ipv4() {
            &self.prefix_lens.0
        } else {
            &self.prefix_lens.1
        };
        lens.iter()
            .find_map(|&len| self.ranges.get(&(len, mask(ip, len))))
    }

    pub fn asn(&self, asn: u32) -> Option<&AsnEntry> {
        self.asns.get(&asn)
    }

    /// Port entries for a server port.
    pub fn ports(&self, proto: u8, port: u16) -> impl Iterator<Item = &PortEntry> {
        self.ports
            .iter()
            .filter(move |p| p.proto == proto && (p.lo..=p.hi).contains(&port))
    }

    pub fn markers(&self) -> &[MarkerEntry] {
        &self.markers
    }

    /// Autonomous systems whose company runs `service` (empty when the catalog lists none).
    pub fn asns_running(&self, service: ServiceId) -> Vec<u32> {
        self.asns
            .iter()
            .filter(|(_, e)| e.services.contains(&service))
            .map(|(n, _)| *n)
            .collect()
    }

    pub fn service_id(&self, name: &str) -> Option<ServiceId> {
        self.by_name.get(name).copied()
    }
}

/// Column `i` of a row, trimmed and not empty.
fn col<'a>(cols: &[&'a str], i: usize) -> Result<&'a str, String> {
    cols.get(i)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("missing column {}", i + 1))
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}"))
}

/// A stun.tsv row's marker from its `kind` and `value` columns.
fn parse_marker(kind: &str, value: &str) -> Result<Marker, String> {
    let hex16 = |v: &str| {
        u16::from_str_radix(v.trim_start_matches("0x"), 16)
            .map_err(|_| format!("bad hex value {v:?}"))
    };
    Ok(match kind {
        "attr" => Marker::Attr(hex16(value)?),
        "msgtype" => Marker::MsgType(hex16(value)?),
        "software" => Marker::Software(value.to_ascii_lowercase()),
        "realm" => Marker::Realm(value.to_ascii_lowercase()),
        "prefix" => {
            let (hex, len) = match value.split_once('/') {
                Some((h, l)) => (
                    h,
                    Some(
                        l.parse::<usize>()
                            .map_err(|_| format!("bad length in {value:?}"))?,
                    ),
                ),
                None => (value, None),
            };
            let bytes = parse_hex(hex.trim_start_matches("0x"))
                .ok_or_else(|| format!("bad hex prefix {value:?}"))?;
            match len {
                Some(len) => Marker::Packet { prefix: bytes, len },
                None => Marker::Prefix(bytes),
            }
        }
        "quic-rtp" => match value.as_bytes() {
            &[a, b, c, d] => Marker::QuicThenRtp(u32::from_be_bytes([a, b, c, d])),
            _ => return Err(format!("bad QUIC version {value:?} (four characters)")),
        },
        "xml-stream" => match value {
            "stanza" => Marker::XmlStream,
            _ => return Err(format!("xml-stream value must be stanza, not {value:?}")),
        },
        k => return Err(format!("unknown marker kind {k:?}")),
    })
}

fn ip_from_u32(a: u32) -> IpAddr {
    IpAddr::V4(a.into())
}

fn table_of_file(name: &str) -> Option<Table> {
    let n = name.to_ascii_lowercase();
    if n.starts_with("domain") {
        Some(Table::Domain)
    } else if n.starts_with("ip") {
        Some(Table::Ip)
    } else if n.starts_with("asn") {
        Some(Table::Asn)
    } else if n.starts_with("port") {
        Some(Table::Port)
    } else if n.starts_with("stun") {
        Some(Table::Stun)
    } else {
        None
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u8>().ok()?),
        None => {
            let a = s.parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then(|| (mask(addr, len), len))
}

/// `ip` with all but its first `len` bits cleared.
pub fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn bundled_catalog_loads_and_answers() {
        let c = Catalog::bundled().unwrap();
        let (dom, e) = c.domain("mmg.whatsapp.net").unwrap();
        assert_eq!(c.service_name(e.service), "WhatsApp");
        assert!(dom.ends_with("whatsapp.net"));
        assert_eq!(c.domain("example.org"), None);
        assert!(c.range("91.108.4.7".parse().unwrap()).is_some());
        assert_eq!(c.range("192.0.2.1".parse().unwrap()), None);
    }

    #[test]
    fn suffix_and_exact_domains() {
        let mut c = Catalog::default();
        c.load_str(
            "domains.tsv",
            "service\trole\tdomain\tmatch\tsource\tdate\nA\tchat\tex.com\tsuffix\ts\t2026-01-01\nB\tweb\tonly.org\texact\ts\t2026-01-01\n",
        )
        .unwrap();
        assert!(c.domain("a.b.ex.com").is_some());
        assert!(c.domain("EX.COM.").is_some());
        assert!(c.domain("only.org").is_some());
        assert!(c.domain("x.only.org").is_none());
    }

    #[test]
    fn longest_prefix_wins() {
        let mut c = Catalog::default();
        c.load_str(
            "ip-ranges.tsv",
            "service\trole\tcidr\tsource\tdate\nWide\tweb\t10.0.0.0/8\ts\td\nNarrow\tchat\t10.1.2.0/24\ts\td\n",
        )
        .unwrap();
        let r = c.range("10.1.2.3".parse().unwrap()).unwrap();
        assert_eq!(c.service_name(r.service), "Narrow");
        let r = c.range("10.9.9.9".parse().unwrap()).unwrap();
        assert_eq!(c.service_name(r.service), "Wide");
    }

    #[test]
    fn the_service_a_clear_text_xml_stream_names_is_data() {
        let c = Catalog::bundled().unwrap();
        let xml: Vec<&str> = c
            .markers()
            .iter()
            .filter(|m| m.marker == Marker::XmlStream)
            .map(|m| c.service_name(m.service))
            .collect();
        assert_eq!(xml, ["XMPP"]);
        let mut c = Catalog::default();
        let e = c
            .load_str(
                "stun.tsv",
                "service\tkind\tvalue\nX\txml-stream\tjson\tm\ts\td\n",
            )
            .unwrap_err();
        assert!(e.to_string().contains("must be stanza"), "{e}");
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let mut c = Catalog::default();
        let e = c
            .load_str(
                "ports.tsv",
                "service\trole\tproto\tports\nX\tchat\tsctp\t1\n",
            )
            .unwrap_err();
        assert!(e.to_string().contains("ports.tsv line 2"), "{e}");
    }
}
