//! TLS for Tern endpoints. One environment's endpoint is configured either as a URI string or as
//! an object that also says where its CA bundle and client identity come from: files (local
//! runs) or Secrets Manager secrets (AWS, fetched by the worker at start-up into
//! [`TlsSources`]). Either way it resolves to a [`TernEndpoint`] whose [`TlsMaterial`] is PEM,
//! checked before any call.

mod config;
mod material;
mod resolve;
mod sources;
mod uri;

#[cfg(test)]
mod test_support;

pub use config::{EndpointSetting, EndpointSpec};
pub use material::TlsMaterial;
pub use resolve::TernEndpoint;
pub use sources::TlsSources;

pub(crate) use uri::{describe, normalise_uri, Transport};
