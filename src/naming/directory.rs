//! The capture's directory of servers: every name learnt anywhere in the capture for a server
//! address (and address:port), with how it was learnt.
//!
//! It exists because a server is named once but used many times: a ClientHello names
//! `g.whatsapp.net` on one connection while the parallel one that raced it, the connection
//! caught mid-stream, or the UDP leg to the same host say nothing. What one flow (or a DNS
//! answer) teaches about a server is lent to the flows to that server that name nothing
//! themselves, with evidence saying so (`same-server:`, docs/naming.md).
//!
//! A binding is kept only when every name learnt for the address points to one catalog
//! service: an address that also answers to another service's name, or to a name the catalog
//! does not know, is a shared front end (a CDN, a cloud load balancer) and lends nothing.
//!
//! This module must never keep payload (only parsed names), and stays bounded: at most
//! [`DIRECTORY_CAP`] bindings, the oldest forgotten first and counted.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::catalog::{Catalog, Role, ServiceId};
use crate::model::{Evidence, EvidenceKind};

/// Addresses (and address:port pairs) remembered. A busy host talks to a few thousand servers
/// an hour, and each adds two bindings; 65,536 keeps hours of them and bounds a flood. A
/// binding costs about 120 bytes (48 in the map, 20 in the eviction order, the name shared by
/// the address's two bindings, and the map's spare room): at most about 8 MB.
pub const DIRECTORY_CAP: usize = 65_536;

/// What the directory says of one address or address:port: 24 bytes.
#[derive(Clone, Debug, PartialEq)]
struct Binding {
    /// The one service every name learnt points to; `None` once names disagree (shared host).
    service: Option<ServiceId>,
    role: Role,
    /// The name that taught it, and how (`sni`, `cert`, `http-host`, `dns`). Shared by the
    /// address's binding and its address:port binding.
    name: Arc<str>,
    how: EvidenceKind,
}

/// A name another flow (or a DNS answer) of the capture gave this flow's server.
#[derive(Clone, Debug, PartialEq)]
pub struct Lent {
    pub service: ServiceId,
    /// The role of the name's catalog entry (the transport rule still applies, see
    /// `attribute`).
    pub role: Role,
    /// How the name was learnt: the kind of the original evidence, which sets the weight.
    pub how: EvidenceKind,
    /// `same-server:NAME (from HOW)`.
    pub evidence: Evidence,
}

/// Server address (port 0: any port) → what names it.
#[derive(Debug, Default)]
pub struct Directory {
    map: FxHashMap<(IpAddr, u16), Binding>,
    order: VecDeque<(IpAddr, u16)>,
    /// Bindings forgotten, oldest first, to stay within [`DIRECTORY_CAP`].
    pub evicted: u64,
}

impl Directory {
    /// Learn that `name` names the server at `ip` (and at `ip:port` when a port is given).
    pub fn learn(
        &mut self,
        catalog: &Catalog,
        ip: IpAddr,
        port: Option<u16>,
        name: &str,
        how: EvidenceKind,
    ) {
        let name = name.trim_end_matches('.').trim_start_matches("*.");
        if name.is_empty() {
            return;
        }
        let entry = catalog.domain(name).map(|(_, e)| e);
        let service = entry.map(|e| e.service);
        let role = entry.map_or(Role::Web, |e| e.role);
        // The name is copied once, and only when a binding takes it.
        let mut lower: Option<Arc<str>> = None;
        let mut make = || Binding {
            service,
            role,
            name: Arc::clone(lower.get_or_insert_with(|| name.to_ascii_lowercase().into())),
            how,
        };
        for key in [Some((ip, 0)), port.map(|p| (ip, p))].into_iter().flatten() {
            self.bind(key, service, how, &mut make);
        }
    }

    /// Learn what a DNS answer says: each address is named by the first name of the chain
    /// (the queried name, then its CNAME targets) the catalog knows, or by the queried name.
    /// So a host reached through an alias is bound to the name the client asked for.
    pub fn learn_answer(
        &mut self,
        catalog: &Catalog,
        addrs: impl Iterator<Item = IpAddr>,
        qname: &str,
        cnames: &[String],
    ) {
        let name = std::iter::once(qname)
            .chain(cnames.iter().map(String::as_str))
            .find(|n| catalog.domain(n).is_some())
            .unwrap_or(qname);
        for ip in addrs {
            self.learn(catalog, ip, None, name, EvidenceKind::Dns);
        }
    }

    /// Bind `key` to what `make` builds (a name learnt as `how`, for `service`).
    fn bind(
        &mut self,
        key: (IpAddr, u16),
        service: Option<ServiceId>,
        how: EvidenceKind,
        make: &mut impl FnMut() -> Binding,
    ) {
        if let Some(old) = self.map.get_mut(&key) {
            if old.service != service {
                old.service = None;
            } else if rank(how) < rank(old.how) {
                *old = make();
            }
            return;
        }
        if self.map.len() >= DIRECTORY_CAP {
            if let Some(oldest) = self.order.pop_front() {
                self.map.remove(&oldest);
                self.evicted += 1;
            }
        }
        self.order.push_back(key);
        self.map.insert(key, make());
    }

    /// The name to lend a flow whose remote side is `ip:port`: that of the address:port when it
    /// is bound, else that of the address; nothing for a shared host.
    pub fn lookup(&self, ip: IpAddr, port: u16) -> Option<Lent> {
        let b = self
            .map
            .get(&(ip, port))
            .or_else(|| self.map.get(&(ip, 0)))?;
        let service = b.service?;
        Some(Lent {
            service,
            role: b.role,
            how: b.how,
            evidence: Evidence::new(
                EvidenceKind::SameServer,
                format!("{} (from {})", b.name, b.how),
            ),
        })
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Strength of a way of learning a name, strongest first (the order of docs/naming.md).
fn rank(how: EvidenceKind) -> u8 {
    match how {
        EvidenceKind::Sni => 0,
        EvidenceKind::HttpHost => 1,
        EvidenceKind::Cert => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_name_learnt_once_is_lent_with_how_it_was_learnt() {
        let c = Catalog::bundled().unwrap();
        let mut d = Directory::default();
        d.learn(
            &c,
            ip("198.18.0.1"),
            Some(443),
            "g.whatsapp.net",
            EvidenceKind::Sni,
        );
        let l = d.lookup(ip("198.18.0.1"), 5222).unwrap();
        assert_eq!(c.service_name(l.service), "WhatsApp");
        assert_eq!(l.role, Role::Chat);
        assert_eq!(l.how, EvidenceKind::Sni);
        assert_eq!(
            l.evidence.to_string(),
            "same-server:g.whatsapp.net (from sni)"
        );
        assert!(d.lookup(ip("198.18.0.2"), 443).is_none());
    }

    #[test]
    fn an_address_of_two_services_lends_nothing_but_its_ports_may() {
        let c = Catalog::bundled().unwrap();
        let mut d = Directory::default();
        let a = ip("198.18.0.1");
        d.learn(&c, a, Some(443), "g.whatsapp.net", EvidenceKind::Sni);
        d.learn(&c, a, Some(8443), "www.example.org", EvidenceKind::Sni);
        assert!(d.lookup(a, 80).is_none(), "shared host");
        let l = d.lookup(a, 443).unwrap();
        assert_eq!(c.service_name(l.service), "WhatsApp");
        assert!(d.lookup(a, 8443).is_none(), "unknown name");
    }

    #[test]
    fn a_dns_answer_names_its_addresses_by_the_chain_name_the_catalog_knows() {
        let c = Catalog::bundled().unwrap();
        let mut d = Directory::default();
        let a = ip("198.18.0.9");
        d.learn_answer(
            &c,
            [a].into_iter(),
            "alias.example.net",
            &["chat.signal.org".to_string()],
        );
        let l = d.lookup(a, 443).unwrap();
        assert_eq!(c.service_name(l.service), "Signal");
        assert_eq!(
            l.evidence.to_string(),
            "same-server:chat.signal.org (from dns)"
        );
    }

    #[test]
    fn a_binding_is_small() {
        // DIRECTORY_CAP's bound takes a binding of 24 bytes beside its 20-byte key.
        println!(
            "binding {} bytes, key {} bytes",
            std::mem::size_of::<Binding>(),
            std::mem::size_of::<(IpAddr, u16)>()
        );
        assert!(std::mem::size_of::<Binding>() <= 24);
        assert!(std::mem::size_of::<(IpAddr, u16)>() <= 20);
    }

    #[test]
    fn a_stronger_way_of_learning_the_same_service_replaces_the_name() {
        let c = Catalog::bundled().unwrap();
        let mut d = Directory::default();
        let a = ip("198.18.0.3");
        d.learn(&c, a, None, "g.whatsapp.net", EvidenceKind::Dns);
        d.learn(&c, a, Some(443), "mmg.whatsapp.net.", EvidenceKind::Sni);
        d.learn(&c, a, Some(443), "media.whatsapp.net", EvidenceKind::Cert);
        let l = d.lookup(a, 443).unwrap();
        assert_eq!(l.how, EvidenceKind::Sni);
        assert_eq!(
            l.evidence.to_string(),
            "same-server:mmg.whatsapp.net (from sni)"
        );
        assert_eq!(d.lookup(a, 80).unwrap().how, EvidenceKind::Sni);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn the_directory_is_bounded_and_counts_what_it_forgets() {
        let c = Catalog::bundled().unwrap();
        let mut d = Directory::default();
        for i in 0..(DIRECTORY_CAP as u32 + 10) {
            d.learn(
                &c,
                IpAddr::from(i.to_be_bytes()),
                None,
                "g.whatsapp.net",
                EvidenceKind::Dns,
            );
        }
        assert_eq!(d.len(), DIRECTORY_CAP);
        assert_eq!(d.evicted, 10);
        assert!(d.lookup(IpAddr::from(0u32.to_be_bytes()), 1).is_none());
    }
}
