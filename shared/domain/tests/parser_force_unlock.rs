//! `unlock` with `-e` and `--force`: `-e` narrows a PR's own unlock; `--force` (admins) names
//! exactly one database and environment, and only `unlock` takes it.

mod common;

use common::commands::{command, db, env, error};

use schemabot_domain::command::{parse, Command, CommandName, ParseError, ParseOutcome};
use schemabot_domain::job::{
    CommandSource, CommentOrigin, ForceUnlockJob, Job, JobEnvelope, UnlockJob,
};
use schemabot_domain::{CommentId, DeliveryId, InstallationId, Login, PrNumber, Repository};

#[test]
fn force_unlock_names_a_database_and_an_environment() {
    let expected = Command::ForceUnlock {
        database: db("payments"),
        environment: env("staging"),
    };
    for body in [
        "schemabot unlock --force -d payments -e staging",
        "schemabot unlock -e staging --force -d payments",
        "schemabot unlock --database=payments --environment=Staging --FORCE",
    ] {
        assert_eq!(command(body), expected, "{body}");
    }
    assert_eq!(expected.name(), CommandName::Unlock);
    assert_eq!(expected.environment(), Some(&env("staging")));
}

#[test]
fn force_unlock_without_its_database_or_environment_is_a_syntax_error() {
    let unlock = CommandName::Unlock;
    assert_eq!(
        error("schemabot unlock --force"),
        ParseError::MissingEnvironment { command: unlock }
    );
    assert_eq!(
        error("schemabot unlock --force -d payments"),
        ParseError::MissingEnvironment { command: unlock }
    );
    assert_eq!(
        error("schemabot unlock --force -e staging"),
        ParseError::InvalidDatabase {
            command: unlock,
            given: String::new()
        }
    );
    // The environment named still routes the answer to the stack owning it.
    match parse("schemabot unlock --force -e staging") {
        ParseOutcome::Error { environment, .. } => assert_eq!(environment, Some(env("staging"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error("schemabot unlock --force -d payments -e staging now"),
        ParseError::UnexpectedWord {
            command: unlock,
            word: "now".into()
        }
    );
}

#[test]
fn only_unlock_takes_force() {
    for (body, command) in [
        ("schemabot apply -e staging --force", CommandName::Apply),
        (
            "schemabot fix-lint -d payments --force",
            CommandName::FixLint,
        ),
        (
            "schemabot stop apply-0123456789abcdef -e staging --force",
            CommandName::Stop,
        ),
    ] {
        assert_eq!(
            error(body),
            ParseError::UnsupportedFlag {
                command,
                flag: "--force".into()
            },
            "{body}"
        );
    }
    assert_eq!(
        error("schemabot unlock --force=yes -d payments -e staging"),
        ParseError::UnsupportedFlag {
            command: CommandName::Unlock,
            flag: "--force=yes".into()
        }
    );
}

#[test]
fn plain_unlock_may_name_an_environment() {
    assert_eq!(
        command("schemabot unlock -e staging"),
        Command::Unlock {
            database: None,
            environment: Some(env("staging"))
        }
    );
    assert_eq!(
        command("schemabot unlock -d payments -e production"),
        Command::Unlock {
            database: Some(db("payments")),
            environment: Some(env("production"))
        }
    );
}

#[test]
fn force_unlock_jobs_are_named_per_comment_or_request_and_round_trip() {
    let comment = Job::ForceUnlock(ForceUnlockJob {
        source: CommandSource::PrComment(CommentOrigin {
            delivery_id: DeliveryId::parse("d-2").unwrap(),
            installation_id: InstallationId(9),
            repository: Repository::parse("octo/schemas").unwrap(),
            pr: PrNumber(7),
            comment_id: CommentId(55),
            commenter: Login("alice".into()),
        }),
        database: db("payments"),
        environment: env("staging"),
    });
    assert_eq!(comment.id(), "unlock:octo/schemas:55");
    assert_eq!(comment.message_group(), "pr:octo/schemas:7");
    let cli = Job::ForceUnlock(ForceUnlockJob {
        source: CommandSource::Cli {
            request_id: "r-1".into(),
            actor: "arn:aws:iam::1:user/ops".into(),
        },
        database: db("payments"),
        environment: env("staging"),
    });
    assert_eq!(cli.id(), "unlock:cli:r-1");
    assert_eq!(cli.message_group(), "lock:payments:staging");
    assert_eq!(cli.kind(), "force_unlock");
    let envelope = JobEnvelope::new(cli);
    let json = serde_json::to_string(&envelope).unwrap();
    assert!(json.contains(r#""kind":"force_unlock""#), "{json}");
    let back: JobEnvelope = serde_json::from_str(&json).unwrap();
    assert_eq!(back, envelope);
}

#[test]
fn unlock_jobs_queued_before_the_environment_filter_still_read() {
    let json = r#"{"trigger":{"type":"command","origin":{"delivery_id":"d-1",
        "installation_id":9,"repository":"octo/schemas","pr":7,"comment_id":55,
        "commenter":"alice"},"database":null}}"#;
    let job: UnlockJob = serde_json::from_str(json).unwrap();
    assert_eq!(job.pr().0, 7);
}
