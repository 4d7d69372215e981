//! One piece of evidence for a flow's service: what kind of fact it is, and the fact.
//!
//! It exists so that the stages after naming (activity, the observer, the views) can ask what
//! kind of fact named a flow by matching on [`EvidenceKind`] instead of on the prefix of a
//! string, while every output keeps today's text: an evidence prints and serialises as
//! `kind:detail` (`sni:mmg.whatsapp.net`, `stun-attr:0x4000`), or as the kind alone for the
//! flags that carry no detail (`rtp`, `dtls`, `xml-stream`).
//!
//! It must never hold payload: a detail is a field a dissector parsed (a server name, a STUN
//! REALM), a catalog value that matched (an attribute number, a prologue prefix, a range) or
//! a network's name, never bytes copied from a packet.

use std::fmt;

/// What kind of fact an [`Evidence`] is. Each kind prints as the prefix outputs have always
/// used for it ([`EvidenceKind::as_str`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvidenceKind {
    /// The server name of a TLS or QUIC ClientHello (`sni:`).
    Sni,
    /// The Host of a clear-text HTTP request or the target of a CONNECT (`http-host:`).
    HttpHost,
    /// The subject name of a clear-text server certificate (`cert:`).
    Cert,
    /// On a DNS flow, the name it asked for (`dns-query:`).
    DnsQuery,
    /// The name this client looked up in DNS for this server (`dns:`).
    Dns,
    /// A vendor STUN attribute (`stun-attr:`).
    StunAttr,
    /// A vendor STUN message type (`stun-type:`).
    StunType,
    /// The STUN REALM (`stun-realm:`).
    StunRealm,
    /// The STUN SOFTWARE attribute (`stun-software:`).
    StunSoftware,
    /// A protocol prologue the first payload started with (`prologue:`).
    Prologue,
    /// A QUIC handshake that named no server, then RTP or RTCP (`quic-then-rtp:`).
    QuicThenRtp,
    /// A clear-text XML stream on a port its service uses (`xml-stream`, no detail).
    XmlStream,
    /// Another flow of the same socket carried a call service's markers (`same-socket:`).
    SameSocket,
    /// Another flow of the capture (or a DNS answer) named this flow's server, which names
    /// nothing itself (`same-server:NAME (from HOW)`, HOW the kind of the original evidence).
    SameServer,
    /// A service's published address range (`ip-list:`).
    IpList,
    /// The remote side's autonomous system (`asn:`).
    Asn,
    /// The services the catalog lists for the server port (`port:`).
    Port,
    /// RTP was confirmed on the flow (`rtp`, no detail).
    Rtp,
    /// DTLS was seen on the flow (`dtls`, no detail).
    Dtls,
}

impl EvidenceKind {
    /// The prefix outputs use for this kind (`sni`, `stun-attr`, `ip-list`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sni => "sni",
            Self::HttpHost => "http-host",
            Self::Cert => "cert",
            Self::DnsQuery => "dns-query",
            Self::Dns => "dns",
            Self::StunAttr => "stun-attr",
            Self::StunType => "stun-type",
            Self::StunRealm => "stun-realm",
            Self::StunSoftware => "stun-software",
            Self::Prologue => "prologue",
            Self::QuicThenRtp => "quic-then-rtp",
            Self::XmlStream => "xml-stream",
            Self::SameSocket => "same-socket",
            Self::SameServer => "same-server",
            Self::IpList => "ip-list",
            Self::Asn => "asn",
            Self::Port => "port",
            Self::Rtp => "rtp",
            Self::Dtls => "dtls",
        }
    }

    /// A flag: a fact with no detail, printed as the kind alone.
    pub const fn is_flag(self) -> bool {
        matches!(self, Self::XmlStream | Self::Rtp | Self::Dtls)
    }
}

impl fmt::Display for EvidenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence: its kind and the fact (a name, a number, a catalog row).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub detail: String,
}

impl Evidence {
    pub fn new(kind: EvidenceKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// A flag ([`EvidenceKind::is_flag`]): a kind with no detail.
    pub fn flag(kind: EvidenceKind) -> Self {
        Self::new(kind, String::new())
    }
}

/// `kind:detail`, or the kind alone for a flag without detail.
impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if self.kind.is_flag() && self.detail.is_empty() {
            return Ok(());
        }
        write!(f, ":{}", self.detail)
    }
}

/// The same text as [`fmt::Display`], so NDJSON, CSV and report JSON read as they always have.
impl serde::Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const ALL: [EvidenceKind; 19] = [
        EvidenceKind::Sni,
        EvidenceKind::HttpHost,
        EvidenceKind::Cert,
        EvidenceKind::DnsQuery,
        EvidenceKind::Dns,
        EvidenceKind::StunAttr,
        EvidenceKind::StunType,
        EvidenceKind::StunRealm,
        EvidenceKind::StunSoftware,
        EvidenceKind::Prologue,
        EvidenceKind::QuicThenRtp,
        EvidenceKind::XmlStream,
        EvidenceKind::SameSocket,
        EvidenceKind::SameServer,
        EvidenceKind::IpList,
        EvidenceKind::Asn,
        EvidenceKind::Port,
        EvidenceKind::Rtp,
        EvidenceKind::Dtls,
    ];

    #[test]
    fn display_is_kind_colon_detail() {
        let cases = [
            (
                EvidenceKind::Sni,
                "mmg.whatsapp.net",
                "sni:mmg.whatsapp.net",
            ),
            (EvidenceKind::StunAttr, "0x4000", "stun-attr:0x4000"),
            (
                EvidenceKind::IpList,
                "WhatsApp 1.2.3.0/24",
                "ip-list:WhatsApp 1.2.3.0/24",
            ),
            (
                EvidenceKind::SameSocket,
                "10.0.0.2:5000 as a Zoom call flow (stun-attr:0x0101)",
                "same-socket:10.0.0.2:5000 as a Zoom call flow (stun-attr:0x0101)",
            ),
            (
                EvidenceKind::SameServer,
                "g.whatsapp.net (from sni)",
                "same-server:g.whatsapp.net (from sni)",
            ),
            (EvidenceKind::Asn, "AS32934 Meta", "asn:AS32934 Meta"),
            (EvidenceKind::Sni, "", "sni:"),
        ];
        for (kind, detail, text) in cases {
            assert_eq!(Evidence::new(kind, detail).to_string(), text);
        }
        assert_eq!(Evidence::flag(EvidenceKind::Rtp).to_string(), "rtp");
        assert_eq!(Evidence::flag(EvidenceKind::Dtls).to_string(), "dtls");
        assert_eq!(
            Evidence::flag(EvidenceKind::XmlStream).to_string(),
            "xml-stream"
        );
    }

    #[test]
    fn every_kind_has_its_own_prefix_without_a_colon() {
        for (i, k) in ALL.iter().enumerate() {
            assert!(!k.as_str().contains(':'), "{k}");
            assert_eq!(k.to_string(), k.as_str());
            assert!(ALL[..i].iter().all(|o| o.as_str() != k.as_str()), "{k}");
        }
    }

    #[test]
    fn serialises_as_its_display_text() {
        let evidence = vec![
            Evidence::new(EvidenceKind::Sni, "g.whatsapp.net"),
            Evidence::new(EvidenceKind::Port, "tcp/5222 WhatsApp|XMPP"),
            Evidence::flag(EvidenceKind::Rtp),
            Evidence::new(EvidenceKind::StunRealm, "a \"quoted\" realm"),
        ];
        let texts: Vec<String> = evidence.iter().map(ToString::to_string).collect();
        assert_eq!(
            serde_json::to_string(&evidence).unwrap(),
            serde_json::to_string(&texts).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&evidence[0]).unwrap(),
            serde_json::Value::String("sni:g.whatsapp.net".into())
        );
        // Round trip: the serialised text splits back into the same kind and detail.
        for e in &evidence {
            let s: String = serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap();
            let (prefix, detail) = s.split_once(':').unwrap_or((s.as_str(), ""));
            let kind = ALL.iter().find(|k| k.as_str() == prefix).unwrap();
            assert_eq!(&Evidence::new(*kind, detail), e);
        }
    }
}
