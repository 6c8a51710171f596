//! The footer of progress and summary comments: after a rule, either a fixed note or the exact
//! commands to run next, each under a label.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct FooterView {
    /// A fixed sentence (no outside data), printed as is.
    pub note: Option<&'static str>,
    pub commands: Vec<FooterCommandView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct FooterCommandView {
    pub label: &'static str,
    /// Built from validated ids and names; the template puts it in a code block.
    pub command: String,
    /// A time from outside (raw; escaped by the template): the label then reads
    /// `<label> **<until>** with:`.
    pub until: Option<String>,
}

impl FooterCommandView {
    /// `command` under `label`, without a time.
    pub(crate) fn new(label: &'static str, command: String) -> Self {
        FooterCommandView {
            label,
            command,
            until: None,
        }
    }
}

pub(crate) fn commands_footer(commands: Vec<FooterCommandView>) -> Option<FooterView> {
    Some(FooterView {
        note: None,
        commands,
    })
}

pub(crate) fn command_footer(label: &'static str, command: String) -> Option<FooterView> {
    commands_footer(vec![FooterCommandView::new(label, command)])
}

pub(crate) fn note_footer(note: &'static str) -> Option<FooterView> {
    Some(FooterView {
        note: Some(note),
        commands: Vec::new(),
    })
}
