//! The answer to the caller: the `--json` document, the exit code and the text.

use crate::args::{display_duration, UnlockArgs};
use crate::commands::request::Request;
use crate::exit::Exit;
use schemabot_domain::lock::{ForceUnlock, ForceUnlockOutcome, HeldStage};
use serde::Serialize;
use std::time::Duration;

/// The `--json` document of `unlock`.
#[derive(Debug, Serialize)]
pub struct UnlockReport {
    pub database: String,
    pub environment: String,
    pub request_id: String,
    pub job_id: String,
    /// As stored by the worker: `cli:<sender>`; until it answered, `cli:<caller ARN>`.
    pub actor: String,
    pub caller_arn: String,
    /// `released`, `no_lock` (exit 0); `applying`, `confirming` (exit 2); `timed_out` (exit 3).
    pub outcome: String,
    /// The PR that held the lock (`owner/name`), when there was a lock.
    pub repository: Option<String>,
    pub pr: Option<u64>,
    /// Who took the lock (`schemabot apply`).
    pub locked_by: Option<String>,
    /// The apply holding a lock that was kept.
    pub apply_id: Option<String>,
    /// Why no answer arrived, when a read failed.
    pub message: Option<String>,
    pub exit_code: u8,
}

impl UnlockReport {
    pub(super) fn new(
        args: &UnlockArgs,
        request: &Request,
        job_id: String,
        answer: Option<ForceUnlock>,
        last_error: Option<String>,
    ) -> Self {
        let answer = answer.as_ref();
        let holder = answer.and_then(|a| a.outcome.holder());
        let apply_id = match answer.map(|a| &a.outcome) {
            Some(ForceUnlockOutcome::Kept {
                stage: HeldStage::Applying { apply_id },
                ..
            }) => Some(apply_id.to_string()),
            _ => None,
        };
        let mut report = UnlockReport {
            database: args.database.to_string(),
            environment: args.environment.to_string(),
            request_id: request.request_id.clone(),
            job_id,
            actor: answer.map_or_else(|| request.caller_actor(), |a| a.actor.clone()),
            caller_arn: request.caller_arn.clone(),
            outcome: answer
                .map_or_else(|| "timed_out".to_string(), |a| a.outcome.code().to_string()),
            repository: holder.map(|h| h.owner.repository.to_string()),
            pr: holder.map(|h| h.owner.pr.0),
            locked_by: holder.map(|h| h.locked_by.0.clone()),
            apply_id,
            message: last_error,
            exit_code: 0,
        };
        report.exit_code = report.exit().code();
        report
    }

    /// 0 released or nothing to release, 2 kept (a change is being confirmed or applied), 3 no
    /// answer in time.
    pub fn exit(&self) -> Exit {
        match self.outcome.as_str() {
            "released" | "no_lock" => Exit::Success,
            "timed_out" => Exit::Failed,
            _ => Exit::Refused,
        }
    }

    fn holder(&self) -> String {
        match (&self.repository, self.pr) {
            (Some(repository), Some(pr)) => format!("{repository}#{pr}"),
            _ => "another pull request".to_string(),
        }
    }

    /// What happened and, when there is one, what to do next.
    pub(super) fn text(&self, timeout: Duration) -> String {
        let (db, env) = (&self.database, &self.environment);
        match self.outcome.as_str() {
            "released" => format!(
                "Released the lock of {} on {db} in {env} (taken by {}; its plan is discarded).\n\
                 The pull request is told in a comment.\n",
                self.holder(),
                self.locked_by.as_deref().unwrap_or("someone")
            ),
            "no_lock" => format!("No lock on {db} in {env}: nothing to release.\n"),
            "applying" => {
                let apply_id = self.apply_id.as_deref().unwrap_or("its apply");
                format!(
                    "Lock kept: {} is applying its change to {db} in {env} ({apply_id}); the lock \
                     is released when the apply ends.\nTo end it sooner: schemabot cancel \
                     {apply_id} -e {env}\n",
                    self.holder()
                )
            }
            "confirming" => format!(
                "Lock kept: {} is confirming its plan for {db} in {env}.\nShould that confirm \
                 never finish, SchemaBot settles the lock once its lease expires; try again \
                 then.\n",
                self.holder()
            ),
            _ => {
                let last_error = self
                    .message
                    .as_deref()
                    .map(|e| format!("\nLast read error: {e}"))
                    .unwrap_or_default();
                format!(
                    "No outcome within {} for request {} on {db} in {env}.\nThe worker has not \
                     answered yet (queue backlog, or the worker is down). The request stays \
                     queued and is carried out later.{last_error}\n",
                    display_duration(timeout),
                    self.request_id
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use schemabot_domain::lock::{LockHolder, LockKey, LockOwner};
    use schemabot_domain::{ApplyId, Database, Environment, InstallationId, Login, PrNumber};

    fn args() -> UnlockArgs {
        UnlockArgs {
            database: Database::parse("payments").unwrap(),
            environment: Environment::parse("staging").unwrap(),
            timeout: Duration::from_secs(60),
        }
    }

    fn answer(outcome: ForceUnlockOutcome) -> ForceUnlock {
        ForceUnlock {
            job_id: "unlock:cli:r-1".into(),
            key: LockKey {
                database: Database::parse("payments").unwrap(),
                environment: Environment::parse("staging").unwrap(),
            },
            outcome,
            actor: "cli:AIDAOPS".into(),
            at: Utc::now(),
        }
    }

    fn holder() -> LockHolder {
        LockHolder {
            owner: LockOwner {
                repository: schemabot_domain::Repository::parse("acme/schemas").unwrap(),
                pr: PrNumber(41),
            },
            installation_id: InstallationId(1),
            locked_by: Login("bob".into()),
        }
    }

    fn report(answer: Option<ForceUnlock>) -> UnlockReport {
        let request = Request {
            queue_url: "https://sqs/q.fifo".into(),
            caller_arn: "arn:aws:iam::1:user/ops".into(),
            request_id: "r-1".into(),
        };
        UnlockReport::new(&args(), &request, "unlock:cli:r-1".into(), answer, None)
    }

    #[test]
    fn outcomes_map_to_exit_codes_and_text() {
        let released = report(Some(answer(ForceUnlockOutcome::Released {
            holder: holder(),
        })));
        assert_eq!((released.exit(), released.exit_code), (Exit::Success, 0));
        assert_eq!(released.actor, "cli:AIDAOPS");
        assert_eq!(released.pr, Some(41));
        assert!(released.text(Duration::from_secs(60)).starts_with(
            "Released the lock of acme/schemas#41 on payments in staging (taken by bob"
        ));
        let none = report(Some(answer(ForceUnlockOutcome::NoLock)));
        assert_eq!(none.exit(), Exit::Success);
        assert_eq!(none.repository, None);
        let apply_id = ApplyId::parse("apply-0123456789abcdef").unwrap();
        let applying = report(Some(answer(ForceUnlockOutcome::Kept {
            holder: holder(),
            stage: HeldStage::Applying { apply_id },
        })));
        assert_eq!(
            (applying.outcome.as_str(), applying.exit()),
            ("applying", Exit::Refused)
        );
        assert!(applying
            .text(Duration::from_secs(60))
            .contains("schemabot cancel apply-0123456789abcdef -e staging"));
        let timed_out = report(None);
        assert_eq!(
            (timed_out.outcome.as_str(), timed_out.exit_code),
            ("timed_out", 3)
        );
        assert_eq!(timed_out.actor, "cli:arn:aws:iam::1:user/ops");
    }
}
