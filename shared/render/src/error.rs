//! What can go wrong while rendering a comment.

use schemabot_domain::State;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The embedded templates did not compile. A test proves they do, so this means a broken
    /// build, but it is still reported as a value rather than a panic.
    #[error("the comment templates failed to compile: {0}")]
    TemplatesInvalid(String),
    /// A template failed while rendering (for example a view field it expects is missing).
    #[error("rendering template `{template}` failed: {message}")]
    Render {
        template: &'static str,
        message: String,
    },
    /// A summary was asked for an apply that has not finished.
    #[error("a summary needs a finished apply, but `{apply_id}` is `{state}`")]
    NotFinished { apply_id: String, state: State },
}

/// The message of an error and all its causes, so tera's nested errors are not lost.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    std::iter::successors(Some(error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
