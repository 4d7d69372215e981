//! Mitigations: what would have hidden each kind of finding, with its limits. Findings name
//! theirs by key; the model lists those that apply, with the findings they apply to.

use super::{Finding, Mitigation};

/// Mitigations, keyed as findings name them: what would have hidden a finding, with its limits.
pub const MITIGATIONS: [(&str, &str, &str); 7] = [
    (
        "relay_calls",
        "Relay-only calls",
        "In WhatsApp: Settings > Privacy > Advanced > Protect IP address in calls. In Signal: \
         Settings > Privacy > Advanced > Always relay calls. Calls then run through the \
         service's servers, so neither the peer nor an observer learns the other side's address, \
         network or place. The observer still sees that a call happened, when, for how long and \
         whether it carried video; relayed calls can sound slightly worse.",
    ),
    (
        "timing_volume",
        "Timing and volume",
        "No app setting hides these: end-to-end encryption protects what is said, not when, how \
         much, or with which service. A VPN moves the observer but does not remove it: the local \
         network and the ISP then see one encrypted tunnel (whose timing and volume still show \
         calls and transfers), and the VPN provider sees everything they saw before. Padding and \
         cover traffic (dummy traffic at a constant rate) would blur these patterns; mainstream \
         messengers do not offer them.",
    ),
    (
        "encrypted_dns",
        "Encrypted DNS",
        "Encrypted DNS (Android's Private DNS, DNS over HTTPS in the browser or an iOS/macOS \
         profile) hides the names from the local network and the ISP. The chosen resolver still \
         sees every name, and the addresses contacted afterwards still point at the service's \
         network.",
    ),
    (
        "ech",
        "Encrypted Client Hello",
        "Encrypted Client Hello hides the server name in TLS and QUIC handshakes, but only when \
         both the app and the server support it, which most messaging services do not yet. The \
         server's address and network still name the company.",
    ),
    (
        "vpn_destinations",
        "Hiding who is contacted",
        "Which services and countries are contacted shows in the server addresses themselves. \
         Only a VPN or Tor hides them from the local network and the ISP, and the VPN provider \
         (or the Tor exit) then sees them instead.",
    ),
    (
        "local_names",
        "Local-network names",
        "mDNS and LLMNR names stay on the local network, but everyone on it reads them. Give the \
         device a name that does not identify its owner; a VPN does not hide these.",
    ),
    (
        "device_os",
        "Device fingerprints",
        "These hints come from the operating system's network stack: no app setting changes \
         them, and a VPN leaves them readable on the tunnel's own packets. They are guesses: a \
         NAT, a tethering phone or a VPN can change the TTL or the TCP options.",
    ),
];

/// The mitigations that apply to `findings` (sorted as the model lists them), in the order of
/// [`MITIGATIONS`], each with the positions of the findings it applies to.
pub(super) fn applying(findings: &[Finding]) -> Vec<Mitigation> {
    MITIGATIONS
        .iter()
        .filter_map(|(key, title, text)| {
            let idx: Vec<usize> = findings
                .iter()
                .enumerate()
                .filter(|(_, f)| f.mitigation == *key)
                .map(|(i, _)| i)
                .collect();
            (!idx.is_empty()).then_some(Mitigation {
                key,
                title,
                text,
                findings: idx,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(mitigation: &str) -> Finding {
        Finding {
            score: 0.5,
            sentence: String::new(),
            events: Vec::new(),
            flows: Vec::new(),
            kind: "test".into(),
            mitigation: mitigation.into(),
            start_ts: None,
        }
    }

    #[test]
    fn only_mitigations_that_apply_are_listed_in_table_order_with_their_findings() {
        let findings = [
            finding("timing_volume"),
            finding("relay_calls"),
            finding("timing_volume"),
            finding("no_such_key"),
        ];
        let m = applying(&findings);
        let keys: Vec<(&str, &[usize])> =
            m.iter().map(|x| (x.key, x.findings.as_slice())).collect();
        assert_eq!(
            keys,
            [("relay_calls", &[1][..]), ("timing_volume", &[0, 2][..])]
        );
        assert_eq!(m[0].title, "Relay-only calls");
    }
}
