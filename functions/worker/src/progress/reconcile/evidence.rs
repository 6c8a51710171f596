//! The evidence a reconciliation gathers when the engine's word is not enough: the
//! `_spirit_sentinel` table and whether the apply's desired schema is live, each asked at most
//! once per round.

use super::*;

/// What is known about the apply's sentinel in this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SentinelMemo {
    /// Not MySQL/Spirit: there is no sentinel to judge by.
    NoMechanism,
    NotChecked,
    Checked(SentinelEvidence),
    /// The check failed this round; states that depend on it are kept.
    Unavailable,
}

impl SentinelMemo {
    pub(super) fn for_apply(apply: &Apply) -> Self {
        if apply.database_type.eq_ignore_ascii_case("mysql") {
            SentinelMemo::NotChecked
        } else {
            SentinelMemo::NoMechanism
        }
    }

    pub(super) fn for_decision(self) -> Sentinel {
        match self {
            SentinelMemo::NoMechanism => Sentinel::NoMechanism,
            SentinelMemo::NotChecked | SentinelMemo::Unavailable => Sentinel::NotChecked,
            SentinelMemo::Checked(evidence) => Sentinel::Checked(evidence),
        }
    }
}

impl Round<'_> {
    /// The sentinel evidence for this apply, checked at most once per round.
    pub(super) async fn sentinel_evidence(&mut self, apply: &Apply) -> Option<SentinelEvidence> {
        match self.sentinel {
            SentinelMemo::Checked(evidence) => return Some(evidence),
            SentinelMemo::NoMechanism | SentinelMemo::Unavailable => return None,
            SentinelMemo::NotChecked => {}
        }
        self.report.sentinel_checked = true;
        let checked = self
            .worker
            .sentinel
            .sentinel_present_for(
                &self.worker.dsns,
                &apply.deployment,
                apply.environment.as_str(),
                &apply.target_schema,
            )
            .await;
        let evidence = match checked {
            Ok(true) => Some(SentinelEvidence::Present),
            Ok(false) => Some(SentinelEvidence::Absent),
            Err(error) => {
                tracing::warn!(%error, schema = %apply.target_schema, "sentinel check failed; states that depend on it are kept");
                None
            }
        };
        self.sentinel = evidence.map_or(SentinelMemo::Unavailable, SentinelMemo::Checked);
        evidence
    }

    /// Whether the apply's desired schema is live, asked of Tern at most once per round. `None`
    /// when it cannot be told (no stored schema, Tern unreachable or reporting errors): states
    /// that depend on it are kept and the next round asks again.
    pub(super) async fn live_schema_evidence(
        &mut self,
        apply: &Apply,
    ) -> Option<LiveSchemaEvidence> {
        if let Some(known) = &self.live_schema {
            return known.clone();
        }
        self.report.live_schema_checked = true;
        let evidence = self.ask_live_schema(apply).await;
        self.live_schema = Some(evidence.clone());
        evidence
    }

    pub(super) async fn ask_live_schema(&mut self, apply: &Apply) -> Option<LiveSchemaEvidence> {
        if apply.desired_schema.is_empty() {
            tracing::warn!("the apply has no stored schema to verify against; a person must check the live schema");
            return None;
        }
        let request = proto::PlanRequest {
            database: apply.database.to_string(),
            r#type: apply.database_type.clone(),
            schema_files: schema_files_to_wire(&apply.desired_schema),
            repository: apply.repository.to_string(),
            pull_request: i32::try_from(apply.pr.0).unwrap_or(0),
            environment: apply.environment.to_string(),
            ..Default::default()
        };
        let diff = match self
            .worker
            .tern
            .schema_diff(&apply.deployment, apply.environment.as_str(), request)
            .await
        {
            Ok(diff) => diff,
            Err(error) => {
                errors::tern_failed();
                tracing::warn!(%error, "could not ask Tern whether the desired schema is live; kept, retried next round");
                self.report.tern_error = Some(error.to_string());
                return None;
            }
        };
        if !diff.errors.is_empty() {
            tracing::warn!(errors = ?diff.errors, "Tern could not diff the desired schema; kept, retried next round");
            return None;
        }
        if diff.changes.is_empty() {
            return Some(LiveSchemaEvidence::Matches);
        }
        let remaining = diff
            .changes
            .iter()
            .map(|change| {
                let ddl = change.ddl.trim();
                if ddl.is_empty() {
                    format!("a change to `{}`", change.table_name)
                } else {
                    ddl.to_string()
                }
            })
            .collect();
        Some(LiveSchemaEvidence::Differs { remaining })
    }
}
