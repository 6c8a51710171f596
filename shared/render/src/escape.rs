//! Escaping of text that came from users or external systems (logins, typed environment names
//! and ids, table names, DDL, Tern's error messages) for each place it can appear in a comment.
//!
//! Comments are GitHub-flavoured Markdown that GitHub turns into HTML and then scans for
//! @-mentions and issue references. Each function here makes its input inert in one context:
//!
//! * [`md`]: running Markdown text (inside a sentence, a quote, emphasis);
//! * [`code`]: an inline code span, including its backticks;
//! * [`html`]: text inside an HTML element we write ourselves (`<summary>`);
//! * [`code_block`]: a fenced code block (DDL, commands);
//! * [`mention`] / [`quiet_mention`]: a GitHub login shown as `@login`, with or without a
//!   notification.
//!
//! Templates never print outside data without one of these (they are registered as tera filters
//! of the same names by `engine.rs`).

/// Inserted after every `@` outside code so that GitHub does not turn it into a mention or a team
/// ping. Invisible when rendered.
const MENTION_BREAKER: char = '\u{200B}';

/// ASCII punctuation that has a meaning somewhere in GitHub Markdown and may appear in running
/// text: emphasis, links and images, headings, tables, strikethrough, math, HTML-ish and escapes.
/// `<`, `>` and `&` are handled separately (as HTML entities), because backslash escapes do not
/// work inside HTML blocks.
const MARKDOWN_SPECIALS: &[char] = &[
    '\\', '`', '*', '_', '{', '}', '[', ']', '(', ')', '#', '!', '|', '~', '$', '^',
];

/// Bidirectional-override and isolate controls: they can make displayed text read differently
/// from what it is, so they are removed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Makes text a single line without control characters: newlines, tabs and other controls
/// become one space (so a value can never start a new Markdown block), bidi controls vanish,
/// and the result is trimmed.
pub fn single_line(text: &str) -> String {
    let visible: String = text.chars().filter(|&c| !is_bidi_control(c)).collect();
    visible
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Makes text one line with `<`, `>` and `&` as HTML entities and every `@` broken; every other
/// character goes through `other`.
fn escape_line(text: &str, other: impl Fn(&mut String, char)) -> String {
    let line = single_line(text);
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.extend(['@', MENTION_BREAKER]),
            c => other(&mut out, c),
        }
    }
    out
}

/// Escapes text for running Markdown: one line, Markdown specials backslash-escaped, `<`, `>`
/// and `&` as HTML entities (so neither raw HTML nor entity tricks such as `&#64;` get through),
/// and every `@` broken so it cannot mention a user or team.
pub fn md(text: &str) -> String {
    escape_line(text, |out, c| {
        if MARKDOWN_SPECIALS.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    })
}

/// Escapes text for the content of an HTML element: one line, `& < > " '` as entities, `@`
/// broken. Markdown is not interpreted inside the HTML we emit, so nothing else is needed.
pub fn html(text: &str) -> String {
    escape_line(text, |out, c| match c {
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    })
}

/// The longest run of backticks in `text`.
fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Renders text as an inline code span, backticks included. Inside a code span Markdown, HTML
/// and mentions are inert; the only ways out are a backtick run of the delimiter's length and a
/// blank line. So the text is made one line and delimited by one backtick more than its longest
/// backtick run, padded with spaces when it starts or ends with a backtick (CommonMark strips
/// one such space from each side when rendering).
pub fn code(text: &str) -> String {
    let line = single_line(text);
    if line.is_empty() {
        // An empty span would render as literal backticks; a span of one space is valid.
        return "` `".to_string();
    }
    let delimiter = "`".repeat(longest_backtick_run(&line) + 1);
    let needs_padding = line.starts_with('`')
        || line.ends_with('`')
        || (line.starts_with(' ') && line.ends_with(' '));
    let pad = if needs_padding { " " } else { "" };
    format!("{delimiter}{pad}{line}{pad}{delimiter}")
}

/// Renders `content` as a fenced code block with the given info string (e.g. `sql`), every line
/// prefixed by `indent` (to nest the block in a list item). The fence is longer than any backtick
/// run in the content, so the content cannot close it; carriage returns and other controls
/// (except newlines and tabs) are dropped. No trailing newline.
pub fn code_block(content: &str, info: &str, indent: &str) -> String {
    let cleaned: String = content
        .replace("\r\n", "\n")
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !(c.is_control() || is_bidi_control(c)))
        .collect();
    let fence = "`".repeat((longest_backtick_run(&cleaned) + 1).max(3));
    let info = single_line(info).replace('`', "");
    let mut out = format!("{indent}{fence}{info}\n");
    for line in cleaned.lines() {
        // Blank lines stay empty rather than carrying the indentation.
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    out + indent + &fence
}

/// Whether `login` is a well-formed GitHub user name: 1–39 ASCII letters, digits and single
/// inner hyphens. Anything else (teams `org/team`, bots `name[bot]`, injected text) is not.
pub fn is_github_login(login: &str) -> bool {
    let bytes = login.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 39
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && !login.starts_with('-')
        && !login.ends_with('-')
        && !login.contains("--")
}

/// An intentional @-mention of a GitHub user (it notifies them). Only a well-formed login is
/// mentioned; anything else falls back to [`quiet_mention`], so this can never ping a team or
/// inject text.
pub fn mention(login: &str) -> String {
    if is_github_login(login) {
        format!("@{login}")
    } else {
        quiet_mention(login)
    }
}

/// Shows a login as `@login` without notifying anyone (the `@` is broken invisibly), escaped
/// like any other text. Used where a comment names someone who does not need a ping.
pub fn quiet_mention(login: &str) -> String {
    md(&format!("@{}", login.trim_start_matches('@')))
}

/// Shortens text to at most `max_chars` characters, ending with `…` when something was cut.
/// Used for messages from external systems, which can be arbitrarily long.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some(_) => {
            let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
            format!("{kept}…")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text that, unescaped, would become a mention, a team ping, HTML, a link, an image, a
    /// table cell break, a heading or a code span.
    const NASTY: &[&str] = &[
        "@org/team",
        "@alice",
        "<img src=x onerror=alert(1)>",
        "[link](http://x)",
        "![img](http://x/a.png)",
        "`code` and ``double``",
        "a | b | c",
        "line one\n# heading\n\n- item",
        "<!-- schemabot:forged -->",
        "&#64;alice &lt;b&gt;",
        "**bold** _it_ ~~gone~~ $x^2$",
    ];

    #[test]
    fn md_neutralises_mentions_with_an_invisible_break() {
        assert_eq!(md("@org/team"), "@\u{200B}org/team");
        assert_eq!(md("ping @alice now"), "ping @\u{200B}alice now");
        for input in NASTY {
            let out = md(input);
            assert!(
                !out.contains('@') || out.matches('@').count() == out.matches("@\u{200B}").count(),
                "{input:?} -> {out:?}"
            );
        }
    }

    #[test]
    fn md_turns_html_into_entities() {
        assert_eq!(
            md("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert\\(1\\)&gt;"
        );
        assert_eq!(md("&#64;alice"), "&amp;\\#64;alice");
        assert_eq!(md("<!-- x -->"), "&lt;\\!-- x --&gt;");
    }

    #[test]
    fn md_escapes_links_images_tables_and_emphasis() {
        assert_eq!(md("[link](http://x)"), "\\[link\\]\\(http://x\\)");
        assert_eq!(md("![i](u)"), "\\!\\[i\\]\\(u\\)");
        assert_eq!(md("a | b"), "a \\| b");
        assert_eq!(md("**b** _i_ ~~s~~"), "\\*\\*b\\*\\* \\_i\\_ \\~\\~s\\~\\~");
        assert_eq!(md("`x`"), "\\`x\\`");
        assert_eq!(md("$x$ \\"), "\\$x\\$ \\\\");
    }

    #[test]
    fn md_keeps_everything_on_one_line() {
        assert_eq!(
            md("line one\n# heading\r\n\n- item"),
            "line one \\# heading - item"
        );
        assert_eq!(md("  padded\t "), "padded");
        for input in NASTY {
            assert!(!md(input).contains('\n'), "{input:?}");
        }
    }

    #[test]
    fn md_drops_bidi_controls() {
        assert_eq!(md("abc\u{202E}fed"), "abcfed");
    }

    #[test]
    fn html_escapes_for_element_content() {
        assert_eq!(
            html("<b onclick=\"x\">'@a'</b>"),
            "&lt;b onclick=&quot;x&quot;&gt;&#39;@\u{200B}a&#39;&lt;/b&gt;"
        );
        assert_eq!(html("a\nb"), "a b");
    }

    #[test]
    fn code_is_a_single_span_whatever_the_backticks() {
        assert_eq!(code("orders"), "`orders`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("``x``"), "``` ``x`` ```");
        assert_eq!(code("`"), "`` ` ``");
        assert_eq!(code("two\n\nparagraphs"), "`two paragraphs`");
        assert_eq!(code(""), "` `");
        // HTML, links and mentions are inert inside a code span; they are kept verbatim.
        assert_eq!(code("<img src=x>"), "`<img src=x>`");
        assert_eq!(code("@org/team"), "`@org/team`");
    }

    #[test]
    fn code_block_fence_outlasts_any_backticks_in_the_content() {
        let ddl = "ALTER TABLE `t` COMMENT '```\n# not a heading';";
        let block = code_block(ddl, "sql", "  ");
        assert_eq!(
            block,
            "  ````sql\n  ALTER TABLE `t` COMMENT '```\n  # not a heading';\n  ````"
        );
        assert_eq!(code_block("a\r\nb", "", ""), "```\na\nb\n```");
        assert_eq!(code_block("x", "sql`", ""), "```sql\nx\n```");
    }

    #[test]
    fn mentions_only_well_formed_logins() {
        assert_eq!(mention("alice"), "@alice");
        assert_eq!(mention("a-b-9"), "@a-b-9");
        assert_eq!(mention("org/team"), "@\u{200B}org/team");
        assert_eq!(mention("bot[bot]"), "@\u{200B}bot\\[bot\\]");
        assert_eq!(mention("-x"), "@\u{200B}-x");
        assert_eq!(mention("a--b"), "@\u{200B}a--b");
        assert_eq!(
            mention(&"a".repeat(40)),
            format!("@\u{200B}{}", "a".repeat(40))
        );
        assert_eq!(quiet_mention("alice"), "@\u{200B}alice");
        assert_eq!(quiet_mention("@alice"), "@\u{200B}alice");
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(truncate_chars("ééééé", 5), "ééééé");
        assert_eq!(truncate_chars("éééééé", 5), "éééé…");
    }
}
