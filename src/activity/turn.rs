//! TURN and ICE facts of a flow, and of the whole capture: which addresses a TURN server
//! handed out as relays (XOR-RELAYED-ADDRESS), which addresses a TURN client named as its
//! peer (XOR-PEER-ADDRESS), which side of a flow was a TURN server, and which side sent STUN
//! Binding requests (connectivity checks). The path of a call ([`super::path`]) reads them: an
//! address a TURN server allocated is a relay wherever it shows up later in the capture.
//!
//! Why a module of its own: the facts come from packets (per flow, filled by
//! [`super::MediaStats::observe`]) but count across flows (a relay allocated on one socket
//! carries the media of another). What it must never do: allocate per packet (fixed arrays,
//! each allocated once, with the flow's first such address, with counted overflow) or keep
//! anything of a STUN message but these addresses and flags.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use super::FlowSummary;
use crate::dissect::stun::{StunClass, StunMethod, TurnScan, scan_turn};
use crate::flow::Dir;

/// Addresses kept per flow and kind. A TURN client allocates one relay per address family
/// and candidate (WhatsApp asks up to 8 relays at once in `ndpi/whatsapp_voice_and_message.pcap`,
/// each on its own flow); a client names a handful of peer candidates in its permissions.
/// Further distinct addresses are counted in [`TurnFacts::overflow`].
pub const MAX_TURN_ADDRS: usize = 8;

/// A small set of addresses in a fixed array, allocated with the first address: most flows
/// carry no TURN, and two inline arrays (528 bytes) made every flow's activity counters more
/// than half as large again, in the flows the activity model keeps and in those that wait for
/// a name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrSet {
    /// `None` until the first address; then the addresses in the order they came.
    addrs: Option<Box<[Option<SocketAddr>; MAX_TURN_ADDRS]>>,
    len: u8,
}

impl AddrSet {
    /// Add `a` unless present; false when the set is full and `a` is new.
    fn insert(&mut self, a: SocketAddr) -> bool {
        if self.iter().any(|x| x == a) {
            return true;
        }
        let addrs = self
            .addrs
            .get_or_insert_with(|| Box::new([None; MAX_TURN_ADDRS]));
        match addrs.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = Some(a);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.addrs.iter().flat_map(|a| a.iter().flatten().copied())
    }
}

/// The TURN and ICE facts of one flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TurnFacts {
    /// XOR-RELAYED-ADDRESS of Allocate success responses: relays a TURN server handed out.
    pub relayed: AddrSet,
    /// XOR-PEER-ADDRESS of any message: the peer candidates a TURN client named.
    pub peers: AddrSet,
    /// The direction TURN requests travelled (Allocate, Refresh, CreatePermission,
    /// ChannelBind, Send) or a REALM came with: the receiving side is a TURN server (RFC 8656
    /// §2: these methods pass only between a TURN client and its server; REALM is a long-term
    /// credential, RFC 8489 §9.2, which ICE checks between peers never use, RFC 8445 §7.2.2).
    pub server_side: Option<Dir>,
    /// STUN Binding requests sent by the client side (up) and by the server side (down): the
    /// sender is a STUN client, an ICE agent checking a path; servers only answer (RFC 8489
    /// §6.3), and ICE-lite media servers send no checks (RFC 8445 §2.5).
    pub requests_up: u32,
    pub requests_down: u32,
    /// Distinct addresses not kept because a set was full.
    pub overflow: u32,
}

impl TurnFacts {
    /// Account one UDP payload that the media classifier took for STUN (no allocation).
    pub fn observe(&mut self, payload: &[u8], dir: Dir) {
        if let Some(s) = scan_turn(payload) {
            self.note(&s, dir);
        }
    }

    fn note(&mut self, s: &TurnScan, dir: Dir) {
        if let Some(a) = s.relayed
            && s.class == StunClass::SuccessResponse
            && s.method == StunMethod::Allocate
            && !self.relayed.insert(a)
        {
            self.overflow += 1;
        }
        if let Some(a) = s.peer
            && !self.peers.insert(a)
        {
            self.overflow += 1;
        }
        if s.binding_request {
            let n = match dir {
                Dir::Up => &mut self.requests_up,
                Dir::Down => &mut self.requests_down,
            };
            *n = n.saturating_add(1);
        }
        let turn_method = matches!(
            s.method,
            StunMethod::Allocate
                | StunMethod::Refresh
                | StunMethod::CreatePermission
                | StunMethod::ChannelBind
                | StunMethod::Send
                | StunMethod::Data
        );
        if self.server_side.is_none() && (turn_method || s.realm) {
            // Requests and Send indications go to the server; responses and Data
            // indications come from it.
            let to_server = matches!(s.class, StunClass::Request)
                || (s.class == StunClass::Indication && s.method != StunMethod::Data);
            self.server_side = Some(match (to_server, dir) {
                (true, d) => d,
                (false, Dir::Up) => Dir::Down,
                (false, Dir::Down) => Dir::Up,
            });
        }
    }
}

/// The TURN facts of a whole capture, gathered from its kept flows before calls are judged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureTurn {
    /// Addresses TURN servers allocated as relays.
    pub relayed: BTreeSet<IpAddr>,
    /// Addresses TURN clients named as their peers.
    pub peers: BTreeSet<IpAddr>,
    /// Addresses that acted as TURN servers.
    pub servers: BTreeSet<IpAddr>,
    /// Distinct addresses the flows could not keep (their caps), summed.
    pub overflow: u64,
}

impl CaptureTurn {
    pub fn gather(flows: &[FlowSummary]) -> Self {
        let mut c = Self::default();
        for f in flows {
            let t = &f.media.turn;
            c.relayed.extend(t.relayed.iter().map(|a| a.ip()));
            c.peers.extend(t.peers.iter().map(|a| a.ip()));
            match t.server_side {
                Some(Dir::Up) => {
                    c.servers.insert(f.record.server.ip());
                }
                Some(Dir::Down) => {
                    c.servers.insert(f.record.client.ip());
                }
                None => {}
            }
            c.overflow += u64::from(t.overflow);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(class: StunClass, method: StunMethod) -> TurnScan {
        TurnScan {
            class,
            method,
            relayed: None,
            peer: None,
            binding_request: false,
            realm: false,
            ice: false,
        }
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn an_allocate_success_names_the_relay_and_the_server_side() {
        let mut t = TurnFacts::default();
        t.note(&scan(StunClass::Request, StunMethod::Allocate), Dir::Up);
        let mut ok = scan(StunClass::SuccessResponse, StunMethod::Allocate);
        ok.relayed = Some(sa("203.0.113.9:50000"));
        t.note(&ok, Dir::Down);
        assert_eq!(
            t.relayed.iter().collect::<Vec<_>>(),
            [sa("203.0.113.9:50000")]
        );
        assert_eq!(t.server_side, Some(Dir::Up));
        // A relayed address in anything but an Allocate success is not taken.
        let mut odd = scan(StunClass::Request, StunMethod::Binding);
        odd.relayed = Some(sa("198.51.100.1:1"));
        t.note(&odd, Dir::Up);
        assert_eq!(t.relayed.iter().count(), 1);
    }

    #[test]
    fn a_response_from_the_client_side_makes_the_client_the_server() {
        let mut t = TurnFacts::default();
        t.note(
            &scan(StunClass::SuccessResponse, StunMethod::Allocate),
            Dir::Up,
        );
        assert_eq!(t.server_side, Some(Dir::Down));
        let mut b = TurnFacts::default();
        b.note(&scan(StunClass::Request, StunMethod::Binding), Dir::Up);
        assert_eq!(b.server_side, None, "a plain Binding says nothing");
    }

    /// Every flow's activity counters carry these facts, and most flows see no TURN: without
    /// an address they take a few words, not two arrays of eight socket addresses.
    #[test]
    fn facts_without_addresses_stay_small() {
        assert!(
            std::mem::size_of::<TurnFacts>() <= 64,
            "{} bytes",
            std::mem::size_of::<TurnFacts>()
        );
        let mut t = TurnFacts::default();
        let mut p = scan(StunClass::Request, StunMethod::CreatePermission);
        p.peer = Some(sa("198.51.100.1:1000"));
        t.note(&p, Dir::Up);
        assert_eq!(
            t.peers.iter().collect::<Vec<_>>(),
            [sa("198.51.100.1:1000")]
        );
        assert_eq!(t.relayed.iter().count(), 0);
        assert_eq!(t.relayed, AddrSet::default());
    }

    #[test]
    fn peers_past_the_cap_are_counted() {
        let mut t = TurnFacts::default();
        for i in 0..10u16 {
            let mut p = scan(StunClass::Request, StunMethod::CreatePermission);
            p.peer = Some(SocketAddr::from(([198, 51, 100, 1], 1000 + i)));
            t.note(&p, Dir::Up);
            t.note(&p, Dir::Up);
        }
        assert_eq!(t.peers.iter().count(), MAX_TURN_ADDRS);
        assert_eq!(t.overflow, 2 * (10 - MAX_TURN_ADDRS as u32));
    }
}
