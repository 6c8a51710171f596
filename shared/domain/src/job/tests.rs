use super::*;

fn register_job() -> RegisterApplyJob {
    RegisterApplyJob {
        apply_id: ApplyId::parse("apply-00000000000000ab").unwrap(),
        tern_apply_id: "apply-00000000000000ab".into(),
        repository: Repository::parse("octo/schemas").unwrap(),
        pr: PrNumber(7),
        installation_id: InstallationId(9),
        database: Database::parse("payments").unwrap(),
        database_type: "mysql".into(),
        deployment: "payments".into(),
        environment: Environment::parse("staging").unwrap(),
        target_schema: "payments".into(),
        mode: ApplyMode::Atomic,
        defer_cutover: true,
        requested_by: Some(Login("alice".into())),
        started_at: DateTime::parse_from_rfc3339("2026-05-15T12:34:56Z")
            .unwrap()
            .with_timezone(&Utc),
        tasks: vec![RegisterTask {
            task_id: TaskId::parse("task-01").unwrap(),
            namespace: "payments".into(),
            table: "orders".into(),
            ddl: "ALTER TABLE orders ADD INDEX idx_status (status)".into(),
        }],
        desired_schema: Default::default(),
        rollback_of: None,
    }
}

#[test]
fn register_apply_jobs_are_named_and_grouped_by_apply() {
    let job = Job::RegisterApply(register_job());
    assert_eq!(job.id(), "register:apply-00000000000000ab");
    assert_eq!(job.message_group(), "apply:apply-00000000000000ab");
    assert_eq!(job.kind(), "register_apply");
}

fn plan_job(trigger: PlanTrigger) -> PlanJob {
    PlanJob {
        delivery_id: DeliveryId::parse("d-1").unwrap(),
        installation_id: InstallationId(9),
        repository: Repository::parse("octo/schemas").unwrap(),
        pr: PrNumber(7),
        head_sha: None,
        environment: Some(Environment::parse("staging").unwrap()),
        database: None,
        trigger,
    }
}

#[test]
fn plan_jobs_are_grouped_by_pr_and_named_by_their_trigger() {
    let job = Job::Plan(plan_job(PlanTrigger::Comment {
        comment_id: CommentId(99),
        commenter: Login("alice".into()),
    }));
    assert_eq!(job.id(), "plan:octo/schemas:99");
    assert_eq!(job.message_group(), "pr:octo/schemas:7");
    assert_eq!(job.kind(), "plan");
    let event = Job::Plan(plan_job(PlanTrigger::PullRequest {
        action: "synchronize".into(),
    }));
    assert_eq!(event.id(), "plan:octo/schemas:7:delivery:d-1");
    assert_eq!(event.message_group(), "pr:octo/schemas:7");
    let envelope = JobEnvelope::new(event);
    let json = serde_json::to_string(&envelope).unwrap();
    assert!(json.contains(r#""kind":"plan""#), "{json}");
    let back: JobEnvelope = serde_json::from_str(&json).unwrap();
    assert_eq!(back, envelope);
}

fn origin() -> CommentOrigin {
    CommentOrigin {
        delivery_id: DeliveryId::parse("d-2").unwrap(),
        installation_id: InstallationId(9),
        repository: Repository::parse("octo/schemas").unwrap(),
        pr: PrNumber(7),
        comment_id: CommentId(55),
        commenter: Login("alice".into()),
    }
}

#[test]
fn apply_lifecycle_jobs_are_grouped_by_pr_named_by_comment_and_round_trip() {
    let staging = Environment::parse("staging").unwrap();
    let jobs = [
        Job::Apply(ApplyJob {
            origin: origin(),
            environment: staging.clone(),
            database: Some(Database::parse("payments").unwrap()),
            flags: ApplyFlags {
                defer_cutover: true,
                ..ApplyFlags::default()
            },
        }),
        Job::ApplyConfirm(ApplyConfirmJob {
            origin: origin(),
            environment: staging,
            database: None,
            allow_unsafe: true,
        }),
        Job::Unlock(UnlockJob {
            trigger: UnlockTrigger::Command {
                origin: origin(),
                database: None,
                environment: None,
            },
        }),
        Job::Unlock(UnlockJob {
            trigger: UnlockTrigger::PullRequestClosed {
                delivery_id: DeliveryId::parse("d-3").unwrap(),
                installation_id: InstallationId(9),
                repository: Repository::parse("octo/schemas").unwrap(),
                pr: PrNumber(7),
            },
        }),
    ];
    let ids: Vec<String> = jobs.iter().map(Job::id).collect();
    assert_eq!(
        ids,
        [
            "apply:octo/schemas:55",
            "apply-confirm:octo/schemas:55",
            "unlock:octo/schemas:55",
            "unlock:octo/schemas:7:delivery:d-3"
        ]
    );
    for job in jobs {
        assert_eq!(job.message_group(), "pr:octo/schemas:7");
        let envelope = JobEnvelope::new(job);
        let json = serde_json::to_string(&envelope).unwrap();
        let back: JobEnvelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back, envelope);
    }
}

#[test]
fn register_apply_jobs_round_trip_through_the_envelope() {
    let envelope = JobEnvelope::new(Job::RegisterApply(register_job()));
    let json = serde_json::to_string(&envelope).unwrap();
    assert!(json.contains(r#""kind":"register_apply""#), "{json}");
    let back: JobEnvelope = serde_json::from_str(&json).unwrap();
    assert_eq!(back, envelope);
}
