//! The refusals that keep SchemaBot safe in a shared organisation: an empty allowlist serves no
//! repository, prose runs nothing, stray words are refused, applies need an open pull request,
//! and automatic plans skip forks and authors without an allowed association.

use super::tests::{comment, config, decide, env, plan_of, pr_event, reply_of};
use super::*;
use crate::autoplan::{AuthorAssociation, AUTHOR_NOT_ALLOWED, FROM_FORK};
use schemabot_domain::command::{parse, CommandName, ParseError};
use std::borrow::Cow;

#[test]
fn an_empty_allowlist_serves_no_repository() {
    let nothing = RoutingConfig {
        repositories: vec![],
        ..config()
    };
    assert_eq!(
        reply_of(decide("schemabot cutover apply-ab -e staging", &nothing)),
        Reply::RepositoryNotRegistered
    );
    let delivery = DeliveryId::parse("d-11").unwrap();
    for action in ["opened", "closed"] {
        assert_eq!(
            route_pull_request(&delivery, &pr_event(action), &nothing),
            Routed::Ignored("repository not registered"),
            "{action}"
        );
    }
}

#[test]
fn prose_mentions_run_nothing_and_answer_nothing() {
    for body in [
        "do not run schemabot apply-confirm -e production yet",
        "ping schemabot cutover apply-0123456789abcdef -e production",
        "hey schemabot help",
    ] {
        assert_eq!(
            decide(body, &config()),
            Routed::Ignored("no SchemaBot command found"),
            "{body}"
        );
    }
}

#[test]
fn stray_words_are_answered_with_a_syntax_reply_naming_them() {
    assert_eq!(
        reply_of(decide("schemabot apply -e production please", &config())),
        Reply::Syntax {
            error: ParseError::UnexpectedWord {
                command: CommandName::Apply,
                word: "please".into()
            }
        }
    );
    // Only the stack owning the named environment answers.
    let staging_stack = RoutingConfig {
        owned: vec![env("staging")],
        primary: false,
        ..config()
    };
    assert_eq!(
        decide("schemabot apply -e production please", &staging_stack),
        Routed::Ignored("environment handled by another instance")
    );
}

fn on(state: PrState, body: &str) -> Routed {
    let mut c = comment(body);
    c.pr_state = state;
    route(
        &DeliveryId::parse("d-12").unwrap(),
        &c,
        parse(body),
        &config(),
    )
}

#[test]
fn apply_and_apply_confirm_are_refused_on_a_closed_or_merged_pull_request() {
    for (body, command) in [
        ("schemabot apply -e staging", CommandName::Apply),
        (
            "schemabot apply-confirm -e production",
            CommandName::ApplyConfirm,
        ),
    ] {
        assert_eq!(
            reply_of(on(PrState::Closed, body)),
            Reply::ApplyBlockedPrNotOpen {
                command,
                merged: false
            },
            "{body}"
        );
        assert_eq!(
            reply_of(on(PrState::Merged, body)),
            Reply::ApplyBlockedPrNotOpen {
                command,
                merged: true
            },
            "{body}"
        );
        assert!(
            matches!(on(PrState::Open, body), Routed::Enqueue(ref j) if !matches!(**j, Job::Reply(_))),
            "{body}"
        );
    }
    // Other commands keep working on a closed pull request (e.g. releasing its lock).
    assert!(matches!(
        on(PrState::Merged, "schemabot unlock"),
        Routed::Enqueue(ref j) if matches!(**j, Job::Unlock(_))
    ));
    assert_eq!(reply_of(on(PrState::Closed, "schemabot help")), Reply::Help);
    // Syntax and environment errors are answered as usual.
    assert!(matches!(
        reply_of(on(PrState::Closed, "schemabot apply -e qa")),
        Reply::UnknownEnvironment { .. }
    ));
}

#[test]
fn no_automatic_plan_for_forks_or_authors_without_an_allowed_association() {
    let delivery = DeliveryId::parse("d-13").unwrap();
    let mut fork = pr_event("opened");
    fork.head_repository = Some(Repository::parse("mallory/schemas").unwrap());
    let mut deleted_fork = pr_event("synchronize");
    deleted_fork.head_repository = None;
    let mut outsider = pr_event("reopened");
    outsider.author_association = Some(AuthorAssociation::Contributor);
    let mut unknown = pr_event("opened");
    unknown.author_association = None;
    for (event, why) in [
        (&fork, FROM_FORK),
        (&deleted_fork, FROM_FORK),
        (&outsider, AUTHOR_NOT_ALLOWED),
        (&unknown, AUTHOR_NOT_ALLOWED),
    ] {
        assert_eq!(
            route_pull_request(&delivery, event, &config()),
            Routed::Ignored(why),
            "{event:?}"
        );
    }
    // A configured association is planned; closing a fork's pull request still releases locks.
    let contributors = RoutingConfig {
        autoplan: AutoplanPolicy::new(vec![
            AuthorAssociation::Member,
            AuthorAssociation::Contributor,
        ]),
        ..config()
    };
    plan_of(route_pull_request(&delivery, &outsider, &contributors));
    fork.action = Cow::Borrowed("closed");
    assert!(matches!(
        route_pull_request(&delivery, &fork, &config()),
        Routed::Enqueue(ref j) if matches!(**j, Job::Unlock(_))
    ));
}
