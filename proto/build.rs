//! Compiles the `.proto` files with protox (pure Rust, no system `protoc`) and generates Rust with prost.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "tensorboard/compat/proto/event.proto",
        "tensorboard/compat/proto/summary.proto",
        "tensorboard/compat/proto/graph.proto",
        "tensorboard/compat/proto/meta_graph.proto",
        "tensorboard/compat/proto/run_metadata.proto",
        "tensorboard/plugins/custom_scalar/layout.proto",
        "tensorboard/plugins/pr_curve/plugin_data.proto",
        "tensorboard/plugins/audio/plugin_data.proto",
        "tensorboard/plugins/mesh/plugin_data.proto",
        "tensorboard/plugins/projector/projector_config.proto",
        "tensorboard/plugins/hparams/plugin_data.proto",
        "runboard/ingest.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-changed=tensorboard");
    println!("cargo:rerun-if-changed=runboard");
    println!("cargo:rerun-if-changed=build.rs");
    let descriptors = protox::compile(files, ["."])?;
    // The descriptors themselves, for code that reads protobuf text format (a projector config).
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("descriptors.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    prost_build::Config::new()
        // Keep `Summary.Value` small (it is decoded millions of times): box the big, rare parts
        // so a scalar value is not a 400-byte struct to move around.
        .boxed(".tensorboard.Summary.Value.metadata")
        .boxed(".tensorboard.Summary.Value.value.tensor")
        .boxed(".tensorboard.Summary.Value.value.histo")
        .boxed(".tensorboard.Summary.Value.value.image")
        .boxed(".tensorboard.Summary.Value.value.audio")
        // Tags as `bytes::Bytes`: decoding from a `Bytes` buffer slices instead of copying, and
        // a writer reuses one tag buffer for every value of a tag.
        .bytes([".tensorboard.Summary.Value.tag"])
        .compile_fds(descriptors)?;
    Ok(())
}
