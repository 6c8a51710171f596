use super::*;
use schemabot_domain::job::{CommentOrigin, CutoverJob, PollJob, Reply, ReplyJob};
use schemabot_domain::{
    ApplyId, CommentId, DeliveryId, Environment, InstallationId, Login, PrNumber,
};

const WEBHOOK: &str = "AROAWEBHOOK";
const OPERATOR: &str = "AROAOPERATOR";
const WORKER: &str = "AROAWORKER";

fn senders() -> TrustedSenders {
    TrustedSenders::from_json(&format!(
        r#"{{"webhook":["{WEBHOOK}"],"operator":["{OPERATOR}"],"worker":["{WORKER}"]}}"#
    ))
    .unwrap()
}

fn repo(r: &str) -> Repository {
    Repository::parse(r).unwrap()
}

fn origin(repository: &str) -> CommentOrigin {
    CommentOrigin {
        delivery_id: DeliveryId::parse("d-1").unwrap(),
        installation_id: InstallationId(1),
        repository: repo(repository),
        pr: PrNumber(7),
        comment_id: CommentId(9),
        commenter: Login("alice".into()),
    }
}

fn comment_cutover(repository: &str) -> Job {
    Job::Cutover(CutoverJob {
        source: CommandSource::PrComment(origin(repository)),
        apply_id: ApplyId::parse("apply-0123456789abcdef").unwrap(),
        environment: Environment::parse("production").unwrap(),
    })
}

fn cli_cutover(claimed: &str) -> Job {
    Job::Cutover(CutoverJob {
        source: CommandSource::Cli {
            request_id: "r-1".into(),
            actor: claimed.into(),
        },
        apply_id: ApplyId::parse("apply-0123456789abcdef").unwrap(),
        environment: Environment::parse("production").unwrap(),
    })
}

fn reply(repository: &str) -> Job {
    Job::Reply(ReplyJob {
        origin: origin(repository),
        reply: Reply::Help,
    })
}

fn poll() -> Job {
    Job::Poll(PollJob {
        apply_id: ApplyId::parse("apply-0123456789abcdef").unwrap(),
        chain_seq: 1,
    })
}

fn check(job: Job, sender: Option<&str>) -> Result<Job, Untrusted> {
    let senders = senders();
    let repositories = [repo("acme/payments")];
    admit(
        TrustPolicy {
            senders: &senders,
            repositories: &repositories,
            accept_test_jobs: false,
        },
        job,
        sender,
    )
}

#[test]
fn comment_jobs_come_only_from_the_webhook_role() {
    let from_webhook = format!("{WEBHOOK}:schemabot-webhook");
    assert!(check(comment_cutover("acme/payments"), Some(&from_webhook)).is_ok());
    assert!(check(reply("acme/payments"), Some(WEBHOOK)).is_ok());
    for sender in [
        format!("{OPERATOR}:alice"),
        format!("{WORKER}:schemabot-worker"),
        format!("{WEBHOOK}X:session"),
        "AIDAIT2UOQQY3AUEKVGXU".to_string(),
    ] {
        assert_eq!(
            check(comment_cutover("acme/payments"), Some(&sender))
                .unwrap_err()
                .code(),
            "wrong_sender",
            "{sender}"
        );
    }
    assert_eq!(
        check(comment_cutover("acme/payments"), None).unwrap_err(),
        Untrusted::NoSender
    );
}

#[test]
fn the_worker_rechecks_the_repository_allowlist() {
    let refused = check(reply("mallory/x"), Some(WEBHOOK)).unwrap_err();
    assert_eq!(refused, Untrusted::RepositoryNotAllowed(repo("mallory/x")));
}

#[test]
fn operator_jobs_are_attributed_to_the_sender_not_the_body() {
    let sender = format!("{OPERATOR}:alice");
    let job = check(
        cli_cutover("arn:aws:iam::1:user/someone-else"),
        Some(&sender),
    )
    .unwrap();
    let Job::Cutover(CutoverJob {
        source: CommandSource::Cli { actor, .. },
        ..
    }) = job
    else {
        panic!("still a CLI cutover");
    };
    assert_eq!(actor, sender);
    assert_eq!(
        check(cli_cutover("x"), Some(WEBHOOK)).unwrap_err().code(),
        "wrong_sender"
    );
}

#[test]
fn polls_come_from_the_worker_and_test_jobs_never_run() {
    assert!(check(poll(), Some(&format!("{WORKER}:fn"))).is_ok());
    assert_eq!(
        check(poll(), Some(WEBHOOK)).unwrap_err().code(),
        "wrong_sender"
    );
}

#[test]
fn a_redrive_principal_may_resend_any_job_but_not_test_jobs() {
    let mut senders = senders();
    senders.redrive = vec!["AROAREDRIVE".into()];
    let repositories = [repo("acme/payments")];
    let policy = TrustPolicy {
        senders: &senders,
        repositories: &repositories,
        accept_test_jobs: false,
    };
    for job in [comment_cutover("acme/payments"), poll(), cli_cutover("x")] {
        assert!(admit(policy, job, Some("AROAREDRIVE:oncall")).is_ok());
    }
}

#[test]
fn register_apply_jobs_run_only_where_tests_enable_them() {
    let job: Job = serde_json::from_value(serde_json::json!({
        "kind": "register_apply",
        "apply_id": "apply-0123456789abcdef",
        "tern_apply_id": "t-1",
        "repository": "acme/payments",
        "pr": 7,
        "installation_id": 1,
        "database": "payments",
        "database_type": "mysql",
        "deployment": "payments",
        "environment": "production",
        "target_schema": "payments",
        "mode": "sequential",
        "defer_cutover": true,
        "requested_by": null,
        "started_at": "2026-12-06T00:00:00Z",
        "tasks": []
    }))
    .expect("a register_apply job");
    let from_worker = format!("{WORKER}:fn");
    assert_eq!(
        check(job.clone(), Some(&from_worker)).unwrap_err(),
        Untrusted::TestOnlyJob
    );
    let senders = senders();
    let enabled = TrustPolicy {
        senders: &senders,
        repositories: &[],
        accept_test_jobs: true,
    };
    assert!(admit(enabled, job, Some(&from_worker)).is_ok());
}

#[test]
fn configuration_is_strict() {
    for bad in [
        r#"{"webhook":[],"worker":["A"]}"#,
        r#"{"webhook":["A"]}"#,
        r#"{"webhook":["A"],"worker":["B"],"admins":["C"]}"#,
        r#"{"webhook":["A:session"],"worker":["B"]}"#,
        r#"{"webhook":[""],"worker":["B"]}"#,
        "AROA1,AROA2",
    ] {
        assert!(TrustedSenders::from_json(bad).is_err(), "{bad}");
    }
    let ok = TrustedSenders::from_json(r#"{"webhook":["A"],"worker":["B"]}"#).unwrap();
    assert!(ok.operator.is_empty());
}

fn force_unlock(source: CommandSource) -> Job {
    Job::ForceUnlock(schemabot_domain::job::ForceUnlockJob {
        source,
        database: schemabot_domain::Database::parse("payments").unwrap(),
        environment: Environment::parse("production").unwrap(),
    })
}

#[test]
fn a_cli_unlock_runs_only_for_the_operator_role_and_an_admins_comment_only_via_the_webhook() {
    let cli = || {
        force_unlock(CommandSource::Cli {
            request_id: "r-1".into(),
            actor: "arn:aws:iam::1:user/someone-else".into(),
        })
    };
    let operator = format!("{OPERATOR}:alice");
    let Job::ForceUnlock(admitted) = check(cli(), Some(&operator)).unwrap() else {
        panic!("still a force unlock");
    };
    // Attributed to the sender SQS names, not to the body.
    assert!(matches!(admitted.source, CommandSource::Cli { ref actor, .. } if *actor == operator));
    for sender in [WEBHOOK.to_string(), format!("{WORKER}:fn")] {
        assert_eq!(
            check(cli(), Some(&sender)).unwrap_err().code(),
            "wrong_sender",
            "{sender}"
        );
    }
    let comment = || force_unlock(CommandSource::PrComment(origin("acme/payments")));
    assert!(check(comment(), Some(WEBHOOK)).is_ok());
    assert_eq!(
        check(comment(), Some(&operator)).unwrap_err().code(),
        "wrong_sender"
    );
    assert_eq!(
        check(
            force_unlock(CommandSource::PrComment(origin("mallory/x"))),
            Some(WEBHOOK)
        )
        .unwrap_err(),
        Untrusted::RepositoryNotAllowed(repo("mallory/x"))
    );
}
