//! The review gate of a protected environment, end to end: signed webhook comments → SQS → the
//! worker → the GitHub stand-in's reviews, permissions and CODEOWNERS → Tern (stand-in over
//! MariaDB) only when the gate is satisfied. `production` is gated, `staging` is not.
//!
//! Every test uses its own MariaDB schema as the database (and deployment), so parallel tests
//! never share a lock.

use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::lock::{LockKey, LockStage};
use schemabot_domain::{Database, Environment, PrNumber};
use schemabot_tests::github_standin::{CallKind, DEFAULT_PR_AUTHOR};
use schemabot_tests::harness::{Stack, StackOptions, PR};
use schemabot_tests::services;
use schemabot_tests::tern_standin::TernStandinConfig;

const HEAD: &str = "4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b";
const OLD_HEAD: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
const REVIEW_REQUIRED: &str = "## Review Required";
const LOCKED_PLAN: &str = "## 🔒 Apply Plan — Locked";
const GATE: &str = r#"{"production": {"approvals": 1}}"#;
const CODEOWNERS_GATE: &str = r#"{"production": {"approvals": 1, "codeowners": true}}"#;

struct Fixture {
    stack: Stack,
    database: String,
}

impl Fixture {
    async fn start(gates: &str) -> Fixture {
        let database = services::unique("gate_");
        let options = StackOptions {
            tern: TernStandinConfig::from_env(),
            extra_deployments: vec![database.clone()],
            review_gates: Some(gates.to_string()),
            ..StackOptions::default()
        };
        let stack = Stack::start_with(options).await;
        stack
            .mysql_exec(&[
                &format!("CREATE DATABASE `{database}`"),
                &format!(
                    "CREATE TABLE `{database}`.`orders` (id bigint NOT NULL AUTO_INCREMENT, status varchar(32) NOT NULL, PRIMARY KEY (id))"
                ),
            ])
            .await;
        for (login, level) in [
            ("alice", "write"),
            ("bob", "write"),
            ("dana", "write"),
            ("rita", "read"),
            (DEFAULT_PR_AUTHOR, "write"),
        ] {
            stack.grant(login, level);
        }
        let orders = "CREATE TABLE `orders` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n  `status` varchar(32) NOT NULL,\n  `note` varchar(64) NULL,\n  PRIMARY KEY (`id`)\n);\n";
        stack.seed_pr_files(
            HEAD,
            &[
                (
                    "schemas/shop/schemabot.yaml",
                    &format!("database: {database}\ntype: mysql\n"),
                ),
                ("schemas/shop/orders.sql", orders),
            ],
        );
        Fixture { stack, database }
    }

    fn reviews(&self, reviews: &[(&str, &str, &str)]) {
        self.stack
            .github
            .set_reviews(&Stack::repository(), PrNumber(PR), reviews);
    }

    async fn say(&self, login: &str, body: &str) {
        let (status, reply) = self.stack.comment(login, body).await;
        assert_eq!(status, 202, "{body}: {reply}");
        self.stack.deliver_all().await;
    }

    fn key(&self, environment: &str) -> LockKey {
        LockKey {
            database: Database::parse(&self.database).unwrap(),
            environment: Environment::parse(environment).unwrap(),
        }
    }

    /// The last comment starting with `## Review Required`.
    fn refusal(&self) -> String {
        self.stack
            .pr_comments()
            .into_iter()
            .rev()
            .find(|c| c.starts_with(REVIEW_REQUIRED))
            .unwrap_or_else(|| panic!("no Review Required reply in {:?}", self.stack.pr_comments()))
    }

    fn refusals(&self) -> usize {
        self.stack
            .pr_comments()
            .iter()
            .filter(|c| c.starts_with(REVIEW_REQUIRED))
            .count()
    }

    /// Refused: a Review Required reply, no lock, no Tern Plan or Apply.
    async fn assert_refused_untouched(&self, environment: &str) -> String {
        let body = self.refusal();
        let lock = self
            .stack
            .store
            .get_lock(&self.key(environment))
            .await
            .unwrap();
        assert!(lock.is_none(), "no lock may be written: {lock:?}");
        let counts = self.stack.tern.counts();
        assert_eq!(
            (counts.plan, counts.apply),
            (0, 0),
            "no Tern call: {counts:?}"
        );
        body
    }

    async fn audit_outcomes(&self, environment: &str) -> Vec<Outcome> {
        self.stack
            .store
            .list_lock_events(&self.key(environment))
            .await
            .unwrap()
            .into_iter()
            .map(|(_, _, _, outcome)| outcome)
            .collect()
    }

    async fn cleanup(self) {
        self.stack
            .mysql_exec(&[&format!("DROP DATABASE IF EXISTS `{}`", self.database)])
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn production_apply_without_any_approval_is_refused() {
    let fx = Fixture::start(GATE).await;
    fx.say("alice", "schemabot apply -e production").await;
    let body = fx.assert_refused_untouched("production").await;
    assert!(
        body.contains(
            "needs 1 approval from someone other than @\u{200B}pr-author (0 of 1 counted)"
        ),
        "{body}"
    );
    assert!(body.contains("`4c5d6e7f8091`"), "names the head: {body}");
    assert!(
        body.contains("Then comment `schemabot apply -e production` again."),
        "{body}"
    );
    assert_eq!(
        fx.audit_outcomes("production").await,
        vec![Outcome::ReviewRequired],
        "the refusal is audited against the database's lock"
    );
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_authors_own_approval_is_refused() {
    let fx = Fixture::start(GATE).await;
    fx.reviews(&[(DEFAULT_PR_AUTHOR, "APPROVED", HEAD)]);
    fx.say("alice", "schemabot apply -e production").await;
    let body = fx.assert_refused_untouched("production").await;
    assert!(
        body.contains("the approval by @\u{200B}pr-author does not count: the pull request's author cannot approve it"),
        "{body}"
    );
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approval_on_an_older_head_or_from_a_reader_is_refused() {
    let fx = Fixture::start(GATE).await;
    fx.reviews(&[
        ("bob", "APPROVED", OLD_HEAD),
        ("rita", "APPROVED", HEAD),
        ("carl", "APPROVED", HEAD),
    ]);
    fx.say("alice", "schemabot apply -e production").await;
    let body = fx.assert_refused_untouched("production").await;
    assert!(
        body.contains("the approval by @\u{200B}bob is on an older commit (`0a1b2c3d4e5f`), not the current head"),
        "{body}"
    );
    assert!(
        body.contains("@\u{200B}rita has only `read` permission"),
        "{body}"
    );
    // Not a collaborator at all (the permission endpoint answers 404).
    assert!(
        body.contains("@\u{200B}carl has only `none` permission"),
        "{body}"
    );
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_valid_approval_on_the_head_lets_apply_and_confirm_proceed() {
    let fx = Fixture::start(GATE).await;
    // bob first asked for changes, then approved the head: his latest verdict counts.
    fx.reviews(&[
        ("bob", "CHANGES_REQUESTED", OLD_HEAD),
        ("bob", "APPROVED", HEAD),
        ("bob", "COMMENTED", HEAD),
    ]);
    fx.say("alice", "schemabot apply -e production").await;
    assert_eq!(fx.refusals(), 0, "{:?}", fx.stack.pr_comments());
    let lock = fx
        .stack
        .store
        .get_lock(&fx.key("production"))
        .await
        .unwrap()
        .expect("the plan is locked");
    assert_eq!(lock.stage, LockStage::Planned);
    assert_eq!(fx.stack.tern.counts().plan, 1);
    assert!(fx
        .stack
        .pr_comments()
        .iter()
        .any(|c| c.starts_with(LOCKED_PLAN)));

    // apply-confirm is gated too: a dismissed approval closes the gate again …
    fx.reviews(&[("bob", "APPROVED", HEAD), ("bob", "DISMISSED", HEAD)]);
    fx.say("alice", "schemabot apply-confirm -e production")
        .await;
    assert!(
        fx.refusal().contains("`schemabot apply-confirm`"),
        "{}",
        fx.refusal()
    );
    assert_eq!(fx.stack.tern.counts().apply, 0);
    // … and a fresh one opens it.
    fx.stack
        .github
        .add_review(&Stack::repository(), PrNumber(PR), "dana", "APPROVED", HEAD);
    fx.say("alice", "schemabot apply-confirm -e production")
        .await;
    assert_eq!(fx.stack.tern.counts().apply, 1);
    let lock = fx
        .stack
        .store
        .get_lock(&fx.key("production"))
        .await
        .unwrap()
        .expect("lock");
    assert!(matches!(lock.stage, LockStage::Applying { .. }), "{lock:?}");
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codeowners_mode_needs_an_owner_from_the_base_branch() {
    let fx = Fixture::start(CODEOWNERS_GATE).await;
    let repo = Stack::repository();
    fx.stack.github.seed_file(
        &repo,
        "main",
        ".github/CODEOWNERS",
        "* @bob\n/schemas/shop/ @dana @acme-payments/dba-team\n",
    );
    // The PR's own head says bob owns everything: it is not read.
    fx.stack
        .github
        .seed_file(&repo, HEAD, ".github/CODEOWNERS", "* @bob\n");

    fx.reviews(&[("bob", "APPROVED", HEAD)]);
    fx.say("alice", "schemabot apply -e production").await;
    let body = fx.assert_refused_untouched("production").await;
    assert!(
        body.contains("no approval from a code owner of `schemas/shop/orders.sql` (@\u{200B}dana, @\u{200B}acme-payments/dba-team)"),
        "{body}"
    );
    assert!(body.contains("`schemas/shop/schemabot.yaml`"), "{body}");

    fx.stack
        .github
        .add_review(&repo, PrNumber(PR), "dana", "APPROVED", HEAD);
    fx.say("alice", "schemabot apply -e production").await;
    assert_eq!(fx.refusals(), 1, "{:?}", fx.stack.pr_comments());
    assert_eq!(fx.stack.tern.counts().plan, 1);
    assert!(fx
        .stack
        .store
        .get_lock(&fx.key("production"))
        .await
        .unwrap()
        .is_some());
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codeowners_mode_without_a_codeowners_file_is_refused() {
    let fx = Fixture::start(CODEOWNERS_GATE).await;
    fx.reviews(&[("bob", "APPROVED", HEAD)]);
    fx.say("alice", "schemabot apply -e production").await;
    let body = fx.assert_refused_untouched("production").await;
    assert!(
        body.contains("the base branch `main` has no CODEOWNERS file"),
        "{body}"
    );
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn github_failing_on_every_reviews_call_refuses() {
    let fx = Fixture::start(GATE).await;
    fx.reviews(&[("bob", "APPROVED", HEAD)]);
    // Every attempt of the job (and every client retry) gets a 502.
    fx.stack
        .github
        .fail_next_on(CallKind::ListReviews, 100, 502);
    fx.say("alice", "schemabot apply -e production").await;
    let body = fx.assert_refused_untouched("production").await;
    assert!(
        body.contains("SchemaBot could not read the reviews of this pull request from GitHub"),
        "{body}"
    );
    assert!(body.contains("Nothing was done."), "{body}");
    assert!(
        fx.stack.github.count(CallKind::ListReviews) > 3,
        "retried before refusing"
    );
    assert_eq!(fx.refusals(), 1, "refused once, on the final attempt");
    fx.stack.github.clear_faults();
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ungated_environment_is_unaffected() {
    let fx = Fixture::start(GATE).await;
    fx.say("alice", "schemabot apply -e staging").await;
    assert_eq!(fx.refusals(), 0);
    assert_eq!(fx.stack.github.count(CallKind::ListReviews), 0);
    assert!(fx
        .stack
        .store
        .get_lock(&fx.key("staging"))
        .await
        .unwrap()
        .is_some());
    assert_eq!(fx.stack.tern.counts().plan, 1);
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_y_is_refused_in_a_gated_environment_even_when_approved() {
    let fx = Fixture::start(GATE).await;
    fx.reviews(&[("bob", "APPROVED", HEAD)]);
    fx.say("alice", "schemabot apply -e production -y --allow-unsafe")
        .await;
    let body = fx.assert_refused_untouched("production").await;
    assert!(
        body.contains("`-y` (with `--allow-unsafe`) is not accepted in `production`"),
        "{body}"
    );
    assert!(
        body.contains("Comment `schemabot apply -e production` (without `-y`)"),
        "{body}"
    );
    assert!(
        body.contains("Then comment `schemabot apply-confirm -e production --allow-unsafe`."),
        "{body}"
    );
    assert_eq!(
        fx.stack.github.count(CallKind::ListReviews),
        0,
        "refused before reading anything"
    );
    fx.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_production_cutover_from_a_comment_needs_the_approval_too() {
    let fx = Fixture::start(GATE).await;
    let apply = fx
        .stack
        .waiting_apply(
            "production",
            &[(
                "orders",
                "ALTER TABLE `orders` ADD INDEX `idx_status` (`status`)",
            )],
        )
        .await;
    let command = format!("schemabot cutover {} -e production", apply.id);
    fx.say("alice", &command).await;
    let body = fx.refusal();
    assert!(
        body.contains(&format!("cutting over apply `{}`", apply.id)),
        "{body}"
    );
    assert!(
        body.contains(&format!("Then comment `{command}` again.")),
        "{body}"
    );
    assert_eq!(fx.stack.tern.cutover_calls(), 0);
    let events = fx.stack.store.list_events(&apply.id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event == EventKind::CutoverRefused && e.outcome == Outcome::ReviewRequired),
        "{events:?}"
    );

    fx.reviews(&[("bob", "APPROVED", HEAD)]);
    fx.say("alice", &command).await;
    assert_eq!(fx.stack.tern.cutover_calls(), 1);
    assert!(fx
        .stack
        .pr_comments()
        .iter()
        .any(|c| c.starts_with("## Cutover Triggered")));
    fx.cleanup().await;
}
