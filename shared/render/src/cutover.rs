//! The Cutover Triggered comment: posted when Tern accepted a cutover, tracked as the apply's
//! `cutover` comment (which freezes the progress comment) and later edited into the summary.

use crate::actor::{Actor, ActorView};
use crate::engine::{self, Template};
use crate::error::RenderError;
use crate::format;
use crate::target::{CutoverTarget, TargetView};
use chrono::{DateTime, Utc};
use schemabot_domain::apply::Apply;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct CutoverTriggeredView {
    target: TargetView,
    apply_id: String,
    actor: ActorView,
    at: String,
}

/// Renders the Cutover Triggered comment for `apply`, naming who triggered it (a GitHub user is
/// mentioned; a CLI identity is shown as such) and when, ending with the hidden `marker`.
pub fn render_cutover_triggered(
    apply: &Apply,
    triggered_by: &Actor,
    triggered_at: DateTime<Utc>,
    marker: &str,
) -> Result<String, RenderError> {
    let view = CutoverTriggeredView {
        target: CutoverTarget::of(apply).view(),
        apply_id: apply.id.to_string(),
        actor: triggered_by.view(),
        at: format::timestamp(triggered_at),
    };
    engine::render(Template::CutoverTriggered, &view, marker)
}
