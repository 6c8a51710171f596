//! Generates the `tern.v1` client and server from the project's own `.proto`.
//! The `.proto` is parsed by `protox` (pure Rust), so no system `protoc` is needed. The
//! descriptor set the code is generated from is kept in `OUT_DIR` for the contract test.

use std::error::Error;
use std::path::PathBuf;

use prost::Message;

const PROTO_ROOT: &str = "proto";
const TERN_PROTO: &str = "proto/tern/v1/tern.proto";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={TERN_PROTO}");
    let descriptors = protox::compile([TERN_PROTO], [PROTO_ROOT])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("tern_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
