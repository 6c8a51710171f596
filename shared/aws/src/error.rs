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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Worth retrying (with backoff): throttling, a server error, a timeout, a lost connection or
    /// a transaction that kept colliding with another one.
    #[error("DynamoDB {operation} failed transiently ({code}): {message}")]
    Transient {
        operation: &'static str,
        code: String,
        message: String,
    },
    /// Retrying the same request will fail the same way.
    #[error("DynamoDB {operation} failed ({code}): {message}")]
    Permanent {
        operation: &'static str,
        code: String,
        message: String,
    },
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
        matches!(
            self,
            StoreError::Transient { .. } | StoreError::TableNotReady { .. }
        )
    }

    pub(crate) fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug,
    {
        let (code, transient) = classify_sdk_error(&err);
        let message = DisplayErrorContext(&err).to_string();
        if transient {
            StoreError::Transient {
                operation,
                code,
                message,
            }
        } else {
            StoreError::Permanent {
                operation,
                code,
                message,
            }
        }
    }

    pub(crate) fn build(
        operation: &'static str,
        err: aws_smithy_types::error::operation::BuildError,
    ) -> StoreError {
        StoreError::Permanent {
            operation,
            code: "BuildError".to_string(),
            message: err.to_string(),
        }
    }
}

/// The error code to report and whether the failure is transient.
pub(crate) fn classify_sdk_error<E, R>(err: &SdkError<E, R>) -> (String, bool)
where
    E: ProvideErrorMetadata,
{
    match err {
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
    }
}
