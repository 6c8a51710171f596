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
    TableReport, TernClient, TernClientConfig, TernTarget, ENGINE_IDLE_SUMMARY,
};
pub use endpoints::{EndpointError, TernEndpoints, TERN_ENDPOINTS_ENV};
pub use error::TernError;

#[cfg(test)]
mod wire_tests {
    //! Spot checks that the generated types carry the contract's field numbers.
    use super::proto;
    use prost::Message;

    /// Encodes one field and returns its tag byte (field number << 3 | wire type).
    fn first_tag(message: &impl Message) -> u8 {
        message.encode_to_vec()[0]
    }

    #[test]
    fn field_numbers_match_the_contract() {
        let table = proto::TableProgress {
            ready_to_complete: true,
            ..Default::default()
        };
        assert_eq!(table.encode_to_vec(), vec![14 << 3, 1]);

        let plan = proto::PlanRequest {
            target: "main".into(),
            ..Default::default()
        };
        assert_eq!(first_tag(&plan), (8 << 3) | 2);

        let applied = proto::ApplyResponse {
            apply_id: "apply-0123456789abcdef".into(),
            ..Default::default()
        };
        assert_eq!(first_tag(&applied), (3 << 3) | 2);

        let volume = proto::VolumeRequest {
            apply_id: "a".into(),
            ..Default::default()
        };
        assert_eq!(first_tag(&volume), (5 << 3) | 2);

        let progress = proto::ProgressResponse {
            metadata: [("k".to_string(), "v".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(first_tag(&progress), (10 << 3) | 2);
    }

    #[test]
    fn enum_values_match_the_contract() {
        assert_eq!(proto::State::NoActiveChange as i32, 0);
        assert_eq!(proto::State::WaitingForCutover as i32, 3);
        assert_eq!(proto::State::CreatingDeployRequest as i32, 13);
        assert_eq!(proto::State::WaitingForDeploy as i32, 14);
        assert_eq!(proto::State::ValidatingBranch as i32, 16);
        assert_eq!(proto::Engine::Planetscale as i32, 1);
        assert_eq!(proto::ChangeType::Vschema as i32, 4);
        assert_eq!(
            proto::State::WaitingForCutover.as_str_name(),
            "STATE_WAITING_FOR_CUTOVER"
        );
    }
}
