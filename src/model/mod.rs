//! The values every stage after the flow table shares: the record of a finished flow, an
//! inferred event, and the small typed words they carry.
//!
//! It exists so that naming, activity, the observer and the views agree on one shape without
//! importing each other. It must never compute anything: no rules, no lookups, no text for
//! people (views make the text); only data, its serde form, and checked conversions.

mod event;
mod evidence;
mod flowref;
mod record;
mod role;
mod words;

pub use event::Event;
pub use evidence::{Evidence, EvidenceKind};
pub use flowref::{FlowRef, Proto};
pub use record::FlowRecord;
pub use role::Role;
pub use words::{Direction, EventKind, PeerKind, SizeClass};
