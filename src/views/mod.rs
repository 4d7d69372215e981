//! Views: what people read. Exports of flows and events (NDJSON and CSV), events as a table,
//! the report (text, Markdown, JSON) and the terminal dashboard (`tui`).
//!
//! Views only format what the analysis stages decided; they must never change a count or
//! decide anything themselves.

pub mod export;
pub mod html;
pub mod progress;
pub mod report;
pub mod rows;
pub mod table;
pub mod tui;
