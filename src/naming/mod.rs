//! Naming: which service is behind a flow, and with what evidence.
//!
//! It exists to turn what the dissectors read in the clear (server names, DNS answers, STUN
//! markers, protocol prologues) plus the address databases (published ranges, AS, GeoIP) into
//! one decision per flow, strongest evidence first (docs/naming.md). It must never keep payload
//! bytes, never look at more than the first packets of a flow, and never make a network
//! connection (no reverse DNS, no downloads): every fact it uses is bundled data in assets/.

pub mod attribute;
pub mod catalog;
pub mod directory;
pub mod geo;
pub mod namer;
mod record;

pub use attribute::{Attribution, Attributor};
pub use namer::{
    DISSECT_PACKET_LIMIT, FlowNaming, HasNaming, Lending, Namer, NamingStats, StunSeen,
};
