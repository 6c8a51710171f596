//! What went wrong with a failed apply, as shown in its progress and summary comments.

use crate::escape;
use schemabot_domain::apply::{Apply, Task};
use schemabot_domain::State;

/// Error messages from Tern or the engine are cut to this many characters.
const MAX_ERROR_CHARS: usize = 1_000;

/// The apply's own error message, or else the first failed table's; cut to a readable length.
/// Raw text: the template escapes it.
pub(crate) fn failure_message(apply: &Apply, tasks: &[Task]) -> Option<String> {
    let non_blank = |m: &String| !m.trim().is_empty();
    apply
        .error_message
        .clone()
        .filter(non_blank)
        .or_else(|| {
            tasks
                .iter()
                .filter(|t| t.state == State::Failed)
                .filter_map(|t| t.error_message.clone())
                .find(non_blank)
        })
        .map(|m| escape::truncate_chars(&m, MAX_ERROR_CHARS))
}
