//! The values every stage after the flow table shares: the record of a finished flow, an
//! inferred event, and the small typed words they carry.
//!
//! It exists so that naming, activity, the observer and the views agree on one shape without
//! importing each other. It must never compute anything: no rules, no lookups, no text for
//! people (views make the text); only data, its serde form, and checked conversions.

mod event;
mod evidence;
mod record;
mod role;

pub use event::Event;
pub use evidence::{Evidence, EvidenceKind};
pub use record::FlowRecord;
pub use role::Role;
