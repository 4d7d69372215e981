//! Where an address is: its autonomous system, country and (with a City database) city.
//!
//! Reads MaxMind-format databases with the `maxminddb` crate. The user's own GeoLite2/GeoIP2
//! databases win when present (the directories geoipupdate writes to, the XDG data directory,
//! or `--geoip-dir`); otherwise the databases bundled in `assets/geoip` are used (CC0 country
//! data and CC-BY ASN data, see `assets/geoip/README.md` and `onlooker --about`). Nothing is
//! ever downloaded.
//!
//! Lookups are per flow, cached in a bounded map. This module must never make a network
//! connection, and never fail a run because a database is missing or damaged: it then answers
//! "unknown" and says why once.

use std::cell::RefCell;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::Reader;
use rustc_hash::FxHashMap;
use serde::Deserialize;

/// Entries kept in the lookup cache before it is cleared. A capture rarely talks to more
/// than a few thousand distinct remote addresses; 65,536 bounds a scan or flood.
pub const CACHE_CAP: usize = 65_536;

const BUNDLED_COUNTRY: &[u8] = include_bytes!("../../assets/geoip/country.mmdb");
const BUNDLED_ASN: &[u8] = include_bytes!("../../assets/geoip/asn.mmdb");

/// What is known about one address.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GeoInfo {
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
    pub city: Option<String>,
}

#[derive(Deserialize)]
struct AsnRec<'a> {
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
}

#[derive(Deserialize)]
struct IsoRec<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct CountryRec<'a> {
    #[serde(borrow)]
    country: Option<IsoRec<'a>>,
}

#[derive(Deserialize)]
struct CityNames<'a> {
    #[serde(borrow)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct CityInner<'a> {
    #[serde(borrow)]
    names: Option<CityNames<'a>>,
}

#[derive(Deserialize)]
struct CityRec<'a> {
    #[serde(borrow)]
    city: Option<CityInner<'a>>,
    #[serde(borrow)]
    country: Option<IsoRec<'a>>,
}

enum Source {
    Bundled(&'static [u8]),
    File(Vec<u8>),
}

impl AsRef<[u8]> for Source {
    fn as_ref(&self) -> &[u8] {
        match self {
            Source::Bundled(b) => b,
            Source::File(v) => v,
        }
    }
}

/// Where each database came from, for `--about` and the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GeoSources {
    pub asn: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    /// Problems met while opening databases (a damaged file is skipped, not fatal).
    pub warnings: Vec<String>,
}

/// The databases and the cache.
pub struct Geo {
    asn: Option<Reader<Source>>,
    country: Option<Reader<Source>>,
    city: Option<Reader<Source>>,
    cache: RefCell<FxHashMap<IpAddr, GeoInfo>>,
    pub sources: GeoSources,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geo")
            .field("sources", &self.sources)
            .finish()
    }
}

/// File names a directory is searched for, best first.
const ASN_FILES: [&str; 2] = ["GeoLite2-ASN.mmdb", "GeoIP2-ISP.mmdb"];
const COUNTRY_FILES: [&str; 2] = ["GeoLite2-Country.mmdb", "GeoIP2-Country.mmdb"];
const CITY_FILES: [&str; 2] = ["GeoLite2-City.mmdb", "GeoIP2-City.mmdb"];

/// Directories searched for the user's databases, in order: geoipupdate's defaults on Linux
/// distributions and the XDG data directory.
pub fn default_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![
        PathBuf::from("/usr/share/GeoIP"),
        PathBuf::from("/var/lib/GeoIP"),
        PathBuf::from("/usr/local/share/GeoIP"),
    ];
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(x).join("GeoIP"));
    } else if let Some(h) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(h).join(".local/share/GeoIP"));
    }
    dirs
}

impl Geo {
    /// Only the bundled databases (what tests use, so results do not depend on the machine).
    pub fn bundled() -> Self {
        let mut g = Self {
            asn: None,
            country: None,
            city: None,
            cache: RefCell::new(FxHashMap::default()),
            sources: GeoSources::default(),
        };
        match Reader::from_source(Source::Bundled(BUNDLED_ASN)) {
            Ok(r) => {
                g.asn = Some(r);
                g.sources.asn = Some("bundled assets/geoip/asn.mmdb".into());
            }
            Err(e) => g
                .sources
                .warnings
                .push(format!("bundled ASN database: {e}")),
        }
        match Reader::from_source(Source::Bundled(BUNDLED_COUNTRY)) {
            Ok(r) => {
                g.country = Some(r);
                g.sources.country = Some("bundled assets/geoip/country.mmdb".into());
            }
            Err(e) => g
                .sources
                .warnings
                .push(format!("bundled country database: {e}")),
        }
        g
    }

    /// The user's databases where found in `dirs` (first directory first), the bundled ones
    /// for the rest.
    pub fn discover(dirs: &[PathBuf]) -> Self {
        let mut g = Self::bundled();
        let open =
            |names: &[&str], warnings: &mut Vec<String>| -> Option<(Reader<Source>, String)> {
                for d in dirs {
                    for n in names {
                        let p = d.join(n);
                        if !p.is_file() {
                            continue;
                        }
                        match std::fs::read(&p).map_err(|e| e.to_string()).and_then(|b| {
                            Reader::from_source(Source::File(b)).map_err(|e| e.to_string())
                        }) {
                            Ok(r) => return Some((r, p.display().to_string())),
                            Err(e) => warnings.push(format!("{}: {e}; skipped", p.display())),
                        }
                    }
                }
                None
            };
        let mut w = std::mem::take(&mut g.sources.warnings);
        if let Some((r, p)) = open(&ASN_FILES, &mut w) {
            g.asn = Some(r);
            g.sources.asn = Some(p);
        }
        if let Some((r, p)) = open(&COUNTRY_FILES, &mut w) {
            g.country = Some(r);
            g.sources.country = Some(p);
        }
        if let Some((r, p)) = open(&CITY_FILES, &mut w) {
            g.city = Some(r);
            g.sources.city = Some(p);
        }
        g.sources.warnings = w;
        g
    }

    /// Look up an address (cached).
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        if let Some(hit) = self.cache.borrow().get(&ip) {
            return hit.clone();
        }
        let info = self.lookup_uncached(ip);
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= CACHE_CAP {
            cache.clear();
        }
        cache.insert(ip, info.clone());
        info
    }

    fn lookup_uncached(&self, ip: IpAddr) -> GeoInfo {
        let mut info = GeoInfo::default();
        if let Some(r) = &self.asn {
            if let Ok(Some(a)) = r.lookup(ip).and_then(|l| l.decode::<AsnRec<'_>>()) {
                info.asn = a.autonomous_system_number;
                info.as_org = a.autonomous_system_organization.map(str::to_string);
            }
        }
        if let Some(r) = &self.city {
            if let Ok(Some(c)) = r.lookup(ip).and_then(|l| l.decode::<CityRec<'_>>()) {
                info.city = c
                    .city
                    .and_then(|c| c.names)
                    .and_then(|n| n.en)
                    .map(str::to_string);
                info.country = c.country.and_then(|c| c.iso_code).map(str::to_string);
            }
        }
        if info.country.is_none() {
            if let Some(r) = &self.country {
                if let Ok(Some(c)) = r.lookup(ip).and_then(|l| l.decode::<CountryRec<'_>>()) {
                    info.country = c.country.and_then(|c| c.iso_code).map(str::to_string);
                }
            }
        }
        info
    }
}

/// Whether an address is private, loopback, link-local or otherwise not on the Internet: such
/// addresses have no AS or country, and are the observed user's own side.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_unspecified()
                // 100.64.0.0/10, carrier-grade NAT (RFC 6598).
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unspecified()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Exists for `--geoip-dir`: a directory given explicitly must exist.
pub fn check_dir(p: &Path) -> Result<(), String> {
    if p.is_dir() {
        Ok(())
    } else {
        Err(format!("{}: not a directory", p.display()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bundled_databases_answer() {
        let g = Geo::bundled();
        assert!(g.sources.warnings.is_empty(), "{:?}", g.sources.warnings);
        let meta = g.lookup("157.240.0.1".parse().unwrap());
        assert_eq!(meta.asn, Some(32934));
        assert!(meta.country.is_some());
        let v6 = g.lookup("2a03:2880::1".parse().unwrap());
        assert_eq!(v6.asn, Some(32934));
        assert_eq!(g.lookup("192.168.1.1".parse().unwrap()).asn, None);
    }

    #[test]
    fn local_addresses() {
        assert!(is_local("10.1.2.3".parse().unwrap()));
        assert!(is_local("100.64.1.1".parse().unwrap()));
        assert!(is_local("fe80::1".parse().unwrap()));
        assert!(!is_local("8.8.8.8".parse().unwrap()));
    }
}
