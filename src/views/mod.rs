//! Views: what people read. Exports of flows (NDJSON and CSV) now; the report and the dashboard
//! join them as the analysis stages land.
//!
//! Views only format what the analysis stages decided; they must never change a count or
//! decide anything themselves.

pub mod export;
