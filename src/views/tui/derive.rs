//! The work derived from one snapshot for the tabs that summarise it: the counters of the
//! status bar and Observer tab, the observer's model (every finding and what would have hidden
//! it, built by [`crate::observer`] as for the report), the countries of the Map, the service
//! lanes of the Timeline, and which events rest on each flow.
//!
//! It exists so that this counting is done once per snapshot (on the worker thread, see
//! [`super::prepare`]), never per frame. It never decides anything: it counts and groups what
//! the snapshot holds (the analysis already named every service and event), and it must never
//! depend on the view's sort, filter or selection.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::places::{self, Centroid};
use crate::model::{EventKind, FlowRef, PeerKind};
use crate::observer::Model;
use crate::observer::digest::Digest;
use crate::observer::words::Zone;
use crate::session::Snapshot;

/// The observer's model of a snapshot, as the report builds it: the Observer tab lists its
/// findings and mitigations, and the export key writes its report. Two are equal when their
/// findings and mitigations are.
#[derive(Clone, Debug, Default)]
pub struct Observed(pub Option<Arc<Model>>);

impl PartialEq for Observed {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => {
                a.findings == b.findings
                    && a.mitigations
                        .iter()
                        .map(|m| (m.key, &m.findings))
                        .eq(b.mitigations.iter().map(|m| (m.key, &m.findings)))
            }
            (None, None) => true,
            _ => false,
        }
    }
}

/// What the status bar and the Observer tab count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub services: usize,
    pub messages_out: usize,
    pub messages_in: usize,
    pub voice_calls: usize,
    pub video_calls: usize,
    pub call_attempts: usize,
    pub media_up: usize,
    pub media_down: usize,
    pub media_bytes: u64,
    pub bytes: u64,
}

/// A country the traffic goes to.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    pub code: String,
    pub centroid: Option<Centroid>,
    pub flows: usize,
    pub bytes: u64,
    /// Calls through a relay server there, and calls direct to a peer there.
    pub relays: usize,
    pub directs: usize,
    /// The service with most bytes there.
    pub top_service: Option<String>,
}

/// One timeline lane: a service, its events, and when its flows were open.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lane {
    pub service: String,
    /// Indexes into the snapshot's events.
    pub events: Vec<u32>,
    /// Merged (start, end) spans of the service's flows, sorted.
    pub activity: Vec<(f64, f64)>,
}

/// Work derived from one snapshot.
#[derive(Debug, Default, PartialEq)]
pub struct Derived {
    pub counters: Counters,
    pub places: Vec<Place>,
    pub lanes: Vec<Lane>,
    /// Flow reference ("proto client server first_ts") → ids of the events resting on it.
    pub flow_events: HashMap<FlowRef, Vec<u64>>,
    pub first_ts: f64,
    pub last_ts: f64,
    /// The observer's model of the snapshot (findings in the zone of the dashboard's clock).
    pub observed: Observed,
}

/// The counters, places, lanes and flow → events map of `snap`, and its observer model with
/// times in `zone`.
pub(super) fn derive(snap: &Snapshot, zone: &Zone) -> Derived {
    let mut d = Derived::default();
    let digest = Digest::from_flows(snap.flows.iter().map(|f| f.as_ref()));
    d.observed = Observed(Some(Arc::new(Model::build(
        &digest,
        &snap.events,
        zone,
        false,
    ))));
    let mut services: BTreeMap<&str, (usize, Vec<u32>)> = BTreeMap::new();
    let mut bytes_by_flows = 0u64;
    let mut places: BTreeMap<&str, (Place, BTreeMap<&str, u64>)> = BTreeMap::new();
    let mut spans: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for f in &snap.flows {
        let b = f.bytes_up + f.bytes_down;
        bytes_by_flows += b;
        if let Some(s) = f.service.as_deref() {
            services.entry(s).or_default();
            spans.entry(s).or_default().push((f.first_ts, f.last_ts));
        }
        if let Some(c) = f.country.as_deref() {
            let (p, svc) = places.entry(c).or_insert_with(|| {
                (
                    Place {
                        code: c.to_string(),
                        centroid: places::centroid(c),
                        flows: 0,
                        bytes: 0,
                        relays: 0,
                        directs: 0,
                        top_service: None,
                    },
                    BTreeMap::new(),
                )
            });
            p.flows += 1;
            p.bytes += b;
            if let Some(s) = f.service.as_deref() {
                *svc.entry(s).or_default() += b;
            }
        }
    }
    let c = &mut d.counters;
    for (i, e) in snap.events.iter().enumerate() {
        match e.kind {
            EventKind::MessageOut => c.messages_out += 1,
            EventKind::MessageIn => c.messages_in += 1,
            EventKind::VoiceCall => c.voice_calls += 1,
            EventKind::VideoCall => c.video_calls += 1,
            EventKind::CallAttempt => c.call_attempts += 1,
            EventKind::MediaUpload => c.media_up += 1,
            EventKind::MediaDownload => c.media_down += 1,
            _ => {}
        }
        if e.kind.is_media() {
            c.media_bytes += e.bytes_out + e.bytes_in;
        }
        if let Some(s) = e.service.as_deref() {
            let entry = services.entry(s).or_default();
            entry.0 += 1;
            entry.1.push(i as u32);
        }
        if let (Some(kind), Some(cc)) = (e.peer_kind, e.peer_country.as_deref()) {
            if let Some((p, _)) = places.get_mut(cc) {
                match kind {
                    PeerKind::Relay => p.relays += 1,
                    PeerKind::Direct => p.directs += 1,
                    // The country of a remote that is neither a known relay nor a known
                    // device says nothing about where the peer is.
                    PeerKind::Unknown => {}
                }
            }
        }
        for f in &e.flows {
            d.flow_events.entry(*f).or_default().push(e.id);
        }
    }
    c.services = services.len();
    c.bytes = if snap.bytes > 0 {
        snap.bytes
    } else {
        bytes_by_flows
    };
    d.lanes = lanes(services, spans);
    d.places = ranked(places);
    d.first_ts = snap
        .first_ts
        .or_else(|| snap.flows.iter().map(|f| f.first_ts).reduce(f64::min))
        .unwrap_or(0.0);
    d.last_ts = snap
        .position_ts
        .or_else(|| snap.flows.iter().map(|f| f.last_ts).reduce(f64::max))
        .unwrap_or(d.first_ts);
    d
}

/// One lane per service from its event count, its events and its flows' spans (merged), the
/// services with most events first.
fn lanes(
    services: BTreeMap<&str, (usize, Vec<u32>)>,
    mut spans: BTreeMap<&str, Vec<(f64, f64)>>,
) -> Vec<Lane> {
    let mut lanes: Vec<(usize, Lane)> = services
        .into_iter()
        .map(|(s, (n, events))| {
            let mut spans = spans.remove(s).unwrap_or_default();
            spans.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut merged: Vec<(f64, f64)> = Vec::new();
            for (a, b) in spans {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            (
                n,
                Lane {
                    service: s.to_string(),
                    events,
                    activity: merged,
                },
            )
        })
        .collect();
    // Services with the most events first; then by name.
    lanes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.service.cmp(&b.1.service)));
    lanes.into_iter().map(|(_, l)| l).collect()
}

/// The places with their top service, most bytes first.
fn ranked(places: BTreeMap<&str, (Place, BTreeMap<&str, u64>)>) -> Vec<Place> {
    let mut places: Vec<Place> = places
        .into_values()
        .map(|(mut p, svc)| {
            p.top_service = svc
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                .map(|(s, _)| s.to_string());
            p
        })
        .collect();
    places.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.code.cmp(&b.code)));
    places
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::tui::fixtures::sample;

    #[test]
    fn derived_counts_places_and_lanes() {
        let snap = sample();
        let d = derive(&snap, &Zone::utc());
        assert_eq!(d.counters.services, 2);
        assert_eq!(d.counters.bytes, 500 + 9000 + 50 + 7000);
        let codes: Vec<&str> = d.places.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes, vec!["DE", "PT", "US"], "by bytes, most first");
        assert!(d.places.iter().all(|p| p.centroid.is_some()));
        let lanes: Vec<&str> = d.lanes.iter().map(|l| l.service.as_str()).collect();
        assert_eq!(lanes, vec!["Signal", "WhatsApp"]);
        // WhatsApp's two flows (1000-1010 and 1003-1010) merge into one span.
        assert_eq!(d.lanes[1].activity, vec![(1000.0, 1010.0)]);
    }
}
