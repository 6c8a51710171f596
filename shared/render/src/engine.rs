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

/// Declares the comment kinds ([`Template`], one template file each) and [`SOURCES`]: every
/// template file, the partials (only included by the others) first.
macro_rules! templates {
    (partials: [$($partial:literal),* $(,)?], $($kind:ident => $file:literal),* $(,)?) => {
        /// Every template file, partials included, as (name, source).
        pub(crate) const SOURCES: &[(&str, &str)] =
            &[$(embedded!($partial),)* $(embedded!($file),)*];

        /// The comment kinds, one template each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Template {
            $($kind,)*
        }

        impl Template {
            #[cfg(test)]
            pub(crate) const ALL: &[Template] = &[$(Template::$kind,)*];

            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Template::$kind => $file,)*
                }
            }
        }
    };
}

templates! {
    partials: [
        "partials/reply_footer.md.tera",
        "partials/command_reference.md.tera",
        "partials/target_line.md.tera",
        "partials/metadata_line.md.tera",
        "partials/macros.md.tera",
        "partials/footer.md.tera",
        "partials/review_gate.md.tera",
        "partials/plan_body.md.tera",
    ],
    Progress => "progress.md.tera",
    ProgressFinalized => "progress_finalized.md.tera",
    Summary => "summary.md.tera",
    CutoverTriggered => "cutover_triggered.md.tera",
    Help => "help.md.tera",
    MissingApplyId => "missing_apply_id.md.tera",
    MissingEnvironment => "missing_environment.md.tera",
    InvalidApplyId => "invalid_apply_id.md.tera",
    InvalidEnvironment => "invalid_environment.md.tera",
    InvalidDatabase => "invalid_database.md.tera",
    UnknownEnvironment => "unknown_environment.md.tera",
    InvalidCommand => "invalid_command.md.tera",
    UnsupportedFlag => "unsupported_flag.md.tera",
    UnexpectedWord => "unexpected_word.md.tera",
    ApplyBlockedPrNotOpen => "apply_blocked_pr_not_open.md.tera",
    NotAvailableYet => "not_available_yet.md.tera",
    RepositoryNotRegistered => "repository_not_registered.md.tera",
    ApplyNotFound => "apply_not_found.md.tera",
    EnvironmentMismatch => "environment_mismatch.md.tera",
    CutoverNotAvailable => "cutover_not_available.md.tera",
    CutoverRecovering => "cutover_recovering.md.tera",
    CutoverAlreadyTriggered => "cutover_already_triggered.md.tera",
    CutoverNotAccepted => "cutover_not_accepted.md.tera",
    CutoverFailed => "cutover_failed.md.tera",
    PermissionDenied => "permission_denied.md.tera",
    Plan => "plan.md.tera",
    LockHeld => "lock_held.md.tera",
    ApplyInProgress => "apply_in_progress.md.tera",
    ApplyNoSchema => "apply_no_schema.md.tera",
    ApplyUpToDate => "apply_up_to_date.md.tera",
    ApplyNoLock => "apply_no_lock.md.tera",
    PlanStale => "plan_stale.md.tera",
    UnsafeNeedsFlag => "unsafe_needs_flag.md.tera",
    PromotionRequired => "promotion_required.md.tera",
    ApplyRefused => "apply_refused.md.tera",
    Unlock => "unlock.md.tera",
    CommandPermissionDenied => "command_permission_denied.md.tera",
    ReviewRequired => "review_required.md.tera",
    CutoverReviewRequired => "cutover_review_required.md.tera",
    NotOwned => "not_owned.md.tera",
    CommandFailed => "command_failed.md.tera",
    PlanTooLarge => "plan_too_large.md.tera",
    ControlReply => "control_reply.md.tera",
    ForceUnlock => "force_unlock.md.tera",
    LockReleasedNotice => "lock_released_notice.md.tera",
    RollbackPlan => "rollback_plan.md.tera",
    RollbackReply => "rollback_reply.md.tera",
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
        for &template in Template::ALL {
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
