//! The README's demo: one whole PR conversation on local services, played through the real
//! webhook and worker code (signed webhooks, SQS, DynamoDB on moto, the Tern stand-in planning
//! and applying over a real MariaDB schema and sentinel, the GitHub stand-in), printed as a
//! reader sees it and written to Markdown.
//!
//! Act 1: a PR edits a `.sql` file → automatic plan → `schemabot apply -e staging
//! --defer-cutover` (lock) → `apply-confirm` → the apply runs (🟦), reaches ⏸️ Ready for
//! cutover, a DBA comments `schemabot cutover … -e staging`, Cutover Triggered, completed,
//! summary, lock released.
//! Act 2: a push changes another table → re-plan → `apply … -y` → the apply waits for cutover,
//! Tern restarts and reports the apply recovering (🔄 Recovering..., a cutover is refused),
//! Spirit resumes from its checkpoint, the cutover goes through.
//! Act 3: another push → `apply … -y` → waiting for cutover → Tern restarts and someone drops
//! the sentinel while Spirit is down: the copy is lost. SchemaBot does not take the missing
//! sentinel for a cutover: Tern's diff shows the change is not live, so the apply fails with a
//! message for a person, not "completed".

use schemabot_domain::lock::{LockKey, LockStage};
use schemabot_domain::{ApplyId, Database, Environment, PrNumber};
use schemabot_tests::harness::{Stack, StackOptions, PR};
use schemabot_tests::services;
use schemabot_tests::tern_standin::{CopyPace, TernStandinConfig};
use std::fmt::Write as _;
use std::time::Duration;

type DemoResult<T> = Result<T, Box<dyn std::error::Error>>;

const HEAD: &str = "4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b";
const NEXT_HEAD: &str = "5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b4c";
const THIRD_HEAD: &str = "6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b4c5d";

struct Demo {
    stack: Stack,
    /// The MariaDB schema the PR changes (also its SchemaBot database and deployment name).
    database: String,
    transcript: String,
    step: usize,
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("demo failed: {error}");
        std::process::exit(1);
    }
}

async fn run() -> DemoResult<()> {
    let database = services::unique("shop_");
    let stack = Stack::start_with(StackOptions {
        tern: TernStandinConfig::new(services::mysql_dsn())
            .with_pace(CopyPace::Manual)
            .with_default_rows_total(250_000)
            .with_ddl_on_completion(true),
        extra_deployments: vec![database.clone()],
        promotion_order: vec!["staging", "production"],
        ..StackOptions::default()
    })
    .await;
    // Edits as fast as the demo goes (production: at most one per ~5 s per comment).
    let mut stack = stack;
    stack.worker.config.min_edit_interval = Duration::ZERO;
    stack.grant("alice-dba", "maintain");
    stack.grant("bob-oncall", "write");
    let mut demo = Demo {
        stack,
        database,
        transcript: String::new(),
        step: 0,
    };
    demo.prepare_schema().await?;

    demo.heading("Act 1 — from a schema change in a PR to a deferred cutover");
    demo.seed_pr(HEAD, false);
    demo.say(
        "The PR adds an index to `orders.sql` in `schemas/shop/` (next to its `schemabot.yaml`).",
    );
    demo.pull_request("opened", HEAD).await?;
    demo.command(
        "alice-dba",
        "Looks right. Locking staging:\n\nschemabot apply -e staging --defer-cutover",
    )
    .await?;
    demo.command("alice-dba", "schemabot apply-confirm -e staging")
        .await?;
    let first = demo.applying("staging").await?;
    demo.stack.tern.advance(first.as_str(), 80_000)?;
    demo.sweep().await;
    demo.show_progress(
        &first,
        "Spirit is copying rows: the progress comment shows a blue bar",
    )
    .await?;
    demo.stack.tern.finish_copy(first.as_str())?;
    demo.sweep().await;
    demo.show_progress(&first, "Rows copied; Spirit waits on its sentinel table")
        .await?;
    demo.say(&format!(
        "`_spirit_sentinel` exists in MariaDB: {}",
        demo.sentinel_present().await?
    ));
    demo.command(
        "alice-dba",
        &format!(
            "Traffic is at its daily low, going ahead.\n\nschemabot cutover {first} -e staging"
        ),
    )
    .await?;
    demo.say(&format!(
        "`_spirit_sentinel` exists in MariaDB: {}",
        demo.sentinel_present().await?
    ));
    demo.sweep_until_done(&first).await?;
    demo.say(&format!(
        "The staging lock of `{}` is released: {}",
        demo.database,
        demo.stack
            .store
            .get_lock(&demo.key("staging")?)
            .await?
            .is_none()
    ));
    demo.show_thread("The PR after act 1 (the Cutover Triggered comment became the summary)");

    demo.heading("Act 2 — a push, apply with -y, and a Tern restart while waiting for cutover");
    demo.seed_pr(NEXT_HEAD, true);
    demo.say("A push adds `settled_at` to `payments.sql`.");
    demo.pull_request("synchronize", NEXT_HEAD).await?;
    demo.command(
        "bob-oncall",
        "schemabot apply -e staging --defer-cutover -y",
    )
    .await?;
    let second = demo.applying("staging").await?;
    demo.stack.tern.finish_copy(second.as_str())?;
    demo.sweep().await;
    demo.show_progress(&second, "Ready for cutover").await?;
    demo.stack.tern.restart();
    demo.say(
        "Tern restarted: Spirit's in-memory migration is gone, the sentinel table is still there.",
    );
    demo.sweep().await;
    demo.show_progress(
        &second,
        "Tern reports the apply RECOVERING: SchemaBot shows it recovering, last bar kept",
    )
    .await?;
    demo.command(
        "bob-oncall",
        &format!("schemabot cutover {second} -e staging"),
    )
    .await?;
    demo.stack.tern.resume(second.as_str())?;
    demo.say("Spirit resumed from its checkpoint and reached the sentinel wait again.");
    demo.sweep().await;
    demo.show_progress(&second, "Ready for cutover again")
        .await?;
    demo.command(
        "bob-oncall",
        &format!("schemabot cutover {second} -e staging"),
    )
    .await?;
    demo.sweep_until_done(&second).await?;

    demo.heading("Act 3 — the sentinel dropped while Spirit was down: verified, not assumed");
    demo.seed_pr_with_note(THIRD_HEAD);
    demo.say("A push adds a `note` column to `orders.sql`.");
    demo.pull_request("synchronize", THIRD_HEAD).await?;
    demo.command("alice-dba", "schemabot apply -e staging --defer-cutover -y")
        .await?;
    let third = demo.applying("staging").await?;
    demo.stack.tern.finish_copy(third.as_str())?;
    demo.sweep().await;
    demo.show_progress(&third, "Ready for cutover").await?;
    demo.stack.tern.restart();
    demo.stack
        .mysql_exec(&[&format!(
            "DROP TABLE `{}`.`_spirit_sentinel`",
            demo.database
        )])
        .await;
    demo.say(
        "Tern restarted, and while Spirit was down someone dropped `_spirit_sentinel`: the copy \
         is lost and the swap never happened.",
    );
    demo.sweep().await;
    demo.show_progress(&third, "Tern reports the apply RECOVERING")
        .await?;
    demo.sweep_until_done(&third).await?;
    let ended = demo
        .stack
        .store
        .get_apply(&third)
        .await?
        .ok_or("apply gone")?;
    if ended.state != schemabot_domain::State::Failed {
        return Err(format!("act 3 ended {}, not failed", ended.state).into());
    }
    demo.say(&format!(
        "The `note` column is live: {} — SchemaBot asked Tern's read-only diff instead of assuming the cutover happened.",
        demo.column_exists("orders", "note").await?
    ));
    demo.show_thread("The whole PR conversation");

    let path = std::path::Path::new(".local/demo/pr-conversation.md");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, &demo.transcript)?;
    println!("\nThe conversation was written to {}", path.display());
    println!(
        "Tern calls: {} Apply, {} Cutover ({} accepted), {} Progress",
        demo.stack.tern.apply_calls(),
        demo.stack.tern.cutover_calls(),
        demo.stack.tern.cutovers_accepted(),
        demo.stack.tern.progress_calls()
    );
    if demo.stack.tern.cutovers_accepted() != 2 || demo.stack.tern.counts().applies_started != 3 {
        return Err("expected exactly three applies and two accepted cutovers".into());
    }
    demo.cleanup().await?;
    Ok(())
}

impl Demo {
    fn out(&mut self, text: &str) {
        println!("{text}");
        self.transcript.push_str(text);
        self.transcript.push('\n');
    }

    fn heading(&mut self, title: &str) {
        self.out(&format!("\n# {title}\n"));
    }

    fn say(&mut self, text: &str) {
        self.out(&format!("> {text}\n"));
    }

    /// The target tables exist before the change, as in a real database.
    async fn prepare_schema(&mut self) -> DemoResult<()> {
        let database = self.database.clone();
        self.stack
            .mysql_exec(&[
                &format!("CREATE DATABASE IF NOT EXISTS `{database}`"),
                &format!("CREATE TABLE `{database}`.`orders` (id BIGINT NOT NULL, status VARCHAR(16) NULL, PRIMARY KEY (id))"),
                &format!("CREATE TABLE `{database}`.`payments` (id BIGINT NOT NULL, amount DECIMAL(12,2) NULL, PRIMARY KEY (id))"),
            ])
            .await;
        Ok(())
    }

    async fn cleanup(&self) -> DemoResult<()> {
        self.stack
            .mysql_exec(&[&format!("DROP DATABASE IF EXISTS `{}`", self.database)])
            .await;
        Ok(())
    }

    /// The PR's schema directory at `head`: the index on `orders`, and with `settled_at` the
    /// new `payments` column too.
    fn seed_pr(&self, head: &str, settled_at: bool) {
        let payments = format!(
            "CREATE TABLE `payments` (\n  `id` bigint NOT NULL,\n  `amount` decimal(12,2) NULL,\n{}  PRIMARY KEY (`id`)\n);\n",
            if settled_at { "  `settled_at` datetime NULL,\n" } else { "" }
        );
        self.stack.seed_pr_files(
            head,
            &[
                (
                    "schemas/shop/schemabot.yaml",
                    &format!("database: {}\ntype: mysql\n", self.database),
                ),
                (
                    "schemas/shop/orders.sql",
                    "CREATE TABLE `orders` (\n  `id` bigint NOT NULL,\n  `status` varchar(16) NULL,\n  PRIMARY KEY (`id`),\n  KEY `idx_status` (`status`)\n);\n",
                ),
                ("schemas/shop/payments.sql", &payments),
            ],
        );
    }

    /// Act 3's head: `orders` also gets a `note` column.
    fn seed_pr_with_note(&self, head: &str) {
        self.seed_pr(head, true);
        self.stack.seed_pr_files(
            head,
            &[(
                "schemas/shop/orders.sql",
                "CREATE TABLE `orders` (\n  `id` bigint NOT NULL,\n  `status` varchar(16) NULL,\n  `note` varchar(64) NULL,\n  PRIMARY KEY (`id`),\n  KEY `idx_status` (`status`)\n);\n",
            )],
        );
    }

    async fn column_exists(&self, table: &str, column: &str) -> DemoResult<bool> {
        use mysql_async::prelude::Queryable;
        let mut conn = mysql_async::Conn::from_url(self.stack.mysql_dsn.as_str()).await?;
        let count: Option<u64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                (&self.database, table, column),
            )
            .await?;
        conn.disconnect().await?;
        Ok(count.unwrap_or(0) > 0)
    }

    fn key(&self, environment: &str) -> DemoResult<LockKey> {
        Ok(LockKey {
            database: Database::parse(&self.database)?,
            environment: Environment::parse(environment)?,
        })
    }

    /// The apply `apply-confirm` started: the one holding the environment's lock.
    async fn applying(&mut self, environment: &str) -> DemoResult<ApplyId> {
        let lock = self
            .stack
            .store
            .get_lock(&self.key(environment)?)
            .await?
            .ok_or("no lock was taken")?;
        match lock.stage {
            LockStage::Applying { apply_id, .. } => {
                self.say(&format!(
                    "Tern accepted apply `{apply_id}`; the `{}`/`{environment}` lock now belongs to it until it ends.",
                    self.database
                ));
                Ok(apply_id)
            }
            other => Err(format!("the lock is {other:?}, not applying").into()),
        }
    }

    async fn sentinel_present(&self) -> DemoResult<bool> {
        Ok(self
            .stack
            .worker
            .sentinel
            .sentinel_present(
                &schemabot_sentinel::TargetDsn::new(self.stack.mysql_dsn.clone()),
                &self.database,
            )
            .await?)
    }

    /// A `pull_request` event as GitHub sends it; prints what SchemaBot posted or edited.
    async fn pull_request(&mut self, action: &str, head: &str) -> DemoResult<()> {
        let before = self.stack.pr_comments();
        self.out(&format!(
            "**GitHub sends `pull_request` `{action}`** (head `{}`)\n",
            &head[..12]
        ));
        let (status, answer) = self.stack.pull_request_event(action, head).await;
        self.say(&format!("webhook answered HTTP {status} {answer}"));
        self.stack.deliver_all().await;
        let after = self.stack.pr_comments();
        for (i, body) in after.iter().enumerate() {
            let is_new = i >= before.len();
            if is_new || before.get(i) != Some(body) {
                self.step += 1;
                let text = format!(
                    "**SchemaBot {}** (comment {}):\n\n{}\n",
                    if is_new { "posts" } else { "edits its plan" },
                    self.step,
                    quote(&strip_marker(body))
                );
                self.out(&text);
            }
        }
        Ok(())
    }

    async fn sweep(&self) {
        // Each sweep is what the EventBridge schedule (or an apply's poll message) triggers.
        let _ = self.stack.worker.sweep().await;
    }

    async fn sweep_until_done(&mut self, apply: &ApplyId) -> DemoResult<()> {
        for _ in 0..30 {
            // The stand-in runs Spirit's cut-over one step per call in manual pace.
            let _ = self.stack.tern.advance(apply.as_str(), 1);
            self.sweep().await;
            let state = self.stack.store.get_apply(apply).await?.map(|a| a.state);
            if state.is_some_and(|s| s.is_terminal()) {
                self.say(&format!(
                    "Apply `{apply}` is {}.",
                    state.map(|s| s.to_string()).unwrap_or_default()
                ));
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("apply {apply} did not finish").into())
    }

    /// A PR comment by `login`, delivered as a signed webhook, then the worker runs the job.
    async fn command(&mut self, login: &str, body: &str) -> DemoResult<()> {
        let before = self.stack.pr_comments().len();
        self.out(&format!("**@{login} comments:**\n\n{}\n", quote(body)));
        let (status, answer) = self.stack.comment(login, body).await;
        self.say(&format!("webhook answered HTTP {status} {answer}"));
        self.stack.deliver_all().await;
        let comments = self.stack.pr_comments();
        for reply in comments.iter().skip(before) {
            self.step += 1;
            let text = format!(
                "**SchemaBot replies** (comment {}):\n\n{}\n",
                self.step,
                quote(&strip_marker(reply))
            );
            self.out(&text);
        }
        Ok(())
    }

    async fn show_progress(&mut self, apply: &ApplyId, caption: &str) -> DemoResult<()> {
        let snapshot = self
            .stack
            .store
            .load_snapshot(apply)
            .await?
            .ok_or("apply not found")?;
        let progress = snapshot
            .comments
            .iter()
            .find(|c| c.kind == schemabot_domain::apply::CommentKind::Progress)
            .ok_or("no progress comment")?;
        let body = self
            .stack
            .github
            .comments(&Stack::repository(), PrNumber(PR))
            .into_iter()
            .find(|c| c.id == progress.comment_id)
            .map(|c| c.body)
            .unwrap_or_default();
        self.out(&format!(
            "**{caption}** — the progress comment now reads:\n\n{}\n",
            quote(&strip_marker(&body))
        ));
        Ok(())
    }

    fn show_thread(&mut self, title: &str) {
        let mut text = format!("\n## {title}\n");
        for (i, body) in self.stack.pr_comments().iter().enumerate() {
            let _ = write!(
                text,
                "\n### Comment {} by schemabot[bot]\n\n{}\n",
                i + 1,
                strip_marker(body)
            );
        }
        self.out(&text);
    }
}

fn strip_marker(body: &str) -> String {
    body.lines()
        .filter(|l| !l.starts_with("<!-- schemabot:"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

fn quote(text: &str) -> String {
    text.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
