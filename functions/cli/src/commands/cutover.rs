//! `schemabot cutover`: enqueue the same cutover job a PR comment produces, then wait for the
//! worker's outcome.
//!
//! The worker answers a CLI request in the store, not on a channel: it claims the apply under the
//! request's job id and appends audit events whose actor is `cli:<caller ARN>`. So after sending,
//! the CLI polls the apply and its audit trail. Events that existed before the request are set
//! aside (compared as records, not by time, so clock skew between this machine and Lambda does
//! not matter), and the apply's claim tells this request apart from a concurrent one by the same
//! identity.

use super::Context;
use crate::args::{display_duration, CutoverArgs};
use crate::error::CliError;
use crate::exit::Exit;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, AuditEvent};
use schemabot_domain::job::{CommandSource, CutoverJob, Job, JobEnvelope};
use schemabot_domain::{ApplyId, State};
use schemabot_render::escape::single_line;
use schemabot_render::format;
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;

/// How often the outcome is looked for (two small strongly consistent reads each time).
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What the worker decided for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Tern accepted the cutover; the apply is cutting over.
    Triggered,
    /// Refused by the worker's gate (`reason`: the audit outcome, e.g. `already_triggered`,
    /// `recovering`, `not_available`, `environment_mismatch`).
    Refused { reason: String },
    /// Tern answered but did not accept the cutover; the claim was released.
    NotAccepted { message: Option<String> },
    /// The worker gave up reaching Tern (`reason`: `failed`, or `outcome_unknown` when the
    /// sweep has to settle it from the sentinel).
    Failed {
        reason: String,
        message: Option<String>,
    },
}

impl Outcome {
    /// The `outcome` field of the JSON report.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Triggered => "triggered",
            Outcome::Refused { .. } => "refused",
            Outcome::NotAccepted { .. } => "not_accepted",
            Outcome::Failed { .. } => "failed",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Refused { reason } | Outcome::Failed { reason, .. } => Some(reason),
            Outcome::Triggered | Outcome::NotAccepted { .. } => None,
        }
    }

    /// Tern's or the worker's message, when the audit event carried one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Outcome::NotAccepted { message } | Outcome::Failed { message, .. } => {
                message.as_deref()
            }
            Outcome::Triggered | Outcome::Refused { .. } => None,
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            Outcome::Triggered => Exit::Success,
            Outcome::Refused { .. } | Outcome::NotAccepted { .. } => Exit::Refused,
            Outcome::Failed { .. } => Exit::Failed,
        }
    }
}

/// Reads the outcome of one request out of the stored apply and audit trail.
#[derive(Debug, Clone)]
pub struct OutcomeWatch {
    apply_id: ApplyId,
    job_id: String,
    /// The stored actor of this CLI caller: `cli:<arn>`.
    actor_id: String,
    /// The apply's audit events before the request was sent.
    baseline: Vec<AuditEvent>,
}

/// Where a request stands: decided, and whether it got as far as claiming the cutover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub outcome: Option<Outcome>,
    pub claimed: bool,
}

impl OutcomeWatch {
    pub fn new(
        apply_id: ApplyId,
        job_id: String,
        actor_id: String,
        baseline: Vec<AuditEvent>,
    ) -> Self {
        OutcomeWatch {
            apply_id,
            job_id,
            actor_id,
            baseline,
        }
    }

    /// This caller's events that are not in the baseline, oldest first.
    fn new_events<'e>(&self, events: &'e [AuditEvent]) -> Vec<&'e AuditEvent> {
        let mut unmatched: Vec<&AuditEvent> = self.baseline.iter().collect();
        let mut fresh = Vec::new();
        for event in events {
            match unmatched.iter().position(|old| *old == event) {
                Some(index) => {
                    unmatched.swap_remove(index);
                }
                None if event.actor == self.actor_id => fresh.push(event),
                None => {}
            }
        }
        fresh
    }

    /// Decides from `events` (the whole trail) and `apply` read after them.
    pub fn progress(&self, events: &[AuditEvent], apply: Option<&Apply>) -> Progress {
        let claim_ours = apply
            .and_then(|a| a.claim.as_ref())
            .is_some_and(|claim| claim.command_id == self.job_id);
        // The move to `cutting_over` and its event are one transaction, so the apply alone
        // proves a trigger — even one the progress sweep settled after the worker lost track.
        let triggered = claim_ours
            && apply.is_some_and(|a| {
                a.cutover_triggered_at.is_some()
                    || matches!(
                        a.state,
                        State::CuttingOver | State::Completed | State::RevertWindow
                    )
            });
        if triggered {
            return Progress {
                outcome: Some(Outcome::Triggered),
                claimed: true,
            };
        }
        let mut claimed = claim_ours;
        for event in self.new_events(events) {
            let outcome = match event.event.as_str() {
                "cutover_claimed" => {
                    claimed = true;
                    None
                }
                // While this request holds the claim, a refusal with our actor belongs to
                // another request by the same identity.
                "cutover_refused" if !claim_ours => Some(Outcome::Refused {
                    reason: event.outcome.clone(),
                }),
                "cutover_not_accepted" => Some(Outcome::NotAccepted {
                    message: event.message.clone(),
                }),
                "cutover_failed" => Some(Outcome::Failed {
                    reason: event.outcome.clone(),
                    message: event.message.clone(),
                }),
                _ => None,
            };
            if outcome.is_some() {
                return Progress { outcome, claimed };
            }
        }
        Progress {
            outcome: None,
            claimed,
        }
    }
}

/// The `--json` document of a cutover.
#[derive(Debug, Serialize)]
pub struct CutoverReport {
    pub apply_id: String,
    pub environment: String,
    pub request_id: String,
    pub job_id: String,
    /// As stored in the audit trail and on the apply: `cli:<caller ARN>`.
    pub actor: String,
    pub caller_arn: String,
    /// `triggered`, `refused`, `not_accepted`, `failed` or `timed_out`.
    pub outcome: &'static str,
    /// Why it was refused or failed (`already_triggered`, `recovering`, `not_available`,
    /// `environment_mismatch`, `failed`, `outcome_unknown`).
    pub reason: Option<String>,
    /// Tern's or the worker's message, when there is one.
    pub message: Option<String>,
    /// Whether this request claimed the cutover.
    pub claimed: bool,
    pub state: Option<State>,
    pub triggered_by: Option<String>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub repository: String,
    pub pr: u64,
    pub exit_code: u8,
}

pub async fn run(cx: &mut Context<'_, '_>, args: &CutoverArgs) -> Result<Exit, CliError> {
    let queue_url = cx.queue_url.clone().ok_or_else(|| {
        CliError::Config(
            "no job queue configured: set SCHEMABOT_QUEUE_URL or pass --queue-url".to_string(),
        )
    })?;
    let caller_arn = cx.aws.caller_arn().await?;
    // The worker answers an unknown apply on the PR only, and a CLI request has none: check
    // here so the caller hears about it.
    let apply = cx.require_apply(&args.apply_id).await?;
    let baseline = cx
        .store
        .list_events(&args.apply_id)
        .await
        .map_err(|e| CliError::from_store(e, cx.table()))?;

    let request_id = uuid::Uuid::new_v4().to_string();
    let job = Job::Cutover(CutoverJob {
        source: CommandSource::Cli {
            request_id: request_id.clone(),
            actor: caller_arn.clone(),
        },
        apply_id: args.apply_id.clone(),
        environment: args.environment.clone(),
    });
    let job_id = job.id();
    cx.aws
        .queue(&queue_url)
        .send(&JobEnvelope::new(job))
        .await
        .map_err(|e| CliError::from_queue(e, &queue_url))?;
    if !cx.json {
        cx.console.note(&format!(
            "Cutover of {} requested as {caller_arn} (request {request_id}); waiting up to {} for the worker...",
            args.apply_id,
            display_duration(args.timeout)
        ));
    }

    let watch = OutcomeWatch::new(
        args.apply_id.clone(),
        job_id.clone(),
        format!("cli:{caller_arn}"),
        baseline,
    );
    let waited = wait_for_outcome(cx, &watch, args.timeout).await;
    let latest = waited.apply.as_ref().unwrap_or(&apply);
    let outcome = waited.progress.outcome.as_ref();
    let exit = outcome.map_or(Exit::Failed, Outcome::exit);
    let report = CutoverReport {
        apply_id: args.apply_id.to_string(),
        environment: args.environment.to_string(),
        request_id,
        job_id,
        actor: format!("cli:{caller_arn}"),
        caller_arn,
        outcome: outcome.map_or("timed_out", Outcome::name),
        reason: outcome.and_then(Outcome::reason).map(str::to_string),
        message: match outcome {
            Some(outcome) => outcome.message().map(str::to_string),
            None => waited.last_error.clone(),
        },
        claimed: waited.progress.claimed,
        state: waited.apply.as_ref().map(|a| a.state),
        triggered_by: latest.cutover_triggered_by.clone(),
        triggered_at: latest.cutover_triggered_at,
        repository: latest.repository.to_string(),
        pr: latest.pr.0,
        exit_code: exit.code(),
    };
    if cx.json {
        cx.console.print_json(&report)?;
    } else {
        let text = describe(outcome, &report, latest, args.timeout);
        cx.console.print(&text)?;
    }
    Ok(exit)
}

struct Waited {
    progress: Progress,
    /// The apply as last read (after the events).
    apply: Option<Apply>,
    /// Why the last look failed, if it did (reported on a timeout).
    last_error: Option<String>,
}

/// Polls until the outcome is known or `timeout` passes. Read failures do not end the wait: the
/// request is already queued, so the honest answer to a failed read is "not known yet".
async fn wait_for_outcome(cx: &Context<'_, '_>, watch: &OutcomeWatch, timeout: Duration) -> Waited {
    // A timeout too large for the clock means "wait as long as it takes".
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600));
    let mut waited = Waited {
        progress: Progress {
            outcome: None,
            claimed: false,
        },
        apply: None,
        last_error: None,
    };
    loop {
        // Events first, then the apply: the apply is then at least as new as the events.
        let looked = async {
            let events = cx.store.list_events(&watch.apply_id).await?;
            let apply = cx.store.get_apply(&watch.apply_id).await?;
            Ok::<_, schemabot_aws::StoreError>((events, apply))
        };
        match looked.await {
            Ok((events, apply)) => {
                waited.progress = watch.progress(&events, apply.as_ref());
                waited.apply = apply;
                waited.last_error = None;
                if waited.progress.outcome.is_some() {
                    return waited;
                }
            }
            Err(error) => {
                waited.last_error = Some(CliError::from_store(error, cx.table()).to_string())
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return waited;
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}

/// The text answer: what happened and what to do next.
fn describe(
    outcome: Option<&Outcome>,
    report: &CutoverReport,
    apply: &Apply,
    timeout: Duration,
) -> String {
    let id = &report.apply_id;
    let who_when = |by: Option<&str>, at: Option<DateTime<Utc>>| {
        let by = by.map(single_line).unwrap_or_else(|| "someone".to_string());
        match at {
            Some(at) => format!("{by} at {}", format::timestamp(at)),
            None => by,
        }
    };
    let text_or = |text: Option<&str>, fallback: &str| {
        text.map(single_line)
            .unwrap_or_else(|| fallback.to_string())
    };
    match outcome {
        Some(Outcome::Triggered) => format!(
            "Cutover triggered: {id} (database {}, environment {}).\n\
             Triggered by {}. The Cutover Triggered comment is on {}#{}.\n\
             Follow it with: schemabot progress {id} --watch\n",
            apply.database,
            apply.environment,
            who_when(report.triggered_by.as_deref(), report.triggered_at),
            report.repository,
            report.pr
        ),
        Some(Outcome::Refused { reason }) => match reason.as_str() {
            "already_triggered" => {
                let (by, at) = match (&apply.cutover_triggered_by, &apply.claim) {
                    (Some(by), _) => (Some(by.as_str()), apply.cutover_triggered_at),
                    (None, Some(claim)) => (Some(claim.actor.as_str()), Some(claim.claimed_at)),
                    (None, None) => (None, None),
                };
                format!(
                    "Cutover not triggered again: the cutover of {id} was already triggered by {}.\n",
                    who_when(by, at)
                )
            }
            "recovering" => format!(
                "Cutover refused: {id} is recovering after a Tern/Spirit restart.\n\
                 Try again once `schemabot progress {id}` shows ⏸️ Ready for cutover.\n"
            ),
            "not_available" => format!(
                "Cutover not available: {id} is {}; only an apply waiting for cutover can be cut over.\n",
                apply.state
            ),
            "environment_mismatch" => format!(
                "Cutover refused: {id} runs in environment {}, not {}.\n",
                apply.environment, report.environment
            ),
            other => format!("Cutover refused ({}).\n", single_line(other)),
        },
        Some(Outcome::NotAccepted { message }) => format!(
            "Tern did not accept the cutover of {id}: {}\nNothing changed; you may try again.\n",
            text_or(message.as_deref(), "no reason given")
        ),
        Some(Outcome::Failed { reason, message }) => {
            let message = text_or(message.as_deref(), "no details");
            if reason == "outcome_unknown" {
                format!(
                    "Cutover outcome unknown for {id}: Tern could not be reached ({message}).\n\
                     SchemaBot settles it from the sentinel table; check `schemabot history {id}`.\n"
                )
            } else {
                format!("Cutover failed for {id}: {message}\nThe apply can be cut over again.\n")
            }
        }
        None => {
            let why = if report.claimed {
                "The request claimed the cutover, but the outcome of its Tern call is not recorded \
                 yet (the worker may be retrying: Tern or GitHub slow or down)."
            } else {
                "The worker has not handled the request yet (queue backlog, or the worker is down)."
            };
            let last_error = report
                .message
                .as_deref()
                .map(|e| format!("\nLast read error: {e}"))
                .unwrap_or_default();
            format!(
                "No outcome within {} for request {} on {id}.\n{why}\n\
                 The request stays queued; check `schemabot history {id}` or `schemabot progress {id}`.{last_error}\n",
                display_duration(timeout),
                report.request_id
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemabot_domain::apply::{ApplyMode, CutoverClaim};
    use schemabot_domain::{Database, Environment, InstallationId, PrNumber, Repository};

    const JOB: &str = "cutover:cli:req-1";
    const ACTOR: &str = "cli:arn:aws:iam::1:user/ops";

    fn apply(state: State, claim: Option<&str>) -> Apply {
        let at = Utc::now();
        Apply {
            id: ApplyId::parse("apply-00ab").unwrap(),
            tern_apply_id: "apply-00ab".into(),
            repository: Repository::parse("o/r").unwrap(),
            pr: PrNumber(1),
            installation_id: InstallationId(1),
            database: Database::parse("db").unwrap(),
            database_type: "mysql".into(),
            deployment: "d".into(),
            environment: Environment::parse("production").unwrap(),
            target_schema: "db".into(),
            state,
            version: 3,
            mode: ApplyMode::Atomic,
            defer_cutover: true,
            requested_by: None,
            created_at: at,
            started_at: Some(at),
            completed_at: None,
            error_message: None,
            claim: claim.map(|command_id| CutoverClaim {
                command_id: command_id.into(),
                actor: ACTOR.into(),
                claimed_at: at,
            }),
            cutover_triggered_by: None,
            cutover_triggered_at: None,
            desired_schema: Default::default(),
        }
    }

    fn event(name: &str, outcome: &str, actor: &str) -> AuditEvent {
        AuditEvent {
            apply_id: ApplyId::parse("apply-00ab").unwrap(),
            at: Utc::now(),
            event: name.into(),
            actor: actor.into(),
            delivery_id: None,
            from_state: Some(State::WaitingForCutover),
            to_state: None,
            outcome: outcome.into(),
            message: Some("tern says no".into()),
        }
    }

    fn watch(baseline: Vec<AuditEvent>) -> OutcomeWatch {
        OutcomeWatch::new(
            ApplyId::parse("apply-00ab").unwrap(),
            JOB.into(),
            ACTOR.into(),
            baseline,
        )
    }

    #[test]
    fn nothing_yet_while_the_job_waits_in_the_queue() {
        let old = event("cutover_refused", "recovering", ACTOR);
        let progress =
            watch(vec![old.clone()]).progress(&[old], Some(&apply(State::WaitingForCutover, None)));
        assert_eq!(
            progress,
            Progress {
                outcome: None,
                claimed: false
            }
        );
    }

    #[test]
    fn our_claim_on_a_cutting_over_apply_is_a_trigger() {
        let events = [event("cutover_claimed", "claimed", ACTOR)];
        let progress = watch(vec![]).progress(&events, Some(&apply(State::CuttingOver, Some(JOB))));
        assert_eq!(progress.outcome, Some(Outcome::Triggered));
        // Claimed but not yet triggered: still waiting, and known to be claimed.
        let progress =
            watch(vec![]).progress(&events, Some(&apply(State::WaitingForCutover, Some(JOB))));
        assert_eq!(
            progress,
            Progress {
                outcome: None,
                claimed: true
            }
        );
    }

    #[test]
    fn someone_elses_trigger_is_not_ours() {
        let apply = apply(State::CuttingOver, Some("cutover:o/r:77"));
        let events = [
            event("cutover_claimed", "claimed", "alice"),
            event("cutover_triggered", "accepted", "alice"),
            event("cutover_refused", "already_triggered", ACTOR),
        ];
        let progress = watch(vec![]).progress(&events, Some(&apply));
        assert_eq!(
            progress.outcome,
            Some(Outcome::Refused {
                reason: "already_triggered".into()
            })
        );
        assert_eq!(progress.outcome.map(|o| o.exit()), Some(Exit::Refused));
    }

    #[test]
    fn a_refusal_of_a_parallel_request_by_the_same_identity_is_ignored_while_we_hold_the_claim() {
        let events = [
            event("cutover_claimed", "claimed", ACTOR),
            event("cutover_refused", "already_triggered", ACTOR),
        ];
        let progress =
            watch(vec![]).progress(&events, Some(&apply(State::WaitingForCutover, Some(JOB))));
        assert_eq!(progress.outcome, None);
    }

    #[test]
    fn tern_refusals_and_failures_are_reported_with_their_message() {
        let not_accepted = [event("cutover_not_accepted", "not_accepted", ACTOR)];
        let progress =
            watch(vec![]).progress(&not_accepted, Some(&apply(State::WaitingForCutover, None)));
        assert_eq!(
            progress.outcome,
            Some(Outcome::NotAccepted {
                message: Some("tern says no".into())
            })
        );
        let failed = [event("cutover_failed", "outcome_unknown", ACTOR)];
        let outcome = watch(vec![])
            .progress(&failed, Some(&apply(State::WaitingForCutover, Some(JOB))))
            .outcome;
        assert_eq!(outcome.as_ref().map(Outcome::exit), Some(Exit::Failed));
    }

    #[test]
    fn events_of_other_actors_never_decide() {
        let events = [event("cutover_refused", "recovering", "bob")];
        let progress = watch(vec![]).progress(&events, Some(&apply(State::Recovering, None)));
        assert_eq!(progress.outcome, None);
    }
}
