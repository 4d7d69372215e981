//! A finished flow's record with what naming found: the handshake fields read in the clear and
//! the service decided, in the shared form of [`FlowRecord`].

use super::attribute::Attribution;
use super::namer::HasNaming;
use crate::dissect::quic::QuicVersionKind;
use crate::flow::{EndReason, Flow};
use crate::model::FlowRecord;

/// Naming's constructor of the shared record, kept here so the record type knows nothing of
/// naming.
impl FlowRecord {
    /// A flow with what the dissectors found and the service decided.
    pub fn named<T: HasNaming>(flow: &Flow<T>, reason: EndReason, a: Attribution) -> Self {
        let mut r = Self::from_flow(flow, reason);
        let n = flow.ext.as_ref();
        if let Some(h) = &n.hello {
            r.sni.clone_from(&h.sni);
            r.alpn.clone_from(&h.alpn);
            r.tls_version = h.tls_version.map(|v| v.to_string());
            r.ech = h.ech;
        }
        r.quic_version = n.quic_version.map(|v| QuicVersionKind::of(v).to_string());
        r.dns_name = n.dns_name.clone().or_else(|| n.dns_query.clone());
        r.stun = n.stun.as_ref().map(|s| s.summary());
        r.service = a.service;
        r.service_role = a.role;
        r.service_evidence = a.evidence;
        r.confidence = a.confidence;
        r.company_services = a.company_services;
        r.asn = a.remote.asn;
        r.as_org = a.remote.as_org;
        r.country = a.remote.country;
        r.city = a.remote.city;
        r
    }
}
