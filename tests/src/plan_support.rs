//! Helpers for the plan tests: seed a PR's schema files on the GitHub stand-in, prepare live
//! tables in MariaDB and deliver `pull_request` events through the webhook. Only adds to
//! [`Stack`]; nothing here changes its existing behaviour.

use crate::harness::{Stack, PR, WEBHOOK_SECRET};
use mysql_async::prelude::Queryable;
use schemabot_domain::PrNumber;
use serde_json::{json, Value};
use webhook::front_door::HttpEvent;
use webhook::signature::sign;

const PULL_FIXTURE: &str =
    include_str!("../../functions/webhook/tests/fixtures/pull_request_synchronize.json");
const HTTP_V2: &str =
    include_str!("../../functions/webhook/tests/fixtures/apigw_http_v2_event.json");

impl Stack {
    /// Seeds the PR (head `head_sha`) as changing `files` (`(path, content)`, status
    /// `modified`), each readable at `head_sha` through the contents API.
    pub fn seed_pr_files(&self, head_sha: &str, files: &[(&str, &str)]) {
        self.seed_pr_files_on(PR, head_sha, files);
    }

    /// [`Stack::seed_pr_files`] for pull request `pr`.
    pub fn seed_pr_files_on(&self, pr: u64, head_sha: &str, files: &[(&str, &str)]) {
        let repo = Stack::repository();
        let listed: Vec<(&str, &str)> = files.iter().map(|(path, _)| (*path, "modified")).collect();
        self.github
            .seed_pull_request(&repo, PrNumber(pr), head_sha, &listed);
        for (path, content) in files {
            self.github.seed_file(&repo, head_sha, path, content);
        }
    }

    /// Runs SQL statements against MariaDB as root (to shape the "live" schema).
    pub async fn mysql_exec(&self, statements: &[&str]) {
        let pool = mysql_async::Pool::new(self.mysql_dsn.as_str());
        {
            let mut conn = pool.get_conn().await.expect("MariaDB connection");
            for sql in statements {
                conn.query_drop(*sql).await.expect("SQL statement");
            }
        }
        pool.disconnect().await.expect("disconnect");
    }

    /// A signed `pull_request` delivery (`action`, head `head_sha`) through the webhook, as
    /// GitHub sends it. Returns the HTTP status and JSON body.
    pub async fn pull_request_event(&self, action: &str, head_sha: &str) -> (i64, Value) {
        self.pull_request_event_on(PR, action, head_sha).await
    }

    /// [`Stack::pull_request_event`] for pull request `pr`.
    pub async fn pull_request_event_on(
        &self,
        pr: u64,
        action: &str,
        head_sha: &str,
    ) -> (i64, Value) {
        let mut payload: Value = serde_json::from_str(PULL_FIXTURE).expect("fixture");
        payload["action"] = json!(action);
        payload["number"] = json!(pr);
        payload["pull_request"]["number"] = json!(pr);
        payload["pull_request"]["head"]["sha"] = json!(head_sha);
        let payload = payload.to_string();
        let mut event: Value = serde_json::from_str(HTTP_V2).expect("fixture");
        event["headers"]["x-github-event"] = json!("pull_request");
        event["headers"]["x-github-delivery"] = json!(uuid::Uuid::new_v4().to_string());
        event["headers"]["x-hub-signature-256"] =
            json!(sign(WEBHOOK_SECRET.as_bytes(), payload.as_bytes()));
        event["body"] = json!(payload);
        let event: HttpEvent = serde_json::from_value(event).expect("event");
        let response = self.webhook.handle_event(event).await;
        let body = match &response.body {
            Some(aws_lambda_events::encodings::Body::Text(t)) => {
                serde_json::from_str(t).unwrap_or(Value::Null)
            }
            _ => Value::Null,
        };
        (response.status_code, body)
    }
}
