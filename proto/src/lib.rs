//! Generated protobuf types (prost) for TensorBoard's event format and runboard's own messages.
//!
//! The `.proto` files under `tensorboard/` keep TensorBoard's package names and field numbers,
//! so bytes written with these types are read by TensorBoard and vice versa.
#![allow(missing_docs, clippy::all)]

/// TensorBoard's `tensorboard` package: `Event`, `Summary`, `TensorProto`, ...
pub mod tensorboard {
    include!(concat!(env!("OUT_DIR"), "/tensorboard.rs"));

    /// The HParams plugin's messages (`tensorboard.hparams`).
    pub mod hparams {
        include!(concat!(env!("OUT_DIR"), "/tensorboard.hparams.rs"));
    }

    /// The projector's configuration (`tensorboard.projector`).
    pub mod projector {
        include!(concat!(env!("OUT_DIR"), "/tensorboard.projector.rs"));
    }

    /// The mesh plugin's metadata (`tensorboard.mesh`).
    pub mod mesh {
        include!(concat!(env!("OUT_DIR"), "/tensorboard.mesh.rs"));
    }
}

/// runboard's own messages (`runboard.ingest`): what the SDK streams to a server.
pub mod runboard {
    /// The ingest protocol: `Batch` in, `Ack` out.
    pub mod ingest {
        include!(concat!(env!("OUT_DIR"), "/runboard.ingest.rs"));
    }
}

/// Every compiled `.proto` file as a serialized `google.protobuf.FileDescriptorSet`, for
/// reflection (reading protobuf text format).
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

pub use prost;
pub use prost_types;
