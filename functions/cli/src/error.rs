//! What can go wrong before a command has an answer, each mapped to an exit code and a stable
//! `kind` for `--json`. Messages say what to do, not just what failed.

use crate::exit::Exit;
use schemabot_aws::error::SdkFailure;
use schemabot_aws::queue::QueueError;
use schemabot_aws::StoreError;
use schemabot_domain::ApplyId;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("apply {0} not found")]
    ApplyNotFound(ApplyId),
    /// A required setting is missing or wrong (table, queue URL, region).
    #[error("{0}")]
    Config(String),
    #[error("no usable AWS credentials: {0} (configure them as for the AWS CLI: AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")]
    Credentials(String),
    /// AWS answered, and said no.
    #[error("{service} refused {operation} ({code}): {message}")]
    Denied {
        service: &'static str,
        operation: &'static str,
        code: String,
        message: String,
    },
    /// AWS could not be reached (or did not answer in time).
    #[error("could not reach {service} ({operation}): {message} (check the network, AWS_REGION and AWS_ENDPOINT_URL)")]
    Network {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
    /// Any other AWS failure.
    #[error("{service} {operation} failed: {message}")]
    Aws {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

/// Error codes that mean "these credentials may not do this" rather than "try again".
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
    "KMSAccessDeniedException",
];

/// SDK failure codes that mean the request never got an answer.
const UNREACHABLE_CODES: &[&str] = &["DispatchFailure", "Timeout", "ResponseError"];

impl CliError {
    pub fn exit(&self) -> Exit {
        match self {
            CliError::ApplyNotFound(_) => Exit::NotFound,
            CliError::Config(_)
            | CliError::Credentials(_)
            | CliError::Denied { .. }
            | CliError::Network { .. }
            | CliError::Aws { .. } => Exit::Environment,
            CliError::Internal(_) => Exit::Internal,
        }
    }

    /// Stable machine name for `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::ApplyNotFound(_) => "apply_not_found",
            CliError::Config(_) => "configuration",
            CliError::Credentials(_) => "credentials",
            CliError::Denied { .. } => "access_denied",
            CliError::Network { .. } => "network",
            CliError::Aws { .. } => "aws",
            CliError::Internal(_) => "internal",
        }
    }

    /// Maps a store failure; `table` names the table in the hint for a missing one.
    pub fn from_store(error: StoreError, table: &str) -> CliError {
        match error {
            StoreError::Sdk(failure) => classify("DynamoDB", failure, || {
                format!("DynamoDB table `{table}` does not exist in this account and region (check SCHEMABOT_TABLE / --table and AWS_REGION)")
            }),
            other => CliError::Internal(other.to_string()),
        }
    }

    /// Maps a queue failure.
    pub fn from_queue(error: QueueError, queue_url: &str) -> CliError {
        match error {
            QueueError::Sdk(failure) => classify("SQS", failure, || {
                format!("SQS queue `{queue_url}` does not exist (check SCHEMABOT_QUEUE_URL / --queue-url)")
            }),
            other => CliError::Internal(other.to_string()),
        }
    }
}

/// An error and its sources, `: `-separated, as one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The SDK's `DisplayErrorContext` ends its readable chain with ` (<Debug of the error>)`,
/// which helps a developer but buries the message for an operator: cut it off.
fn without_debug_tail(message: String) -> String {
    let bytes = message.as_bytes();
    let cut = message.match_indices(" (").find_map(|(at, _)| {
        let rest = &message[at + 2..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let starts_upper = rest.starts_with(|c: char| c.is_ascii_uppercase());
        let debug_like = starts_upper
            && matches!(rest[name_len..].chars().next(), Some('(' | '{' | ' '))
            && bytes.last() == Some(&b')');
        debug_like.then_some(at)
    });
    match cut {
        Some(at) => message[..at].to_string(),
        None => message,
    }
}

pub(crate) fn classify(
    service: &'static str,
    failure: SdkFailure,
    missing_resource: impl FnOnce() -> String,
) -> CliError {
    let SdkFailure {
        operation,
        code,
        message,
        ..
    } = failure;
    let message = without_debug_tail(message);
    if UNREACHABLE_CODES.contains(&code.as_str()) {
        return CliError::Network {
            service,
            operation,
            message,
        };
    }
    if DENIED_CODES.contains(&code.as_str()) {
        return CliError::Denied {
            service,
            operation,
            code,
            message,
        };
    }
    if matches!(
        code.as_str(),
        "ResourceNotFoundException"
            | "AWS.SimpleQueueService.NonExistentQueue"
            | "QueueDoesNotExist"
    ) {
        return CliError::Config(missing_resource());
    }
    // The SDK could not even build the request: almost always missing credentials or region.
    if code == "ConstructionFailure" {
        return CliError::Config(format!("{service} {operation}: {message}"));
    }
    CliError::Aws {
        service,
        operation,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_failures_are_classified_by_code() {
        let store = |code: &str| {
            StoreError::Sdk(SdkFailure {
                operation: "GetItem",
                code: code.to_string(),
                message: "m".to_string(),
                transient: false,
            })
        };
        let table_missing = CliError::from_store(store("ResourceNotFoundException"), "t1");
        assert_eq!(table_missing.kind(), "configuration");
        assert!(table_missing.to_string().contains("`t1`"));
        assert_eq!(
            CliError::from_store(store("AccessDeniedException"), "t").kind(),
            "access_denied"
        );
        let unreachable = CliError::from_store(
            StoreError::Sdk(SdkFailure {
                operation: "Query",
                code: "DispatchFailure".into(),
                message: "connection refused".into(),
                transient: true,
            }),
            "t",
        );
        assert_eq!(unreachable.kind(), "network");
        assert_eq!(unreachable.exit(), Exit::Environment);
        assert_eq!(
            CliError::ApplyNotFound(ApplyId::parse("apply-1").unwrap()).exit(),
            Exit::NotFound
        );
    }

    #[test]
    fn sdk_debug_tails_are_cut_from_messages() {
        let sdk = "dispatch failure: io error: client error (Connect): tcp connect error: \
                   Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: x }))";
        assert_eq!(
            without_debug_tail(sdk.to_string()),
            "dispatch failure: io error: client error (Connect): tcp connect error: \
             Connection refused (os error 111)"
        );
        let plain = "throttled (try later)".to_string();
        assert_eq!(without_debug_tail(plain.clone()), plain);
    }
}
