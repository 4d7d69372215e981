//! Passive device hints: a guess at a client's operating system from what every one of its
//! packets carries in the clear, the IP TTL, and from the options of its TCP SYNs.
//!
//! The facts are those p0f (Michal Zalewski's passive fingerprinter, version 3, its p0f.fp
//! signature database and documentation) builds on: operating systems start packets at
//! different TTLs (64 for Linux, Android, macOS, iOS and the BSDs; 128 for Windows; 255 for
//! some network equipment and older Solaris), each router on the path lowers it by one, so an
//! observed TTL rounds up to the initial value; and each TCP stack orders its SYN options its
//! own way. This module must never present a hint as a fact: every hint is worded as a guess,
//! and a middlebox (a NAT rewriting TTLs, a VPN) can make it wrong.

use serde::Serialize;

use super::digest::ClientAgg;

/// Initial TTLs in use (p0f v3 documentation, "ittl"): an observed TTL is the smallest of
/// these not below it.
const INITIAL_TTLS: [u8; 4] = [32, 64, 128, 255];
/// More hops than this between the client and the observer make the rounding unsafe: paths
/// on the Internet are rarely longer than 30 hops (p0f treats larger distances as suspect).
const MAX_HOPS: u8 = 30;

/// SYN option layouts in p0f's notation and the stacks that send them (p0f v3 p0f.fp, the
/// generic signatures of each family).
const LAYOUTS: [(&str, &str); 6] = [
    ("mss,sok,ts,nop,ws", "Linux or Android"),
    ("mss,nop,nop,sok,nop,ws", "Linux (older kernel) or Android"),
    ("mss,nop,ws,nop,nop,ts,sok,eol", "macOS or iOS"),
    ("mss,nop,ws,sok,ts", "FreeBSD"),
    ("mss,nop,ws,nop,nop,sok", "Windows"),
    ("mss,nop,nop,sok", "Windows (XP or older)"),
];

/// What an observer may guess about one client.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceHint {
    /// The client's address (redacted in shared reports).
    pub client: String,
    pub flows: u64,
    /// The most common TTL of its first packets, and the initial TTL it rounds up to.
    pub observed_ttl: Option<u8>,
    pub initial_ttl: Option<u8>,
    pub hops: Option<u8>,
    /// The most common SYN options layout, window, MSS and window scale.
    pub syn_options: Option<String>,
    pub syn_window: Option<u16>,
    pub syn_mss: Option<u16>,
    pub syn_wscale: Option<u8>,
    /// The guess, always worded as one ("probably Linux or Android").
    pub guess: String,
    /// How it was read, for the reader who wants to check.
    pub basis: String,
}

/// The initial TTL an observed TTL most likely started from, and the hops taken.
pub fn initial_ttl(observed: u8) -> Option<(u8, u8)> {
    let init = INITIAL_TTLS.into_iter().find(|&i| i >= observed)?;
    let hops = init - observed;
    (hops <= MAX_HOPS).then_some((init, hops))
}

fn family_of_ttl(init: u8) -> &'static str {
    match init {
        64 => "Linux, Android, macOS, iOS or a BSD",
        128 => "Windows",
        255 => "network equipment or an older Unix",
        _ => "an older or embedded system",
    }
}

/// A layout match ignoring the trailing padding some stacks add (`eol+N` in p0f).
fn family_of_layout(layout: &str) -> Option<&'static str> {
    LAYOUTS
        .iter()
        .find(|(l, _)| *l == layout || layout.strip_suffix(",eol") == Some(l))
        .map(|(_, f)| *f)
}

/// The hint for one client; `None` when it sent nothing to read a hint from.
pub fn hint(client: String, agg: &ClientAgg) -> Option<DeviceHint> {
    // The TTL of SYNs when there are any: other packets may carry a TTL their protocol sets.
    let ttls = if agg.syn_ttl.is_empty() {
        &agg.ttl
    } else {
        &agg.syn_ttl
    };
    let ttl = ttls
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(t, _)| *t);
    let syn = agg
        .syn
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(s, _)| s);
    if ttl.is_none() && syn.is_none() {
        return None;
    }
    let init = ttl.and_then(initial_ttl);
    let by_ttl = init.map(|(i, _)| family_of_ttl(i));
    let by_syn = syn.and_then(|s| family_of_layout(&s.layout));
    // The layout is the more specific fact; the TTL confirms or contradicts it.
    let consistent = |f: &str| match init.map(|(i, _)| i) {
        Some(64) => !f.starts_with("Windows"),
        Some(128) => f.starts_with("Windows"),
        Some(_) => false,
        None => true,
    };
    let guess = match (by_syn, by_ttl) {
        (Some(f), _) if consistent(f) => format!("probably {f}"),
        (Some(f), Some(t)) => format!(
            "unclear: the TCP options look like {f}, the TTL like {t} (a NAT or VPN may rewrite one)"
        ),
        (Some(f), None) => format!("probably {f}"),
        (None, Some(t)) => format!("probably {t}"),
        (None, None) => "unknown".to_string(),
    };
    let mut basis = Vec::new();
    if let (Some(t), Some((i, h))) = (ttl, init) {
        basis.push(if h == 0 {
            format!("IP TTL {t}, an initial value")
        } else {
            format!(
                "IP TTL {t}, which rounds up to an initial {i} ({h} hop{} away)",
                if h == 1 { "" } else { "s" }
            )
        });
    } else if let Some(t) = ttl {
        basis.push(format!("IP TTL {t}"));
    }
    if let Some(s) = syn {
        // A SYN without options has an empty layout: said in words, not as an empty list.
        basis.push(if s.layout.is_empty() {
            format!("TCP SYN without options, window {}", s.window)
        } else {
            format!(
                "TCP SYN options {}{} with window {}",
                s.layout,
                s.mss.map(|m| format!(" (MSS {m})")).unwrap_or_default(),
                s.window
            )
        });
    }
    Some(DeviceHint {
        client,
        flows: agg.flows,
        observed_ttl: ttl,
        initial_ttl: init.map(|(i, _)| i),
        hops: init.map(|(_, h)| h),
        syn_options: syn.map(|s| s.layout.clone()),
        syn_window: syn.map(|s| s.window),
        syn_mss: syn.and_then(|s| s.mss),
        syn_wscale: syn.and_then(|s| s.wscale),
        guess,
        basis: basis.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::digest::SynSig;

    #[test]
    fn ttl_rounds_up_to_the_initial_value() {
        assert_eq!(initial_ttl(64), Some((64, 0)));
        assert_eq!(initial_ttl(57), Some((64, 7)));
        assert_eq!(initial_ttl(117), Some((128, 11)));
        assert_eq!(initial_ttl(250), Some((255, 5)));
        // 200 would be 55 hops from 255: no safe guess.
        assert_eq!(initial_ttl(200), None);
    }

    #[test]
    fn layout_and_ttl_agree_or_the_hint_says_unclear() {
        let mut agg = ClientAgg {
            flows: 3,
            ..ClientAgg::default()
        };
        agg.ttl.insert(64, 3);
        agg.syn.insert(
            SynSig {
                window: 65535,
                layout: "mss,sok,ts,nop,ws".into(),
                mss: Some(1460),
                wscale: Some(7),
            },
            3,
        );
        let h = hint("10.0.0.2".into(), &agg).unwrap_or_else(|| panic!("a hint"));
        assert_eq!(h.guess, "probably Linux or Android");
        assert_eq!(h.initial_ttl, Some(64));
        let mut win = agg.clone();
        win.ttl.clear();
        win.ttl.insert(128, 1);
        let h = hint("10.0.0.2".into(), &win).unwrap_or_else(|| panic!("a hint"));
        assert!(h.guess.starts_with("unclear"), "{}", h.guess);
        assert!(hint("x".into(), &ClientAgg::default()).is_none());
    }
}
