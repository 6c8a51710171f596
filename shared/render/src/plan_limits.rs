//! The answer to a pull request too large to plan.

use crate::engine::{render, Template};
use crate::error::RenderError;
use serde::Serialize;

/// How large the PR is and the caps it passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanTooLarge {
    pub dirs: usize,
    /// `.sql` files counted before discovery stopped (0 when it stopped at the directories).
    pub files: usize,
    pub max_dirs: usize,
    pub max_files: usize,
}

/// Renders the reply, ending with the hidden `marker`.
pub fn render_plan_too_large(view: &PlanTooLarge, marker: &str) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct View<'a> {
        #[serde(flatten)]
        view: &'a PlanTooLarge,
        usage: &'static str,
    }
    render(
        Template::PlanTooLarge,
        &View {
            view,
            usage: "schemabot plan [-e <environment>] [-d <database>]",
        },
        marker,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_caps() {
        insta::assert_snapshot!(
            "plan_too_large_dirs",
            render_plan_too_large(
                &PlanTooLarge {
                    dirs: 14,
                    files: 0,
                    max_dirs: 10,
                    max_files: 200
                },
                "plan:acme/app:7:delivery:d-1"
            )
            .unwrap()
        );
        insta::assert_snapshot!(
            "plan_too_large_files",
            render_plan_too_large(
                &PlanTooLarge {
                    dirs: 1,
                    files: 240,
                    max_dirs: 10,
                    max_files: 200
                },
                "apply:acme/app:9"
            )
            .unwrap()
        );
    }
}
