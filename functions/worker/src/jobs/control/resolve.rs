//! Which apply a control acts on: the one it names, or — without an id — the PR's one
//! controllable apply in the environment. Several is a listing, none a clear answer; never a
//! guess.

use super::ControlRun;
use crate::errors;
use crate::outcome::JobError;
use schemabot_domain::apply::Apply;
use schemabot_domain::control::controllable;
use schemabot_render::{ControlCandidate, ControlReply};

impl ControlRun<'_> {
    /// The apply, or the reply saying why there is none to act on.
    pub(super) async fn resolve(&self) -> Result<Result<Apply, ControlReply>, JobError> {
        let op = self.job.op;
        if let Some(apply_id) = &self.job.apply_id {
            let apply = self
                .cmd
                .worker
                .store
                .get_apply(apply_id)
                .await
                .map_err(errors::store)?;
            return Ok(apply.ok_or_else(|| ControlReply::NotFound {
                op,
                apply_id: apply_id.clone(),
            }));
        }
        let no_apply = || ControlReply::NoApply {
            op,
            environment: self.job.environment.clone(),
        };
        let Some(origin) = self.cmd.origin() else {
            return Ok(Err(no_apply()));
        };
        let active = self
            .cmd
            .worker
            .store
            .list_all_active()
            .await
            .map_err(errors::store)?;
        let mut candidates = Vec::new();
        for listed in active.into_iter().filter(|a| {
            a.repository == origin.repository
                && a.pr == origin.pr
                && a.environment == self.job.environment
                && controllable(a.state)
        }) {
            // The index can lag: the record decides.
            if let Some(apply) = self
                .cmd
                .worker
                .store
                .get_apply(&listed.apply_id)
                .await
                .map_err(errors::store)?
            {
                if controllable(apply.state) {
                    candidates.push(apply);
                }
            }
        }
        match candidates.len() {
            0 => Ok(Err(no_apply())),
            1 => Ok(Ok(candidates.remove(0))),
            _ => Ok(Err(ControlReply::Ambiguous {
                op,
                environment: self.job.environment.clone(),
                candidates: candidates
                    .into_iter()
                    .map(|a| ControlCandidate {
                        apply_id: a.id,
                        database: a.database,
                        state: a.state,
                    })
                    .collect(),
            })),
        }
    }
}
