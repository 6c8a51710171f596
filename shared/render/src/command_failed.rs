//! The one answer to a command that failed for good (it is not retried).

use crate::engine::{render, Template};
use crate::error::RenderError;
use serde_json::json;

/// Why a command failed for good, as the PR may read it: a category, never the internal error
/// (which can name tables, endpoints or AWS resources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCause {
    /// A bug or an answer this version cannot read.
    Internal,
    /// A dependency refused the request in a way retrying cannot change.
    DependencyRefused,
}

impl FailureCause {
    fn text(self) -> &'static str {
        match self {
            FailureCause::Internal => "an internal error",
            FailureCause::DependencyRefused => "a service it depends on refused the request",
        }
    }
}

/// Renders the reply, ending with the hidden `marker`. `delivery` is GitHub's delivery id, for
/// operators to find the log lines.
pub fn render_command_failed(
    cause: FailureCause,
    delivery: Option<&str>,
    marker: &str,
) -> Result<String, RenderError> {
    render(
        Template::CommandFailed,
        &json!({ "cause": cause.text(), "delivery": delivery, "usage": null }),
        marker,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_it_will_not_retry_and_where_to_look() {
        insta::assert_snapshot!(
            "command_failed",
            render_command_failed(
                FailureCause::DependencyRefused,
                Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"),
                "apply:acme/payments:1:failed"
            )
            .unwrap()
        );
    }
}
