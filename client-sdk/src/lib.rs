//! runboard's SDK: TensorBoard-compatible event files from any Rust training loop.
//!
//! ```text
//! training loop ── SummaryWriter / Run ── queue ──► writer thread ── summary ── event_file ── record ──► tfevents file
//!                                                                                                         │
//!            server, export, tools ◄── event (EventDecoder: every writer's encoding) ◄── record (RecordReader) ◄┘
//! ```
//! - [`record`]: TFRecord framing and the incremental, corruption-tolerant reader.
//! - [`event`]: decoding of every summary encoding real writers produce into one typed model.
//! - [`summary`]: the protobuf values runboard writes for each kind.
//! - [`event_file`]: file naming, a synchronous event-file writer, a whole-file reader.
//! - [`SummaryWriter`]: tensorboardX/torch-style logging on a background thread.
//! - [`Run`]: wandb-style `init` / `log` / `finish`.
//! - [`remote`]: streaming to a runboard server (`RUNBOARD_URL`), spooled and acknowledged.
//! - [`run_record`]: the run's own events: what ran from which code (git, host, command),
//!   its status (running, finished, crashed), config, summary and metric goals.
//! - `tensor` (feature `tch`): logging tch tensors as scalars and histograms.

pub mod event;
pub mod event_file;
pub mod fmt;
pub mod gpu;
pub mod hparams;
pub mod mesh;
#[cfg(feature = "tch")]
pub mod model;
pub mod projector;
pub mod record;
pub mod remote;
pub mod run;
pub mod run_record;
pub mod summary;
#[cfg(feature = "tch")]
pub mod tensor;
#[cfg(test)]
mod test_server;
pub mod writer;

pub use event::{DecodedEvent, EventDecoder, HParamValue, TaggedValue, Value};
pub use run::{Run, RunError};
pub use run_record::Goal;
pub use runboard_proto as proto;
pub use writer::{SummaryWriter, WriterError, WriterOptions};

/// The README's Rust snippets, compiled as doc tests: every one of them builds.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeSnippets;

/// The snippet the empty dashboard shows (`static/first-run.rs`), compiled as a doc test.
#[cfg(doctest)]
#[doc = concat!("```no_run\n", include_str!("../../static/first-run.rs"), "\n```")]
pub struct FirstRunSnippet;
