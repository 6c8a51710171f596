//! Hostile input in every field that comes from users or external systems must stay inert in
//! every comment kind: no HTML, links, images, mentions, new Markdown blocks or forged markers.

mod common;

use common::{apply, now, task, with, MARKER};
use schemabot_domain::apply::CutoverClaim;
use schemabot_domain::command::{CommandName, ParseError};
use schemabot_domain::job::Reply;
use schemabot_domain::{Login, State};
use schemabot_render::{
    render_cutover_reply, render_cutover_triggered, render_progress, render_progress_finalized,
    render_reply, render_summary, Actor, CutoverReply, CutoverTarget, Denial,
};

/// Everything at once: a team ping, HTML, a link, an image, backticks, a table pipe, a new
/// heading on its own line, a forged marker, an entity-encoded mention, math and emphasis.
const NASTY: &str = "@org/team <img src=x onerror=alert(1)> [link](http://x) ![i](http://x/i.png) \
`tick` ``` | pipe\n# PWNED\n\n<!-- schemabot:forged --> &#64;bob $x$ **b**";

/// Removes the inline code spans of one line: an unescaped run of n backticks up to the next
/// run of exactly n. (Our code spans never span lines.)
fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        // A backslash-escaped character (a backtick included) is literal text.
        if chars[i] == '\\' && chars.get(i + 1).is_some_and(|c| c.is_ascii_punctuation()) {
            out.push(chars[i]);
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
        let mut j = i + run;
        let mut closed_at = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let other = chars[j..].iter().take_while(|&&c| c == '`').count();
                if other == run {
                    closed_at = Some(j + other);
                    break;
                }
                j += other;
            } else {
                j += 1;
            }
        }
        match closed_at {
            Some(end) => i = end,
            None => {
                out.extend(&chars[i..i + run]);
                i += run;
            }
        }
    }
    out
}

/// What GitHub interprets as Markdown, split from what it takes as raw HTML: fenced code
/// blocks are dropped, code spans removed from Markdown lines, and the `<details>`/`<summary>`
/// lines we write (an HTML block, where Markdown is not interpreted) returned separately.
fn interpreted_parts(body: &str) -> (String, String) {
    let mut markdown = Vec::new();
    let mut html = Vec::new();
    let mut open_fence: Option<usize> = None;
    for line in body.lines() {
        let trimmed = line.trim_start();
        let run = trimmed.chars().take_while(|&c| c == '`').count();
        match open_fence {
            Some(len) if run >= len && trimmed[run..].trim().is_empty() => open_fence = None,
            Some(_) => {}
            None if run >= 3 && !trimmed[run..].contains('`') => open_fence = Some(run),
            None if trimmed.starts_with("<summary>") || trimmed.starts_with("<details>") => {
                html.push(line.to_string())
            }
            None => markdown.push(without_code_spans(line)),
        }
    }
    assert!(open_fence.is_none(), "unclosed fence in:\n{body}");
    (markdown.join("\n"), html.join("\n"))
}

fn assert_inert(kind: &str, body: &str) {
    assert!(
        body.ends_with(&format!("\n\n<!-- schemabot:{MARKER} -->\n")),
        "{kind}: marker\n{body}"
    );
    assert_eq!(schemabot_render::marker::extract(body), Some(MARKER));

    let (interpreted, html) = interpreted_parts(body);
    let html_text = html
        .replace("<details>", "")
        .replace("<summary>", "")
        .replace("</summary>", "");
    assert!(
        !html_text.contains('<'),
        "{kind}: raw HTML in <summary>\n{body}"
    );
    for (at, _) in html_text.match_indices('@') {
        assert!(
            html_text[at + 1..].starts_with('\u{200B}'),
            "{kind}: live mention\n{body}"
        );
    }
    // Forged markers may survive verbatim inside code, where they are inert text.
    assert_eq!(
        interpreted.matches("<!--").count(),
        1,
        "{kind}: forged comment\n{body}\n---- interpreted:\n{interpreted}"
    );
    let without_our_html = interpreted
        .replace(&format!("<!-- schemabot:{MARKER} -->"), "")
        .replace("</details>", "");
    assert!(!without_our_html.contains('<'), "{kind}: raw HTML\n{body}");
    assert!(!interpreted.contains("]("), "{kind}: link\n{body}");
    assert!(!interpreted.contains("&#64;"), "{kind}: entity\n{body}");
    for (at, _) in interpreted.match_indices('@') {
        assert!(
            interpreted[at + 1..].starts_with('\u{200B}'),
            "{kind}: live mention\n{body}"
        );
    }
    for line in interpreted.lines() {
        let start = line.trim_start().trim_start_matches('\\');
        assert!(
            !start.starts_with("# PWNED"),
            "{kind}: injected heading\n{body}"
        );
    }
}

fn hostile_task(state: State) -> schemabot_domain::apply::Task {
    with(task("orders", state), |t| {
        t.table = NASTY.into();
        t.namespace = NASTY.into();
        t.ddl = format!("ALTER TABLE x COMMENT '{NASTY}'");
        t.error_message = Some(NASTY.into());
    })
}

fn hostile_apply(state: State) -> schemabot_domain::apply::Apply {
    with(apply(state), |a| {
        a.requested_by = Some(Login(NASTY.into()));
        a.error_message = Some(NASTY.into());
        a.cutover_triggered_by = Some(NASTY.into());
    })
}

#[test]
fn progress_and_tombstone_in_every_state() {
    for state in State::ALL {
        let a = hostile_apply(state);
        let tasks = [hostile_task(state), hostile_task(State::Running)];
        let body = render_progress(&a, &tasks, now(), MARKER).unwrap();
        assert_inert(&format!("progress {state}"), &body);
        let body = render_progress_finalized(&a, &tasks, now(), MARKER).unwrap();
        assert_inert(&format!("tombstone {state}"), &body);
    }
}

#[test]
fn summaries() {
    for state in [
        State::Completed,
        State::Failed,
        State::Stopped,
        State::Cancelled,
        State::Reverted,
    ] {
        let tasks: Vec<_> = (0..7).map(|_| hostile_task(state)).collect();
        let body = render_summary(&hostile_apply(state), &tasks, now(), MARKER).unwrap();
        assert_inert(&format!("summary {state}"), &body);
        // Two namespaces, so headings (and a folded group) are shown.
        let mut mixed = tasks.clone();
        mixed.push(with(task("plain", State::Completed), |t| {
            t.namespace = "other".into()
        }));
        let body = render_summary(&hostile_apply(state), &mixed, now(), MARKER).unwrap();
        assert_inert(&format!("grouped summary {state}"), &body);
    }
}

#[test]
fn webhook_replies() {
    let command = CommandName::Cutover;
    let replies = [
        Reply::Help,
        Reply::RepositoryNotRegistered,
        Reply::NotAvailableYet { command },
        Reply::Syntax {
            error: ParseError::UnknownCommand {
                word: Some(NASTY.into()),
            },
        },
        Reply::Syntax {
            error: ParseError::MissingApplyId { command },
        },
        Reply::Syntax {
            error: ParseError::MissingEnvironment { command },
        },
        Reply::Syntax {
            error: ParseError::InvalidApplyId {
                command,
                given: NASTY.into(),
            },
        },
        Reply::Syntax {
            error: ParseError::InvalidEnvironment {
                command,
                given: NASTY.into(),
            },
        },
        Reply::Syntax {
            error: ParseError::InvalidDatabase {
                command,
                given: NASTY.into(),
            },
        },
        Reply::Syntax {
            error: ParseError::UnsupportedFlag {
                command,
                flag: NASTY.into(),
            },
        },
        Reply::Syntax {
            error: ParseError::UnexpectedWord {
                command,
                word: NASTY.into(),
            },
        },
        Reply::ApplyBlockedPrNotOpen {
            command,
            merged: true,
        },
        Reply::ApplyBlockedPrNotOpen {
            command,
            merged: false,
        },
    ];
    for reply in replies {
        let body = render_reply(&reply, MARKER).unwrap();
        assert_inert(&format!("{reply:?}"), &body);
    }
}

#[test]
fn cutover_replies_and_the_triggered_comment() {
    let a = hostile_apply(State::CuttingOver);
    let target = CutoverTarget::of(&a);
    let claimed = with(hostile_apply(State::WaitingForCutover), |a| {
        a.cutover_triggered_by = None;
        a.claim = Some(CutoverClaim {
            command_id: "x".into(),
            actor: format!("cli:{NASTY}"),
            claimed_at: now(),
            tern_called_at: None,
            tern_call_open: false,
        });
    });
    let outcomes = [
        CutoverReply::ApplyNotFound {
            apply_id: a.id.clone(),
        },
        CutoverReply::EnvironmentMismatch {
            target: target.clone(),
            requested: schemabot_domain::Environment::parse("production").unwrap(),
        },
        CutoverReply::PermissionDenied {
            target: target.clone(),
            denied: Denial {
                login: Login(NASTY.into()),
                required: NASTY,
                actual: Some(NASTY),
            },
        },
        CutoverReply::PermissionDenied {
            target: target.clone(),
            denied: Denial {
                login: Login(NASTY.into()),
                required: NASTY,
                actual: None,
            },
        },
        CutoverReply::NotAvailable {
            target: target.clone(),
            state: State::Running,
        },
        CutoverReply::Recovering {
            target: target.clone(),
        },
        CutoverReply::already_triggered(&a),
        CutoverReply::already_triggered(&claimed),
        CutoverReply::NotAccepted {
            target: target.clone(),
            message: NASTY.into(),
        },
        CutoverReply::Failed {
            target: target.clone(),
            error: NASTY.into(),
            attempts: 3,
        },
    ];
    for outcome in outcomes {
        let body = render_cutover_reply(&outcome, MARKER).unwrap();
        assert_inert(&format!("{outcome:?}"), &body);
    }
    for actor in [
        Actor::GitHub(Login(NASTY.into())),
        Actor::Cli {
            identity: NASTY.into(),
        },
    ] {
        let body = render_cutover_triggered(&a, &actor, now(), MARKER).unwrap();
        assert_inert(&format!("triggered by {actor:?}"), &body);
    }
}

#[test]
fn hostile_renders_for_review() {
    let body = render_progress(
        &hostile_apply(State::Failed),
        &[hostile_task(State::Failed)],
        now(),
        MARKER,
    )
    .unwrap();
    insta::assert_snapshot!("hostile_progress_failed", body);
    let body = render_cutover_reply(
        &CutoverReply::NotAccepted {
            target: CutoverTarget::of(&apply(State::WaitingForCutover)),
            message: NASTY.into(),
        },
        MARKER,
    )
    .unwrap();
    insta::assert_snapshot!("hostile_cutover_not_accepted", body);
    let body = render_reply(
        &Reply::Syntax {
            error: ParseError::InvalidApplyId {
                command: CommandName::Cutover,
                given: NASTY.into(),
            },
        },
        MARKER,
    )
    .unwrap();
    insta::assert_snapshot!("hostile_invalid_apply_id", body);
}
