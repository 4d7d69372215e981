//! Redaction for reports people share: the addresses of the local side (the devices whose
//! traffic was captured) and of direct call peers become stable placeholders ("device-1",
//! "peer-1"), so evidence can still be followed within one report while the addresses are
//! gone. Networks and countries stay: they are what the report is about.
//!
//! It must never leave a listed address in any text it is given, whatever the text's form
//! (`ip`, `ip:port`, `[ipv6]:port`), and never touch the addresses of services' servers.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// Replaces listed addresses in text.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    map: BTreeMap<IpAddr, String>,
    devices: usize,
    peers: usize,
    /// Also hide every private, link-local or loopback address (when more clients were seen
    /// than the digest keeps).
    all_local: bool,
}

impl Redactor {
    /// A redactor that changes nothing.
    pub fn off() -> Self {
        Self::default()
    }

    pub fn is_on(&self) -> bool {
        !self.map.is_empty() || self.all_local
    }

    pub fn hide_all_local(&mut self) {
        self.all_local = true;
    }

    /// Hide a device address of the local side.
    pub fn device(&mut self, ip: IpAddr) {
        if !self.map.contains_key(&ip) {
            self.devices += 1;
            self.map.insert(ip, format!("device-{}", self.devices));
        }
    }

    /// Hide a direct peer's address.
    pub fn peer(&mut self, ip: IpAddr) {
        if !self.map.contains_key(&ip) {
            self.peers += 1;
            self.map.insert(ip, format!("peer-{}", self.peers));
        }
    }

    fn replacement(&self, ip: IpAddr) -> Option<String> {
        if let Some(r) = self.map.get(&ip) {
            return Some(r.clone());
        }
        (self.all_local && crate::naming::geo::is_local(ip)).then(|| "local".to_string())
    }

    /// Whether an address is hidden.
    pub fn hides(&self, ip: IpAddr) -> bool {
        self.replacement(ip).is_some()
    }

    /// `text` with every hidden address replaced.
    pub fn text(&self, text: &str) -> String {
        if !self.is_on() {
            return text.to_string();
        }
        let is_addr_char = |c: char| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']');
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(is_addr_char) {
            out.push_str(&rest[..start]);
            let run_len = rest[start..]
                .find(|c: char| !is_addr_char(c))
                .unwrap_or(rest.len() - start);
            let run = &rest[start..start + run_len];
            out.push_str(&self.token(run));
            rest = &rest[start + run_len..];
        }
        out.push_str(rest);
        out
    }

    /// One run of address-like characters: an address, a socket address, or neither (a
    /// number, a time, a word of hex letters). Trailing sentence punctuation is kept.
    fn token(&self, run: &str) -> String {
        let trimmed = run.trim_end_matches(['.', ':']);
        let tail = &run[trimmed.len()..];
        if let Ok(sa) = trimmed.parse::<SocketAddr>() {
            if let Some(r) = self.replacement(sa.ip()) {
                return format!("{r}:{}{tail}", sa.port());
            }
        }
        let bare = trimmed.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if let Some(r) = self.replacement(ip) {
                return format!("{r}{tail}");
            }
        }
        run.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_addresses_go_in_every_form_and_others_stay() {
        let mut r = Redactor::off();
        r.device("192.168.2.12".parse().unwrap_or_else(|e| panic!("{e}")));
        r.peer("2001:db8::7".parse().unwrap_or_else(|e| panic!("{e}")));
        let s = r.text(
            "udp 192.168.2.12:56328 31.13.86.48:3478 1561455706.912375; peer 2001:db8::7, \
             [2001:db8::7]:443 at 21:04. Device 192.168.2.12.",
        );
        assert_eq!(
            s,
            "udp device-1:56328 31.13.86.48:3478 1561455706.912375; peer peer-1, \
             peer-1:443 at 21:04. Device device-1."
        );
        let mut all = Redactor::off();
        all.hide_all_local();
        assert_eq!(all.text("10.0.0.5:80 8.8.8.8:53"), "local:80 8.8.8.8:53");
        assert_eq!(Redactor::off().text("10.0.0.5"), "10.0.0.5");
    }
}
