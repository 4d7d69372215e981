//! The flow table's columns and how each one orders flows.
//!
//! It exists so that the order of the table is defined once, by column, and checked: a
//! column's [`SortKey`] orders flows exactly as its [`FlowCol::compare`] does, and the keys
//! are what sorting 100,000 flows compares. It never decides anything: it orders what the
//! snapshot holds, and never filters, drops or changes a flow.

use std::cmp::Ordering;

use crate::model::{FlowRecord, Role};

/// Columns of the flow table; every one sorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowCol {
    Start,
    Proto,
    Client,
    Server,
    Service,
    Role,
    Country,
    Packets,
    Bytes,
    Duration,
}

impl FlowCol {
    pub const ALL: [FlowCol; 10] = [
        FlowCol::Start,
        FlowCol::Proto,
        FlowCol::Client,
        FlowCol::Server,
        FlowCol::Service,
        FlowCol::Role,
        FlowCol::Country,
        FlowCol::Packets,
        FlowCol::Bytes,
        FlowCol::Duration,
    ];

    pub fn title(self) -> &'static str {
        match self {
            FlowCol::Start => "Start",
            FlowCol::Proto => "Proto",
            FlowCol::Client => "Client",
            FlowCol::Server => "Server",
            FlowCol::Service => "Service",
            FlowCol::Role => "Role",
            FlowCol::Country => "Cc",
            FlowCol::Packets => "Pkts",
            FlowCol::Bytes => "Bytes",
            FlowCol::Duration => "Dur",
        }
    }

    pub(super) fn next(self) -> Self {
        let i = FlowCol::ALL.iter().position(|c| *c == self).unwrap_or(0);
        FlowCol::ALL[(i + 1) % FlowCol::ALL.len()]
    }

    /// Order of two flows by this column (ties are left to the caller's stable sort).
    pub fn compare(self, a: &FlowRecord, b: &FlowRecord) -> Ordering {
        let s = |o: &Option<String>| o.as_deref().unwrap_or("").to_ascii_lowercase();
        match self {
            FlowCol::Start => a.first_ts.total_cmp(&b.first_ts),
            FlowCol::Proto => a.proto.to_string().cmp(&b.proto.to_string()),
            FlowCol::Client => endpoint_order(a.client, b.client),
            FlowCol::Server => endpoint_order(a.server, b.server),
            // Unnamed flows sort after named ones in ascending order.
            FlowCol::Service => match (&a.service, &b.service) {
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                _ => s(&a.service).cmp(&s(&b.service)),
            },
            FlowCol::Role => a
                .service_role
                .map_or("~", Role::as_str)
                .cmp(b.service_role.map_or("~", Role::as_str)),
            FlowCol::Country => match (&a.country, &b.country) {
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                _ => a.country.cmp(&b.country),
            },
            FlowCol::Packets => {
                (a.packets_up + a.packets_down).cmp(&(b.packets_up + b.packets_down))
            }
            FlowCol::Bytes => (a.bytes_up + a.bytes_down).cmp(&(b.bytes_up + b.bytes_down)),
            FlowCol::Duration => (a.last_ts - a.first_ts).total_cmp(&(b.last_ts - b.first_ts)),
        }
    }
}

/// A flow's sort key for one column, computed once per row so that sorting 100,000 flows
/// compares plain values instead of parsing addresses or lowercasing names per comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    /// Absent values (no service, no country) sort after present ones.
    rank: u8,
    num: u128,
    port: u16,
    text: String,
}

/// `f64` bits mapped so that unsigned order is `total_cmp` order.
fn f64_key(x: f64) -> u128 {
    let b = x.to_bits();
    u128::from(if b >> 63 == 1 { !b } else { b | (1 << 63) })
}

fn endpoint_key(a: std::net::SocketAddr) -> SortKey {
    SortKey {
        rank: u8::from(a.is_ipv6()),
        num: match a.ip() {
            std::net::IpAddr::V4(v) => u128::from(u32::from(v)),
            std::net::IpAddr::V6(v) => u128::from(v),
        },
        port: a.port(),
        text: String::new(),
    }
}

impl FlowCol {
    /// The key this column sorts by; ordering keys orders flows as [`FlowCol::compare`].
    pub fn key(self, r: &FlowRecord) -> SortKey {
        let num = |n: u128| SortKey {
            rank: 0,
            num: n,
            port: 0,
            text: String::new(),
        };
        let text = |o: Option<&str>| SortKey {
            rank: u8::from(o.is_none()),
            num: 0,
            port: 0,
            text: o.unwrap_or("").to_ascii_lowercase(),
        };
        match self {
            FlowCol::Start => num(f64_key(r.first_ts)),
            FlowCol::Proto => text(Some(&r.proto.to_string())),
            FlowCol::Client => endpoint_key(r.client),
            FlowCol::Server => endpoint_key(r.server),
            FlowCol::Service => text(r.service.as_deref()),
            FlowCol::Role => text(r.service_role.map(Role::as_str)),
            FlowCol::Country => text(r.country.as_deref()),
            FlowCol::Packets => num(u128::from(r.packets_up + r.packets_down)),
            FlowCol::Bytes => num(u128::from(r.bytes_up + r.bytes_down)),
            FlowCol::Duration => num(f64_key(r.last_ts - r.first_ts)),
        }
    }
}

/// Endpoints ordered by address, then port.
fn endpoint_order(x: std::net::SocketAddr, y: std::net::SocketAddr) -> Ordering {
    x.ip().cmp(&y.ip()).then(x.port().cmp(&y.port()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::views::tui::fixtures::flow;

    #[test]
    fn sort_keys_order_as_compare_does() {
        let mut flows: Vec<FlowRecord> = (0..12)
            .map(|i| {
                flow(
                    i,
                    [Some("b"), None, Some("A")][i as usize % 3],
                    None,
                    u64::from(i * 37 % 11),
                )
            })
            .collect();
        flows[3].server = "[2001:db8::1]:443".parse().unwrap();
        flows[4].server = "10.0.0.9:80".parse().unwrap();
        flows[5].server = "9.0.0.1:443".parse().unwrap();
        flows[6].first_ts = -1.0;
        for c in FlowCol::ALL {
            for a in &flows {
                for b in &flows {
                    assert_eq!(c.key(a).cmp(&c.key(b)), c.compare(a, b), "{c:?}");
                }
            }
        }
    }
}
