//! Views: what people read. Exports of flows (NDJSON and CSV), the terminal dashboard (`tui`),
//! and the report as the analysis stages land.
//!
//! Views only format what the analysis stages decided; they must never change a count or
//! decide anything themselves.

pub mod export;
pub mod tui;
