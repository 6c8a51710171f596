//! The one tera instance: every template embedded in the binary, compiled once, with
//! autoescaping off (comments are Markdown, not HTML) and our own escape filters registered.
//! Templates must pass outside data through one of those filters (see `escape.rs`).

use crate::error::{error_chain, RenderError};
use crate::{escape, marker};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::LazyLock;
use tera::{Context, Tera, Value};

/// Embeds `templates/<path>` (at the workspace root) under the name `<path>`.
macro_rules! embedded {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../templates/",
                $path
            )),
        )
    };
}

/// Every template file, partials included, as (name, source).
pub(crate) const SOURCES: &[(&str, &str)] = &[
    embedded!("partials/reply_footer.md.tera"),
    embedded!("partials/command_reference.md.tera"),
    embedded!("partials/target_line.md.tera"),
    embedded!("partials/metadata_line.md.tera"),
    embedded!("partials/macros.md.tera"),
    embedded!("partials/footer.md.tera"),
    embedded!("partials/review_gate.md.tera"),
    embedded!("partials/plan_body.md.tera"),
    embedded!("progress.md.tera"),
    embedded!("progress_finalized.md.tera"),
    embedded!("summary.md.tera"),
    embedded!("cutover_triggered.md.tera"),
    embedded!("help.md.tera"),
    embedded!("missing_apply_id.md.tera"),
    embedded!("missing_environment.md.tera"),
    embedded!("invalid_apply_id.md.tera"),
    embedded!("invalid_environment.md.tera"),
    embedded!("invalid_database.md.tera"),
    embedded!("unknown_environment.md.tera"),
    embedded!("invalid_command.md.tera"),
    embedded!("unsupported_flag.md.tera"),
    embedded!("unexpected_word.md.tera"),
    embedded!("apply_blocked_pr_not_open.md.tera"),
    embedded!("not_available_yet.md.tera"),
    embedded!("repository_not_registered.md.tera"),
    embedded!("apply_not_found.md.tera"),
    embedded!("environment_mismatch.md.tera"),
    embedded!("cutover_not_available.md.tera"),
    embedded!("cutover_recovering.md.tera"),
    embedded!("cutover_already_triggered.md.tera"),
    embedded!("cutover_not_accepted.md.tera"),
    embedded!("cutover_failed.md.tera"),
    embedded!("permission_denied.md.tera"),
    embedded!("plan.md.tera"),
    embedded!("lock_held.md.tera"),
    embedded!("apply_in_progress.md.tera"),
    embedded!("apply_no_schema.md.tera"),
    embedded!("apply_up_to_date.md.tera"),
    embedded!("apply_no_lock.md.tera"),
    embedded!("plan_stale.md.tera"),
    embedded!("unsafe_needs_flag.md.tera"),
    embedded!("promotion_required.md.tera"),
    embedded!("apply_refused.md.tera"),
    embedded!("unlock.md.tera"),
    embedded!("command_permission_denied.md.tera"),
    embedded!("review_required.md.tera"),
    embedded!("cutover_review_required.md.tera"),
    embedded!("not_owned.md.tera"),
    embedded!("command_failed.md.tera"),
    embedded!("plan_too_large.md.tera"),
    embedded!("control_reply.md.tera"),
    embedded!("force_unlock.md.tera"),
    embedded!("lock_released_notice.md.tera"),
    embedded!("rollback_plan.md.tera"),
    embedded!("rollback_reply.md.tera"),
];

/// The comment kinds, one template each. Partials are not listed: they are only included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Template {
    Progress,
    ProgressFinalized,
    Summary,
    CutoverTriggered,
    Help,
    MissingApplyId,
    MissingEnvironment,
    InvalidApplyId,
    InvalidEnvironment,
    InvalidDatabase,
    UnknownEnvironment,
    InvalidCommand,
    UnsupportedFlag,
    UnexpectedWord,
    ApplyBlockedPrNotOpen,
    NotAvailableYet,
    RepositoryNotRegistered,
    ApplyNotFound,
    EnvironmentMismatch,
    CutoverNotAvailable,
    CutoverRecovering,
    CutoverAlreadyTriggered,
    CutoverNotAccepted,
    CutoverFailed,
    PermissionDenied,
    Plan,
    LockHeld,
    ApplyInProgress,
    ApplyNoSchema,
    ApplyUpToDate,
    ApplyNoLock,
    PlanStale,
    UnsafeNeedsFlag,
    PromotionRequired,
    ApplyRefused,
    Unlock,
    CommandPermissionDenied,
    ReviewRequired,
    CutoverReviewRequired,
    NotOwned,
    CommandFailed,
    PlanTooLarge,
    ControlReply,
    ForceUnlock,
    LockReleasedNotice,
    RollbackPlan,
    RollbackReply,
}

impl Template {
    #[cfg(test)]
    pub(crate) const ALL: [Template; 47] = [
        Template::Progress,
        Template::ProgressFinalized,
        Template::Summary,
        Template::CutoverTriggered,
        Template::Help,
        Template::MissingApplyId,
        Template::MissingEnvironment,
        Template::InvalidApplyId,
        Template::InvalidEnvironment,
        Template::InvalidDatabase,
        Template::UnknownEnvironment,
        Template::InvalidCommand,
        Template::UnsupportedFlag,
        Template::UnexpectedWord,
        Template::ApplyBlockedPrNotOpen,
        Template::NotAvailableYet,
        Template::RepositoryNotRegistered,
        Template::ApplyNotFound,
        Template::EnvironmentMismatch,
        Template::CutoverNotAvailable,
        Template::CutoverRecovering,
        Template::CutoverAlreadyTriggered,
        Template::CutoverNotAccepted,
        Template::CutoverFailed,
        Template::PermissionDenied,
        Template::Plan,
        Template::LockHeld,
        Template::ApplyInProgress,
        Template::ApplyNoSchema,
        Template::ApplyUpToDate,
        Template::ApplyNoLock,
        Template::PlanStale,
        Template::UnsafeNeedsFlag,
        Template::PromotionRequired,
        Template::ApplyRefused,
        Template::Unlock,
        Template::CommandPermissionDenied,
        Template::ReviewRequired,
        Template::CutoverReviewRequired,
        Template::NotOwned,
        Template::CommandFailed,
        Template::PlanTooLarge,
        Template::ControlReply,
        Template::ForceUnlock,
        Template::LockReleasedNotice,
        Template::RollbackPlan,
        Template::RollbackReply,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Template::Progress => "progress.md.tera",
            Template::ProgressFinalized => "progress_finalized.md.tera",
            Template::Summary => "summary.md.tera",
            Template::CutoverTriggered => "cutover_triggered.md.tera",
            Template::Help => "help.md.tera",
            Template::MissingApplyId => "missing_apply_id.md.tera",
            Template::MissingEnvironment => "missing_environment.md.tera",
            Template::InvalidApplyId => "invalid_apply_id.md.tera",
            Template::InvalidEnvironment => "invalid_environment.md.tera",
            Template::InvalidDatabase => "invalid_database.md.tera",
            Template::UnknownEnvironment => "unknown_environment.md.tera",
            Template::InvalidCommand => "invalid_command.md.tera",
            Template::UnsupportedFlag => "unsupported_flag.md.tera",
            Template::UnexpectedWord => "unexpected_word.md.tera",
            Template::ApplyBlockedPrNotOpen => "apply_blocked_pr_not_open.md.tera",
            Template::NotAvailableYet => "not_available_yet.md.tera",
            Template::RepositoryNotRegistered => "repository_not_registered.md.tera",
            Template::ApplyNotFound => "apply_not_found.md.tera",
            Template::EnvironmentMismatch => "environment_mismatch.md.tera",
            Template::CutoverNotAvailable => "cutover_not_available.md.tera",
            Template::CutoverRecovering => "cutover_recovering.md.tera",
            Template::CutoverAlreadyTriggered => "cutover_already_triggered.md.tera",
            Template::CutoverNotAccepted => "cutover_not_accepted.md.tera",
            Template::CutoverFailed => "cutover_failed.md.tera",
            Template::PermissionDenied => "permission_denied.md.tera",
            Template::Plan => "plan.md.tera",
            Template::LockHeld => "lock_held.md.tera",
            Template::ApplyInProgress => "apply_in_progress.md.tera",
            Template::ApplyNoSchema => "apply_no_schema.md.tera",
            Template::ApplyUpToDate => "apply_up_to_date.md.tera",
            Template::ApplyNoLock => "apply_no_lock.md.tera",
            Template::PlanStale => "plan_stale.md.tera",
            Template::UnsafeNeedsFlag => "unsafe_needs_flag.md.tera",
            Template::PromotionRequired => "promotion_required.md.tera",
            Template::ApplyRefused => "apply_refused.md.tera",
            Template::Unlock => "unlock.md.tera",
            Template::CommandPermissionDenied => "command_permission_denied.md.tera",
            Template::ReviewRequired => "review_required.md.tera",
            Template::CutoverReviewRequired => "cutover_review_required.md.tera",
            Template::NotOwned => "not_owned.md.tera",
            Template::CommandFailed => "command_failed.md.tera",
            Template::PlanTooLarge => "plan_too_large.md.tera",
            Template::ControlReply => "control_reply.md.tera",
            Template::ForceUnlock => "force_unlock.md.tera",
            Template::LockReleasedNotice => "lock_released_notice.md.tera",
            Template::RollbackPlan => "rollback_plan.md.tera",
            Template::RollbackReply => "rollback_reply.md.tera",
        }
    }
}

/// Compiled on first use; a compile error is kept (as text) and returned by every render.
static ENGINE: LazyLock<Result<Tera, String>> =
    LazyLock::new(|| build().map_err(|e| error_chain(&e)));

fn build() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    // Comments are Markdown: HTML autoescaping would mangle them and is the wrong escape anyway.
    tera.autoescape_on(vec![]);
    register_filters(&mut tera);
    tera.add_raw_templates(SOURCES.iter().copied())?;
    Ok(tera)
}

/// The compiled templates, or why they did not compile.
pub(crate) fn engine() -> Result<&'static Tera, RenderError> {
    ENGINE
        .as_ref()
        .map_err(|message| RenderError::TemplatesInvalid(message.clone()))
}

/// Renders `template` with `view` and ends the body with the hidden `marker`.
pub(crate) fn render<V: Serialize>(
    template: Template,
    view: &V,
    marker: &str,
) -> Result<String, RenderError> {
    let failed = |e: tera::Error| RenderError::Render {
        template: template.name(),
        message: error_chain(&e),
    };
    let context = Context::from_serialize(view).map_err(failed)?;
    let body = engine()?
        .render(template.name(), &context)
        .map_err(failed)?;
    Ok(marker::append(&body, marker))
}

// ---- filters -------------------------------------------------------------------------------

/// The text a filter works on: strings as they are, numbers and booleans printed. Anything else
/// is a template bug and an error.
fn filter_input(filter: &str, value: &Value) -> tera::Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(tera::Error::msg(format!(
            "filter `{filter}` needs text, got {other}"
        ))),
    }
}

fn string_arg(args: &HashMap<String, Value>, name: &str) -> String {
    args.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Registers a filter that maps text to text.
fn text_filter(tera: &mut Tera, name: &'static str, escape_text: fn(&str) -> String) {
    tera.register_filter(
        name,
        move |value: &Value, _: &HashMap<String, Value>| -> tera::Result<Value> {
            Ok(Value::String(escape_text(&filter_input(name, value)?)))
        },
    );
}

fn register_filters(tera: &mut Tera) {
    text_filter(tera, "md", escape::md);
    text_filter(tera, "code", escape::code);
    text_filter(tera, "html", escape::html);
    text_filter(tera, "mention", escape::mention);
    text_filter(tera, "quiet_mention", escape::quiet_mention);
    // `{{ text | code_block(info="sql", indent="  ") }}`
    tera.register_filter(
        "code_block",
        |value: &Value, args: &HashMap<String, Value>| -> tera::Result<Value> {
            let content = filter_input("code_block", value)?;
            Ok(Value::String(escape::code_block(
                &content,
                &string_arg(args, "info"),
                &string_arg(args, "indent"),
            )))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_template_compiles() {
        if let Err(e) = build() {
            panic!("templates do not compile: {}", error_chain(&e));
        }
        assert!(engine().is_ok());
    }

    #[test]
    fn every_comment_kind_has_a_registered_template() {
        let tera = engine().expect("templates compile");
        let registered: BTreeSet<&str> = tera.get_template_names().collect();
        for template in Template::ALL {
            assert!(registered.contains(template.name()), "{template:?}");
        }
    }

    #[test]
    fn every_template_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
        let mut on_disk = BTreeSet::new();
        for sub in ["", "partials/"] {
            for entry in std::fs::read_dir(dir.join(sub)).expect("templates dir") {
                let name = entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .to_string();
                if name.ends_with(".tera") {
                    on_disk.insert(format!("{sub}{name}"));
                }
            }
        }
        let embedded: BTreeSet<String> = SOURCES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn filters_refuse_structured_values() {
        let mut tera = Tera::default();
        register_filters(&mut tera);
        tera.add_raw_template("t", "{{ x | md }}")
            .expect("compiles");
        let mut context = Context::new();
        context.insert("x", &vec!["a"]);
        assert!(tera.render("t", &context).is_err());
    }
}
