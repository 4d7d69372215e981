//! The observer model: from flows and events to what a person on the path now knows about the
//! user, as ranked findings, each resting on evidence (event ids and flows).
//!
//! The report (`onlooker report`) and the dashboard's Observer tab both read this model, so
//! they always agree. This module must never invent a claim without evidence, and never
//! decide anything the activity model did not (it words and ranks; it does not infer).
//!
//! (Skeleton: the types the dashboard draws from; the model is being written.)

use crate::activity::Event;
use crate::views::export::FlowRecord;

/// One thing the observer learned.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    /// How revealing it is, 0 to 1; findings are ordered by it, highest first.
    pub score: f64,
    /// One plain sentence ("Tue 21:04-21:37: a 33-minute WhatsApp video call, direct to ...").
    pub sentence: String,
    /// The events it rests on.
    pub events: Vec<u64>,
    /// The flows it rests on, as events name them ("proto client server first_ts").
    pub flows: Vec<String>,
}

/// How findings are worded.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Time zone for times in sentences (IANA name); the local zone when `None`.
    pub tz: Option<String>,
    /// Hide addresses and host names of the local side and of direct peers.
    pub redact: bool,
}

/// The most revealing findings, highest first.
pub fn headline<'a>(
    _flows: impl IntoIterator<Item = &'a FlowRecord>,
    _events: &[Event],
    _opts: &Options,
) -> Vec<Finding> {
    Vec::new()
}
