//! The lines under a comment's heading that say which apply it is about: the metadata line
//! (`**Database**: … | **Environment**: … | **Apply ID**: … | **Elapsed**: …`) and the attribution
//! line (`*Applied by @user at …*` or `*Started at …*`).

use crate::format;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::Apply;
use serde::Serialize;

/// Raw values; the `metadata_line` partial escapes them.
#[derive(Debug, Serialize)]
pub(crate) struct MetadataView {
    pub database: String,
    pub environment: String,
    pub apply_id: Option<String>,
    /// `Elapsed` while running, `Duration` in summaries.
    pub duration_label: &'static str,
    pub duration: Option<String>,
}

impl MetadataView {
    /// The metadata of `apply`; the time (under `duration_label`) runs from its start to its
    /// completion, or to `now`.
    pub(crate) fn of(
        apply: &Apply,
        now: DateTime<Utc>,
        with_apply_id: bool,
        duration_label: &'static str,
    ) -> Self {
        MetadataView {
            database: apply.database.to_string(),
            environment: apply.environment.to_string(),
            apply_id: with_apply_id.then(|| apply.id.to_string()),
            duration_label,
            duration: apply
                .started_at
                .map(|started| format::elapsed(started, apply.completed_at.unwrap_or(now))),
        }
    }
}

/// Who started the apply and when. Shown without notifying the requester: these comments are
/// edited many times and a ping on each would be noise.
#[derive(Debug, Serialize)]
pub(crate) struct AttributionView {
    pub requested_by: Option<String>,
    pub at: String,
}

impl AttributionView {
    pub(crate) fn of(apply: &Apply) -> Self {
        AttributionView {
            requested_by: apply.requested_by.as_ref().map(|login| login.0.clone()),
            at: format::timestamp(apply.started_at.unwrap_or(apply.created_at)),
        }
    }
}
