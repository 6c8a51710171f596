//! The lifecycle controls (stop, start, cancel, revert, skip-revert) end to end: a signed webhook
//! → SQS FIFO → the worker's control pipeline → Tern (gRPC stand-in over a real MariaDB) →
//! DynamoDB (moto) and GitHub (REST stand-in): the progress comment following, the locks
//! released, refusals without a Tern call, apply-id inference and exactly-once under
//! redelivery, duplication and races.

use futures::future::join_all;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::control::ControlOp;
use schemabot_domain::job::{CommandSource, CommentOrigin, ControlJob, Job, JobEnvelope};
use schemabot_domain::lock::{LockKey, LockStage};
use schemabot_domain::{
    ApplyId, CommentId, Database, DeliveryId, Environment, InstallationId, Login, PrNumber, State,
};
use schemabot_tern::proto;
use schemabot_tests::harness::{Stack, INSTALLATION, PR};
use schemabot_tests::progress_support::{
    apply_state, comments_containing, cutover_command, progress_comment, progress_stack,
    register_apply, ORDERS,
};
use schemabot_tests::services;
use schemabot_tests::tern_standin::{
    ForcedReport, RegisteredPhase, TernCallCounts, TernStandinConfig,
};
use worker::outcome::Attempt;

const PAYMENTS: (&str, &str) = ("payments", "ALTER TABLE `payments` ADD COLUMN `note` text");

/// `schemabot <op> <apply-id> -e <env>`.
fn control(op: &str, apply_id: &ApplyId, environment: &str) -> String {
    format!("schemabot {op} {apply_id} -e {environment}")
}

/// The control calls that reached Tern: stop, start, cancel, revert, skip-revert.
fn control_calls(counts: TernCallCounts) -> (u64, u64, u64, u64, u64) {
    (
        counts.stop,
        counts.start,
        counts.cancel,
        counts.revert,
        counts.skip_revert,
    )
}

fn origin(login: &str, comment: u64) -> CommentOrigin {
    CommentOrigin {
        delivery_id: DeliveryId::parse(&format!("delivery-{comment}")).unwrap(),
        installation_id: InstallationId(INSTALLATION),
        repository: Stack::repository(),
        pr: PrNumber(PR),
        comment_id: CommentId(comment),
        commenter: Login(login.to_string()),
    }
}

fn control_job(op: ControlOp, origin: CommentOrigin, apply_id: Option<&ApplyId>) -> Job {
    Job::Control(ControlJob {
        source: CommandSource::PrComment(origin),
        op,
        apply_id: apply_id.cloned(),
        environment: Environment::parse("staging").unwrap(),
    })
}

fn attempt(receive_count: u32) -> Attempt {
    Attempt {
        receive_count,
        max_receive_count: 3,
    }
}

/// Comments (as a reader sees them) that start with `heading`.
fn replies(stack: &Stack, heading: &str) -> Vec<String> {
    stack
        .pr_comments()
        .into_iter()
        .filter(|c| c.starts_with(heading))
        .collect()
}

/// Comments a command added since `before` comments existed.
fn new_comments(stack: &Stack, before: usize) -> Vec<String> {
    stack.pr_comments().into_iter().skip(before).collect()
}

async fn say(stack: &Stack, login: &str, body: &str) {
    let (status, reply) = stack.comment(login, body).await;
    assert_eq!(status, 202, "{body}: {reply}");
    assert_eq!(reply["job"], "control", "{body}: {reply}");
    stack.deliver_all().await;
}

/// An apply copying rows (100 of 1000 per table), registered with its progress comment.
async fn copying_apply(stack: &Stack, tables: &[(&str, &str)]) -> ApplyId {
    let id = register_apply(
        stack,
        "staging",
        tables,
        RegisteredPhase::Copying { rows_copied: 100 },
    )
    .await;
    stack.worker.sweep().await;
    assert_eq!(apply_state(stack, &id).await, State::Running);
    id
}

/// Sweeps (and lets a running cutover finish) until the apply is `state`.
async fn sweep_until(stack: &Stack, id: &ApplyId, state: State) {
    for _ in 0..6 {
        stack.worker.sweep().await;
        if apply_state(stack, id).await == state {
            return;
        }
        let _ = stack.tern.advance(id.as_str(), 1);
    }
    assert_eq!(apply_state(stack, id).await, state);
}

/// Exactly one Tern Stop and exactly one new comment since `before`: the accepted reply.
fn stopped_once(stack: &Stack, before: usize) -> Vec<String> {
    assert_eq!(control_calls(stack.tern.counts()), (1, 0, 0, 0, 0));
    let new = new_comments(stack, before);
    assert_eq!(
        new.len(),
        1,
        "one reply, whatever was redelivered: {new:#?}"
    );
    assert!(new[0].starts_with("## Stop Request Accepted"), "{}", new[0]);
    new
}

#[tokio::test]
async fn stop_shows_the_stopped_change_and_start_resumes_it_to_completion() {
    let stack = progress_stack().await;
    let id = copying_apply(&stack, &[ORDERS]).await;

    say(&stack, "alice-dba", &control("stop", &id, "staging")).await;
    assert_eq!(control_calls(stack.tern.counts()), (1, 0, 0, 0, 0));
    let stop = replies(&stack, "## Stop Request Accepted");
    assert_eq!(stop.len(), 1, "{:#?}", stack.pr_comments());
    // The resume deadline Tern returned (now + 7 days on the stand-in), as replies show times.
    let deadline = (chrono::Utc::now() + chrono::TimeDelta::days(7))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        stop[0].contains("It can be resumed until **") && stop[0].contains(&deadline),
        "{}",
        stop[0]
    );
    assert!(
        stop[0].contains(&format!("`schemabot start {id} -e staging`")),
        "{}",
        stop[0]
    );
    // Who asked, without notifying them again.
    assert!(stop[0].contains("@\u{200b}alice-dba"), "{}", stop[0]);
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);
    let progress = progress_comment(&stack, &id).await;
    assert!(
        progress.contains("🟧") && progress.contains("⏹️ Stopped at 10%"),
        "{progress}"
    );
    assert!(
        progress.contains(&format!("schemabot start {id} -e staging")),
        "{progress}"
    );
    // Until when the Stop said it can be resumed, right above the start command.
    assert!(
        progress.contains(&format!("Resume before **{deadline}")),
        "{progress}"
    );
    // Stopped stays stopped under the sweep: no summary, the progress comment stays live.
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);
    assert_eq!(comments_containing(&stack, "<!-- schemabot:summary:"), 0);
    assert!(progress_comment(&stack, &id).await.contains("🟧"));

    say(&stack, "alice-dba", &control("start", &id, "staging")).await;
    assert_eq!(control_calls(stack.tern.counts()), (1, 1, 0, 0, 0));
    assert_eq!(replies(&stack, "## Start Request Accepted").len(), 1);
    assert_eq!(apply_state(&stack, &id).await, State::Running);
    let progress = progress_comment(&stack, &id).await;
    assert!(!progress.contains("🟧"), "{progress}");
    assert!(progress.contains("Schema Change In Progress"), "{progress}");

    stack.tern.finish_copy(id.as_str()).unwrap();
    sweep_until(&stack, &id, State::WaitingForCutover).await;
    let progress = progress_comment(&stack, &id).await;
    assert!(progress.contains("⏸️ Ready for cutover"), "{progress}");

    let (status, _) = stack
        .comment("alice-dba", &cutover_command(&id, "staging"))
        .await;
    assert_eq!(status, 202);
    stack.deliver_all().await;
    assert_eq!(replies(&stack, "## Cutover Triggered").len(), 1);
    sweep_until(&stack, &id, State::Completed).await;
    assert_eq!(comments_containing(&stack, "Schema Change Applied"), 1);
    assert_eq!(control_calls(stack.tern.counts()), (1, 1, 0, 0, 0));

    let events: Vec<(EventKind, Outcome)> = stack
        .store
        .list_events(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.outcome))
        .collect();
    for expected in [EventKind::StopRequested, EventKind::StartRequested] {
        assert!(
            events
                .iter()
                .any(|(event, outcome)| *event == expected && *outcome == Outcome::Accepted),
            "{expected}: {events:?}"
        );
    }
}

/// A stack whose deployments include a fresh database with an `orders` table, and the PR's
/// schema files for it (as in `apply_e2e.rs`): applies go through `apply`/`apply-confirm` and
/// hold the database's lock.
struct LockedFixture {
    stack: Stack,
    database: String,
}

impl LockedFixture {
    const HEAD: &'static str = "4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b";

    async fn start() -> LockedFixture {
        let database = services::unique("shop_");
        let mut stack = Stack::start_with(schemabot_tests::harness::StackOptions {
            tern: TernStandinConfig::from_env().with_ddl_on_completion(true),
            extra_deployments: vec![database.clone()],
            ..Default::default()
        })
        .await;
        schemabot_tests::progress_support::ProgressTiming::immediate().apply_to(&mut stack);
        stack
            .mysql_exec(&[
                &format!("CREATE DATABASE `{database}`"),
                &format!(
                    "CREATE TABLE `{database}`.`orders` (id bigint NOT NULL AUTO_INCREMENT, status varchar(32) NOT NULL, PRIMARY KEY (id))"
                ),
            ])
            .await;
        stack.grant("alice", "write");
        stack.seed_pr_files(
            Self::HEAD,
            &[
                (
                    "schemas/shop/schemabot.yaml",
                    &format!("database: {database}\ntype: mysql\n"),
                ),
                (
                    "schemas/shop/orders.sql",
                    "CREATE TABLE `orders` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n  `status` varchar(32) NOT NULL,\n  `note` varchar(64) NULL,\n  PRIMARY KEY (`id`)\n);\n",
                ),
            ],
        );
        LockedFixture { stack, database }
    }

    fn key(&self) -> LockKey {
        LockKey {
            database: Database::parse(&self.database).unwrap(),
            environment: Environment::parse("staging").unwrap(),
        }
    }

    async fn comment(&self, body: &str) {
        let (status, reply) = self.stack.comment("alice", body).await;
        assert_eq!(status, 202, "{body}: {reply}");
        self.stack.deliver_all().await;
    }

    /// `apply` then `apply-confirm` in staging: the apply running on Tern, holding the lock.
    async fn running_apply(&self) -> ApplyId {
        self.comment("schemabot apply -e staging --defer-cutover")
            .await;
        self.comment("schemabot apply-confirm -e staging").await;
        let lock = self
            .stack
            .store
            .get_lock(&self.key())
            .await
            .unwrap()
            .expect("a lock");
        let LockStage::Applying { apply_id, .. } = lock.stage else {
            panic!("expected an applying lock, got {:?}", lock.stage);
        };
        self.stack.worker.sweep().await;
        assert_eq!(apply_state(&self.stack, &apply_id).await, State::Running);
        apply_id
    }

    async fn cleanup(self) {
        self.stack
            .mysql_exec(&[&format!("DROP DATABASE IF EXISTS `{}`", self.database)])
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_of_a_running_apply_ends_it_releases_the_lock_and_posts_one_summary() {
    let fx = LockedFixture::start().await;
    let stack = &fx.stack;
    let id = fx.running_apply().await;

    fx.comment(&control("cancel", &id, "staging")).await;
    assert_eq!(control_calls(stack.tern.counts()), (0, 0, 1, 0, 0));
    let cancel = replies(stack, "## Cancel Request Accepted");
    assert_eq!(cancel.len(), 1, "{:#?}", stack.pr_comments());
    assert!(cancel[0].contains("@\u{200b}alice"), "{}", cancel[0]);
    // The sweep and every later poll find it ended; nothing is repeated.
    stack.worker.sweep().await;
    stack.worker.sweep().await;
    assert_eq!(apply_state(stack, &id).await, State::Cancelled);
    assert_eq!(
        stack.store.get_lock(&fx.key()).await.unwrap(),
        None,
        "the lock is released"
    );
    let summaries: Vec<String> = stack
        .pr_comments()
        .into_iter()
        .filter(|c| c.contains(&format!("<!-- schemabot:summary:{id} -->")))
        .collect();
    assert_eq!(summaries.len(), 1, "{:#?}", stack.pr_comments());
    assert!(
        summaries[0].starts_with("## Schema Change Cancelled"),
        "{}",
        summaries[0]
    );
    assert!(
        summaries[0].contains("Cancelled by @\u{200b}"),
        "the summary says who cancelled: {}",
        summaries[0]
    );
    // The progress comment is final, and offers no command any more.
    let progress = progress_comment(stack, &id).await;
    assert!(
        progress.contains("This progress comment is final") && !progress.contains("schemabot stop"),
        "{progress}"
    );

    // A second cancel finds nothing to do, and asks Tern nothing.
    fx.comment(&control("cancel", &id, "staging")).await;
    assert_eq!(control_calls(stack.tern.counts()), (0, 0, 1, 0, 0));
    assert_eq!(replies(stack, "## Cancel — Nothing To Do").len(), 1);
    assert_eq!(comments_containing(stack, "<!-- schemabot:summary:"), 1);
    fx.cleanup().await;
}

/// An apply the stand-in reports in its revert window, recorded as such by a sweep.
async fn in_revert_window(stack: &Stack, tables: &[(&str, &str)]) -> ApplyId {
    let id = copying_apply(stack, tables).await;
    stack.tern.force_report(
        id.as_str(),
        ForcedReport::new(proto::State::RevertWindow, "revert_window")
            .with_state_number(proto::State::RevertWindow as i32),
    );
    stack.worker.sweep().await;
    assert_eq!(apply_state(stack, &id).await, State::RevertWindow);
    id
}

#[tokio::test]
async fn revert_and_skip_revert_only_during_the_revert_window() {
    let stack = progress_stack().await;

    // Outside the window (running): refused, no Tern call.
    let running = copying_apply(&stack, &[PAYMENTS]).await;
    for op in ["revert", "skip-revert"] {
        say(&stack, "alice-dba", &control(op, &running, "staging")).await;
    }
    assert_eq!(control_calls(stack.tern.counts()), (0, 0, 0, 0, 0));
    for title in ["## Revert Not Available", "## Skip-Revert Not Available"] {
        let refused = replies(&stack, title);
        assert_eq!(refused.len(), 1, "{title}: {:#?}", stack.pr_comments());
        assert!(
            refused[0].contains("only available during a revert window"),
            "{}",
            refused[0]
        );
    }

    // In the window: accepted, one call each.
    let reverting = in_revert_window(&stack, &[ORDERS]).await;
    say(
        &stack,
        "alice-dba",
        &control("revert", &reverting, "staging"),
    )
    .await;
    assert_eq!(control_calls(stack.tern.counts()), (0, 0, 0, 1, 0));
    assert_eq!(replies(&stack, "## Revert Request Accepted").len(), 1);
    assert_eq!(apply_state(&stack, &reverting).await, State::Reverting);

    let kept = in_revert_window(
        &stack,
        &[("refunds", "ALTER TABLE `refunds` ADD INDEX `i` (`x`)")],
    )
    .await;
    say(
        &stack,
        "alice-dba",
        &control("skip-revert", &kept, "staging"),
    )
    .await;
    assert_eq!(control_calls(stack.tern.counts()), (0, 0, 0, 1, 1));
    assert_eq!(replies(&stack, "## Skip-Revert Request Accepted").len(), 1);
    assert_eq!(apply_state(&stack, &kept).await, State::Completed);

    // Again in the same state: nothing to do, no further call.
    say(
        &stack,
        "alice-dba",
        &control("skip-revert", &kept, "staging"),
    )
    .await;
    say(
        &stack,
        "alice-dba",
        &control("revert", &reverting, "staging"),
    )
    .await;
    assert_eq!(control_calls(stack.tern.counts()), (0, 0, 0, 1, 1));
    assert_eq!(replies(&stack, "## Skip-Revert — Nothing To Do").len(), 1);
    assert_eq!(replies(&stack, "## Revert — Nothing To Do").len(), 1);
}

#[tokio::test]
async fn each_control_in_a_wrong_state_is_refused_without_a_tern_call() {
    let stack = progress_stack().await;
    let running = stack
        .record_apply(
            "apply-00000000000000b1",
            "staging",
            &[ORDERS],
            State::Running,
        )
        .await
        .id;
    let waiting = stack
        .record_apply(
            "apply-00000000000000b2",
            "staging",
            &[ORDERS],
            State::WaitingForCutover,
        )
        .await
        .id;
    let cutting = stack
        .record_apply(
            "apply-00000000000000b3",
            "staging",
            &[ORDERS],
            State::CuttingOver,
        )
        .await
        .id;
    let completed = stack
        .record_apply(
            "apply-00000000000000b4",
            "staging",
            &[ORDERS],
            State::Completed,
        )
        .await
        .id;
    let recovering = stack
        .record_apply(
            "apply-00000000000000b5",
            "staging",
            &[ORDERS],
            State::Recovering,
        )
        .await
        .id;
    let cases = [
        (
            "start",
            &running,
            "## Start — Nothing To Do",
            "already `running`",
        ),
        (
            "start",
            &waiting,
            "## Start Not Available",
            "Only a stopped change can be started",
        ),
        (
            "stop",
            &cutting,
            "## Stop Not Available",
            "can no longer be stopped",
        ),
        (
            "cancel",
            &cutting,
            "## Cancel Not Available",
            "can no longer be stopped or cancelled",
        ),
        ("stop", &completed, "## Stop Not Available", "already ended"),
        (
            "cancel",
            &completed,
            "## Cancel Not Available",
            "already ended",
        ),
        (
            "start",
            &completed,
            "## Start Not Available",
            "already ended",
        ),
        (
            "revert",
            &completed,
            "## Revert Not Available",
            "already ended",
        ),
        (
            "skip-revert",
            &waiting,
            "## Skip-Revert Not Available",
            "only available during a revert window",
        ),
        (
            "stop",
            &recovering,
            "## Stop Not Available",
            "Tern is recovering after a restart",
        ),
    ];
    for (op, id, heading, reason) in cases {
        let before = stack.pr_comments().len();
        say(&stack, "alice-dba", &control(op, id, "staging")).await;
        let new = new_comments(&stack, before);
        assert_eq!(new.len(), 1, "{op} {id}: {new:#?}");
        assert!(new[0].starts_with(heading), "{op} {id}: {}", new[0]);
        assert!(new[0].contains(reason), "{op} {id}: {}", new[0]);
        assert!(new[0].contains("schemabot help"), "{op} {id}: {}", new[0]);
    }
    // Starting a change that waits for cutover points at the cutover.
    let start_waiting = replies(&stack, "## Start Not Available");
    assert!(
        start_waiting[0].contains(&format!("`schemabot cutover {waiting} -e staging`")),
        "{}",
        start_waiting[0]
    );
    assert_eq!(control_calls(stack.tern.counts()), (0, 0, 0, 0, 0));
    for (id, state) in [
        (&running, State::Running),
        (&waiting, State::WaitingForCutover),
        (&cutting, State::CuttingOver),
        (&completed, State::Completed),
    ] {
        let stored = stack.store.get_apply(id).await.unwrap().unwrap();
        assert_eq!(stored.state, state, "{id}");
    }
}

#[tokio::test]
async fn a_stop_redelivered_three_times_asks_tern_once_and_replies_once() {
    let stack = progress_stack().await;
    let id = copying_apply(&stack, &[ORDERS]).await;
    let before = stack.pr_comments().len();
    let job = control_job(ControlOp::Stop, origin("alice-dba", 7001), Some(&id));
    for receive_count in 1..=3 {
        let run = stack.worker.run_job(&job, attempt(receive_count)).await;
        assert!(run.is_ok(), "attempt {receive_count}: {run:?}");
    }
    stopped_once(&stack, before);
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);
}

#[tokio::test]
async fn a_stop_whose_answer_was_lost_is_not_asked_again() {
    let stack = progress_stack().await;
    let id = copying_apply(&stack, &[ORDERS]).await;
    let before = stack.pr_comments().len();
    let job = control_job(ControlOp::Stop, origin("alice-dba", 7101), Some(&id));
    // Tern stops the change, but the answer never arrives.
    stack.tern.lose_next_responses(1);
    let first = stack.worker.run_job(&job, attempt(1)).await;
    assert!(matches!(first, Err(ref e) if e.is_transient()), "{first:?}");
    assert_eq!(stack.tern.counts().stop, 1);
    // SQS redelivers twice: Tern's report shows it stopped; no second Stop.
    for receive_count in 2..=3 {
        let run = stack.worker.run_job(&job, attempt(receive_count)).await;
        assert!(run.is_ok(), "attempt {receive_count}: {run:?}");
    }
    stopped_once(&stack, before);
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);
}

#[tokio::test]
async fn a_duplicated_sqs_message_stops_once_and_replies_once() {
    let stack = progress_stack().await;
    let id = copying_apply(&stack, &[ORDERS]).await;
    let before = stack.pr_comments().len();
    let job = control_job(ControlOp::Stop, origin("alice-dba", 7201), Some(&id));
    for copy in 0..2 {
        stack
            .sqs
            .send_message()
            .queue_url(&stack.queue_url)
            .message_group_id(job.message_group())
            .message_deduplication_id(format!("copy-{copy}"))
            .message_body(serde_json::to_string(&JobEnvelope::new(job.clone())).unwrap())
            .send()
            .await
            .unwrap();
    }
    stack.deliver_all().await;
    stopped_once(&stack, before);
}

#[tokio::test]
async fn the_same_stop_comment_delivered_three_times_stops_once() {
    let stack = progress_stack().await;
    let id = copying_apply(&stack, &[ORDERS]).await;
    let before = stack.pr_comments().len();
    for _ in 0..3 {
        stack
            .deliver_comment(
                "alice-dba",
                &control("stop", &id, "staging"),
                7301,
                "same-stop-delivery",
            )
            .await;
    }
    stack.deliver_all().await;
    assert_eq!(control_calls(stack.tern.counts()), (1, 0, 0, 0, 0));
    assert_eq!(new_comments(&stack, before).len(), 1);
}

#[tokio::test]
async fn two_users_stopping_at_once_make_one_tern_call() {
    let stack = progress_stack().await;
    stack.grant("bob-dba", "write");
    let id = copying_apply(&stack, &[ORDERS]).await;
    let before = stack.pr_comments().len();
    let jobs = [
        control_job(ControlOp::Stop, origin("alice-dba", 7401), Some(&id)),
        control_job(ControlOp::Stop, origin("bob-dba", 7402), Some(&id)),
    ];
    let results = join_all(
        jobs.iter()
            .map(|job| stack.worker.run_job(job, Attempt::first())),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(control_calls(stack.tern.counts()), (1, 0, 0, 0, 0));
    let new = new_comments(&stack, before);
    assert_eq!(new.len(), 2, "{new:#?}");
    let accepted: Vec<&String> = new
        .iter()
        .filter(|c| c.starts_with("## Stop Request Accepted"))
        .collect();
    assert_eq!(accepted.len(), 1, "{new:#?}");
    let other = new
        .iter()
        .find(|c| !c.starts_with("## Stop Request Accepted"))
        .unwrap();
    assert!(
        other.starts_with("## Stop Already Requested")
            || other.starts_with("## Stop — Nothing To Do"),
        "{other}"
    );
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);

    // Many more at once, then some of them redelivered (SQS FIFO hands a message out again only
    // after its run ended): still one call, one reply each.
    let jobs: Vec<Job> = (0..10)
        .map(|i| {
            let login = format!("dba-{i}");
            stack.grant(&login, "write");
            control_job(ControlOp::Stop, origin(&login, 7500 + i), Some(&id))
        })
        .collect();
    let results = join_all(jobs.iter().map(|job| stack.worker.run_job(job, attempt(1)))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let redelivered = join_all(
        jobs.iter()
            .take(3)
            .map(|job| stack.worker.run_job(job, attempt(2))),
    )
    .await;
    assert!(redelivered.iter().all(Result::is_ok), "{redelivered:?}");
    assert_eq!(control_calls(stack.tern.counts()), (1, 0, 0, 0, 0));
    assert_eq!(new_comments(&stack, before).len(), 12);
}

#[tokio::test]
async fn two_users_starting_at_once_make_one_tern_call() {
    let stack = progress_stack().await;
    stack.grant("bob-dba", "write");
    let id = copying_apply(&stack, &[ORDERS]).await;
    say(&stack, "alice-dba", &control("stop", &id, "staging")).await;
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);
    let before = stack.pr_comments().len();
    let jobs = [
        control_job(ControlOp::Start, origin("alice-dba", 7601), Some(&id)),
        control_job(ControlOp::Start, origin("bob-dba", 7602), Some(&id)),
    ];
    let results = join_all(
        jobs.iter()
            .map(|job| stack.worker.run_job(job, Attempt::first())),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(control_calls(stack.tern.counts()), (1, 1, 0, 0, 0));
    let new = new_comments(&stack, before);
    assert_eq!(new.len(), 2, "{new:#?}");
    assert_eq!(
        new.iter()
            .filter(|c| c.starts_with("## Start Request Accepted"))
            .count(),
        1,
        "{new:#?}"
    );
    assert_eq!(apply_state(&stack, &id).await, State::Running);
}

#[tokio::test]
async fn the_apply_id_is_inferred_only_when_there_is_exactly_one() {
    let stack = progress_stack().await;

    // None: a clear answer.
    say(&stack, "alice-dba", "schemabot stop -e staging").await;
    let none = replies(&stack, "## Which Apply?");
    assert_eq!(none.len(), 1, "{:#?}", stack.pr_comments());
    assert!(
        none[0].contains("has no schema change in `staging`")
            && none[0].contains("`schemabot stop <apply-id> -e <environment>`"),
        "{}",
        none[0]
    );

    // One (a completed apply does not count): inferred.
    stack
        .record_apply(
            "apply-00000000000000c1",
            "staging",
            &[PAYMENTS],
            State::Completed,
        )
        .await;
    let id = copying_apply(&stack, &[ORDERS]).await;
    say(&stack, "alice-dba", "schemabot stop -e staging").await;
    assert_eq!(control_calls(stack.tern.counts()), (1, 0, 0, 0, 0));
    let accepted = replies(&stack, "## Stop Request Accepted");
    assert_eq!(accepted.len(), 1, "{:#?}", stack.pr_comments());
    assert!(accepted[0].contains(id.as_str()), "{}", accepted[0]);
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);
    // The stopped apply is still the one `start` means.
    say(&stack, "alice-dba", "schemabot start -e staging").await;
    assert_eq!(control_calls(stack.tern.counts()), (1, 1, 0, 0, 0));
    assert_eq!(replies(&stack, "## Start Request Accepted").len(), 1);

    // Two: the listing, with the exact commands; nothing asked of Tern.
    let second = copying_apply(&stack, &[PAYMENTS]).await;
    say(&stack, "alice-dba", "schemabot cancel -e staging").await;
    assert_eq!(control_calls(stack.tern.counts()), (1, 1, 0, 0, 0));
    let which = replies(&stack, "## Which Apply?");
    assert_eq!(which.len(), 2, "{:#?}", stack.pr_comments());
    for apply in [&id, &second] {
        assert!(
            which[1].contains(&format!("`schemabot cancel {apply} -e staging`")),
            "{}",
            which[1]
        );
    }
    // Another environment has none.
    say(&stack, "alice-dba", "schemabot stop -e production").await;
    assert_eq!(replies(&stack, "## Which Apply?").len(), 3);
    assert_eq!(control_calls(stack.tern.counts()), (1, 1, 0, 0, 0));
}

#[tokio::test]
async fn commands_for_another_pr_environment_or_without_permission_are_refused() {
    let stack = progress_stack().await;
    stack.grant("rita-read", "read");
    let id = copying_apply(&stack, &[ORDERS]).await;
    let before = stack.pr_comments().len();

    // Read permission only.
    say(&stack, "rita-read", &control("stop", &id, "staging")).await;
    // Wrong environment.
    say(&stack, "alice-dba", &control("stop", &id, "production")).await;
    let new = new_comments(&stack, before);
    assert_eq!(new.len(), 2, "{new:#?}");
    assert!(new[0].starts_with("## Permission Denied"), "{}", new[0]);
    assert!(
        new[0].contains("@rita-read") && new[0].contains("`write`"),
        "{}",
        new[0]
    );
    assert!(new[1].starts_with("## Environment Mismatch"), "{}", new[1]);
    assert!(
        new[1].contains(&format!("`schemabot stop {id} -e staging`")),
        "{}",
        new[1]
    );

    // Another PR of this repository naming this apply.
    let (status, _) = stack
        .comment_on(PR + 1, "alice-dba", &control("cancel", &id, "staging"))
        .await;
    assert_eq!(status, 202);
    stack.deliver_all().await;
    let other_pr = stack
        .github
        .comments(&Stack::repository(), PrNumber(PR + 1));
    assert_eq!(other_pr.len(), 1);
    assert!(
        other_pr[0].body.starts_with("## Apply Not Found"),
        "{}",
        other_pr[0].body
    );
    assert!(
        !other_pr[0].body.contains(&stack.schema),
        "never reveals the database"
    );

    // Another repository naming this apply.
    let elsewhere: schemabot_domain::Repository = "acme-payments/elsewhere".parse().unwrap();
    let job = control_job(
        ControlOp::Stop,
        CommentOrigin {
            repository: elsewhere.clone(),
            ..origin("alice-dba", 7701)
        },
        Some(&id),
    );
    stack.worker.run_job(&job, Attempt::first()).await.unwrap();
    let foreign = stack.github.comments(&elsewhere, PrNumber(PR));
    assert_eq!(foreign.len(), 1);
    assert!(
        foreign[0].body.starts_with("## Apply Not Found"),
        "{}",
        foreign[0].body
    );
    assert!(!foreign[0].body.contains(&stack.schema));

    // An unknown apply.
    say(
        &stack,
        "alice-dba",
        "schemabot stop apply-00000000000000ff -e staging",
    )
    .await;
    assert_eq!(replies(&stack, "## Apply Not Found").len(), 1);

    assert_eq!(control_calls(stack.tern.counts()), (0, 0, 0, 0, 0));
    assert_eq!(apply_state(&stack, &id).await, State::Running);
    assert_eq!(
        new_comments(&stack, before).len(),
        3,
        "nothing else on this PR"
    );
}

#[tokio::test]
async fn a_stop_whose_reply_could_not_be_posted_replies_accepted_on_redelivery() {
    let stack = progress_stack().await;
    let id = copying_apply(&stack, &[ORDERS]).await;
    let before = stack.pr_comments().len();
    let job = Job::Control(ControlJob {
        source: CommandSource::Cli {
            request_id: "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5".into(),
            actor: "arn:aws:sts::123456789012:assumed-role/oncall/dana".into(),
        },
        op: ControlOp::Stop,
        apply_id: Some(id.clone()),
        environment: Environment::parse("staging").unwrap(),
    });
    // Tern stops the change; GitHub is down, so the reply cannot be posted.
    stack.github.fail_next(100, 502);
    let first = stack.worker.run_job(&job, attempt(1)).await;
    assert!(matches!(first, Err(ref e) if e.is_transient()), "{first:?}");
    assert_eq!(stack.tern.counts().stop, 1);
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);

    // GitHub is back: the redelivery posts the reply the first attempt meant to post (with the
    // resume deadline), not "nothing to do" for the apply it stopped itself.
    stack.github.clear_faults();
    stack.worker.run_job(&job, attempt(2)).await.unwrap();
    stack.worker.run_job(&job, attempt(3)).await.unwrap();
    let new = stopped_once(&stack, before);
    assert!(new[0].contains("It can be resumed until **"), "{}", new[0]);
    assert!(new[0].contains("assumed-role/oncall/dana"), "{}", new[0]);
}

#[tokio::test]
async fn a_refusal_by_tern_is_replied_once_and_not_asked_again() {
    let stack = progress_stack().await;
    let id = copying_apply(&stack, &[ORDERS]).await;
    // Tern's apply is already stopped, unknown to SchemaBot yet (no poll since).
    say(&stack, "alice-dba", &control("stop", &id, "staging")).await;
    stack.store.get_apply(&id).await.unwrap().expect("apply");
    let before = stack.pr_comments().len();
    // A start whose answer SchemaBot records, then redelivered: Tern refused a second start
    // (the stand-in accepts only a stopped change), the reply says so once.
    let job = control_job(ControlOp::Start, origin("alice-dba", 7801), Some(&id));
    stack.worker.run_job(&job, attempt(1)).await.unwrap();
    assert_eq!(stack.tern.counts().start, 1);
    assert_eq!(apply_state(&stack, &id).await, State::Running);
    let other = control_job(ControlOp::Start, origin("bob-dba", 7802), Some(&id));
    stack.grant("bob-dba", "write");
    stack.worker.run_job(&other, attempt(1)).await.unwrap();
    for receive_count in 2..=3 {
        stack
            .worker
            .run_job(&job, attempt(receive_count))
            .await
            .unwrap();
    }
    assert_eq!(control_calls(stack.tern.counts()), (1, 1, 0, 0, 0));
    let new = new_comments(&stack, before);
    assert_eq!(new.len(), 2, "{new:#?}");
    assert!(
        new[0].starts_with("## Start Request Accepted"),
        "{}",
        new[0]
    );
    assert!(new[1].starts_with("## Start — Nothing To Do"), "{}", new[1]);
}

#[tokio::test]
async fn a_change_stopped_while_waiting_for_cutover_waits_again_once_started() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::WaitingForCutover,
    )
    .await;
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::WaitingForCutover);

    say(&stack, "alice-dba", &control("stop", &id, "staging")).await;
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);
    let progress = progress_comment(&stack, &id).await;
    assert!(
        progress.contains("⏹️ Stopped (was waiting for cutover)"),
        "{progress}"
    );
    // Stopped, the change cannot be cut over.
    let (status, _) = stack
        .comment("alice-dba", &cutover_command(&id, "staging"))
        .await;
    assert_eq!(status, 202);
    stack.deliver_all().await;
    assert_eq!(stack.tern.cutover_calls(), 0);

    say(&stack, "alice-dba", &control("start", &id, "staging")).await;
    assert_eq!(control_calls(stack.tern.counts()), (1, 1, 0, 0, 0));
    sweep_until(&stack, &id, State::WaitingForCutover).await;
    let progress = progress_comment(&stack, &id).await;
    assert!(progress.contains("⏸️ Ready for cutover"), "{progress}");
    stack
        .comment("alice-dba", &cutover_command(&id, "staging"))
        .await;
    stack.deliver_all().await;
    assert_eq!(stack.tern.cutovers_accepted(), 1);
    sweep_until(&stack, &id, State::Completed).await;
}

#[tokio::test]
async fn a_stopped_change_can_be_cancelled() {
    let stack = progress_stack().await;
    let id = copying_apply(&stack, &[ORDERS]).await;
    say(&stack, "alice-dba", &control("stop", &id, "staging")).await;
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);
    say(&stack, "alice-dba", &control("cancel", &id, "staging")).await;
    assert_eq!(control_calls(stack.tern.counts()), (1, 0, 1, 0, 0));
    assert_eq!(replies(&stack, "## Cancel Request Accepted").len(), 1);
    assert_eq!(apply_state(&stack, &id).await, State::Cancelled);
    stack.worker.sweep().await;
    assert_eq!(comments_containing(&stack, "<!-- schemabot:summary:"), 1);
    // Ended: start is refused without a call.
    say(&stack, "alice-dba", &control("start", &id, "staging")).await;
    assert_eq!(control_calls(stack.tern.counts()), (1, 0, 1, 0, 0));
    assert_eq!(replies(&stack, "## Start Not Available").len(), 1);
}

#[tokio::test]
async fn a_stop_decided_before_another_users_answer_landed_is_not_asked_again() {
    let stack = progress_stack().await;
    stack.grant("bob-dba", "write");
    let id = copying_apply(&stack, &[ORDERS]).await;
    let apply = stack.store.get_apply(&id).await.unwrap().unwrap();
    // Alice's stop: Tern answered and the answer is recorded, but the apply's new state is not
    // written yet (her worker is between the two) — the moment Bob's stop reads the apply.
    let alice = control_job(ControlOp::Stop, origin("alice-dba", 7901), Some(&id));
    let now = chrono::Utc::now();
    let request = schemabot_aws::store::ControlRequest {
        apply_id: id.clone(),
        op: ControlOp::Stop,
        command_id: alice.id(),
        requested_by: "alice-dba".into(),
        requested_at: now,
        status: schemabot_aws::store::ControlStatus::Pending,
        answer: None,
    };
    let begun = stack
        .store
        .begin_control(&request, now - chrono::TimeDelta::seconds(30), None)
        .await
        .unwrap();
    assert!(begun.is_written());
    stack
        .worker
        .tern
        .control(
            schemabot_tern::Control::Stop,
            &schemabot_tern::TernTarget::for_apply(&apply),
        )
        .await
        .unwrap();
    stack
        .store
        .answer_control(
            &id,
            ControlOp::Stop,
            &alice.id(),
            &schemabot_aws::store::ControlAnswer::Accepted {
                resume_deadline: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(apply_state(&stack, &id).await, State::Running);

    let before = stack.pr_comments().len();
    let bob = control_job(ControlOp::Stop, origin("bob-dba", 7902), Some(&id));
    stack.worker.run_job(&bob, Attempt::first()).await.unwrap();
    assert_eq!(
        stack.tern.counts().stop,
        1,
        "Tern's report showed it stopped"
    );
    let new = new_comments(&stack, before);
    assert_eq!(new.len(), 1, "{new:#?}");
    assert!(new[0].starts_with("## Stop — Nothing To Do"), "{}", new[0]);

    // Alice's worker (or the poll) catches up.
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);

    // Later, once started again, a new stop is asked of Tern (the old answer does not block it).
    say(&stack, "alice-dba", &control("start", &id, "staging")).await;
    assert_eq!(apply_state(&stack, &id).await, State::Running);
    say(&stack, "bob-dba", &control("stop", &id, "staging")).await;
    assert_eq!(control_calls(stack.tern.counts()), (2, 1, 0, 0, 0));
    assert_eq!(apply_state(&stack, &id).await, State::Stopped);
}
