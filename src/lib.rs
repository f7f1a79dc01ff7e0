//! runboard: an experiment tracking and monitoring server, TensorBoard-compatible, full fidelity, live.
//!
//! ```text
//! training loop ── runboard-sdk ──┬─► tfevents files in a logdir ──► ingest (tails files) ──┐
//!                                 └─► HTTP batches ─────────────────► api::ingest ──────────┤
//!                                                                                          ▼
//!                                      store::writer (one thread, one transaction a flush) ─► SQLite
//!                                                                                          │
//!    browser ◄── dashboard ◄── api (JSON + SSE, charts) ◄── store::query ◄─────────────────┤
//!    files   ◄── export (csv, json, tfevents; png/svg via chart) ◄── store::query ◄────────┘
//! ```
//! Every value but a scalar enters and leaves SQLite through one codec ([`store::codec`]: the
//! writer encodes, queries, the API and export decode); every number leaves as text through
//! [`format`] (Python's `repr` where TensorBoard's format is promised: its `/data` API and the
//! CSV export; the shortest round-trip text in runboard's JSON).
//! The event-file core (framing, decoding, writing) lives in the `runboard-sdk` crate and is
//! shared with the server. This crate holds the server ([`server`], [`store`], [`ingest`],
//! [`api`] with the dashboard embedded from `static/`), the command line ([`cli`]), `inspect`
//! ([`inspect`]), GPU sampling ([`gpu`]), `runboard demo` ([`demo`]) and the headless `export`
//! command ([`export`]) with the chart drawing it shares with the API ([`chart`]).

pub mod api;
pub mod chart;
pub mod cli;
pub mod demo;
pub mod export;
pub mod format;
pub mod gpu;
pub mod ingest;
pub mod inspect;
pub mod server;
pub mod store;
pub mod types;
