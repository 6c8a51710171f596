//! The "Review Required" replies of the review gate, for `apply`/`apply-confirm` and for
//! `cutover`: what is missing (one bullet per [`Shortfall`]) and what to do next.

use crate::engine::{self, Template};
use crate::error::RenderError;
use crate::target::{CutoverTarget, TargetView};
use schemabot_domain::review::{Owner, Shortfall, CODEOWNERS_PATHS};
use schemabot_domain::Login;
use serde::Serialize;

/// Commits are shown this short.
const SHORT_SHA: usize = 12;

/// An owner as a bullet names it: users and teams as (silent) mentions, e-mails as text.
#[derive(Debug, Serialize)]
struct OwnerView {
    name: String,
    mention: bool,
}

/// One bullet; the template words it by `kind`.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ShortfallView {
    Approvals {
        needed: u32,
        counted: u32,
        required: u32,
        author: String,
    },
    AuthorApproval {
        author: String,
    },
    StaleApproval {
        reviewer: String,
        commit: Option<String>,
    },
    InsufficientPermission {
        reviewer: String,
        role: &'static str,
    },
    PermissionUnknown {
        reviewer: String,
    },
    NoCodeownersFile {
        base_ref: String,
        paths: String,
    },
    UnownedFile {
        file: String,
    },
    CodeOwnerApproval {
        file: String,
        owners: Vec<OwnerView>,
        /// No user among the owners: teams and e-mails are not expanded.
        no_user_owner: bool,
    },
    AutoConfirm {
        allow_unsafe: bool,
    },
    Unverifiable {
        what: String,
    },
}

/// A commit as comments show it.
pub(crate) fn short(sha: &str) -> String {
    sha.chars().take(SHORT_SHA).collect()
}

fn owner_view(owner: &Owner) -> OwnerView {
    let (name, mention) = match owner {
        Owner::User(login) => (&login.0, true),
        Owner::Team(team) => (team, true),
        Owner::Email(email) => (email, false),
    };
    OwnerView {
        name: name.clone(),
        mention,
    }
}

fn view(shortfall: &Shortfall) -> ShortfallView {
    match shortfall {
        Shortfall::Approvals {
            required,
            counted,
            author,
        } => ShortfallView::Approvals {
            needed: required.saturating_sub(*counted),
            counted: *counted,
            required: *required,
            author: author.0.clone(),
        },
        Shortfall::AuthorApproval { author } => ShortfallView::AuthorApproval {
            author: author.0.clone(),
        },
        Shortfall::StaleApproval { reviewer, commit } => ShortfallView::StaleApproval {
            reviewer: reviewer.0.clone(),
            commit: commit.as_deref().map(short),
        },
        Shortfall::InsufficientPermission { reviewer, role } => {
            ShortfallView::InsufficientPermission {
                reviewer: reviewer.0.clone(),
                role: role.as_str(),
            }
        }
        Shortfall::PermissionUnknown { reviewer } => ShortfallView::PermissionUnknown {
            reviewer: reviewer.0.clone(),
        },
        Shortfall::NoCodeownersFile { base_ref } => ShortfallView::NoCodeownersFile {
            base_ref: base_ref.clone(),
            paths: CODEOWNERS_PATHS.join(", "),
        },
        Shortfall::UnownedFile { file } => ShortfallView::UnownedFile { file: file.clone() },
        Shortfall::CodeOwnerApproval { file, owners } => ShortfallView::CodeOwnerApproval {
            file: file.clone(),
            owners: owners.iter().map(owner_view).collect(),
            no_user_owner: owners.iter().all(|o| o.user().is_none()),
        },
        Shortfall::AutoConfirm { allow_unsafe } => ShortfallView::AutoConfirm {
            allow_unsafe: *allow_unsafe,
        },
        Shortfall::Unverifiable { what } => ShortfallView::Unverifiable { what: what.clone() },
    }
}

/// What every Review Required reply shows (under `gate`).
#[derive(Debug, Serialize)]
pub(crate) struct GateView {
    login: String,
    environment: String,
    missing: Vec<ShortfallView>,
    /// The PR head approvals must be on (short), when it is known.
    head: Option<String>,
    /// `-y` was refused: the next steps are plan, review, confirm.
    auto_confirm: bool,
    /// GitHub did not answer: the next step is to try again.
    unverifiable: bool,
    codeowners: bool,
}

impl GateView {
    pub(crate) fn new(
        login: &str,
        environment: &str,
        missing: &[Shortfall],
        head: Option<&str>,
    ) -> Self {
        GateView {
            login: login.to_string(),
            environment: environment.to_string(),
            missing: missing.iter().map(view).collect(),
            head: head.map(short),
            auto_confirm: missing
                .iter()
                .any(|m| matches!(m, Shortfall::AutoConfirm { .. })),
            unverifiable: missing
                .iter()
                .any(|m| matches!(m, Shortfall::Unverifiable { .. })),
            codeowners: missing.iter().any(|m| {
                matches!(
                    m,
                    Shortfall::CodeOwnerApproval { .. }
                        | Shortfall::UnownedFile { .. }
                        | Shortfall::NoCodeownersFile { .. }
                )
            }),
        }
    }
}

#[derive(Debug, Serialize)]
struct CutoverGateView {
    gate: GateView,
    target: TargetView,
    apply_id: String,
    retry: String,
    usage: &'static str,
}

/// The Review Required reply to `cutover`.
pub(crate) fn render_cutover_review_required(
    target: &CutoverTarget,
    login: &Login,
    missing: &[Shortfall],
    head: Option<&str>,
    usage: &'static str,
    marker: &str,
) -> Result<String, RenderError> {
    let view = CutoverGateView {
        gate: GateView::new(&login.0, target.environment.as_str(), missing, head),
        target: target.view(),
        apply_id: target.apply_id.to_string(),
        retry: target.command("cutover"),
        usage,
    };
    engine::render(Template::CutoverReviewRequired, &view, marker)
}
