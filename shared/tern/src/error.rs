//! Tern call failures, split into the ones worth retrying and the ones that are not.

use std::time::Duration;

use tonic::{Code, Status};

use crate::endpoints::EndpointError;

#[derive(Debug, thiserror::Error)]
pub enum TernError {
    /// Configuration: no usable endpoint for the deployment/environment. Permanent.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// Tern could not be reached or said it is unavailable. Transient.
    #[error("tern unavailable: {0}")]
    Unavailable(String),
    /// The connection broke or the call was cut short on our side. Transient.
    #[error("tern transport error ({code:?}): {message}")]
    Transport { code: Code, message: String },
    /// No answer within the request timeout. Transient; the request may still have been applied.
    #[error("tern did not answer within {0:?}")]
    Timeout(Duration),
    /// Tern answered with an error status (InvalidArgument, NotFound, Internal, ...). Permanent.
    #[error("tern rejected the request ({:?}): {}", .0.code(), .0.message())]
    Rejected(Status),
    /// Tern answered, but with something this client cannot use (e.g. an accepted apply without id).
    #[error("tern returned an unusable response: {0}")]
    InvalidResponse(String),
}

impl TernError {
    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TernError::Unavailable(_) | TernError::Transport { .. } | TernError::Timeout(_)
        )
    }

    /// Classifies a status returned by a tonic call.
    ///
    /// A status produced locally by the transport carries its cause as `source()`; one sent by
    /// the server never does. That separates "the connection broke" from "Tern said no".
    pub fn from_status(status: Status) -> TernError {
        if caused_by_client_timeout(&status) {
            return TernError::Timeout(Duration::ZERO);
        }
        match status.code() {
            Code::Unavailable => TernError::Unavailable(with_causes(&status)),
            // Tern's own deadline, or ours propagated in grpc-timeout.
            Code::DeadlineExceeded => TernError::Timeout(Duration::ZERO),
            // Back-pressure and aborted attempts are retryable by gRPC's own guidance.
            Code::ResourceExhausted | Code::Aborted => TernError::Transport {
                code: status.code(),
                message: with_causes(&status),
            },
            _ if std::error::Error::source(&status).is_some() => TernError::Transport {
                code: status.code(),
                message: with_causes(&status),
            },
            _ => TernError::Rejected(status),
        }
    }
}

/// The status message and, for a local failure, its causes: tonic's own message is often just
/// "transport error", the reason (a TLS alert, a refused certificate) is in the chain.
fn with_causes(status: &Status) -> String {
    match std::error::Error::source(status) {
        Some(cause) => {
            let causes = crate::tls::describe(cause);
            if status.message().is_empty() || causes.contains(status.message()) {
                causes
            } else {
                format!("{}: {causes}", status.message())
            }
        }
        None => status.message().to_string(),
    }
}

/// tonic enforces the request's deadline itself and reports it as `Cancelled` with a
/// `TimeoutExpired` cause.
fn caused_by_client_timeout(status: &Status) -> bool {
    std::iter::successors(std::error::Error::source(status), |error| error.source())
        .any(|error| error.is::<tonic::TimeoutExpired>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_and_deadline_are_transient() {
        let err = TernError::from_status(Status::unavailable("connection refused"));
        assert!(matches!(err, TernError::Unavailable(_)));
        assert!(err.is_transient());

        let err = TernError::from_status(Status::deadline_exceeded("too slow"));
        assert!(matches!(err, TernError::Timeout(_)));
        assert!(err.is_transient());

        assert!(TernError::from_status(Status::resource_exhausted("busy")).is_transient());
        assert!(TernError::from_status(Status::aborted("retry")).is_transient());
    }

    #[test]
    fn server_refusals_are_permanent() {
        for status in [
            Status::invalid_argument("bad apply id"),
            Status::not_found("apply apply-0123456789abcdef not found"),
            Status::internal("apply apply-0123456789abcdef not found"),
            Status::failed_precondition("not waiting"),
            Status::permission_denied("no"),
            Status::unknown("server said unknown"),
        ] {
            let code = status.code();
            let err = TernError::from_status(status);
            assert!(
                matches!(&err, TernError::Rejected(s) if s.code() == code),
                "{code:?} should be Rejected, got {err:?}"
            );
            assert!(!err.is_transient());
        }
    }

    #[test]
    fn locally_produced_statuses_are_transport_errors() {
        // What tonic builds from an unrecognised local failure: Unknown, with the cause as source.
        let status = Status::from_error(Box::new(std::fmt::Error));
        assert_eq!(status.code(), Code::Unknown);
        let err = TernError::from_status(status);
        assert!(matches!(err, TernError::Transport { .. }), "{err:?}");
        assert!(err.is_transient());
    }

    #[test]
    fn local_failures_carry_their_causes() {
        #[derive(Debug)]
        struct Transport(std::io::Error);
        impl std::fmt::Display for Transport {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("transport error")
            }
        }
        impl std::error::Error for Transport {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let cause = std::io::Error::other("received fatal alert: CertificateRequired");
        let status = Status::from_error(Box::new(Transport(cause)));
        let err = TernError::from_status(status);
        assert_eq!(
            err.to_string(),
            "tern transport error (Unknown): transport error: received fatal alert: CertificateRequired"
        );
        assert!(err.is_transient());
    }

    #[test]
    fn tonic_deadline_expiry_is_a_timeout() {
        let status = Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(status.code(), Code::Cancelled);
        let err = TernError::from_status(status);
        assert!(matches!(err, TernError::Timeout(_)), "{err:?}");
        assert!(err.is_transient());
    }

    #[test]
    fn configuration_errors_are_permanent() {
        let err = TernError::from(EndpointError::UnknownDeployment("x".into()));
        assert!(!err.is_transient());
        assert_eq!(err.to_string(), "unknown deployment: x");
    }

    #[test]
    fn rejected_display_shows_code_and_message() {
        let err = TernError::from_status(Status::invalid_argument("database is required"));
        assert_eq!(
            err.to_string(),
            "tern rejected the request (InvalidArgument): database is required"
        );
    }
}
