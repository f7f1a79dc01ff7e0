//! Compiles the `.proto` files with protox (pure Rust, no system `protoc`) and generates Rust with prost.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "tensorboard/compat/proto/event.proto",
        "tensorboard/compat/proto/summary.proto",
        "tensorboard/plugins/hparams/plugin_data.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-changed=tensorboard");
    let descriptors = protox::compile(files, ["."])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
