//! The Apply RPC: one schema change per database, the sentinel created with defer-cutover.

use std::collections::HashMap;

use schemabot_tern::proto;
use tonic::Status;

use super::config::StandinError;
use super::mariadb::quote_ident;
use super::model::{new_task_id, Outcome, SimApply, SimTask};
use super::state::Shared;
use super::ABANDONED_MESSAGE;

impl Shared {
    pub(super) async fn apply(
        &self,
        request: proto::ApplyRequest,
    ) -> Result<proto::ApplyResponse, Status> {
        let _serial = self.serial.lock().await;
        self.sim().counts.apply += 1;
        if request.database.is_empty() {
            return Err(Status::invalid_argument("database is required"));
        }
        quote_ident(&request.database).map_err(|e| Status::invalid_argument(e.to_string()))?;
        if request.ddl_changes.is_empty() {
            return Ok(refused_apply("no changes to apply"));
        }
        let defer_cutover = option_is_true(&request.options, "defer_cutover");
        if !request.idempotency_key.is_empty() {
            if let Some(apply_id) = self.sim().by_idempotency_key.get(&request.idempotency_key) {
                return Ok(proto::ApplyResponse {
                    accepted: true,
                    apply_id: apply_id.clone(),
                    apply_operation_id: format!("op-{apply_id}"),
                    ..Default::default()
                });
            }
        }

        // One schema change per database. An apply whose engine state was lost is abandoned,
        // as Tern's stale-task check does.
        {
            let mut sim = self.sim();
            for other in sim
                .applies
                .iter_mut()
                .filter(|a| a.database == request.database && a.outcome == Outcome::Active)
            {
                if other.engine.is_some() {
                    return Ok(refused_apply(
                        "schema change already in progress for this database",
                    ));
                }
                other.finish(Err(ABANDONED_MESSAGE.to_string()));
            }
        }
        let database_error = |e: StandinError| Status::internal(e.to_string());
        if self.config.create_missing_schema {
            self.create_schema(&request.database)
                .await
                .map_err(database_error)?;
        }
        if defer_cutover {
            self.create_sentinel(&request.database)
                .await
                .map_err(database_error)?;
        }

        let apply = SimApply::new(
            request.database.clone(),
            defer_cutover,
            request
                .ddl_changes
                .iter()
                .map(|change| SimTask {
                    task_id: new_task_id(),
                    namespace: change.namespace.clone(),
                    table_name: change.table_name.clone(),
                    ddl: change.ddl.clone(),
                    change_type: change.change_type,
                    rows_total: self.config.rows_total_for(&change.table_name),
                    rows_copied: 0,
                })
                .collect(),
        );
        let apply_id = apply.apply_id.clone();
        tracing::debug!(%apply_id, database = %apply.database, defer_cutover, "tern stand-in: apply started");
        let mut sim = self.sim();
        sim.applies.push(apply);
        sim.counts.applies_started += 1;
        if !request.idempotency_key.is_empty() {
            sim.by_idempotency_key
                .insert(request.idempotency_key.clone(), apply_id.clone());
        }
        Ok(proto::ApplyResponse {
            accepted: true,
            error_message: String::new(),
            apply_operation_id: format!("op-{apply_id}"),
            apply_id,
        })
    }
}

fn refused_apply(message: &str) -> proto::ApplyResponse {
    proto::ApplyResponse {
        accepted: false,
        error_message: message.to_string(),
        ..Default::default()
    }
}

fn option_is_true(options: &HashMap<String, String>, key: &str) -> bool {
    options
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}
