//! Every routing rule: commands, environments, stacks, registration and pull-request events.

use super::*;
use crate::autoplan::AuthorAssociation;
use schemabot_domain::command::{parse, CommandName, ParseError};
use schemabot_domain::{CommentId, InstallationId, Login, PrNumber};
use std::borrow::Cow;

pub(super) fn env(name: &str) -> Environment {
    Environment::parse(name).unwrap()
}

pub(super) fn config() -> RoutingConfig {
    RoutingConfig {
        environments: vec![env("staging"), env("production")],
        owned: vec![],
        primary: true,
        repositories: vec![Repository::parse("acme/schemas").unwrap()],
        autoplan: AutoplanPolicy::default(),
    }
}

pub(super) fn comment(body: &str) -> PrComment<'_> {
    PrComment {
        installation_id: InstallationId(7),
        repository: Repository::parse("acme/schemas").unwrap(),
        pr: PrNumber(42),
        pr_state: PrState::Open,
        comment_id: CommentId(99),
        commenter: Login("alice".into()),
        body: Cow::Borrowed(body),
    }
}

pub(super) fn decide(body: &str, config: &RoutingConfig) -> Routed {
    let c = comment(body);
    route(&DeliveryId::parse("d-1").unwrap(), &c, parse(body), config)
}

pub(super) fn reply_of(routed: Routed) -> Reply {
    match routed {
        Routed::Enqueue(job) if matches!(*job, Job::Reply(_)) => {
            let Job::Reply(job) = *job else {
                unreachable!()
            };
            assert_eq!(job.origin.comment_id, CommentId(99));
            job.reply
        }
        other => panic!("expected a reply job, got {other:?}"),
    }
}

#[test]
fn a_valid_cutover_becomes_a_cutover_job_grouped_by_apply() {
    match decide(
        "schemabot cutover apply-0123456789abcdef -e Staging",
        &config(),
    ) {
        Routed::Enqueue(job) if matches!(*job, Job::Cutover(_)) => {
            assert_eq!(job.message_group(), "apply:apply-0123456789abcdef");
            let Job::Cutover(c) = *job else {
                unreachable!()
            };
            assert_eq!(c.environment.as_str(), "staging");
            assert!(
                matches!(c.source, CommandSource::PrComment(ref o) if o.commenter.0 == "alice")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn comments_without_a_command_are_ignored() {
    assert_eq!(
        decide("LGTM, ship it", &config()),
        Routed::Ignored("no SchemaBot command found")
    );
    assert_eq!(
        decide("> schemabot cutover apply-ab -e staging", &config()),
        Routed::Ignored("no SchemaBot command found")
    );
}

#[test]
fn syntax_errors_and_help_become_reply_jobs() {
    assert_eq!(
        reply_of(decide("schemabot cutover -e staging", &config())),
        Reply::Syntax {
            error: ParseError::MissingApplyId {
                command: CommandName::Cutover
            }
        }
    );
    assert_eq!(reply_of(decide("schemabot help", &config())), Reply::Help);
    assert!(matches!(
        reply_of(decide("schemabot frobnicate", &config())),
        Reply::Syntax {
            error: ParseError::UnknownCommand { .. }
        }
    ));
}

#[test]
fn rollback_and_its_confirmation_become_jobs_grouped_by_pr() {
    let Routed::Enqueue(job) = decide(
        "schemabot rollback apply-0123456789abcdef -e staging --defer-cutover",
        &config(),
    ) else {
        panic!("rollback is enqueued");
    };
    let Job::Rollback(rollback) = job.as_ref() else {
        panic!("a rollback job, got {job:?}");
    };
    assert_eq!(rollback.apply_id.as_str(), "apply-0123456789abcdef");
    assert_eq!(rollback.environment.as_str(), "staging");
    assert!(rollback.defer_cutover);
    assert!(job.message_group().starts_with("pr:"));
    let Routed::Enqueue(job) = decide("schemabot rollback-confirm -e staging", &config()) else {
        panic!("rollback-confirm is enqueued");
    };
    assert!(matches!(job.as_ref(), Job::RollbackConfirm(c) if c.environment.as_str() == "staging"));
    assert!(job.id().starts_with("rollback-confirm:"));
}

#[test]
fn lifecycle_controls_become_control_jobs_grouped_by_pr() {
    use schemabot_domain::control::ControlOp;
    for (body, op, apply_id) in [
        ("schemabot stop -e staging", ControlOp::Stop, None),
        (
            "schemabot start apply-0123456789abcdef -e Staging",
            ControlOp::Start,
            Some("apply-0123456789abcdef"),
        ),
        ("schemabot cancel -e staging", ControlOp::Cancel, None),
        (
            "schemabot revert apply-0123456789abcdef -e staging",
            ControlOp::Revert,
            Some("apply-0123456789abcdef"),
        ),
        (
            "schemabot skip-revert -e staging",
            ControlOp::SkipRevert,
            None,
        ),
    ] {
        match decide(body, &config()) {
            Routed::Enqueue(job) if matches!(*job, Job::Control(_)) => {
                assert_eq!(job.message_group(), "pr:acme/schemas:42", "{body}");
                assert_eq!(job.id(), format!("{op}:acme/schemas:99"), "{body}");
                let Job::Control(c) = *job else {
                    unreachable!()
                };
                assert_eq!(c.op, op, "{body}");
                assert_eq!(
                    c.apply_id.as_ref().map(|id| id.as_str()),
                    apply_id,
                    "{body}"
                );
                assert_eq!(c.environment.as_str(), "staging", "{body}");
                assert!(
                    matches!(c.source, CommandSource::PrComment(ref o) if o.commenter.0 == "alice")
                );
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn unknown_environments_get_a_reply_listing_the_configured_ones() {
    assert_eq!(
        reply_of(decide("schemabot cutover apply-ab -e dev", &config())),
        Reply::UnknownEnvironment {
            command: CommandName::Cutover,
            given: env("dev"),
            configured: vec![env("staging"), env("production")],
        }
    );
}

#[test]
fn environments_owned_by_another_stack_are_ignored_silently() {
    let staging_stack = RoutingConfig {
        owned: vec![env("staging")],
        primary: false,
        ..config()
    };
    assert_eq!(
        decide("schemabot cutover apply-ab -e production", &staging_stack),
        Routed::Ignored("environment handled by another instance")
    );
    // Errors that name an environment are answered by its owner only.
    assert_eq!(
        decide("schemabot cutover -e production", &staging_stack),
        Routed::Ignored("environment handled by another instance")
    );
    assert!(matches!(
        decide("schemabot cutover -e staging", &staging_stack),
        Routed::Enqueue(ref j) if matches!(**j, Job::Reply(_))
    ));
    assert!(matches!(
        decide("schemabot cutover apply-ab -e staging", &staging_stack),
        Routed::Enqueue(ref j) if matches!(**j, Job::Cutover(_))
    ));
}

#[test]
fn only_the_primary_answers_what_names_no_environment() {
    let secondary = RoutingConfig {
        owned: vec![env("production")],
        primary: false,
        ..config()
    };
    for body in [
        "schemabot help",
        "schemabot cutover apply-ab",
        "schemabot frobnicate",
        "schemabot cutover apply-ab -e dev",
    ] {
        assert!(
            matches!(decide(body, &secondary), Routed::Ignored(_)),
            "secondary answered {body:?}"
        );
        assert!(
            matches!(decide(body, &config()), Routed::Enqueue(ref j) if matches!(**j, Job::Reply(_))),
            "primary ignored {body:?}"
        );
    }
}

pub(super) fn plan_of(routed: Routed) -> PlanJob {
    match routed {
        Routed::Enqueue(job) if matches!(*job, Job::Plan(_)) => {
            let Job::Plan(plan) = *job else {
                unreachable!()
            };
            plan
        }
        other => panic!("expected a plan job, got {other:?}"),
    }
}

#[test]
fn plan_commands_become_plan_jobs_grouped_by_pr() {
    let plan = plan_of(decide("schemabot plan -e Staging -d payments", &config()));
    assert_eq!(plan.environment, Some(env("staging")));
    assert_eq!(plan.database.as_ref().map(|d| d.as_str()), Some("payments"));
    assert_eq!(plan.head_sha, None);
    assert_eq!(
        plan.trigger,
        PlanTrigger::Comment {
            comment_id: CommentId(99),
            commenter: Login("alice".into())
        }
    );
    let job = Job::Plan(plan);
    assert_eq!(job.message_group(), "pr:acme/schemas:42");
    assert_eq!(job.id(), "plan:acme/schemas:99");

    let all = plan_of(decide("schemabot plan", &config()));
    assert_eq!((all.environment, all.database), (None, None));
}

#[test]
fn plan_commands_follow_the_environment_routing_rules() {
    let staging_stack = RoutingConfig {
        owned: vec![env("staging")],
        primary: false,
        ..config()
    };
    assert!(matches!(
        decide("schemabot plan -e production", &staging_stack),
        Routed::Ignored(_)
    ));
    assert!(matches!(
        decide("schemabot plan", &staging_stack),
        Routed::Ignored(_)
    ));
    assert_eq!(
        plan_of(decide("schemabot plan -e staging", &staging_stack)).environment,
        Some(env("staging"))
    );
    assert_eq!(
        reply_of(decide("schemabot plan -e dev", &config())),
        Reply::UnknownEnvironment {
            command: CommandName::Plan,
            given: env("dev"),
            configured: vec![env("staging"), env("production")],
        }
    );
    let allowlist = RoutingConfig {
        repositories: vec![Repository::parse("acme/other").unwrap()],
        ..config()
    };
    assert_eq!(
        reply_of(decide("schemabot plan -e staging", &allowlist)),
        Reply::RepositoryNotRegistered
    );
    let Routed::Enqueue(job) = decide(
        "schemabot apply -e staging -d payments --defer-cutover --allow-unsafe",
        &config(),
    ) else {
        panic!("apply must be enqueued")
    };
    let Job::Apply(apply) = *job else {
        panic!("an apply job")
    };
    assert_eq!(apply.environment, env("staging"));
    assert_eq!(
        apply.database.as_ref().map(|d| d.as_str()),
        Some("payments")
    );
    assert!(apply.flags.defer_cutover && apply.flags.allow_unsafe);
    let Routed::Enqueue(job) = decide("schemabot apply-confirm -e Production", &config()) else {
        panic!("apply-confirm must be enqueued")
    };
    assert_eq!(job.message_group(), "pr:acme/schemas:42");
    assert!(
        matches!(*job, Job::ApplyConfirm(ref c) if c.environment == env("production") && !c.allow_unsafe)
    );
    let Routed::Enqueue(job) = decide("schemabot unlock", &config()) else {
        panic!("unlock must be enqueued")
    };
    assert!(matches!(
        *job,
        Job::Unlock(UnlockJob {
            trigger: UnlockTrigger::Command { database: None, .. }
        })
    ));
}

#[test]
fn a_closed_pull_request_releases_its_locks_on_every_stack() {
    let delivery = DeliveryId::parse("d-10").unwrap();
    let secondary = RoutingConfig {
        owned: vec![env("production")],
        primary: false,
        ..config()
    };
    for config in [config(), secondary] {
        let Routed::Enqueue(job) = route_pull_request(&delivery, &pr_event("closed"), &config)
        else {
            panic!("a closed PR must release its locks")
        };
        assert_eq!(job.kind(), "unlock");
        assert_eq!(job.id(), "unlock:acme/schemas:42:delivery:d-10");
    }
    let allowlist = RoutingConfig {
        repositories: vec![Repository::parse("acme/other").unwrap()],
        ..config()
    };
    assert_eq!(
        route_pull_request(&delivery, &pr_event("closed"), &allowlist),
        Routed::Ignored("repository not registered")
    );
}

pub(super) fn pr_event(action: &str) -> PullRequestEvent<'_> {
    PullRequestEvent {
        action: Cow::Borrowed(action),
        installation_id: InstallationId(7),
        repository: Repository::parse("acme/schemas").unwrap(),
        pr: PrNumber(42),
        head_sha: "abc123".into(),
        head_repository: Some(Repository::parse("acme/schemas").unwrap()),
        base_repository: Some(Repository::parse("acme/schemas").unwrap()),
        author_association: Some(AuthorAssociation::Member),
    }
}

#[test]
fn pull_request_pushes_plan_every_environment_on_the_primary_only() {
    let delivery = DeliveryId::parse("d-9").unwrap();
    for action in ["opened", "synchronize", "reopened"] {
        let plan = plan_of(route_pull_request(&delivery, &pr_event(action), &config()));
        assert_eq!(plan.head_sha.as_deref(), Some("abc123"));
        assert_eq!((plan.environment, plan.database), (None, None));
        assert_eq!(
            plan.trigger,
            PlanTrigger::PullRequest {
                action: action.into()
            }
        );
        assert_eq!(plan.pr, PrNumber(42));
    }
    for action in ["edited", "labeled"] {
        assert_eq!(
            route_pull_request(&delivery, &pr_event(action), &config()),
            Routed::Ignored("pull_request action ignored")
        );
    }
    let secondary = RoutingConfig {
        owned: vec![env("production")],
        primary: false,
        ..config()
    };
    assert!(matches!(
        route_pull_request(&delivery, &pr_event("opened"), &secondary),
        Routed::Ignored(_)
    ));
    let allowlist = RoutingConfig {
        repositories: vec![Repository::parse("acme/other").unwrap()],
        ..config()
    };
    assert_eq!(
        route_pull_request(&delivery, &pr_event("opened"), &allowlist),
        Routed::Ignored("repository not registered")
    );
}

#[test]
fn unregistered_repositories_get_one_reply() {
    let allowlist = RoutingConfig {
        repositories: vec![Repository::parse("acme/other").unwrap()],
        ..config()
    };
    assert_eq!(
        reply_of(decide("schemabot cutover apply-ab -e staging", &allowlist)),
        Reply::RepositoryNotRegistered
    );
    // A stack that does not own the environment stays silent even then.
    let not_owner = RoutingConfig {
        owned: vec![env("production")],
        primary: false,
        ..allowlist
    };
    assert!(matches!(
        decide("schemabot cutover apply-ab -e staging", &not_owner),
        Routed::Ignored(_)
    ));
}

#[test]
fn force_unlock_goes_to_the_stack_owning_its_environment() {
    let Routed::Enqueue(job) = decide("schemabot unlock --force -d payments -e Staging", &config())
    else {
        panic!("a force unlock must be enqueued")
    };
    assert_eq!(job.id(), "unlock:acme/schemas:99");
    assert_eq!(job.message_group(), "pr:acme/schemas:42");
    let Job::ForceUnlock(force) = *job else {
        panic!("a force-unlock job")
    };
    assert_eq!(force.environment, env("staging"));
    assert_eq!(force.database.as_str(), "payments");
    assert!(matches!(force.source, CommandSource::PrComment(ref o) if o.commenter.0 == "alice"));
    // Another stack's environment: its owner answers.
    let secondary = RoutingConfig {
        owned: vec![env("production")],
        primary: false,
        ..config()
    };
    assert!(matches!(
        decide(
            "schemabot unlock --force -d payments -e staging",
            &secondary
        ),
        Routed::Ignored(_)
    ));
    // Without its database: a syntax reply, nothing enqueued to run.
    assert!(matches!(
        reply_of(decide("schemabot unlock --force -e staging", &config())),
        Reply::Syntax {
            error: ParseError::InvalidDatabase { .. }
        }
    ));
    // A plain unlock may narrow to an environment.
    let Routed::Enqueue(job) = decide("schemabot unlock -e production", &config()) else {
        panic!("unlock must be enqueued")
    };
    assert!(matches!(
        *job,
        Job::Unlock(UnlockJob {
            trigger: UnlockTrigger::Command { environment: Some(ref e), .. }
        }) if *e == env("production")
    ));
}
