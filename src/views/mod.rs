//! Views: what people read. Exports of flows and events (NDJSON and CSV) and the report
//! (text, Markdown, JSON); the dashboard joins them.
//!
//! Views only format what the analysis stages decided; they must never change a count or
//! decide anything themselves.

pub mod export;
pub mod report;
