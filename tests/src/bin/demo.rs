//! The README's demo: one whole PR conversation on local services, played through the real
//! webhook and worker code (signed webhooks, SQS, DynamoDB on moto, the Tern stand-in over a real
//! MariaDB sentinel, the GitHub stand-in), printed as a reader sees it and written to Markdown.
//!
//! Act 1: an apply runs (🟦), reaches ⏸️ Ready for cutover, a DBA comments
//! `schemabot cutover … -e staging`, Cutover Triggered, completed, summary.
//! Act 2: a second apply waits for cutover, Tern restarts (🔄 Recovering..., a cutover is
//! refused), Spirit resumes from its checkpoint, the cutover goes through.

use schemabot_domain::apply::ApplyMode;
use schemabot_domain::job::{Job, JobEnvelope, RegisterApplyJob, RegisterTask};
use schemabot_domain::{ApplyId, Database, Environment, InstallationId, Login, PrNumber, TaskId};
use schemabot_tern::{ApplyOutcome, ApplySpec, TernTarget};
use schemabot_tests::harness::{Stack, StackOptions, DEPLOYMENT, INSTALLATION, PR};
use schemabot_tests::services;
use schemabot_tests::tern_standin::{CopyPace, TernStandinConfig};
use std::fmt::Write as _;
use std::time::Duration;

type DemoResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Demo {
    stack: Stack,
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
    let stack = Stack::start_with(StackOptions {
        tern: TernStandinConfig::new(services::mysql_dsn())
            .with_pace(CopyPace::Manual)
            .with_default_rows_total(250_000)
            .with_ddl_on_completion(true),
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
        transcript: String::new(),
        step: 0,
    };
    demo.prepare_schema().await?;

    demo.heading("Act 1 — a deferred cutover, end to end");
    let first = demo
        .start_apply(&[(
            "orders",
            "ALTER TABLE `orders` ADD INDEX `idx_status` (`status`)",
        )])
        .await?;
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
        demo.stack.sentinel_present().await
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
        demo.stack.sentinel_present().await
    ));
    demo.sweep_until_done(&first).await?;
    demo.show_thread("The PR after act 1 (the Cutover Triggered comment became the summary)");

    demo.heading("Act 2 — Tern restarts while the apply waits for cutover");
    let second = demo
        .start_apply(&[(
            "payments",
            "ALTER TABLE `payments` ADD COLUMN `settled_at` datetime NULL",
        )])
        .await?;
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
        "SchemaBot found the sentinel: recovering, last bar kept",
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
    demo.show_thread("The whole PR conversation");

    let path = std::path::Path::new(".local/demo/pr-conversation.md");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, &demo.transcript)?;
    println!("\nThe conversation was written to {}", path.display());
    println!(
        "Tern calls: {} Cutover ({} accepted), {} Progress",
        demo.stack.tern.cutover_calls(),
        demo.stack.tern.cutovers_accepted(),
        demo.stack.tern.progress_calls()
    );
    if demo.stack.tern.cutovers_accepted() != 2 {
        return Err("expected exactly two accepted cutovers".into());
    }
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
        use mysql_async::prelude::Queryable;
        let pool = mysql_async::Pool::new(self.stack.mysql_dsn.as_str());
        let mut conn = pool.get_conn().await?;
        let schema = &self.stack.schema;
        conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{schema}`"))
            .await?;
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS `{schema}`.`orders` (id BIGINT PRIMARY KEY, status VARCHAR(16))"
        ))
        .await?;
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS `{schema}`.`payments` (id BIGINT PRIMARY KEY, amount DECIMAL(12,2))"
        ))
        .await?;
        drop(conn);
        pool.disconnect().await?;
        Ok(())
    }

    /// What the apply flow does once a plan is confirmed: Tern Apply with defer_cutover, then
    /// the register-apply job that creates the apply, its tasks and the progress comment.
    async fn start_apply(&mut self, tables: &[(&str, &str)]) -> DemoResult<ApplyId> {
        let schema = self.stack.schema.clone();
        let spec = ApplySpec {
            deployment: DEPLOYMENT.into(),
            environment: "staging".into(),
            database: schema.clone(),
            database_type: "mysql".into(),
            defer_cutover: true,
            caller: "github:alice-dba".into(),
            ddl_changes: tables
                .iter()
                .map(|(table, ddl)| schemabot_tern::proto::TableChange {
                    table_name: (*table).into(),
                    ddl: (*ddl).into(),
                    change_type: 2,
                    namespace: schema.clone(),
                    ..Default::default()
                })
                .collect(),
            ..ApplySpec::default()
        };
        let tern_id = match self.stack.worker.tern.apply(&spec).await? {
            ApplyOutcome::Accepted { apply_id } => apply_id,
            ApplyOutcome::NotAccepted { message } => return Err(message.into()),
        };
        let report = self
            .stack
            .worker
            .tern
            .progress(&TernTarget {
                deployment: DEPLOYMENT.into(),
                environment: "staging".into(),
                tern_apply_id: tern_id.clone(),
                database: schema.clone(),
                database_type: "mysql".into(),
            })
            .await?;
        let apply_id = ApplyId::parse(&tern_id)?;
        let job = Job::RegisterApply(RegisterApplyJob {
            apply_id: apply_id.clone(),
            tern_apply_id: tern_id,
            repository: Stack::repository(),
            pr: PrNumber(PR),
            installation_id: InstallationId(INSTALLATION),
            database: Database::parse(&schema)?,
            database_type: "mysql".into(),
            deployment: DEPLOYMENT.into(),
            environment: Environment::parse("staging")?,
            target_schema: schema.clone(),
            mode: ApplyMode::Atomic,
            defer_cutover: true,
            requested_by: Some(Login("alice-dba".into())),
            started_at: chrono::Utc::now(),
            tasks: report
                .tables
                .iter()
                .map(|t| {
                    Ok(RegisterTask {
                        task_id: TaskId::parse(&t.task_id)?,
                        namespace: t.namespace.clone(),
                        table: t.table_name.clone(),
                        ddl: t.ddl.clone(),
                    })
                })
                .collect::<Result<_, schemabot_domain::IdError>>()?,
        });
        self.enqueue(&job).await?;
        self.stack.deliver_all().await;
        self.say(&format!(
            "Tern accepted apply `{apply_id}` with --defer-cutover; SchemaBot registered it."
        ));
        self.show_progress(&apply_id, "The progress comment is posted")
            .await?;
        Ok(apply_id)
    }

    async fn enqueue(&self, job: &Job) -> DemoResult<()> {
        self.stack
            .worker
            .queue
            .send(&JobEnvelope::new(job.clone()))
            .await?;
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
            .load_apply(apply)
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
