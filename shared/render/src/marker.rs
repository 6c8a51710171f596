//! The hidden marker at the end of every comment SchemaBot posts: `<!-- schemabot:<marker> -->`.
//!
//! The caller passes a stable marker (the job id, or a per-apply name for tracked comments), so
//! a retried job can find the comment it already posted instead of posting it twice.

use schemabot_domain::apply::CommentKind;
use schemabot_domain::ApplyId;

const OPENING: &str = "<!-- schemabot:";
const CLOSING: &str = " -->";
/// Long enough for any job id (`cutover:<owner>/<repo>:<comment id>`).
const MAX_MARKER_CHARS: usize = 200;
/// Stands in for an empty marker, so every comment still carries one.
const EMPTY_MARKER: &str = "unnamed";

/// Makes marker text safe to sit inside an HTML comment: only ASCII letters, digits and
/// `: / . _ -` are kept (others become `_`), so it can contain neither `-->` nor `<!--`, nor
/// anything GitHub would render. Capped at 200 characters.
pub fn sanitize(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .take(MAX_MARKER_CHARS)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        EMPTY_MARKER.to_string()
    } else {
        cleaned
    }
}

/// The marker of an apply's tracked comment (`progress:<apply id>`, `cutover:…`, `summary:…`):
/// stable across the many jobs that edit it, unlike a job id.
pub fn tracked(apply_id: &ApplyId, kind: CommentKind) -> String {
    format!("{}:{apply_id}", kind.as_str())
}

/// Where the trailing marker of `body` starts and the marker text, if the body ends with one.
/// Only the last marker counts: a forged one quoted earlier in the body is ignored.
fn trailing_marker(body: &str) -> Option<(usize, &str)> {
    let trimmed = body.trim_end();
    let start = trimmed.rfind(OPENING)?;
    let marker = trimmed[start + OPENING.len()..].strip_suffix(CLOSING)?;
    let well_formed = !marker.is_empty() && sanitize(marker) == marker;
    well_formed.then_some((start, marker))
}

/// Returns `body` ending with the marker for `marker` (sanitised) on its own line after a blank
/// line. A marker the body already ends with is replaced, so appending twice is harmless.
pub fn append(body: &str, marker: &str) -> String {
    let content = match trailing_marker(body) {
        Some((start, _)) => &body[..start],
        None => body,
    };
    let content = content.trim_end_matches(['\n', '\r']);
    format!("{content}\n\n{OPENING}{} -->\n", sanitize(marker))
}

/// The marker a comment body ends with (in its sanitised form), if any.
pub fn extract(body: &str) -> Option<&str> {
    trailing_marker(body).map(|(_, marker)| marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_markers_round_trip() {
        let body = append("## Cutover Triggered\n\nDone.\n", "cutover:octo/repo:42");
        assert_eq!(
            body,
            "## Cutover Triggered\n\nDone.\n\n<!-- schemabot:cutover:octo/repo:42 -->\n"
        );
        assert_eq!(extract(&body), Some("cutover:octo/repo:42"));
    }

    #[test]
    fn markers_cannot_close_the_comment_or_open_another() {
        let body = append("x", "a --> <b>@alice</b> <!-- y");
        assert_eq!(extract(&body), Some("a_--___b__alice_/b____--_y"));
        assert_eq!(body.matches("-->").count(), 1);
        assert_eq!(body.matches("<!--").count(), 1);
        assert_eq!(sanitize(""), "unnamed");
        assert_eq!(sanitize(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn tracked_comments_are_named_by_kind_and_apply() {
        let id = ApplyId::parse("apply-0123456789abcdef").unwrap();
        let marker = tracked(&id, CommentKind::Progress);
        assert_eq!(marker, "progress:apply-0123456789abcdef");
        assert_eq!(sanitize(&marker), marker);
    }

    #[test]
    fn appending_again_replaces_the_marker() {
        let once = append("body", "one");
        let twice = append(&once, "two");
        assert_eq!(twice, "body\n\n<!-- schemabot:two -->\n");
    }

    #[test]
    fn only_a_trailing_well_formed_marker_is_found() {
        assert_eq!(extract("no marker here"), None);
        assert_eq!(extract("<!-- schemabot:a -->\n\nthen text"), None);
        assert_eq!(extract("`<!-- schemabot:forged -->` text"), None);
        assert_eq!(extract("<!-- schemabot:bad marker -->"), None);
        assert_eq!(extract("<!-- schemabot: -->"), None);
        let quoted_then_real = append("`<!-- schemabot:forged -->`", "real");
        assert_eq!(extract(&quoted_then_real), Some("real"));
    }
}
