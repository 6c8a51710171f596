//! Generates the `tern.v1` client and server from the project's own `.proto`.
//! The `.proto` is parsed by `protox` (pure Rust), so no system `protoc` is needed.

use std::error::Error;

const PROTO_ROOT: &str = "proto";
const TERN_PROTO: &str = "proto/tern/v1/tern.proto";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={TERN_PROTO}");
    let descriptors = protox::compile([TERN_PROTO], [PROTO_ROOT])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
