//! Tern gRPC (`tern.v1.Tern`) for SchemaBot: the generated wire types, client and server
//! ([`proto`]), endpoint configuration ([`TernEndpoints`]) and a typed, cached client
//! ([`TernClient`]).

pub mod client;
pub mod endpoints;
mod error;
pub mod report;
pub mod request;
pub mod tls;

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

pub use client::{TernClient, TernClientConfig};
pub use endpoints::{EndpointError, EndpointSettings, TernEndpoints, TERN_ENDPOINTS_ENV};
pub use error::TernError;
pub use report::{ProgressReport, TableReport, ENGINE_IDLE_SUMMARY};
pub use request::{
    schema_files_to_wire, ApplyOutcome, ApplySpec, Caller, Control, ControlOutcome, CutoverOutcome,
    SchemaDiff, TernTarget,
};
pub use tls::{EndpointSetting, EndpointSpec, TernEndpoint, TlsMaterial, TlsSources};

#[cfg(test)]
mod contract_tests;
