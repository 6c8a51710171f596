//! Bringing an apply up to date before an RPC answers: time, auto-resume, sentinel, completion.

use std::time::Instant;

use super::model::DatabaseStep;
use super::state::Shared;

impl Shared {
    /// Brings an apply up to date: time-based progress, auto-resume, and the steps that look
    /// at or change MariaDB (sentinel wait, completion).
    pub(super) async fn settle(&self, apply_id: &str) {
        let lost_at_sentinel = self
            .sim()
            .find(apply_id)
            .filter(|a| a.waits_for_recovery())
            .map(|a| a.database.clone());
        if let Some(database) = lost_at_sentinel {
            if let Ok(false) = self.sentinel_exists(&database).await {
                if let Some(apply) = self.sim().find_mut(apply_id) {
                    tracing::debug!(%apply_id, "tern stand-in: sentinel gone while the engine was down; the copy is lost");
                    apply.copy_lost = true;
                }
            }
        }
        let step = {
            let mut sim = self.sim();
            let pace = sim.pace;
            let Some(apply) = sim.find_mut(apply_id) else {
                return;
            };
            apply.advance_in_memory(pace, self.config.auto_resume_after, Instant::now());
            (apply.database_step(), apply.database.clone())
        };
        if let (DatabaseStep::CheckSentinel, database) = &step {
            match self.sentinel_exists(database).await {
                Ok(present) => {
                    if let Some(apply) = self.sim().find_mut(apply_id) {
                        apply.observe_sentinel(present, Instant::now());
                    }
                }
                Err(error) => tracing::warn!(%error, "tern stand-in: sentinel check failed"),
            }
        }
        let finishing = {
            let sim = self.sim();
            sim.find(apply_id)
                .filter(|a| a.database_step() == DatabaseStep::Finish)
                .map(|a| {
                    let ddls: Vec<String> = a.tasks.iter().map(|t| t.ddl.clone()).collect();
                    (a.database.clone(), ddls)
                })
        };
        if let Some((database, ddls)) = finishing {
            let result = if self.config.run_ddl_on_completion {
                self.run_ddl(&database, &ddls).await
            } else {
                Ok(())
            };
            if let Some(apply) = self.sim().find_mut(apply_id) {
                if apply.database_step() == DatabaseStep::Finish {
                    apply.finish(result);
                }
            }
        }
    }
}
