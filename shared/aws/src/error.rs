//! Store errors, split into what a caller may retry (throttling, 5xx, timeouts, transaction
//! conflicts) and what it must not (validation, undecodable items).

use crate::codec::DecodeError;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::fmt::Debug;

/// Error codes DynamoDB and SQS use for conditions that go away by themselves.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottlingError",
    "RequestThrottled",
    "ProvisionedThroughputExceededException",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionConflict",
    "TransactionConflictException",
    "TransactionInProgressException",
    "KmsThrottled",
];

pub(crate) fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code)
}

/// A failed AWS request: the operation, the error code to report, the message, and whether the
/// same request may succeed later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed{} ({code}): {message}", if *.transient { " transiently" } else { "" })]
pub struct SdkFailure {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
    pub transient: bool,
}

impl SdkFailure {
    pub fn new<E, R>(operation: &'static str, err: &SdkError<E, R>) -> SdkFailure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug,
    {
        let (code, transient) = match err {
            SdkError::TimeoutError(_) => ("Timeout".to_string(), true),
            SdkError::DispatchFailure(_) => ("DispatchFailure".to_string(), true),
            // An unparseable response is usually a truncated one (connection reset mid-body).
            SdkError::ResponseError(_) => ("ResponseError".to_string(), true),
            SdkError::ConstructionFailure(_) => ("ConstructionFailure".to_string(), false),
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or("Unknown").to_string();
                let transient = is_transient_code(&code);
                (code, transient)
            }
            _ => ("Unknown".to_string(), false),
        };
        SdkFailure {
            operation,
            code,
            message: DisplayErrorContext(err).to_string(),
            transient,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Transient ones are worth retrying (with backoff): throttling, a server error, a timeout, a
    /// lost connection or a transaction that kept colliding with another one. Retrying a
    /// permanent one will fail the same way.
    #[error("DynamoDB {0}")]
    Sdk(SdkFailure),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The caller asked for something the store cannot express (e.g. too many items for one
    /// transaction, or records that do not belong together).
    #[error("invalid store request: {0}")]
    InvalidRequest(String),
    /// Records in the table contradict each other (e.g. a cutover comment is already tracked for
    /// an apply that has not been cut over).
    #[error("inconsistent store: {0}")]
    Inconsistent(String),
    #[error("table {table} did not become ACTIVE within {seconds} s")]
    TableNotReady { table: String, seconds: u64 },
}

impl StoreError {
    /// Whether the same request may succeed when retried later.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Sdk(failure) => failure.transient,
            StoreError::TableNotReady { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug,
    {
        StoreError::Sdk(SdkFailure::new(operation, &err))
    }

    pub(crate) fn build(
        operation: &'static str,
        err: aws_smithy_types::error::operation::BuildError,
    ) -> StoreError {
        StoreError::Sdk(SdkFailure {
            operation,
            code: "BuildError".to_string(),
            message: err.to_string(),
            transient: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_failures_say_whether_they_are_transient() {
        let failure = |transient| {
            StoreError::Sdk(SdkFailure {
                operation: "Query",
                code: "Throttling".to_string(),
                message: "slow down".to_string(),
                transient,
            })
        };
        assert_eq!(
            failure(true).to_string(),
            "DynamoDB Query failed transiently (Throttling): slow down"
        );
        assert_eq!(
            failure(false).to_string(),
            "DynamoDB Query failed (Throttling): slow down"
        );
        assert!(failure(true).is_retryable());
        assert!(!failure(false).is_retryable());
    }
}
