//! The headline: the most revealing findings, a few of each kind, as the report's summary and
//! the dashboard's Observer tab show them.

use std::collections::BTreeMap;

use super::digest::Digest;
use super::words::Zone;
use super::{Finding, Model, Options};
use crate::model::{Event, FlowRecord};

/// Findings in the headline: the issue asks for the five to seven most revealing.
pub const HEADLINE_MAX: usize = 7;
/// At most this many findings of one kind in the headline, so that ten media transfers do not
/// push the call and the messaging rhythm out of it.
pub const HEADLINE_PER_KIND: usize = 2;

/// The most revealing findings, highest first.
pub fn headline<'a>(
    flows: impl IntoIterator<Item = &'a FlowRecord>,
    events: &[Event],
    opts: &Options,
) -> Vec<Finding> {
    let digest = Digest::from_flows(flows);
    let zone = Zone::resolve(opts.tz.as_deref()).unwrap_or_else(|_| Zone::utc());
    Model::build(&digest, events, &zone, opts.redact).headline
}

/// The headline of `sorted` (findings ordered highest first): at most [`HEADLINE_MAX`], at
/// most [`HEADLINE_PER_KIND`] of one kind, and no sentence twice.
pub(super) fn pick_headline(sorted: &[Finding]) -> Vec<Finding> {
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for f in sorted {
        if out.len() >= HEADLINE_MAX {
            break;
        }
        // Two events worded alike (two streams of one call the activity model did not join)
        // would read as a repeated line; the second stays in the full list.
        if out.iter().any(|o: &Finding| o.sentence == f.sentence) {
            continue;
        }
        let n = per_kind.entry(f.kind.as_str()).or_default();
        if *n < HEADLINE_PER_KIND {
            *n += 1;
            out.push(f.clone());
        }
    }
    out
}
