//! Naming one flow from elsewhere: an event says which flows it rests on, a finding which
//! flows show it, without copying the flows.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

/// A transport protocol by its IP protocol number, written as its name ("tcp", "udp",
/// "icmp", "icmpv6", or the number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Proto(pub u8);

impl Proto {
    pub const TCP: Proto = Proto(crate::decode::proto::TCP);
    pub const UDP: Proto = Proto(crate::decode::proto::UDP);
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::flow::proto_name(self.0))
    }
}

impl serde::Serialize for Proto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One flow: protocol, client and server sockets, and the time of its first packet. Written
/// as `proto client server first_ts` ("udp 192.168.1.2:50000 157.240.1.1:3478
/// 1700000000.123456"), the form the outputs document; two references are the same flow when
/// those texts are, and they sort as those texts do.
#[derive(Clone, Copy, Debug)]
pub struct FlowRef {
    pub proto: Proto,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Seconds since the Unix epoch.
    pub first_ts: f64,
}

impl std::fmt::Display for FlowRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {:.6}",
            self.proto, self.client, self.server, self.first_ts
        )
    }
}

impl serde::Serialize for FlowRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FlowRef {
    /// The first packet's time as written (microseconds), which is what tells two flows of one
    /// socket pair apart.
    fn micros(&self) -> i64 {
        // Rounded as `{:.6}` rounds, so equal texts mean equal keys.
        format!("{:.6}", self.first_ts)
            .replace('.', "")
            .parse()
            .unwrap_or(i64::MIN)
    }

    /// The text the outputs write, as a key: comparing it is comparing the written forms.
    fn key(&self) -> String {
        self.to_string()
    }
}

impl PartialEq for FlowRef {
    fn eq(&self, other: &Self) -> bool {
        self.proto == other.proto
            && self.client == other.client
            && self.server == other.server
            && self.micros() == other.micros()
    }
}

impl Eq for FlowRef {}

impl Hash for FlowRef {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.proto.hash(h);
        self.client.hash(h);
        self.server.hash(h);
        self.micros().hash(h);
    }
}

impl PartialOrd for FlowRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FlowRef {
    fn cmp(&self, other: &Self) -> Ordering {
        if self == other {
            Ordering::Equal
        } else {
            self.key().cmp(&other.key())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(client: &str, server: &str, ts: f64) -> Option<FlowRef> {
        Some(FlowRef {
            proto: Proto::UDP,
            client: client.parse().ok()?,
            server: server.parse().ok()?,
            first_ts: ts,
        })
    }

    #[test]
    fn written_form_and_order_are_those_of_the_text() {
        let a = r("10.0.0.2:5000", "1.2.3.4:3478", 1.5);
        let b = r("10.0.0.2:50000", "1.2.3.4:3478", 1.5);
        let c = r("[2001:db8::1]:5000", "[2001:db8::2]:443", 2.0);
        assert_eq!(
            a.map(|x| x.to_string()).as_deref(),
            Some("udp 10.0.0.2:5000 1.2.3.4:3478 1.500000")
        );
        assert_eq!(
            c.map(|x| x.to_string()).as_deref(),
            Some("udp [2001:db8::1]:5000 [2001:db8::2]:443 2.000000")
        );
        let mut refs: Vec<FlowRef> = [c, b, a].into_iter().flatten().collect();
        refs.sort();
        let texts: Vec<String> = refs.iter().map(ToString::to_string).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
        assert_eq!(texts.len(), 3);
    }

    #[test]
    fn the_same_flow_is_equal_below_a_microsecond_only() {
        assert_eq!(
            r("10.0.0.2:5000", "1.2.3.4:3478", 1.000_000_1),
            r("10.0.0.2:5000", "1.2.3.4:3478", 1.0)
        );
        assert_ne!(
            r("10.0.0.2:5000", "1.2.3.4:3478", 1.000_001),
            r("10.0.0.2:5000", "1.2.3.4:3478", 1.0)
        );
        assert_eq!(
            serde_json::to_string(&r("10.0.0.2:5000", "1.2.3.4:3478", 1.0)).ok(),
            Some("\"udp 10.0.0.2:5000 1.2.3.4:3478 1.000000\"".to_string())
        );
    }
}
