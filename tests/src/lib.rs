//! Test support shared by the integration tests and the demo: local service discovery and the
//! stand-ins for Tern (gRPC, simulating Spirit against a real MariaDB) and GitHub (REST subset).

pub mod github_standin;
pub mod harness;
pub mod lambda_api;
pub mod plan_support;
pub mod progress_support;
pub mod schema_diff;
pub mod services;
pub mod tern_standin;
pub mod test_pki;
