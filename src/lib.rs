//! runboard: an experiment tracking and monitoring server, TensorBoard-compatible, full fidelity, live.
//!
//! ```text
//! training loop ── runboard-sdk ──┬─► tfevents files in a logdir ─► ingest (watch: one inotify
//!                                 │     watch a folder; tail: a file's identity, what changed) ─┐
//!                                 └─► HTTP batches ─► api::guard ─► api::ingest (awaits commit) ─┤
//! GPU (NVML or simulated) ─► gpu (the `system` run) ───────────────────────────────────────────┤
//!                                                                                               ▼
//!                  store::writer (one thread, one transaction per flush, continuity checked) ─► SQLite
//!                                │ committed changes                          store::codec ◄──┘
//!                                └─► api::sse (live stream)
//!    browser ◄── static/ dashboard ◄── api (guard, routes in api/mod.rs, v1, wire, chart, tb)
//!                                         ◄── store::query (a bounded pool of readers)
//!    files   ◄── export (select, points, tfevents, charts, files) ◄── store::query
//! ```
//! Names and kinds are checked once where they enter and typed after ([`types`]: `RunName`,
//! `Kind`, `MaxPoints`). Every value but a scalar enters and leaves SQLite through one codec
//! ([`store::codec`]: the writer encodes, queries, the API and export decode); every number
//! leaves as text through [`mod@format`] (Python's `repr` where TensorBoard's format is promised:
//! its `/data` API and the CSV export; the shortest round-trip text in runboard's JSON). Every
//! request passes [`api::guard`] before any handler, and the whole route table is in
//! [`api`]'s `routes`.
//!
//! The event-file core (framing, decoding, writing) lives in the `runboard-sdk` crate and is
//! shared with the server. This crate holds the server ([`server`]: `run` for `runboard serve`
//! and `runboard demo`, [`store`], [`ingest`], [`api`] with the dashboard embedded from
//! `static/`), the command line ([`cli`]), `inspect` ([`inspect`]), GPU sampling ([`gpu`]),
//! `runboard demo` ([`demo`]) and the headless `export` command ([`export`]) with the chart
//! drawing it shares with the API ([`chart`]).

pub mod api;
pub mod chart;
pub mod cli;
pub mod custom_scalars;
pub mod demo;
pub mod export;
pub mod format;
pub mod gpu;
pub mod graphs;
pub mod hparams;
pub mod ingest;
pub mod inspect;
pub mod projector;
pub mod runs;
pub mod server;
pub mod store;
pub mod types;
