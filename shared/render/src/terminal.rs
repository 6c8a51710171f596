//! The progress comment themed for a terminal (the operator CLI's `schemabot progress`).
//!
//! The terminal shows exactly what the PR shows: the body comes from [`render_progress`] and is
//! then restyled, so headings, wording, table order and footers can never drift between the two.
//! The theme understands the small Markdown subset our templates emit — headings, `**bold**`,
//! `*emphasis*`, inline code, fenced code, quotes, rules, the escapes of [`crate::escape`] and
//! the hidden marker — and turns the emoji bars of [`crate::bar`] into 20-cell bars coloured
//! with ANSI escapes (or plain block characters when colour is off).

use crate::bar::{self, BarColor};
use crate::error::RenderError;
use crate::marker;
use crate::progress::render_progress;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, CommentKind, Task};
use schemabot_domain::State;
use std::sync::LazyLock;

/// Whether the themed text may contain ANSI escapes. Callers decide (TTY, `NO_COLOR`, a flag);
/// without colour the output is plain text that reads the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalColors {
    On,
    Off,
}

impl TerminalColors {
    fn on(self) -> bool {
        self == TerminalColors::On
    }
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
/// Normal intensity: ends bold and dim without touching the colour.
const NORMAL_INTENSITY: &str = "\x1b[22m";
const CYAN: &str = "\x1b[36m";
const GREY: &str = "\x1b[90m";
const DEFAULT_FOREGROUND: &str = "\x1b[39m";

const FILLED_CELL: char = '█';
const EMPTY_CELL: char = '░';
const RULE_WIDTH: usize = 48;

/// The ANSI foreground of a bar colour (orange is colour 208 of the 256-colour palette: the
/// 16-colour palette has none).
pub fn ansi_color(color: BarColor) -> &'static str {
    match color {
        BarColor::Blue => "\x1b[34m",
        BarColor::Yellow => "\x1b[33m",
        BarColor::Green => "\x1b[32m",
        BarColor::Orange => "\x1b[38;5;208m",
        BarColor::Red => "\x1b[31m",
    }
}

/// `text` in `color` when colours are on.
pub fn paint(text: &str, color: BarColor, colors: TerminalColors) -> String {
    styled(text, ansi_color(color), colors)
}

/// `text` in the foreground `ansi` when colours are on.
fn styled(text: &str, ansi: &str, colors: TerminalColors) -> String {
    if colors.on() {
        format!("{ansi}{text}{DEFAULT_FOREGROUND}")
    } else {
        text.to_string()
    }
}

/// One cell of a PR-comment bar: filled in a colour, or empty.
type BarCell = Option<BarColor>;

/// The emoji of each bar cell, taken from `bar.rs` itself so the two never disagree.
static BAR_CELLS: LazyLock<Vec<(char, BarCell)>> = LazyLock::new(|| {
    let mut cells: Vec<(char, BarCell)> = BarColor::ALL
        .into_iter()
        .filter_map(|color| Some((bar::bar(color, 100).chars().next()?, Some(color))))
        .collect();
    if let Some(empty) = bar::bar(BarColor::Blue, 0).chars().next() {
        cells.push((empty, None));
    }
    cells
});

fn bar_cell(c: char) -> Option<BarCell> {
    BAR_CELLS
        .iter()
        .find(|(emoji, _)| *emoji == c)
        .map(|(_, cell)| *cell)
}

/// The colour the PR comment's bar gives a table in `state` (`None` for states without a bar),
/// for a terminal that shows states as words (e.g. a list of applies).
pub fn state_color(state: State) -> Option<BarColor> {
    let bar = bar::bar_for_state(state, 100)?;
    bar_cell(bar.chars().next()?).flatten()
}

/// Renders the progress of `apply` for a terminal: [`render_progress`] themed by [`themed`].
pub fn render_progress_terminal(
    apply: &Apply,
    tasks: &[Task],
    now: DateTime<Utc>,
    colors: TerminalColors,
) -> Result<String, RenderError> {
    let markdown = render_progress(
        apply,
        tasks,
        now,
        &marker::tracked(&apply.id, CommentKind::Progress),
    )?;
    Ok(themed(&markdown, colors))
}

/// Restyles a comment body rendered by this crate for a terminal. Control characters are
/// dropped first, so nothing stored (a table name, an engine message) can smuggle its own
/// terminal escapes in; the only escapes in the result are ours.
pub fn themed(markdown: &str, colors: TerminalColors) -> String {
    let mut lines: Vec<String> = Vec::new();
    // The indentation and delimiter of the fenced code block we are in, if any.
    let mut fence: Option<(String, String)> = None;
    for raw in markdown.lines() {
        let line = without_controls(raw);
        let content = line.trim_start();
        let indent = &line[..line.len() - content.len()];

        if let Some((fence_indent, delimiter)) = &fence {
            if content.trim_end() == delimiter.as_str() {
                fence = None;
            } else {
                let code = line.strip_prefix(fence_indent.as_str()).unwrap_or(content);
                // Code inside a list item keeps the item's indentation (lines after the block
                // line up with it); a top-level block, such as the command to run, is indented
                // to stand out.
                let indent = if fence_indent.is_empty() {
                    "  "
                } else {
                    fence_indent.as_str()
                };
                lines.push(format!("{indent}{}", style_code(code, colors)));
            }
            continue;
        }
        if content.starts_with("```") {
            let delimiter: String = content.chars().take_while(|&c| c == '`').collect();
            fence = Some((indent.to_string(), delimiter));
            continue;
        }
        if content.starts_with("<!--") && content.trim_end().ends_with("-->") {
            continue; // the hidden marker
        }
        if content.trim_end() == "---" {
            lines.push(styled(&"─".repeat(RULE_WIDTH), GREY, colors));
            continue;
        }
        if let Some(heading) = content
            .strip_prefix("### ")
            .or_else(|| content.strip_prefix("## "))
            .or_else(|| content.strip_prefix("# "))
        {
            let text = inline(heading.trim_end(), colors);
            lines.push(if colors.on() {
                format!("{BOLD}{text}{RESET}")
            } else {
                text
            });
            continue;
        }
        if let Some(quoted) = content.strip_prefix('>') {
            let text = inline(quoted.trim(), colors);
            lines.push(format!("{indent}│ {text}"));
            continue;
        }
        // Markdown's hard line break (two trailing spaces) means nothing here.
        lines.push(format!("{indent}{}", inline(content.trim_end(), colors)));
    }
    join_collapsing_blank_lines(&lines)
}

/// Drops control characters (escape sequences included) and bidi overrides; keeps tabs.
fn without_controls(line: &str) -> String {
    line.chars()
        .filter(|&c| {
            c == '\t'
                || !(c.is_control()
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        })
        .collect()
}

fn style_code(code: &str, colors: TerminalColors) -> String {
    if code.is_empty() {
        String::new()
    } else {
        styled(code, CYAN, colors)
    }
}

/// One line of running Markdown: emphasis becomes bold/dim, code spans lose their delimiters,
/// backslash escapes and the entities of `escape::md` are undone, the invisible mention breaker
/// is removed and bar cells become a coloured bar.
fn inline(text: &str, colors: TerminalColors) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut bold, mut dim) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '`' => {
                let run = run_length(&chars, i, '`');
                match closing_backticks(&chars, i + run, run) {
                    Some(end) => {
                        let span: String = chars[i + run..end].iter().collect();
                        out.push_str(&style_code(strip_code_padding(&span), colors));
                        i = end + run;
                    }
                    None => {
                        out.extend(&chars[i..i + run]);
                        i += run;
                    }
                }
            }
            '\\' if chars.get(i + 1).is_some_and(char::is_ascii_punctuation) => {
                out.push(chars[i + 1]);
                i += 2;
            }
            '*' => {
                let strong = chars.get(i + 1) == Some(&'*');
                let (style, code) = if strong {
                    i += 2;
                    (&mut bold, BOLD)
                } else {
                    i += 1;
                    (&mut dim, DIM)
                };
                *style = !*style;
                let turned_on = *style;
                if colors.on() {
                    if turned_on {
                        out.push_str(code);
                    } else {
                        // One code ends both bold and dim: restore the one still open.
                        out.push_str(NORMAL_INTENSITY);
                        if bold {
                            out.push_str(BOLD);
                        }
                        if dim {
                            out.push_str(DIM);
                        }
                    }
                }
            }
            '&' => {
                let (decoded, length) = entity(&chars[i..]).unwrap_or(('&', 1));
                out.push(decoded);
                i += length;
            }
            // The invisible breaker `escape` puts after `@`: harmless in a terminal, but noise
            // when the text is copied.
            '\u{200B}' => i += 1,
            _ => match bar_cell(c) {
                Some(_) => {
                    let start = i;
                    while i < chars.len() && bar_cell(chars[i]).is_some() {
                        i += 1;
                    }
                    out.push_str(&terminal_bar(&chars[start..i], colors));
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            },
        }
    }
    if colors.on() && (bold || dim) {
        out.push_str(NORMAL_INTENSITY);
    }
    out
}

fn run_length(chars: &[char], from: usize, c: char) -> usize {
    chars[from..].iter().take_while(|&&x| x == c).count()
}

/// Where the run of exactly `length` backticks closing a code span starts.
fn closing_backticks(chars: &[char], from: usize, length: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        let run = run_length(chars, i, '`');
        if run == length {
            return Some(i);
        }
        i += run.max(1);
    }
    None
}

/// CommonMark strips one space from each side of a code span padded on both sides.
fn strip_code_padding(span: &str) -> &str {
    if span.len() >= 2 && span.starts_with(' ') && span.ends_with(' ') && !span.trim().is_empty() {
        &span[1..span.len() - 1]
    } else {
        span
    }
}

/// The HTML entities `escape` produces, decoded: (character, length of the entity).
fn entity(chars: &[char]) -> Option<(char, usize)> {
    const ENTITIES: [(&str, char); 5] = [
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&amp;", '&'),
        ("&quot;", '"'),
        ("&#39;", '\''),
    ];
    ENTITIES.iter().find_map(|(name, decoded)| {
        let length = name.chars().count();
        let matches = chars.iter().take(length).copied().eq(name.chars());
        matches.then_some((*decoded, length))
    })
}

/// A run of emoji cells as a bar of block characters, each colour group painted once.
fn terminal_bar(cells: &[char], colors: TerminalColors) -> String {
    let cell = |c: &char| bar_cell(*c).flatten();
    cells
        .chunk_by(|a, b| cell(a) == cell(b))
        .map(|group| {
            let (glyph, color) = match cell(&group[0]) {
                Some(color) => (FILLED_CELL, ansi_color(color)),
                None => (EMPTY_CELL, GREY),
            };
            let text: String = std::iter::repeat_n(glyph, group.len()).collect();
            styled(&text, color, colors)
        })
        .collect()
}

/// The lines joined with at most one blank line in a row, none at either end, and a final
/// newline.
fn join_collapsing_blank_lines(lines: &[String]) -> String {
    let mut out = String::new();
    let mut blank_pending = false;
    for line in lines {
        if line.trim().is_empty() {
            blank_pending = !out.is_empty();
            continue;
        }
        if blank_pending {
            out.push('\n');
            blank_pending = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(markdown: &str) -> String {
        themed(markdown, TerminalColors::Off)
    }

    #[test]
    fn bars_become_block_characters_coloured_by_phase() {
        let running = bar::bar(BarColor::Blue, 45);
        assert_eq!(
            plain(&running),
            format!("{}{}\n", "█".repeat(9), "░".repeat(11))
        );
        let colored = themed(&running, TerminalColors::On);
        assert_eq!(
            colored,
            format!(
                "\x1b[34m{}\x1b[39m\x1b[90m{}\x1b[39m\n",
                "█".repeat(9),
                "░".repeat(11)
            )
        );
        for (color, ansi) in [
            (BarColor::Yellow, "\x1b[33m"),
            (BarColor::Green, "\x1b[32m"),
            (BarColor::Orange, "\x1b[38;5;208m"),
            (BarColor::Red, "\x1b[31m"),
        ] {
            let out = themed(&bar::bar(color, 100), TerminalColors::On);
            assert_eq!(out, format!("{ansi}{}\x1b[39m\n", "█".repeat(20)));
        }
    }

    #[test]
    fn markdown_is_restyled_and_escapes_are_undone() {
        let markdown = "## Heading\n\n**Database**: `testapp` | *Started by @\u{200B}alice*\n\n\
                        > ⚠️ **Error:** a\\_b &lt;x&gt; &amp; \\*y\\*\n\n\n\n---\n\nTo proceed:\n\
                        ```\nschemabot cutover apply-1 -e staging\n```\n\n<!-- schemabot:progress:apply-1 -->\n";
        assert_eq!(
            plain(markdown),
            "Heading\n\nDatabase: testapp | Started by @alice\n\n│ ⚠️ Error: a_b <x> & *y*\n\n\
             ────────────────────────────────────────────────\n\nTo proceed:\n  \
             schemabot cutover apply-1 -e staging\n"
        );
        let colored = themed("**Database**: `testapp`", TerminalColors::On);
        assert_eq!(
            colored,
            "\x1b[1mDatabase\x1b[22m: \x1b[36mtestapp\x1b[39m\n"
        );
    }

    #[test]
    fn code_spans_with_backticks_and_indented_code_blocks_keep_their_content() {
        assert_eq!(plain("- **`` `odd` ``**: x"), "- `odd`: x\n");
        assert_eq!(
            plain("- item  \n\n  ```sql\n  ALTER TABLE `t` ADD x;\n  ```\n"),
            "- item\n\n  ALTER TABLE `t` ADD x;\n"
        );
    }

    #[test]
    fn stored_text_cannot_inject_terminal_escapes() {
        let hostile = "- **`\x1b]0;pwned\x07orders`**: \x1b[2J45%";
        let out = themed(hostile, TerminalColors::Off);
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
        let colored = themed(hostile, TerminalColors::On);
        assert!(!colored.contains("\x1b]") && !colored.contains("\x1b[2J"));
    }

    #[test]
    fn states_take_the_colour_of_their_bar() {
        assert_eq!(state_color(State::Running), Some(BarColor::Blue));
        assert_eq!(
            state_color(State::WaitingForCutover),
            Some(BarColor::Yellow)
        );
        assert_eq!(state_color(State::Recovering), Some(BarColor::Yellow));
        assert_eq!(state_color(State::CuttingOver), Some(BarColor::Yellow));
        assert_eq!(state_color(State::Completed), Some(BarColor::Green));
        assert_eq!(state_color(State::Stopped), Some(BarColor::Orange));
        assert_eq!(state_color(State::Failed), Some(BarColor::Red));
        assert_eq!(state_color(State::Pending), None);
    }

    #[test]
    fn colours_off_means_no_escape_at_all() {
        let markdown = format!(
            "## T\n\n**a** *b* `c` {}\n---\n",
            bar::bar(BarColor::Red, 10)
        );
        assert!(!plain(&markdown).contains('\x1b'));
    }
}
