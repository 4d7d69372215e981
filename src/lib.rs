//! onlooker: what a network observer learns about end-to-end-encrypted messaging from metadata.
//!
//! Data flows one way through the stages below, each a module:
//! `capture` (packet sources) → `decode` (link, IP and transport headers) → `flow` (the flow
//! table) → `dissect` (naming what is behind a flow) → views (`views`: exports, and later the
//! report and the dashboard). `pipeline` wires the stages together; `cli` is the command line.
//!
//! Packet timestamps are the only clock used in analysis, so a replayed capture and the same
//! traffic seen live give the same answers.

pub mod activity;
pub mod analysis;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod dissect;
pub mod flow;
pub mod model;
pub mod naming;
pub mod observer;
pub mod sandbox;
pub mod scenario;
pub mod session;
pub mod views;
