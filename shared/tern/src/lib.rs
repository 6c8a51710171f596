//! Tern gRPC (`tern.v1.Tern`) for SchemaBot: the generated wire types, client and server
//! ([`proto`]), endpoint configuration ([`TernEndpoints`]) and a typed, cached client
//! ([`TernClient`]).

pub mod client;
pub mod endpoints;
mod error;

/// Code generated from `proto/tern/v1/tern.proto` (messages, `tern_client`, `tern_server`).
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    rustdoc::all,
    unreachable_pub
)]
pub mod proto {
    tonic::include_proto!("tern.v1");
}

pub use client::{
    ApplyOutcome, ApplySpec, CutoverOutcome, CutoverTarget, ProgressReport, ProgressTarget,
    ReportedState, TableReport, TernClient, TernClientConfig, TernTarget,
};
pub use endpoints::{EndpointError, TernEndpoints};
pub use error::TernError;
