//! How revealing each kind of finding is, 0 to 1. The order is the issue's: a direct call
//! exposing the peer's address > a call > media > the messaging rhythm > services used >
//! DNS/SNI leaks. The values are a ranking, not a measurement.
pub const DIRECT_CALL: f64 = 0.95;
pub const VIDEO_CALL: f64 = 0.88;
pub const VOICE_CALL: f64 = 0.85;
pub const MEDIA: f64 = 0.72;
pub const MESSAGES: f64 = 0.68;
pub const CALL_ATTEMPT: f64 = 0.62;
pub const DAYS: f64 = 0.60;
pub const RHYTHM: f64 = 0.56;
/// An event kind the observer has no wording of its own for.
pub const OTHER_ACTIVITY: f64 = 0.52;
/// Typing indicators and read receipts: the activity model gives them 0.3-0.5 confidence
/// (docs/activity-model.md), so they rank below every finding the observer is sure of and
/// never push a call, a message run or a push wakeup out of the headline.
pub const SIZE_HINT: f64 = 0.28;
pub const SERVICE_ACTIVE: f64 = 0.50;
pub const SERVICE_CONTACTED: f64 = 0.46;
pub const DESTINATIONS: f64 = 0.42;
pub const SERVICE_DNS_ONLY: f64 = 0.40;
pub const DNS: f64 = 0.36;
pub const TLS: f64 = 0.34;
pub const LOCAL_NAMES: f64 = 0.30;
pub const DEVICE: f64 = 0.25;
/// Added within a kind for longer calls and larger transfers (at most), so that the
/// biggest of a kind comes first.
pub const SIZE_BONUS: f64 = 0.03;
/// Added to a call's score when it went direct to a private address: the observer learns
/// that the peer is nearby, but no network or place (so it stays below [`DIRECT_CALL`]).
pub const PRIVATE_PEER: f64 = 0.02;
